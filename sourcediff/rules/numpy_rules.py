"""Rules for NumPy functions, by topic: the elementwise ones here, one line each (``combinators.elementwise``);
products and linear algebra in ``numpy_linalg.py``; reductions in ``numpy_reductions.py``; shapes, copies,
constructors and indexing in ``numpy_shapes.py``; the operators' NumPy twins (``np.add``) in ``scalar.py``.
This module also holds what those share: ``_opt`` (a NumPy name this NumPy may lack) and ``array_args``.

Conventions beyond ``registry.py``:

* Keyword parameters mirror the NumPy signature in order (``sum(a, axis, dtype,
  out, keepdims)``), so positional and keyword call arguments bind alike.
* Every argument a rule treats as non-differentiable (shapes, axes, indices,
  conditions) comes after the differentiable ones or gets a ``None`` entry.
* Sequence arguments (``concatenate``, ``stack``, ``hstack``, ``vstack``,
  ``column_stack``, ``dstack``): the first argument is a tuple/list of arrays
  and its adjoint is a tuple with one array per element (``split_like`` cuts
  the output adjoint at the elements' sizes); its tangent is a tuple/list of
  tangents and the contribution is the function applied to it. Functions that
  return a list (``split`` and friends, ``unstack``) take their output adjoint
  as a tuple/list of arrays.
* ``einsum(subscripts, x, y=None)``: one or two operands (ellipses too), no index
  repeated inside one operand; the subscripts entry is ``None``.
* Reductions spread ties evenly (``max``), ``prod``/``cumprod`` divide by the
  input (nonzero inputs), ``linalg.norm`` supports vector p-norms (p >= 1) and
  the Frobenius norm; the helpers raise NotImplementedError for anything else,
  never returning a wrong derivative.
"""
import math

import numpy as np

from ..runtime import unbroadcast
from .combinators import elementwise, self_adjoint
from .helpers import broadcast_like, xlogy
from .registry import VJP, jvp, lookup, n_diff_args, nondiff, vjp


def _opt(path):
    """``np.<path>``, or None where this NumPy lacks it: NumPy 2.0 added the array-API names
    (``np.linalg.matmul/vecdot/outer/...``, ``np.vecdot``, ``np.matrix_transpose``), 2.1 added
    ``np.unstack`` and ``np.cumulative_sum/prod``. Registration skips missing keys, so the package
    imports (with fewer rules) on NumPy 1.24+."""
    obj = np
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


nondiff(np.floor, np.ceil, np.round, np.around, np.rint, np.fix, np.trunc, np.sign, np.signbit,
        np.floor_divide, np.spacing, np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero,
        np.flatnonzero, np.shape, np.ndim, np.size, np.isnan, np.isfinite, np.isinf, np.isclose, np.allclose,
        np.array_equal, np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
        np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.searchsorted, np.digitize,
        np.count_nonzero, np.all, np.any, np.zeros, np.ones, np.zeros_like, np.ones_like,
        np.empty, np.empty_like, np.eye, np.identity, np.indices,
        np.unravel_index, np.ravel_multi_index, np.diag_indices, np.tril_indices, np.triu_indices, np.result_type,
        np.broadcast_shapes, np.iscomplexobj, np.isscalar, np.bitwise_and, np.bitwise_or, np.bitwise_xor,
        np.invert, np.left_shift, np.right_shift, np.gcd, np.lcm)


# --- elementwise, one argument (and their math twins) ---------------------------------------------

elementwise(np.sin, lambda d, ans, x: d * np.cos(x), math_twin=math.sin)
elementwise(np.cos, lambda d, ans, x: -d * np.sin(x), math_twin=math.cos)
elementwise(np.tan, lambda d, ans, x: d * (1.0 + ans * ans), math_twin=math.tan)
elementwise(np.arcsin, lambda d, ans, x: d / np.sqrt(1.0 - x * x), math_twin=math.asin)
elementwise(np.arccos, lambda d, ans, x: -d / np.sqrt(1.0 - x * x), math_twin=math.acos)
elementwise(np.arctan, lambda d, ans, x: d / (1.0 + x * x), math_twin=math.atan)
elementwise(np.sinh, lambda d, ans, x: d * np.cosh(x), math_twin=math.sinh)
elementwise(np.cosh, lambda d, ans, x: d * np.sinh(x), math_twin=math.cosh)
elementwise(np.tanh, lambda d, ans, x: d * (1.0 - ans * ans), math_twin=math.tanh)
elementwise(np.arcsinh, lambda d, ans, x: d / np.sqrt(x * x + 1.0), math_twin=math.asinh)
elementwise(np.arccosh, lambda d, ans, x: d / np.sqrt(x * x - 1.0), math_twin=math.acosh)
elementwise(np.arctanh, lambda d, ans, x: d / (1.0 - x * x), math_twin=math.atanh)
elementwise(np.exp, lambda d, ans, x: d * ans, math_twin=math.exp)
elementwise(np.exp2, lambda d, ans, x: d * ans * np.log(2.0), math_twin=getattr(math, "exp2", None))
elementwise(np.expm1, lambda d, ans, x: d * (ans + 1.0), math_twin=math.expm1)
elementwise(np.log, lambda d, ans, x: d / x)
elementwise(np.log2, lambda d, ans, x: d / (x * np.log(2.0)), math_twin=math.log2)
elementwise(np.log10, lambda d, ans, x: d / (x * np.log(10.0)), math_twin=math.log10)
elementwise(np.log1p, lambda d, ans, x: d / (1.0 + x), math_twin=math.log1p)
elementwise(np.sqrt, lambda d, ans, x: d * 0.5 / ans, math_twin=math.sqrt)
elementwise(np.cbrt, lambda d, ans, x: d / (3.0 * ans * ans), math_twin=getattr(math, "cbrt", None))
elementwise(np.square, lambda d, ans, x: d * 2.0 * x)
elementwise(np.reciprocal, lambda d, ans, x: -d * ans * ans)
elementwise(np.fabs, lambda d, ans, x: d * np.sign(x))
elementwise((np.deg2rad, np.radians), lambda d, ans, x: d * (np.pi / 180.0), math_twin=math.radians)
elementwise((np.rad2deg, np.degrees), lambda d, ans, x: d * (180.0 / np.pi), math_twin=math.degrees)

# sinc'(x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0
elementwise(np.sinc, lambda d, ans, x: d * np.where(x == 0, 0.0, (np.cos(np.pi * x) - ans) / np.where(x == 0, 1.0, x)))

# For real inputs these are the identity.
self_adjoint(np.real, lambda d, ans, x: np.real(d))
self_adjoint(np.conjugate, lambda d, ans, x: np.conjugate(d))
elementwise(np.nan_to_num, lambda d, ans, x, copy=True, nan=0.0, posinf=None, neginf=None: d * np.isfinite(x))

# --- elementwise, several arguments --------------------------------------------------------------

elementwise(np.float_power, lambda d, ans, x, y: (d * y * np.float_power(x, y - 1), d * xlogy(ans, x)),
            broadcasting=True)

# Ties go to the first argument.
elementwise((np.maximum, np.fmax), lambda d, ans, x, y: (d * (x >= y), d * (x < y)), broadcasting=True)
elementwise((np.minimum, np.fmin), lambda d, ans, x, y: (d * (x <= y), d * (x > y)), broadcasting=True)
elementwise(np.hypot, lambda d, ans, x, y: (d * x / ans, d * y / ans), broadcasting=True)
elementwise(np.arctan2, lambda d, ans, y, x: (d * x / (x * x + y * y), -d * y / (x * x + y * y)), broadcasting=True)
elementwise(np.logaddexp, lambda d, ans, x, y: (d * np.exp(x - ans), d * np.exp(y - ans)), broadcasting=True)
elementwise(np.logaddexp2, lambda d, ans, x, y: (d * np.exp2(x - ans), d * np.exp2(y - ans)), broadcasting=True)

# fmod(x, y) = x - trunc(x / y) * y
@vjp(np.fmod)
def fmod_vjp(g, ans, x, y): return unbroadcast(g, x), unbroadcast(-g * np.trunc(x / y), y)
@jvp(np.fmod)
def fmod_jvp(dx, dy, ans, x, y): return broadcast_like(dx, ans), -dy * np.trunc(x / y)

# copysign(x, y) = |x| sign(y): the sign argument is piecewise constant
elementwise(np.copysign, lambda d, ans, x, y: (d * np.copysign(1.0, x) * np.copysign(1.0, y), None), broadcasting=True)
elementwise(np.ldexp, lambda d, ans, x, i: d * np.ldexp(1.0, i), broadcasting=True)

@vjp(np.where)
def where_vjp(g, ans, c, x, y): return None, unbroadcast(np.where(c, g, 0.0), x), unbroadcast(np.where(c, 0.0, g), y)
@jvp(np.where)
def where_jvp(dc, dx, dy, ans, c, x, y):
    return None, broadcast_like(np.where(c, dx, 0.0), ans), broadcast_like(np.where(c, 0.0, dy), ans)

# Where the clip left a value alone it belongs to a; a bound hit gets it (a_max wins a tie of the bounds).
elementwise(np.clip,
            lambda d, ans, a, a_min=None, a_max=None: (d * (ans == a), d * (ans != a) * (ans == a_min) * (ans != a_max),
                                                       d * (ans != a) * (ans == a_max)),
            broadcasting=True)

# heaviside(x1, x2) is x2 where x1 == 0, a constant elsewhere
@vjp(np.heaviside)
def heaviside_vjp(g, ans, x1, x2): return None, unbroadcast(g * (x1 == 0), x2)
@jvp(np.heaviside)
def heaviside_jvp(dx1, dx2, ans, x1, x2): return None, broadcast_like(dx2 * (x1 == 0), ans)

# nextafter(x1, x2) is x1 moved by one unit in the last place
@vjp(np.nextafter)
def nextafter_vjp(g, ans, x1, x2): return unbroadcast(g, x1), None
@jvp(np.nextafter)
def nextafter_jvp(dx1, dx2, ans, x1, x2): return broadcast_like(dx1, ans), None

# --- what lowering converts with np.asarray -------------------------------------------------------

# np.copy, np.asarray and friends take their argument as it is (their rules in numpy_shapes.py).
AS_ARRAY = (np.copy, np.asarray, np.array, np.asanyarray, np.ascontiguousarray, np.asarray_chkfinite, np.asfortranarray)
# Their first argument stays a list/tuple of arrays (tuples of per-element adjoints and tangents);
# every other NumPy function reads a list or tuple argument as np.asarray does, and lowering makes
# that conversion a step of its own (``array_args``), so the rules below see arrays.
SEQUENCE_FIRST = {np.concatenate, np.stack, np.hstack, np.vstack, np.column_stack, np.dstack, np.select} | \
    ({np.row_stack} if hasattr(np, "row_stack") else set())


def array_args(fn):
    """How many leading arguments of ``fn`` NumPy converts with ``np.asarray`` and its rule
    differentiates (0: not a NumPy function with a rule, or one that takes them as they are)."""
    numpy = isinstance(fn, np.ufunc) or str(getattr(fn, "__module__", None)).split(".")[0] == "numpy"
    rule = lookup(VJP, fn) if numpy else None
    if rule is None or fn in SEQUENCE_FIRST or fn in AS_ARRAY:
        return 0
    return n_diff_args(VJP, rule)


