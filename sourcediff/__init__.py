"""sourcediff: source-to-source automatic differentiation for Python and NumPy.

    import sourcediff as sd

    @sd.grad
    def f(x):
        return x * x + 1.0

    f(3.0)            # 6.0
    print(f.source)   # the generated derivative, as plain Python
"""
from .version import VERSION as __version__  # noqa: F401
from .errors import SourcediffError  # noqa: F401
from . import rules  # noqa: F401  (registers every rule)
from .export import export  # noqa: F401
from .api import (checkpoint, defjvp, defvjp, grad, hessian, jacobian, jvp, stop_gradient,  # noqa: F401
                  value_and_grad, vjp)
from .inspection import check_grads, lower, show, source  # noqa: F401
from .runtime import register_container  # noqa: F401

__all__ = ["__version__", "rules", "grad", "value_and_grad", "jvp", "vjp", "jacobian", "hessian", "source", "lower",
           "check_grads",
           "stop_gradient", "checkpoint", "defvjp", "defjvp", "register_container", "export", "show",
           "SourcediffError"]
