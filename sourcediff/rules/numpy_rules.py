"""Rules for NumPy functions (the operators' NumPy twins live in ``scalar.py``).

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
from .helpers import (PAD_COPY_MODES, broadcast_like, dot_axes, einsum_adjoint_spec, expand_reduced, fill_pieces, if_inexact, join_like,
                      keepdims_shape, kron_axes, kron_shape, kron_split_shape, norm_order, pad_mode, reduced_count,
                      repeat_index, rollaxis_dest, spaced_fraction, spaced_like, split_like, tensordot_adjoint_axes,
                      tensordot_adjoint_perm, tile_split_shape, tile_sum_axes, undiagonal, undiff, unpad, unstack, untake,
                      untake_along_axis, xlogy)
from .registry import VJP, checked, jvp as _jvp, lookup, n_diff_args, nondiff, structured, vjp as _vjp
from .scalar import matmul_jvp, matmul_vjp


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


def vjp(*keys):
    """``registry.vjp`` for the keys this NumPy has (none: the rule is defined but unregistered)."""
    return _vjp(*[k for k in keys if k is not None])


def jvp(*keys):
    """``registry.jvp`` for the keys this NumPy has."""
    return _jvp(*[k for k in keys if k is not None])

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

# --- elementwise, one argument -------------------------------------------------------------------

@vjp(np.sin)
def sin_vjp(g, ans, x): return g * np.cos(x)
@jvp(np.sin)
def sin_jvp(dx, ans, x): return dx * np.cos(x)

@vjp(np.cos)
def cos_vjp(g, ans, x): return -g * np.sin(x)
@jvp(np.cos)
def cos_jvp(dx, ans, x): return -dx * np.sin(x)

@vjp(np.tan)
def tan_vjp(g, ans, x): return g * (1.0 + ans * ans)
@jvp(np.tan)
def tan_jvp(dx, ans, x): return dx * (1.0 + ans * ans)

@vjp(np.arcsin)
def arcsin_vjp(g, ans, x): return g / np.sqrt(1.0 - x * x)
@jvp(np.arcsin)
def arcsin_jvp(dx, ans, x): return dx / np.sqrt(1.0 - x * x)

@vjp(np.arccos)
def arccos_vjp(g, ans, x): return -g / np.sqrt(1.0 - x * x)
@jvp(np.arccos)
def arccos_jvp(dx, ans, x): return -dx / np.sqrt(1.0 - x * x)

@vjp(np.arctan)
def arctan_vjp(g, ans, x): return g / (1.0 + x * x)
@jvp(np.arctan)
def arctan_jvp(dx, ans, x): return dx / (1.0 + x * x)

@vjp(np.sinh)
def sinh_vjp(g, ans, x): return g * np.cosh(x)
@jvp(np.sinh)
def sinh_jvp(dx, ans, x): return dx * np.cosh(x)

@vjp(np.cosh)
def cosh_vjp(g, ans, x): return g * np.sinh(x)
@jvp(np.cosh)
def cosh_jvp(dx, ans, x): return dx * np.sinh(x)

@vjp(np.tanh)
def tanh_vjp(g, ans, x): return g * (1.0 - ans * ans)
@jvp(np.tanh)
def tanh_jvp(dx, ans, x): return dx * (1.0 - ans * ans)

@vjp(np.arcsinh)
def arcsinh_vjp(g, ans, x): return g / np.sqrt(x * x + 1.0)
@jvp(np.arcsinh)
def arcsinh_jvp(dx, ans, x): return dx / np.sqrt(x * x + 1.0)

@vjp(np.arccosh)
def arccosh_vjp(g, ans, x): return g / np.sqrt(x * x - 1.0)
@jvp(np.arccosh)
def arccosh_jvp(dx, ans, x): return dx / np.sqrt(x * x - 1.0)

@vjp(np.arctanh)
def arctanh_vjp(g, ans, x): return g / (1.0 - x * x)
@jvp(np.arctanh)
def arctanh_jvp(dx, ans, x): return dx / (1.0 - x * x)

@vjp(np.exp)
def exp_vjp(g, ans, x): return g * ans
@jvp(np.exp)
def exp_jvp(dx, ans, x): return dx * ans

@vjp(np.exp2)
def exp2_vjp(g, ans, x): return g * ans * np.log(2.0)
@jvp(np.exp2)
def exp2_jvp(dx, ans, x): return dx * ans * np.log(2.0)

@vjp(np.expm1)
def expm1_vjp(g, ans, x): return g * (ans + 1.0)
@jvp(np.expm1)
def expm1_jvp(dx, ans, x): return dx * (ans + 1.0)

@vjp(np.log)
def log_vjp(g, ans, x): return g / x
@jvp(np.log)
def log_jvp(dx, ans, x): return dx / x

@vjp(np.log2)
def log2_vjp(g, ans, x): return g / (x * np.log(2.0))
@jvp(np.log2)
def log2_jvp(dx, ans, x): return dx / (x * np.log(2.0))

@vjp(np.log10)
def log10_vjp(g, ans, x): return g / (x * np.log(10.0))
@jvp(np.log10)
def log10_jvp(dx, ans, x): return dx / (x * np.log(10.0))

@vjp(np.log1p)
def log1p_vjp(g, ans, x): return g / (1.0 + x)
@jvp(np.log1p)
def log1p_jvp(dx, ans, x): return dx / (1.0 + x)

@vjp(np.sqrt)
def sqrt_vjp(g, ans, x): return g * 0.5 / ans
@jvp(np.sqrt)
def sqrt_jvp(dx, ans, x): return dx * 0.5 / ans

@vjp(np.cbrt)
def cbrt_vjp(g, ans, x): return g / (3.0 * ans * ans)
@jvp(np.cbrt)
def cbrt_jvp(dx, ans, x): return dx / (3.0 * ans * ans)

@vjp(np.square)
def square_vjp(g, ans, x): return g * 2.0 * x
@jvp(np.square)
def square_jvp(dx, ans, x): return dx * 2.0 * x

@vjp(np.reciprocal)
def reciprocal_vjp(g, ans, x): return -g * ans * ans
@jvp(np.reciprocal)
def reciprocal_jvp(dx, ans, x): return -dx * ans * ans

@vjp(np.fabs)
def fabs_vjp(g, ans, x): return g * np.sign(x)
@jvp(np.fabs)
def fabs_jvp(dx, ans, x): return dx * np.sign(x)

@vjp(np.deg2rad, np.radians)
def deg2rad_vjp(g, ans, x): return g * (np.pi / 180.0)
@jvp(np.deg2rad, np.radians)
def deg2rad_jvp(dx, ans, x): return dx * (np.pi / 180.0)

@vjp(np.rad2deg, np.degrees)
def rad2deg_vjp(g, ans, x): return g * (180.0 / np.pi)
@jvp(np.rad2deg, np.degrees)
def rad2deg_jvp(dx, ans, x): return dx * (180.0 / np.pi)

# sinc'(x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0
@vjp(np.sinc)
def sinc_vjp(g, ans, x): return g * np.where(x == 0, 0.0, (np.cos(np.pi * x) - ans) / np.where(x == 0, 1.0, x))
@jvp(np.sinc)
def sinc_jvp(dx, ans, x): return dx * np.where(x == 0, 0.0, (np.cos(np.pi * x) - ans) / np.where(x == 0, 1.0, x))

# For real inputs these are the identity.
@vjp(np.real)
def real_vjp(g, ans, x): return np.real(g)
@jvp(np.real)
def real_jvp(dx, ans, x): return np.real(dx)

@vjp(np.conjugate)
def conjugate_vjp(g, ans, x): return np.conjugate(g)
@jvp(np.conjugate)
def conjugate_jvp(dx, ans, x): return np.conjugate(dx)

@vjp(np.nan_to_num)
def nan_to_num_vjp(g, ans, x, copy=True, nan=0.0, posinf=None, neginf=None): return g * np.isfinite(x)
@jvp(np.nan_to_num)
def nan_to_num_jvp(dx, ans, x, copy=True, nan=0.0, posinf=None, neginf=None): return dx * np.isfinite(x)

# --- elementwise, several arguments --------------------------------------------------------------

@vjp(np.float_power)
def float_power_vjp(g, ans, x, y): return unbroadcast(g * y * np.float_power(x, y - 1), x), unbroadcast(g * xlogy(ans, x), y)
@jvp(np.float_power)
def float_power_jvp(dx, dy, ans, x, y): return dx * y * np.float_power(x, y - 1), dy * xlogy(ans, x)

# Ties go to the first argument.
@vjp(np.maximum, np.fmax)
def maximum_vjp(g, ans, x, y): return unbroadcast(g * (x >= y), x), unbroadcast(g * (x < y), y)
@jvp(np.maximum, np.fmax)
def maximum_jvp(dx, dy, ans, x, y): return dx * (x >= y), dy * (x < y)

@vjp(np.minimum, np.fmin)
def minimum_vjp(g, ans, x, y): return unbroadcast(g * (x <= y), x), unbroadcast(g * (x > y), y)
@jvp(np.minimum, np.fmin)
def minimum_jvp(dx, dy, ans, x, y): return dx * (x <= y), dy * (x > y)

@vjp(np.hypot)
def hypot_vjp(g, ans, x, y): return unbroadcast(g * x / ans, x), unbroadcast(g * y / ans, y)
@jvp(np.hypot)
def hypot_jvp(dx, dy, ans, x, y): return dx * x / ans, dy * y / ans

@vjp(np.arctan2)
def arctan2_vjp(g, ans, y, x): return unbroadcast(g * x / (x * x + y * y), y), unbroadcast(-g * y / (x * x + y * y), x)
@jvp(np.arctan2)
def arctan2_jvp(dy, dx, ans, y, x): return dy * x / (x * x + y * y), -dx * y / (x * x + y * y)

@vjp(np.logaddexp)
def logaddexp_vjp(g, ans, x, y): return unbroadcast(g * np.exp(x - ans), x), unbroadcast(g * np.exp(y - ans), y)
@jvp(np.logaddexp)
def logaddexp_jvp(dx, dy, ans, x, y): return dx * np.exp(x - ans), dy * np.exp(y - ans)

@vjp(np.logaddexp2)
def logaddexp2_vjp(g, ans, x, y): return unbroadcast(g * np.exp2(x - ans), x), unbroadcast(g * np.exp2(y - ans), y)
@jvp(np.logaddexp2)
def logaddexp2_jvp(dx, dy, ans, x, y): return dx * np.exp2(x - ans), dy * np.exp2(y - ans)

# fmod(x, y) = x - trunc(x / y) * y
@vjp(np.fmod)
def fmod_vjp(g, ans, x, y): return unbroadcast(g, x), unbroadcast(-g * np.trunc(x / y), y)
@jvp(np.fmod)
def fmod_jvp(dx, dy, ans, x, y): return broadcast_like(dx, ans), -dy * np.trunc(x / y)

# copysign(x, y) = |x| sign(y): the sign argument is piecewise constant
@vjp(np.copysign)
def copysign_vjp(g, ans, x, y): return unbroadcast(g * np.copysign(1.0, x) * np.copysign(1.0, y), x), None
@jvp(np.copysign)
def copysign_jvp(dx, dy, ans, x, y): return dx * np.copysign(1.0, x) * np.copysign(1.0, y), None

@vjp(np.ldexp)
def ldexp_vjp(g, ans, x, i): return unbroadcast(g * np.ldexp(1.0, i), x)
@jvp(np.ldexp)
def ldexp_jvp(dx, ans, x, i): return dx * np.ldexp(1.0, i)

@vjp(np.where)
def where_vjp(g, ans, c, x, y): return None, unbroadcast(np.where(c, g, 0.0), x), unbroadcast(np.where(c, 0.0, g), y)
@jvp(np.where)
def where_jvp(dc, dx, dy, ans, c, x, y): return None, broadcast_like(np.where(c, dx, 0.0), ans), broadcast_like(np.where(c, 0.0, dy), ans)

# Where the clip left a value alone it belongs to a; a bound hit gets it (a_max wins a tie of the bounds).
@vjp(np.clip)
def clip_vjp(g, ans, a, a_min=None, a_max=None):
    return (unbroadcast(g * (ans == a), a), unbroadcast(g * (ans != a) * (ans == a_min) * (ans != a_max), a_min),
            unbroadcast(g * (ans != a) * (ans == a_max), a_max))
@jvp(np.clip)
def clip_jvp(da, da_min, da_max, ans, a, a_min=None, a_max=None):
    return da * (ans == a), da_min * (ans != a) * (ans == a_min) * (ans != a_max), da_max * (ans != a) * (ans == a_max)

# --- products and linear algebra -----------------------------------------------------------------

vjp(_opt("linalg.matmul"))(matmul_vjp)
jvp(_opt("linalg.matmul"))(matmul_jvp)

@vjp(np.dot)
def dot_vjp(g, ans, a, b):
    s = np.ndim(a) == 0 or np.ndim(b) == 0
    return (unbroadcast(g * b, a) if s else np.transpose(np.tensordot(g, b, axes=tensordot_adjoint_axes(a, b, dot_axes(a, b), 0)), tensordot_adjoint_perm(a, b, dot_axes(a, b), 0)),
            unbroadcast(g * a, b) if s else np.transpose(np.tensordot(a, g, axes=tensordot_adjoint_axes(a, b, dot_axes(a, b), 1)), tensordot_adjoint_perm(a, b, dot_axes(a, b), 1)))
@jvp(np.dot)
def dot_jvp(da, db, ans, a, b): return np.dot(da, b), np.dot(a, db)

@vjp(np.inner)
def inner_vjp(g, ans, a, b):
    s = np.ndim(a) == 0 or np.ndim(b) == 0
    return (unbroadcast(g * b, a) if s else np.transpose(np.tensordot(g, b, axes=tensordot_adjoint_axes(a, b, dot_axes(a, b, "inner"), 0)), tensordot_adjoint_perm(a, b, dot_axes(a, b, "inner"), 0)),
            unbroadcast(g * a, b) if s else np.transpose(np.tensordot(a, g, axes=tensordot_adjoint_axes(a, b, dot_axes(a, b, "inner"), 1)), tensordot_adjoint_perm(a, b, dot_axes(a, b, "inner"), 1)))
@jvp(np.inner)
def inner_jvp(da, db, ans, a, b): return np.inner(da, b), np.inner(a, db)

@vjp(np.tensordot, _opt("linalg.tensordot"))
def tensordot_vjp(g, ans, a, b, axes=2):
    return (np.transpose(np.tensordot(g, b, axes=tensordot_adjoint_axes(a, b, axes, 0)), tensordot_adjoint_perm(a, b, axes, 0)),
            np.transpose(np.tensordot(a, g, axes=tensordot_adjoint_axes(a, b, axes, 1)), tensordot_adjoint_perm(a, b, axes, 1)))
@jvp(np.tensordot, _opt("linalg.tensordot"))
def tensordot_jvp(da, db, ans, a, b, axes=2): return np.tensordot(da, b, axes=axes), np.tensordot(a, db, axes=axes)

@vjp(np.vdot)
def vdot_vjp(g, ans, a, b): return np.reshape(g * np.ravel(b), np.shape(a)), np.reshape(g * np.ravel(a), np.shape(b))
@jvp(np.vdot)
def vdot_jvp(da, db, ans, a, b): return np.vdot(da, b), np.vdot(a, db)

@vjp(np.outer, _opt("linalg.outer"))
def outer_vjp(g, ans, a, b): return np.reshape(np.dot(g, np.ravel(b)), np.shape(a)), np.reshape(np.dot(np.ravel(a), g), np.shape(b))
@jvp(np.outer, _opt("linalg.outer"))
def outer_jvp(da, db, ans, a, b): return np.outer(da, b), np.outer(a, db)

@vjp(_opt("vecdot"), _opt("linalg.vecdot"))
def vecdot_vjp(g, ans, x1, x2, axis=-1): return unbroadcast(np.expand_dims(g, axis) * x2, x1), unbroadcast(np.expand_dims(g, axis) * x1, x2)
@jvp(_opt("vecdot"), _opt("linalg.vecdot"))
def vecdot_jvp(dx1, dx2, ans, x1, x2, axis=-1): return np.vecdot(dx1, x2, axis=axis), np.vecdot(x1, dx2, axis=axis)

def _einsum_refusal(literal, given):
    """A literal ``subscripts`` with an index repeated inside one operand (a trace or diagonal)."""
    subs = literal.get("subscripts")
    terms = subs.replace(" ", "").partition("->")[0].replace(".", "").split(",") if isinstance(subs, str) else []
    if any(len(set(t)) != len(t) for t in terms):
        return "einsum with an index repeated inside one operand (%r) has no derivative rule" % subs


@vjp(np.einsum)
@checked(_einsum_refusal)
def einsum_vjp(g, ans, subscripts, x, y=None):
    return (None,
            unbroadcast(np.einsum(einsum_adjoint_spec(subscripts, 0, x), g, np.ones(np.shape(x))) if y is None else
                        np.einsum(einsum_adjoint_spec(subscripts, 0, x, y), g, y, np.ones(np.shape(x))), x),
            None if y is None else
            unbroadcast(np.einsum(einsum_adjoint_spec(subscripts, 1, x, y), g, x, np.ones(np.shape(y))), y))
@jvp(np.einsum)
@checked(_einsum_refusal)
def einsum_jvp(ds, dx, dy, ans, subscripts, x, y=None):
    return None, np.einsum(subscripts, dx) if y is None else np.einsum(subscripts, dx, y), None if y is None else np.einsum(subscripts, x, dy)

@vjp(np.kron)
def kron_vjp(g, ans, a, b):
    A = np.reshape(a, kron_shape(a, b))  # the operand of lower rank gets ones in front, as np.kron reads it
    B = np.reshape(b, kron_shape(b, a))
    G = np.reshape(g, kron_split_shape(A, B))
    return (np.reshape(np.tensordot(G, B, axes=(kron_axes(A, 1), kron_axes(B))), np.shape(a)),
            np.reshape(np.tensordot(A, G, axes=(kron_axes(A), kron_axes(A, 0))), np.shape(b)))
@jvp(np.kron)
def kron_jvp(da, db, ans, a, b): return np.kron(da, b), np.kron(a, db)

@vjp(np.cross)
def cross_vjp(g, ans, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return (unbroadcast(np.cross(b, g, axisa=axisb, axisb=axisc, axisc=axisa, axis=axis), a),
            unbroadcast(np.cross(g, a, axisa=axisc, axisb=axisa, axisc=axisb, axis=axis), b))
@jvp(np.cross)
def cross_jvp(da, db, ans, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return np.cross(da, b, axisa, axisb, axisc, axis), np.cross(a, db, axisa, axisb, axisc, axis)

@vjp(_opt("linalg.cross"))
def linalg_cross_vjp(g, ans, x1, x2, axis=-1): return unbroadcast(np.cross(x2, g, axis=axis), x1), unbroadcast(np.cross(g, x1, axis=axis), x2)
@jvp(_opt("linalg.cross"))
def linalg_cross_jvp(dx1, dx2, ans, x1, x2, axis=-1): return np.linalg.cross(dx1, x2, axis=axis), np.linalg.cross(x1, dx2, axis=axis)

@vjp(np.trace)
def trace_vjp(g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return np.moveaxis(np.expand_dims(np.expand_dims(g, -1), -1) * np.eye(np.size(a, axis1), np.size(a, axis2), k=offset), (-2, -1), (axis1, axis2))
@jvp(np.trace)
def trace_jvp(da, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None): return np.trace(da, offset, axis1, axis2)

@vjp(_opt("linalg.trace"))
def linalg_trace_vjp(g, ans, x, offset=0, dtype=None): return np.expand_dims(np.expand_dims(g, -1), -1) * np.eye(np.size(x, -2), np.size(x, -1), k=offset)
@jvp(_opt("linalg.trace"))
def linalg_trace_jvp(dx, ans, x, offset=0, dtype=None): return np.linalg.trace(dx, offset=offset)

@vjp(np.diagonal)
def diagonal_vjp(g, ans, a, offset=0, axis1=0, axis2=1): return undiagonal(g, a, offset, axis1, axis2)
@jvp(np.diagonal)
def diagonal_jvp(da, ans, a, offset=0, axis1=0, axis2=1): return np.diagonal(da, offset, axis1, axis2)

@vjp(_opt("linalg.diagonal"))
def linalg_diagonal_vjp(g, ans, x, offset=0): return undiagonal(g, x, offset, -2, -1)
@jvp(_opt("linalg.diagonal"))
def linalg_diagonal_jvp(dx, ans, x, offset=0): return np.linalg.diagonal(dx, offset=offset)

# diag builds a matrix from a vector and extracts the diagonal of a matrix: each is the other's adjoint
@vjp(np.diag)
def diag_vjp(g, ans, v, k=0): return np.diagonal(g, k) if np.ndim(v) == 1 else undiagonal(g, v, k, 0, 1)
@jvp(np.diag)
def diag_jvp(dv, ans, v, k=0): return np.diag(dv, k)

@vjp(np.diagflat)
def diagflat_vjp(g, ans, v, k=0): return np.reshape(np.diagonal(g, k), np.shape(v))
@jvp(np.diagflat)
def diagflat_jvp(dv, ans, v, k=0): return np.diagflat(dv, k)

@vjp(np.tril)
def tril_vjp(g, ans, m, k=0): return np.tril(g, k)
@jvp(np.tril)
def tril_jvp(dm, ans, m, k=0): return np.tril(dm, k)

@vjp(np.triu)
def triu_vjp(g, ans, m, k=0): return np.triu(g, k)
@jvp(np.triu)
def triu_jvp(dm, ans, m, k=0): return np.triu(dm, k)

@vjp(np.linalg.det)
def det_vjp(g, ans, a): return np.expand_dims(np.expand_dims(g * ans, -1), -1) * np.swapaxes(np.linalg.inv(a), -1, -2)
@jvp(np.linalg.det)
def det_jvp(da, ans, a): return ans * np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)

@vjp(np.linalg.inv)
def inv_vjp(g, ans, a): return -np.matmul(np.swapaxes(ans, -1, -2), np.matmul(g, np.swapaxes(ans, -1, -2)))
@jvp(np.linalg.inv)
def inv_jvp(da, ans, a): return -np.matmul(ans, np.matmul(da, ans))

# A 1-D b is a single right-hand side: work with it (and ans, g) as a column.
@vjp(np.linalg.solve)
def solve_vjp(g, ans, a, b):
    v = np.ndim(b) == 1
    gb = np.linalg.solve(np.swapaxes(a, -1, -2), np.expand_dims(g, -1) if v else g)
    return (unbroadcast(-np.matmul(gb, np.swapaxes(np.expand_dims(ans, -1) if v else ans, -1, -2)), a),
            np.reshape(unbroadcast(gb, np.expand_dims(b, -1) if v else b), np.shape(b)))
@jvp(np.linalg.solve)
def solve_jvp(da, db, ans, a, b):
    v = np.ndim(b) == 1
    return np.reshape(np.linalg.solve(a, -np.matmul(da, np.expand_dims(ans, -1) if v else ans)), np.shape(ans)), np.linalg.solve(a, db)

# d|x|_p = sign(x) |x|^(p-1) / |x|_p^(p-1); the Frobenius norm is p = 2 over the matrix
def _norm_refusal(literal, given, matrix=False):
    """A literal ``ord`` no norm rule takes, whatever the operand's rank: the nuclear norm and every
    matrix norm but Frobenius (for ``matrix``: only these), a vector p-norm with p < 1 or p = inf."""
    o = literal.get("ord")
    if o is None or o == "fro" or isinstance(o, bool) or not isinstance(o, (str, int, float)):
        return None
    if isinstance(o, str) or matrix or not 1 <= o < math.inf:
        return "no derivative rule for the norm ord=%r (rules: vector p-norms with p >= 1, the Frobenius norm)" % (o,)


@vjp(np.linalg.norm)
@checked(_norm_refusal)
def norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    p = norm_order(x, ord, axis)
    return expand_reduced(g * ans ** (1.0 - p), x, axis, keepdims) * np.sign(x) * np.abs(x) ** (p - 1.0)
@jvp(np.linalg.norm)
@checked(_norm_refusal)
def norm_jvp(dx, ans, x, ord=None, axis=None, keepdims=False):
    p = norm_order(x, ord, axis)
    return np.sum(dx * np.sign(x) * np.abs(x) ** (p - 1.0), axis=axis, keepdims=keepdims) * ans ** (1.0 - p)

@vjp(_opt("linalg.vector_norm"))
@checked(_norm_refusal)
def vector_norm_vjp(g, ans, x, axis=None, keepdims=False, ord=2):
    p = norm_order(x, ord, axis, True)
    return expand_reduced(g * ans ** (1.0 - p), x, axis, keepdims) * np.sign(x) * np.abs(x) ** (p - 1.0)
@jvp(_opt("linalg.vector_norm"))
@checked(_norm_refusal)
def vector_norm_jvp(dx, ans, x, axis=None, keepdims=False, ord=2):
    p = norm_order(x, ord, axis, True)
    return np.sum(dx * np.sign(x) * np.abs(x) ** (p - 1.0), axis=axis, keepdims=keepdims) * ans ** (1.0 - p)

def _matrix_norm_refusal(literal, given):
    return _norm_refusal(literal, given, matrix=True)


@vjp(_opt("linalg.matrix_norm"))
@checked(_matrix_norm_refusal)
def matrix_norm_vjp(g, ans, x, keepdims=False, ord="fro"):
    p = norm_order(x, ord, (-2, -1))
    return expand_reduced(g * ans ** (1.0 - p), x, (-2, -1), keepdims) * np.sign(x) * np.abs(x) ** (p - 1.0)
@jvp(_opt("linalg.matrix_norm"))
@checked(_matrix_norm_refusal)
def matrix_norm_jvp(dx, ans, x, keepdims=False, ord="fro"):
    p = norm_order(x, ord, (-2, -1))
    return np.sum(dx * np.sign(x) * np.abs(x) ** (p - 1.0), axis=(-2, -1), keepdims=keepdims) * ans ** (1.0 - p)

# --- reductions ----------------------------------------------------------------------------------

@vjp(np.sum)
def sum_np_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False): return expand_reduced(g, a, axis, keepdims)
@jvp(np.sum)
def sum_np_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False): return np.sum(da, axis=axis, keepdims=keepdims)

@vjp(np.nansum)
def nansum_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False): return np.where(np.isnan(a), 0.0, expand_reduced(g, a, axis, keepdims))
@jvp(np.nansum)
def nansum_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False): return np.sum(np.where(np.isnan(a), 0.0, da), axis=axis, keepdims=keepdims)

@vjp(np.mean)
def mean_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False): return expand_reduced(g / reduced_count(a, axis), a, axis, keepdims)
@jvp(np.mean)
def mean_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False): return np.mean(da, axis=axis, keepdims=keepdims)

@vjp(np.nanmean)
def nanmean_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    return expand_reduced(g, a, axis, keepdims) * ok / np.sum(ok, axis=axis, keepdims=True)
@jvp(np.nanmean)
def nanmean_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    return np.sum(np.where(ok, da, 0.0), axis=axis, keepdims=keepdims) / np.sum(ok, axis=axis, keepdims=keepdims)

@vjp(np.prod)
def prod_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False): return expand_reduced(g * ans, a, axis, keepdims) / a
@jvp(np.prod)
def prod_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False): return np.sum(da / a, axis=axis, keepdims=keepdims) * ans

@vjp(np.nanprod)
def nanprod_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False): return np.where(np.isnan(a), 0.0, expand_reduced(g * ans, a, axis, keepdims) / a)
@jvp(np.nanprod)
def nanprod_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False): return np.sum(np.where(np.isnan(a), 0.0, da / a), axis=axis, keepdims=keepdims) * ans

# max/min: the adjoint is shared evenly among the tied maxima (NaNs never tie, so nanmax fits too)
@vjp(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin)
def max_np_vjp(g, ans, a, axis=None, out=None, keepdims=False):
    m = a == (ans if keepdims else np.reshape(ans, keepdims_shape(a, axis)))  # m has a's shape: g, kept small, broadcasts against it
    return (g if keepdims else np.reshape(g, keepdims_shape(a, axis))) / np.sum(m, axis=axis, keepdims=True) * m
@jvp(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin)
def max_np_jvp(da, ans, a, axis=None, out=None, keepdims=False):
    m = a == (ans if keepdims else np.reshape(ans, keepdims_shape(a, axis)))
    return np.sum(da * m, axis=axis, keepdims=keepdims) / np.sum(m, axis=axis, keepdims=keepdims)

@vjp(np.ptp)
def ptp_vjp(g, ans, a, axis=None, out=None, keepdims=False):
    hi = a == np.max(a, axis=axis, keepdims=True)
    lo = a == np.min(a, axis=axis, keepdims=True)
    return expand_reduced(g, a, axis, keepdims) * (hi / np.sum(hi, axis=axis, keepdims=True) - lo / np.sum(lo, axis=axis, keepdims=True))
@jvp(np.ptp)
def ptp_jvp(da, ans, a, axis=None, out=None, keepdims=False):
    hi = a == np.max(a, axis=axis, keepdims=True)
    lo = a == np.min(a, axis=axis, keepdims=True)
    return np.sum(da * (hi / np.sum(hi, axis=axis, keepdims=True) - lo / np.sum(lo, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims)

@vjp(np.var)
def var_vjp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return expand_reduced(g, a, axis, keepdims) * 2.0 * (a - np.mean(a, axis=axis, keepdims=True)) / (reduced_count(a, axis) - ddof)
@jvp(np.var)
def var_jvp(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.sum(2.0 * da * (a - np.mean(a, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims) / (reduced_count(a, axis) - ddof)

# The std of one element is 0 whatever it is: its derivative is 0 (a - mean is 0 there), not 0 / 0.
# Elsewhere std == 0 (all elements equal) is a kink, like |x| at 0: nan.
@vjp(np.std)
def std_vjp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    s = 1.0 if reduced_count(a, axis) == 1 else ans
    return expand_reduced(g / s, a, axis, keepdims) * (a - np.mean(a, axis=axis, keepdims=True)) / (reduced_count(a, axis) - ddof)
@jvp(np.std)
def std_jvp(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    s = 1.0 if reduced_count(a, axis) == 1 else ans
    return np.sum(da * (a - np.mean(a, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims) / ((reduced_count(a, axis) - ddof) * s)

# nanvar / nanstd: var / std over the non-NaN entries (NaN entries get a zero derivative)
@vjp(np.nanvar)
def nanvar_vjp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    d = np.where(ok, a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    return expand_reduced(g, a, axis, keepdims) * 2.0 * d / (np.sum(ok, axis=axis, keepdims=True) - ddof)
@jvp(np.nanvar)
def nanvar_jvp(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    d = np.where(ok, a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    return np.sum(2.0 * np.where(ok, da, 0.0) * d, axis=axis, keepdims=keepdims) / (np.sum(ok, axis=axis, keepdims=keepdims) - ddof)

@vjp(np.nanstd)
def nanstd_vjp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    d = np.where(ok, a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    return expand_reduced(g / ans, a, axis, keepdims) * d / (np.sum(ok, axis=axis, keepdims=True) - ddof)
@jvp(np.nanstd)
def nanstd_jvp(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    d = np.where(ok, a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    return np.sum(np.where(ok, da, 0.0) * d, axis=axis, keepdims=keepdims) / ((np.sum(ok, axis=axis, keepdims=keepdims) - ddof) * ans)

# The adjoint of a cumulative sum is the reversed cumulative sum (of the flattened g for axis=None).
@vjp(np.cumsum)
def cumsum_vjp(g, ans, a, axis=None, dtype=None, out=None): return np.reshape(np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis), np.shape(a))
@jvp(np.cumsum)
def cumsum_jvp(da, ans, a, axis=None, dtype=None, out=None): return np.cumsum(da, axis=axis)

@vjp(np.nancumsum)
def nancumsum_vjp(g, ans, a, axis=None, dtype=None, out=None):
    return np.where(np.isnan(a), 0.0, np.reshape(np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis), np.shape(a)))
@jvp(np.nancumsum)
def nancumsum_jvp(da, ans, a, axis=None, dtype=None, out=None): return np.cumsum(np.where(np.isnan(a), 0.0, da), axis=axis)

@vjp(np.cumprod)
def cumprod_vjp(g, ans, a, axis=None, dtype=None, out=None): return np.reshape(np.flip(np.cumsum(np.flip(g * ans, axis), axis=axis), axis), np.shape(a)) / a
@jvp(np.cumprod)
def cumprod_jvp(da, ans, a, axis=None, dtype=None, out=None): return ans * np.cumsum(da / a, axis=axis)

@vjp(_opt("cumulative_sum"))
def cumulative_sum_vjp(g, ans, x, axis=None, dtype=None, out=None, include_initial=False):
    r = np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)
    return np.delete(r, 0, axis=axis) if include_initial else r
@jvp(_opt("cumulative_sum"))
def cumulative_sum_jvp(dx, ans, x, axis=None, dtype=None, out=None, include_initial=False): return np.cumulative_sum(dx, axis=axis, include_initial=include_initial)

@vjp(_opt("cumulative_prod"))
def cumulative_prod_vjp(g, ans, x, axis=None, dtype=None, out=None, include_initial=False):
    r = np.flip(np.cumsum(np.flip(g * ans, axis), axis=axis), axis)
    return (np.delete(r, 0, axis=axis) if include_initial else r) / x
@jvp(_opt("cumulative_prod"))
def cumulative_prod_jvp(dx, ans, x, axis=None, dtype=None, out=None, include_initial=False):
    return ans * np.cumulative_sum(dx / x, axis=axis, include_initial=include_initial)

# --- shapes and copies ---------------------------------------------------------------------------

@vjp(np.reshape)
def reshape_vjp(g, ans, a, shape=None, order="C"): return np.reshape(g, np.shape(a), order=order)
@jvp(np.reshape)
def reshape_jvp(da, ans, a, shape=None, order="C"): return np.reshape(da, np.shape(ans), order=order)

@vjp(np.ravel)
def ravel_vjp(g, ans, a, order="C"): return np.reshape(g, np.shape(a), order=order)
@jvp(np.ravel)
def ravel_jvp(da, ans, a, order="C"): return np.ravel(da, order=order)

@vjp(np.transpose)
def transpose_vjp(g, ans, a, axes=None): return np.transpose(g, None if axes is None else np.argsort(axes))
@jvp(np.transpose)
def transpose_jvp(da, ans, a, axes=None): return np.transpose(da, axes)

@vjp(_opt("matrix_transpose"), _opt("linalg.matrix_transpose"))
def matrix_transpose_vjp(g, ans, x): return np.matrix_transpose(g)
@jvp(_opt("matrix_transpose"), _opt("linalg.matrix_transpose"))
def matrix_transpose_jvp(dx, ans, x): return np.matrix_transpose(dx)

@vjp(np.swapaxes)
def swapaxes_vjp(g, ans, a, axis1, axis2): return np.swapaxes(g, axis1, axis2)
@jvp(np.swapaxes)
def swapaxes_jvp(da, ans, a, axis1, axis2): return np.swapaxes(da, axis1, axis2)

@vjp(np.moveaxis)
def moveaxis_vjp(g, ans, a, source, destination): return np.moveaxis(g, destination, source)
@jvp(np.moveaxis)
def moveaxis_jvp(da, ans, a, source, destination): return np.moveaxis(da, source, destination)

@vjp(np.rollaxis)
def rollaxis_vjp(g, ans, a, axis, start=0): return np.moveaxis(g, rollaxis_dest(a, axis, start), axis)
@jvp(np.rollaxis)
def rollaxis_jvp(da, ans, a, axis, start=0): return np.rollaxis(da, axis, start)

@vjp(np.expand_dims)
def expand_dims_vjp(g, ans, a, axis): return np.reshape(g, np.shape(a))
@jvp(np.expand_dims)
def expand_dims_jvp(da, ans, a, axis): return np.expand_dims(da, axis)

@vjp(np.squeeze)
def squeeze_vjp(g, ans, a, axis=None): return np.reshape(g, np.shape(a))
@jvp(np.squeeze)
def squeeze_jvp(da, ans, a, axis=None): return np.squeeze(da, axis)

@vjp(np.broadcast_to)
def broadcast_to_vjp(g, ans, array, shape, subok=False): return unbroadcast(g, array)
@jvp(np.broadcast_to)
def broadcast_to_jvp(darray, ans, array, shape, subok=False): return broadcast_like(darray, ans)

# Array-likes pass through: the adjoint is g in the input's shape.
@vjp(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_vjp(g, ans, a): return np.reshape(g, np.shape(a))
@jvp(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_jvp(da, ans, a): return np.reshape(da, np.shape(ans))

_AS_ARRAY = (np.copy, np.asarray, np.array, np.asanyarray, np.ascontiguousarray, np.asarray_chkfinite)


@vjp(*_AS_ARRAY)
def asarray_vjp(g, ans, a, dtype=None, order=None): return np.reshape(if_inexact(g, ans), np.shape(a))
@jvp(*_AS_ARRAY)
def asarray_jvp(da, ans, a, dtype=None, order=None):
    return if_inexact(np.reshape(np.array(da, dtype=np.result_type(ans, np.float64)), np.shape(ans)), ans)

# --- constructors whose values are the float arguments (or move with them) --------------------

@vjp(np.full)
def full_vjp(g, ans, shape, fill_value, dtype=None, order="C"): return None, unbroadcast(if_inexact(g, ans), fill_value)
@jvp(np.full)
def full_jvp(dshape, dfill_value, ans, shape, fill_value, dtype=None, order="C"):
    return None, if_inexact(broadcast_like(dfill_value, ans), ans)

@vjp(np.full_like)
def full_like_vjp(g, ans, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    return None, unbroadcast(if_inexact(g, ans), fill_value)
@jvp(np.full_like)
def full_like_jvp(da, dfill_value, ans, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    return None, if_inexact(broadcast_like(dfill_value, ans), ans)

# linspace is start + (stop - start) * t for the fractions t (spaced_fraction), along axis
@vjp(np.linspace)
def linspace_vjp(g, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis, retstep)
    h = if_inexact(g, ans)
    return unbroadcast(np.sum(h * (1.0 - t), axis=axis), start), unbroadcast(np.sum(h * t, axis=axis), stop)
@jvp(np.linspace)
def linspace_jvp(dstart, dstop, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis, retstep)
    return (if_inexact(broadcast_like(spaced_like(dstart, ans, axis) * (1.0 - t), ans), ans),
            if_inexact(broadcast_like(spaced_like(dstop, ans, axis) * t, ans), ans))

# geomspace is start * (stop / start) ** t: d/dstart = ans (1 - t) / start, d/dstop = ans t / stop
@vjp(np.geomspace)
def geomspace_vjp(g, ans, start, stop, num=50, endpoint=True, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis)
    h = if_inexact(g, ans) * ans
    return (unbroadcast(np.sum(h * (1.0 - t), axis=axis) / start, start),
            unbroadcast(np.sum(h * t, axis=axis) / stop, stop))
@jvp(np.geomspace)
def geomspace_jvp(dstart, dstop, ans, start, stop, num=50, endpoint=True, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis)
    return (if_inexact(spaced_like(dstart / start, ans, axis) * (1.0 - t) * ans, ans),
            if_inexact(spaced_like(dstop / stop, ans, axis) * t * ans, ans))

# logspace is base ** y, y = linspace(start, stop): d/dy = ans log(base), d/dbase = ans y / base
@vjp(np.logspace)
def logspace_vjp(g, ans, start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis)
    h = if_inexact(g, ans) * ans
    y = np.linspace(start, stop, num, endpoint, axis=axis)
    return (unbroadcast(np.sum(h * (1.0 - t), axis=axis) * np.log(base), start),
            unbroadcast(np.sum(h * t, axis=axis) * np.log(base), stop), None, None,
            unbroadcast(np.sum(h * y, axis=axis) / base, base))
@jvp(np.logspace)
def logspace_jvp(dstart, dstop, dnum, dendpoint, dbase, ans, start, stop, num=50, endpoint=True, base=10.0, dtype=None,
                 axis=0):
    t = spaced_fraction(ans, num, endpoint, axis)
    y = np.linspace(start, stop, num, endpoint, axis=axis)
    return (if_inexact(spaced_like(dstart * np.log(base), ans, axis) * (1.0 - t) * ans, ans),
            if_inexact(spaced_like(dstop * np.log(base), ans, axis) * t * ans, ans), None, None,
            if_inexact(spaced_like(dbase / base, ans, axis) * y * ans, ans))

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

# Their first argument stays a list/tuple of arrays (tuples of per-element adjoints and tangents);
# every other NumPy function reads a list or tuple argument as np.asarray does, and lowering makes
# that conversion a step of its own (``array_args``), so the rules below see arrays.
SEQUENCE_FIRST = {np.concatenate, np.stack, np.hstack, np.vstack, np.column_stack, np.dstack}


def array_args(fn):
    """How many leading arguments of ``fn`` NumPy converts with ``np.asarray`` and its rule
    differentiates (0: not a NumPy function with a rule, or one that takes them as they are)."""
    numpy = isinstance(fn, np.ufunc) or str(getattr(fn, "__module__", None)).split(".")[0] == "numpy"
    rule = lookup(VJP, fn) if numpy else None
    if rule is None or fn in SEQUENCE_FIRST or fn in _AS_ARRAY:
        return 0
    return n_diff_args(VJP, rule)


@vjp(np.concatenate)
def concatenate_vjp(g, ans, arrays, axis=0, out=None, dtype=None): return split_like(g, arrays, axis)
@jvp(np.concatenate)
def concatenate_jvp(darrays, ans, arrays, axis=0, out=None, dtype=None): return np.concatenate(darrays, axis=axis)

@vjp(np.stack)
def stack_vjp(g, ans, arrays, axis=0, out=None, dtype=None): return unstack(g, axis)
@jvp(np.stack)
def stack_jvp(darrays, ans, arrays, axis=0, out=None, dtype=None): return np.stack(darrays, axis=axis)

@vjp(_opt("unstack"))
def unstack_np_vjp(g, ans, x, axis=0): return np.stack(fill_pieces(g, ans), axis=axis)
@jvp(_opt("unstack"))
def unstack_np_jvp(dx, ans, x, axis=0): return np.unstack(dx, axis=axis)

@vjp(np.hstack)
def hstack_vjp(g, ans, tup): return split_like(g, tup, 0 if np.ndim(g) == 1 else 1)
@jvp(np.hstack)
def hstack_jvp(dtup, ans, tup): return np.hstack(dtup)

@vjp(np.vstack)
def vstack_vjp(g, ans, tup): return split_like(g, tup, 0)
@jvp(np.vstack)
def vstack_jvp(dtup, ans, tup): return np.vstack(dtup)

@vjp(np.column_stack)
def column_stack_vjp(g, ans, tup): return split_like(g, tup, 1)
@jvp(np.column_stack)
def column_stack_jvp(dtup, ans, tup): return np.column_stack(dtup)

@vjp(np.dstack)
def dstack_vjp(g, ans, tup): return split_like(g, tup, 2)
@jvp(np.dstack)
def dstack_jvp(dtup, ans, tup): return np.dstack(dtup)

structured(*[k for k in (np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit, _opt("unstack")) if k])


@vjp(np.split, np.array_split)
def split_vjp(g, ans, ary, indices_or_sections, axis=0): return join_like(fill_pieces(g, ans), ary, axis)
@jvp(np.split, np.array_split)
def split_jvp(dary, ans, ary, indices_or_sections, axis=0): return np.array_split(dary, indices_or_sections, axis=axis)

@vjp(np.hsplit)
def hsplit_vjp(g, ans, ary, indices_or_sections): return join_like(fill_pieces(g, ans), ary, 0 if np.ndim(ary) == 1 else 1)
@jvp(np.hsplit)
def hsplit_jvp(dary, ans, ary, indices_or_sections): return np.hsplit(dary, indices_or_sections)

@vjp(np.vsplit)
def vsplit_vjp(g, ans, ary, indices_or_sections): return join_like(fill_pieces(g, ans), ary, 0)
@jvp(np.vsplit)
def vsplit_jvp(dary, ans, ary, indices_or_sections): return np.vsplit(dary, indices_or_sections)

@vjp(np.dsplit)
def dsplit_vjp(g, ans, ary, indices_or_sections): return join_like(fill_pieces(g, ans), ary, 2)
@jvp(np.dsplit)
def dsplit_jvp(dary, ans, ary, indices_or_sections): return np.dsplit(dary, indices_or_sections)

@vjp(np.repeat)
def repeat_vjp(g, ans, a, repeats, axis=None): return untake(g, repeat_index(a, repeats, axis), a, axis)
@jvp(np.repeat)
def repeat_jvp(da, ans, a, repeats, axis=None): return np.repeat(da, repeats, axis=axis)

@vjp(np.tile)
def tile_vjp(g, ans, A, reps): return np.reshape(np.sum(np.reshape(g, tile_split_shape(A, reps)), axis=tile_sum_axes(A, reps)), np.shape(A))
@jvp(np.tile)
def tile_jvp(dA, ans, A, reps): return np.tile(dA, reps)

@vjp(np.flip)
def flip_vjp(g, ans, m, axis=None): return np.flip(g, axis)
@jvp(np.flip)
def flip_jvp(dm, ans, m, axis=None): return np.flip(dm, axis)

@vjp(np.fliplr)
def fliplr_vjp(g, ans, m): return np.fliplr(g)
@jvp(np.fliplr)
def fliplr_jvp(dm, ans, m): return np.fliplr(dm)

@vjp(np.flipud)
def flipud_vjp(g, ans, m): return np.flipud(g)
@jvp(np.flipud)
def flipud_jvp(dm, ans, m): return np.flipud(dm)

@vjp(np.roll)
def roll_vjp(g, ans, a, shift, axis=None): return np.roll(g, np.negative(shift), axis)
@jvp(np.roll)
def roll_jvp(da, ans, a, shift, axis=None): return np.roll(da, shift, axis)

@vjp(np.rot90)
def rot90_vjp(g, ans, m, k=1, axes=(0, 1)): return np.rot90(g, -k, axes)
@jvp(np.rot90)
def rot90_jvp(dm, ans, m, k=1, axes=(0, 1)): return np.rot90(dm, k, axes)

def _pad_refusal(literal, given):
    """A literal ``mode`` that computes the padding (``mean``, ``linear_ramp``, ...) or an odd reflection."""
    mode, kind = literal.get("mode", "constant"), literal.get("reflect_type", "even")
    if mode not in PAD_COPY_MODES or kind != "even":
        return "np.pad with mode=%r, reflect_type=%r has no derivative rule (rules: the modes that copy values)" \
            % (mode, kind)


# constant_values (and other pad options) are constants here
@vjp(np.pad)
@checked(_pad_refusal)
def pad_vjp(g, ans, array, pad_width, mode="constant", constant_values=0, reflect_type="even"): return unpad(g, array, pad_width, mode, reflect_type)
@jvp(np.pad)
@checked(_pad_refusal)
def pad_jvp(darray, ans, array, pad_width, mode="constant", constant_values=0, reflect_type="even"):
    return np.pad(darray, pad_width, mode=pad_mode(mode, reflect_type))

@vjp(np.sort)
def sort_vjp(g, ans, a, axis=-1, kind=None, order=None): return untake_along_axis(g, np.argsort(a, axis=axis), a, axis)
@jvp(np.sort)
def sort_jvp(da, ans, a, axis=-1, kind=None, order=None): return np.take_along_axis(da, np.argsort(a, axis=axis), axis=axis)

@vjp(np.take)
def take_vjp(g, ans, a, indices, axis=None, out=None, mode="raise"): return untake(g, indices, a, axis)
@jvp(np.take)
def take_jvp(da, ans, a, indices, axis=None, out=None, mode="raise"): return np.take(da, indices, axis=axis)

@vjp(np.take_along_axis)
def take_along_axis_vjp(g, ans, arr, indices, axis=-1): return untake_along_axis(g, indices, arr, axis)
@jvp(np.take_along_axis)
def take_along_axis_jvp(darr, ans, arr, indices, axis=-1): return np.take_along_axis(darr, indices, axis=axis)

@vjp(np.compress)
def compress_vjp(g, ans, condition, a, axis=None, out=None): return None, untake(g, np.flatnonzero(condition), a, axis)
@jvp(np.compress)
def compress_jvp(dcondition, da, ans, condition, a, axis=None, out=None): return None, np.compress(condition, da, axis=axis)

@vjp(np.extract)
def extract_vjp(g, ans, condition, arr): return None, untake(g, np.flatnonzero(condition), arr, None)
@jvp(np.extract)
def extract_jvp(dcondition, darr, ans, condition, arr): return None, np.extract(condition, darr)

@vjp(np.delete)
def delete_vjp(g, ans, arr, obj, axis=None): return untake(g, np.delete(repeat_index(arr, 1, axis), obj), arr, axis)
@jvp(np.delete)
def delete_jvp(darr, ans, arr, obj, axis=None): return np.delete(darr, obj, axis=axis)

def _ends_refusal(literal, given):
    """Values put before or after the differences (their own derivative has no rule)."""
    ends = [p for p in ("prepend", "append", "to_end", "to_begin") if p in given and literal.get(p, 0) is not None]
    if ends:
        return "`%s` has no derivative rule here" % ends[0]


@vjp(np.diff)
@checked(_ends_refusal)
def diff_vjp(g, ans, a, n=1, axis=-1, prepend=None, append=None): return undiff(g, n, axis, prepend, append)
@jvp(np.diff)
@checked(_ends_refusal)
def diff_jvp(da, ans, a, n=1, axis=-1, prepend=None, append=None): return np.diff(da, n=n, axis=axis)

@vjp(np.ediff1d)
@checked(_ends_refusal)
def ediff1d_vjp(g, ans, ary, to_end=None, to_begin=None): return np.reshape(undiff(g, 1, -1, to_begin, to_end), np.shape(ary))
@jvp(np.ediff1d)
@checked(_ends_refusal)
def ediff1d_jvp(dary, ans, ary, to_end=None, to_begin=None): return np.ediff1d(dary)
