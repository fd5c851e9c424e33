"""The inspection and checking calls: the generated source (``source``, ``show``, ``lower``) and central
finite differences (``numerical_grad``, ``check_grads``). Built on ``api``'s operators; nothing in ``api``
calls them."""
from typing import Any, Callable, Optional, Sequence, TextIO

import numpy as np

from . import pipeline
from .api import Wrt, _derivative, _mode, _wrt, grad
from .trees import flat, perturb
from .display import Source, show_text
from .user import CHECKPOINT


def source(f: Callable, wrt: Wrt = None, mode: str = "reverse", optimize: bool = True) -> str:
    """The generated Python source of the derivative (a ``str``; notebooks show it highlighted)."""
    idx, many = _wrt(f, wrt)
    return Source(_derivative(f, idx, "grad", _mode(mode), optimize, many).source)


def show(obj: Any, wrt: Any = None, mode: str = "reverse", optimize: bool = True,
         file: Optional[TextIO] = None) -> None:
    """Display the generated source of ``obj``: a derivative (its ``.source``) or a function (its
    derivative as ``sd.source(obj, wrt, mode, optimize)`` writes it). Highlighted HTML in a notebook,
    coloured text on a terminal, plain text elsewhere."""
    text = getattr(obj, "source", None)
    show_text(text if isinstance(text, str) else source(obj, wrt=wrt, mode=mode, optimize=optimize), file)


def lower(f: Callable) -> str:
    """``f`` lowered to three-address primitive steps (``str``)."""
    return pipeline.lowered_source(f.fn if isinstance(f, CHECKPOINT) else f)


def numerical_grad(f, args, i, h=1e-6):
    """Central finite differences of scalar ``f`` w.r.t. argument ``i`` (flattened)."""
    n = len(flat(args[i]))
    out = []
    for j in range(n):
        a1, a2 = list(args), list(args)
        a1[i], a2[i] = perturb(args[i], j, h), perturb(args[i], j, -h)
        out.append((float(np.sum(f(*a1))) - float(np.sum(f(*a2)))) / (2 * h))
    return np.array(out)


def check_grads(f: Callable, *args: Any, wrt: Wrt = None, modes: Sequence[str] = ("forward", "reverse"),
                rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """Raise AssertionError with the worst mismatch when a mode disagrees with finite differences."""
    idx, many = _wrt(f, wrt)
    refs = [numerical_grad(f, args, i) for i in idx]
    for mode in modes:
        g = grad(f, wrt=tuple(idx), mode=mode)(*args)
        for k, (i, ref) in enumerate(zip(idx, refs)):
            got = np.array(flat(g[k]))
            if got.shape != ref.shape:
                raise AssertionError("%s mode: gradient for argument %d has %d entries, expected %d"
                                     % (mode, i, got.size, ref.size))
            err = np.abs(got - ref) - (atol + rtol * np.abs(ref))
            if np.any(err > 0) or not np.all(np.isfinite(got)):
                j = int(np.nanargmax(np.where(np.isfinite(got), err, np.inf)))
                raise AssertionError("%s mode: d%s/d(arg %d)[%d] = %r, finite differences give %r" % (
                    mode, f.__name__, i, j, got[j], ref[j]))
    return True
