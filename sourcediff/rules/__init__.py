"""Derivative rule tables; importing this package registers every rule."""
from .registry import BJVP, JVP, NONDIFF, VJP, bjvp, jvp, lookup, nondiff, vjp
from . import (helpers, scalar, numpy_rules, numpy_linalg, numpy_reductions, numpy_shapes, numpy_decomp, numpy_extra,
               numpy_stats, fft_helpers, to_python, complex_rules)
from . import runtime_rules, batched

try:  # SciPy is optional: its rules exist where it imports
    from . import scipy_rules, scipy_stats
except ImportError:
    scipy_rules = scipy_stats = None

__all__ = ["BJVP", "JVP", "NONDIFF", "VJP", "bjvp", "jvp", "lookup", "nondiff", "vjp", "helpers", "scalar",
           "numpy_rules", "numpy_linalg", "numpy_reductions", "numpy_shapes", "numpy_decomp", "numpy_extra",
           "numpy_stats", "fft_helpers", "to_python", "complex_rules", "runtime_rules", "batched", "scipy_rules",
           "scipy_stats", "rule_modules", "helper_modules"]


def rule_modules():
    """The modules whose names generated code may bind (SciPy's where it imports)."""
    return [m for m in (helpers, scalar, numpy_rules, numpy_linalg, numpy_reductions, numpy_shapes, numpy_decomp,
                        numpy_extra, numpy_stats, fft_helpers, to_python, runtime_rules, batched, scipy_rules,
                        scipy_stats) if m is not None]


def helper_modules():
    """Every module whose names generated code may bind: the runtime's two and the rule tables."""
    from .. import runtime, runtime_batched
    return [runtime, runtime_batched] + rule_modules()
