"""NumPy rules: products (``dot``, ``tensordot``, ``einsum``, ...) and linear algebra (``np.linalg``).

See ``numpy_rules.py`` for the conventions the NumPy rules share."""
import math

import numpy as np

from ..runtime import unbroadcast
from .combinators import linear, self_adjoint
from .helpers import (dot_axes, einsum_adjoint_spec, expand_reduced, kron_axes, kron_shape, kron_split_shape,
                      norm_order, tensordot_adjoint_axes, tensordot_adjoint_perm, undiagonal)
from .numpy_decomp import spectral, spectral_grad, spectral_tangent
from .numpy_rules import _opt
from .registry import checked, jvp, vjp
from .scalar import matmul_jvp, matmul_vjp

# --- products and linear algebra -----------------------------------------------------------------

vjp(_opt("linalg.matmul"))(matmul_vjp)
jvp(_opt("linalg.matmul"))(matmul_jvp)

@linear(np.dot)
def dot_vjp(g, ans, a, b):
    s = np.ndim(a) == 0 or np.ndim(b) == 0
    return (unbroadcast(g * b, a) if s else
            np.transpose(np.tensordot(g, b, axes=tensordot_adjoint_axes(a, b, dot_axes(a, b), 0)),
                         tensordot_adjoint_perm(a, b, dot_axes(a, b), 0)),
            unbroadcast(g * a, b) if s else
            np.transpose(np.tensordot(a, g, axes=tensordot_adjoint_axes(a, b, dot_axes(a, b), 1)),
                         tensordot_adjoint_perm(a, b, dot_axes(a, b), 1)))

@linear(np.inner)
def inner_vjp(g, ans, a, b):
    s = np.ndim(a) == 0 or np.ndim(b) == 0
    return (unbroadcast(g * b, a) if s else
            np.transpose(np.tensordot(g, b, axes=tensordot_adjoint_axes(a, b, dot_axes(a, b, "inner"), 0)),
                         tensordot_adjoint_perm(a, b, dot_axes(a, b, "inner"), 0)),
            unbroadcast(g * a, b) if s else
            np.transpose(np.tensordot(a, g, axes=tensordot_adjoint_axes(a, b, dot_axes(a, b, "inner"), 1)),
                         tensordot_adjoint_perm(a, b, dot_axes(a, b, "inner"), 1)))

@linear((np.tensordot, _opt("linalg.tensordot")), kwargs=("axes",))
def tensordot_vjp(g, ans, a, b, axes=2):
    return (np.transpose(np.tensordot(g, b, axes=tensordot_adjoint_axes(a, b, axes, 0)),
                         tensordot_adjoint_perm(a, b, axes, 0)),
            np.transpose(np.tensordot(a, g, axes=tensordot_adjoint_axes(a, b, axes, 1)),
                         tensordot_adjoint_perm(a, b, axes, 1)))

@linear(np.vdot)
def vdot_vjp(g, ans, a, b): return np.reshape(g * np.ravel(b), np.shape(a)), np.reshape(g * np.ravel(a), np.shape(b))

@linear((np.outer, _opt("linalg.outer")))
def outer_vjp(g, ans, a, b):
    return np.reshape(np.dot(g, np.ravel(b)), np.shape(a)), np.reshape(np.dot(np.ravel(a), g), np.shape(b))

@linear((_opt("vecdot"), _opt("linalg.vecdot")), kwargs=("axis",))
def vecdot_vjp(g, ans, x1, x2, axis=-1):
    return unbroadcast(np.expand_dims(g, axis) * x2, x1), unbroadcast(np.expand_dims(g, axis) * x1, x2)

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
    return (None, np.einsum(subscripts, dx) if y is None else np.einsum(subscripts, dx, y),
            None if y is None else np.einsum(subscripts, x, dy))

@linear(np.kron)
def kron_vjp(g, ans, a, b):
    A = np.reshape(a, kron_shape(a, b))  # the operand of lower rank gets ones in front, as np.kron reads it
    B = np.reshape(b, kron_shape(b, a))
    G = np.reshape(g, kron_split_shape(A, B))
    return (np.reshape(np.tensordot(G, B, axes=(kron_axes(A, 1), kron_axes(B))), np.shape(a)),
            np.reshape(np.tensordot(A, G, axes=(kron_axes(A), kron_axes(A, 0))), np.shape(b)))

@linear(np.cross)
def cross_vjp(g, ans, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return (unbroadcast(np.cross(b, g, axisa=axisb, axisb=axisc, axisc=axisa, axis=axis), a),
            unbroadcast(np.cross(g, a, axisa=axisc, axisb=axisa, axisc=axisb, axis=axis), b))

@linear(_opt("linalg.cross"), kwargs=("axis",))
def linalg_cross_vjp(g, ans, x1, x2, axis=-1):
    return unbroadcast(np.cross(x2, g, axis=axis), x1), unbroadcast(np.cross(g, x1, axis=axis), x2)

@linear(np.trace, args=("offset", "axis1", "axis2"))
def trace_vjp(g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return np.moveaxis(np.expand_dims(np.expand_dims(g, -1), -1) *
                       np.eye(np.size(a, axis1), np.size(a, axis2), k=offset), (-2, -1), (axis1, axis2))

@linear(_opt("linalg.trace"), args=(), kwargs=("offset",))
def linalg_trace_vjp(g, ans, x, offset=0, dtype=None):
    return np.expand_dims(np.expand_dims(g, -1), -1) * np.eye(np.size(x, -2), np.size(x, -1), k=offset)

@linear(np.diagonal)
def diagonal_vjp(g, ans, a, offset=0, axis1=0, axis2=1): return undiagonal(g, a, offset, axis1, axis2)

@linear(_opt("linalg.diagonal"), kwargs=("offset",))
def linalg_diagonal_vjp(g, ans, x, offset=0): return undiagonal(g, x, offset, -2, -1)

# diag builds a matrix from a vector and extracts the diagonal of a matrix: each is the other's adjoint
@linear(np.diag)
def diag_vjp(g, ans, v, k=0): return np.diagonal(g, k) if np.ndim(v) == 1 else undiagonal(g, v, k, 0, 1)

@linear(np.diagflat)
def diagflat_vjp(g, ans, v, k=0): return np.reshape(np.diagonal(g, k), np.shape(v))

self_adjoint(np.tril, lambda d, ans, m, k=0: np.tril(d, k))
self_adjoint(np.triu, lambda d, ans, m, k=0: np.triu(d, k))

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
    return (np.reshape(np.linalg.solve(a, -np.matmul(da, np.expand_dims(ans, -1) if v else ans)), np.shape(ans)),
            np.linalg.solve(a, db))

# d|x|_p = sign(x) |x|^(p-1) / |x|_p^(p-1); the Frobenius norm is p = 2 over the matrix
def _norm_refusal(literal, given, matrix=False):
    """A literal ``ord`` no norm rule takes, whatever the operand's rank: the matrix norms but Frobenius, nuclear,
    2 and -2 (for ``matrix``: only these), a vector p-norm with p < 1 or p = inf (-2: refused when it runs)."""
    o = literal.get("ord")
    if o is None or o in ("fro", "nuc", 2, -2) or isinstance(o, bool) or not isinstance(o, (str, int, float)):
        return None  # 'nuc', 2 and -2 of a matrix: the singular values (``numpy_decomp.spectral``)
    if isinstance(o, str) or matrix or not 1 <= o < math.inf:
        return ("no derivative rule for the norm ord=%r (rules: vector p-norms with p >= 1, the Frobenius, nuclear, "
                "2 and -2 matrix norms)" % (o,))


@vjp(np.linalg.norm)
@checked(_norm_refusal)
def norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    sp = spectral(x, ord, axis)
    p = 2.0 if sp else norm_order(x, ord, axis)
    return (spectral_grad(g, x, ord, axis) if sp else
            expand_reduced(g * ans ** (1.0 - p), x, axis, keepdims) * np.sign(x) * np.abs(x) ** (p - 1.0))
@jvp(np.linalg.norm)
@checked(_norm_refusal)
def norm_jvp(dx, ans, x, ord=None, axis=None, keepdims=False):
    sp = spectral(x, ord, axis)
    p = 2.0 if sp else norm_order(x, ord, axis)
    return (spectral_tangent(dx, x, ord, axis, ans) if sp else
            np.sum(dx * np.sign(x) * np.abs(x) ** (p - 1.0), axis=axis, keepdims=keepdims) * ans ** (1.0 - p))

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
    sp = spectral(x, ord, (-2, -1))
    p = 2.0 if sp else norm_order(x, ord, (-2, -1))
    return (spectral_grad(g, x, ord, (-2, -1)) if sp else
            expand_reduced(g * ans ** (1.0 - p), x, (-2, -1), keepdims) * np.sign(x) * np.abs(x) ** (p - 1.0))
@jvp(_opt("linalg.matrix_norm"))
@checked(_matrix_norm_refusal)
def matrix_norm_jvp(dx, ans, x, keepdims=False, ord="fro"):
    sp = spectral(x, ord, (-2, -1))
    p = 2.0 if sp else norm_order(x, ord, (-2, -1))
    return (spectral_tangent(dx, x, ord, (-2, -1), ans) if sp else
            np.sum(dx * np.sign(x) * np.abs(x) ** (p - 1.0), axis=(-2, -1), keepdims=keepdims) * ans ** (1.0 - p))
