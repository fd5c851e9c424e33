"""Batched forward mode: how one sweep carrying B tangent directions differentiates each primitive.

A batched tangent of ``v`` is an array of shape ``(B,) + np.shape(v)``, the zero marker
``0.0``, or a list/tuple/dict of those (``runtime.bpad`` and friends). ``how(key)`` picks:

* ``"batched"``: the key's own rule below (``@bjvp``), written for the leading batch axis:
  reductions and transposes shift their axes by one, ``W @ dx`` keeps the tangent on the right;
* ``"elementwise"``: the plain forward rule with each tangent padded to the result's rank
  (``runtime.bpad``), so broadcasting keeps the batch axis in front;
* ``"each"``: the plain forward rule once per direction, stacked (``runtime.bdirs``/``bstack``).
  Right for every rule, only slower: anything not known to be one of the first two goes here.

Every helper here takes the zero marker (or a list of batched tangents where NumPy takes a list).
"""
import numpy as np

from ..duck import foreign, zeros_as
from ..primitives import elementwise
from ..runtime import grad_like, is_struct, struct_map, unbroadcast
from ..runtime_batched import _bzero, _nbatch, bpack
from .helpers import expand_reduced, if_inexact, keepdims_shape, matmul_dx, matmul_dy
from .numpy_rules import _opt
from .registry import BJVP, JVP, bjvp as _bjvp, lookup


def how(key):
    """(way, rule) for ``key`` in a batched sweep: ("batched", its BJVP rule), ("elementwise" or
    "each", its JVP rule), or (None, None) when it has no forward rule."""
    rule = lookup(BJVP, key)
    if rule is not None:
        return "batched", rule
    rule = lookup(JVP, key)
    if rule is None:
        return None, None
    return ("elementwise" if elementwise(key) else "each"), rule


def bjvp(*keys):
    """``registry.bjvp`` for the keys this NumPy has."""
    return _bjvp(*[k for k in keys if k is not None])


# --- helpers ----------------------------------------------------------------------------------

def _axes(axis, n):
    """``axis`` of an ``n``-dimensional value (None: all) as axes of its batched tangent."""
    if axis is None:
        return tuple(range(1, n + 1))
    return tuple(a % n + 1 for a in axis) if isinstance(axis, (tuple, list)) else axis % n + 1


def bsum(t, a, axis=None, keepdims=False, mean=False):
    """Batched ``np.sum`` (or ``np.mean``) of ``a`` over ``axis``."""
    t = bpack(t)
    if _bzero(t):
        return 0.0
    return (np.mean if mean else np.sum)(t, axis=_axes(axis, t.ndim - 1), keepdims=keepdims)


def _arr(v):
    """``v`` as an array: a list as NumPy's, another library's array (Dask: lazy) as it is."""
    return v if isinstance(v, np.ndarray) or foreign(v) else np.asarray(v)


def bmatmul(t, x, y, which):
    """The batched tangent of ``x @ y`` from the tangent ``t`` of ``x`` (which=0) or of ``y`` (which=1)."""
    t = bpack(t)
    if _bzero(t):
        return 0.0
    x, y = _arr(x), _arr(y)
    if which == 0 and y.ndim <= 2:
        return np.matmul(t, y)  # y has no batch dimensions: one product covers every direction
    if which == 1 and x.ndim <= 2 and y.ndim == 1:
        return np.matmul(t, x.T)
    if which == 1 and x.ndim <= 2:
        return np.matmul(x, t)
    xv, yv = x.ndim == 1, y.ndim == 1  # general case: promote vectors, align batch dimensions
    a = (t[:, None, :] if xv else t) if which == 0 else (x[None, :] if xv else x)
    b = (y[:, None] if yv else y) if which == 0 else (t[..., None] if yv else t)
    bt, other = (a, b) if which == 0 else (b, a)
    bt = bt.reshape(bt.shape[:1] + (1,) * max(0, other.ndim - bt.ndim + 1) + bt.shape[1:])
    r = np.matmul(bt, other) if which == 0 else np.matmul(other, bt)
    r = r[..., 0] if yv else r
    return (r[..., 0] if yv else r[..., 0, :]) if xv else r


def bdot(t, a, b, which):
    """The batched tangent of ``np.dot(a, b)`` from the tangent ``t`` of ``a`` (which=0) or of ``b``."""
    t = bpack(t)
    if _bzero(t):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:  # a product
        other = b if which == 0 else a
        return t.reshape(t.shape[:1] + (1,) * max(0, np.ndim(other) - t.ndim + 1) + t.shape[1:]) * other
    if which == 0:
        return np.dot(t, b)
    na = np.ndim(a)
    return np.moveaxis(np.tensordot(a, t, axes=([na - 1], [max(np.ndim(b) - 2, 0) + 1])), na - 1, 0)


def breshape(t, ans, a=None, order="C"):
    """A batched tangent given the shape of ``ans`` (reshape, ravel, squeeze, expand_dims, ...),
    read in ``order`` like the value ``a`` is."""
    t = bpack(t)
    if _bzero(t):
        return 0.0
    if order == "A":
        order = "F" if np.isfortran(np.asarray(a)) else "C"
    if order == "C":
        return np.reshape(t, t.shape[:1] + np.shape(ans))
    if order == "F":
        return np.moveaxis(np.reshape(np.moveaxis(t, 0, -1), np.shape(ans) + t.shape[:1], order="F"), -1, 0)
    out = []  # ravel's "K" reads the value's memory order: lay each direction out like the value
    for tb in t:
        e = np.empty_like(a, dtype=t.dtype)
        e[...] = tb
        out.append(np.ravel(e, order=order))
    return np.stack(out)


def btranspose(t, axes=None):
    """Batched ``np.transpose``."""
    t = bpack(t)
    if _bzero(t):
        return 0.0
    n = t.ndim - 1
    return np.transpose(t, (0,) + _axes(tuple(range(n - 1, -1, -1)) if axes is None else tuple(np.ravel(axes)), n))


def bswapaxes(t, axis1, axis2):
    t = bpack(t)
    return 0.0 if _bzero(t) else np.swapaxes(t, _axes(axis1, t.ndim - 1), _axes(axis2, t.ndim - 1))


def bmoveaxis(t, source, destination):
    t = bpack(t)
    return 0.0 if _bzero(t) else np.moveaxis(t, _axes(source, t.ndim - 1), _axes(destination, t.ndim - 1))


def bjoin(ts, xs, axis=0, new=False):
    """Batched ``np.concatenate`` (``np.stack`` with new=True) of the tangents ``ts`` of ``xs``."""
    if isinstance(ts, np.ndarray) or foreign(ts):  # joining the rows of one array
        ts = [ts[:, i] for i in range(ts.shape[1])]
    n = _nbatch(ts)
    if n is None:
        return 0.0
    parts = [(zeros_as(x, (n,) + x.shape) if foreign(x) else np.zeros((n,) + np.shape(x))) if _bzero(t) else bpack(t)
             for t, x in zip(ts, xs)]
    if axis is None:
        return np.concatenate([p.reshape(n, -1) for p in parts], axis=1)
    return (np.stack if new else np.concatenate)(parts, axis=_axes(axis, np.ndim(xs[0]) + new))


def _pad(t, n):
    """Batched ``t`` with ones after the batch axis up to ``n`` value dimensions."""
    return t.reshape(t.shape[:1] + (1,) * (n - t.ndim + 1) + t.shape[1:]) if t.ndim < n + 1 else t


def bunbroadcast(t, x):
    """Batched ``unbroadcast``: the tangent of a broadcast result summed down to the shape of ``x``."""
    t = bpack(t)
    if _bzero(t):
        return 0.0
    xs = np.shape(x)
    if t.ndim < len(xs) + 1:  # a smaller tangent: spread over x
        t = np.broadcast_to(_pad(t, len(xs)), t.shape[:1] + xs)
        return t if foreign(t) else np.array(t)
    if t.ndim > len(xs) + 1:
        t = np.sum(t, axis=tuple(range(1, t.ndim - len(xs))))
    axes = tuple(i + 1 for i, (a, b) in enumerate(zip(t.shape[1:], xs)) if b == 1 and a != 1)
    return np.sum(t, axis=axes, keepdims=True) if axes else t


def bexpand_reduced(t, x, axis=None, keepdims=False):
    """Batched ``expand_reduced``."""
    t = bpack(t)
    if _bzero(t):
        return 0.0
    t = t if keepdims else np.reshape(t, t.shape[:1] + keepdims_shape(x, axis))
    if foreign(x):  # zeros of x's type (Dask: in x's chunks) under the batch axis
        return np.expand_dims(zeros_as(x, dtype=np.result_type(t.dtype, x.dtype)), 0) + t
    return np.broadcast_to(t, t.shape[:1] + np.shape(x))


def bgrad_like(t, x):
    """Batched ``grad_like``: the tangent of a gradient in its argument's structure, shape and dtype."""
    if is_struct(x):  # as grad_like: the same type again, children that are no numbers kept
        return struct_map(bgrad_like, t, x)
    if isinstance(x, (tuple, list)):
        t = t if isinstance(t, (tuple, list)) else [0.0] * len(x)
        return type(x)(bgrad_like(ti, xi) for ti, xi in zip(t, x))
    if isinstance(x, dict):
        t = t if isinstance(t, dict) else {}
        return {k: bgrad_like(t.get(k, 0.0), v) for k, v in x.items()}
    if _bzero(t) or not (isinstance(x, np.ndarray) or foreign(x)):
        return t
    t = np.broadcast_to(_pad(t, x.ndim), t.shape[:1] + x.shape)
    dtype = x.dtype if x.dtype.kind in "fc" else np.float64
    return t.astype(dtype) if foreign(t) else np.array(t, dtype=dtype)


def bmatmul_adj(t, g, x, y, which, wrt):
    """The batched tangent of ``matmul_dx`` (which=0) or ``matmul_dy`` (which=1) of ``(g, x, y)``
    when its argument number ``wrt`` moves by ``t``: one einsum for vectors and plain matrices."""
    t = bpack(t)
    if _bzero(t):
        return 0.0
    nx, ny = np.ndim(x), np.ndim(y)
    if not (1 <= nx <= 2 and 1 <= ny <= 2):
        fn, args = (matmul_dx, matmul_dy)[which], [g, x, y]
        return np.stack([fn(*(args[:wrt] + [tb] + args[wrt + 1:])) for tb in t])
    xi, yi = "ik"[2 - nx:], "kj"[:ny]
    subs = {0: xi[:-1] + yi[1:], 1: xi, 2: yi}
    ins = (0, 2) if which == 0 else (1, 0)
    spec = ",".join("b" * (k == wrt) + subs[k] for k in ins) + "->b" + (xi if which == 0 else yi)
    return np.einsum(spec, *[t if k == wrt else (g, x, y)[k] for k in ins], optimize=True)


# --- the rules --------------------------------------------------------------------------------

@bjvp(np.sum)
def sum_bjvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False): return bsum(da, a, axis, keepdims)

@bjvp(np.mean)
def mean_bjvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False): return bsum(da, a, axis, keepdims, True)

@bjvp("MatMult", np.matmul, _opt("linalg.matmul"))
def matmul_bjvp(dx, dy, ans, x, y): return bmatmul(dx, x, y, 0), bmatmul(dy, x, y, 1)

@bjvp(np.dot)
def dot_bjvp(da, db, ans, a, b): return bdot(da, a, b, 0), bdot(db, a, b, 1)

@bjvp(np.reshape)
def reshape_bjvp(da, ans, a, shape=None, order="C"): return breshape(da, ans, a, order)

@bjvp(np.ravel)
def ravel_bjvp(da, ans, a, order="C"): return breshape(da, ans, a, order)

@bjvp(np.squeeze)
def squeeze_bjvp(da, ans, a, axis=None): return breshape(da, ans)

@bjvp(np.expand_dims)
def expand_dims_bjvp(da, ans, a, axis): return breshape(da, ans)

@bjvp(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_bjvp(da, ans, a): return breshape(da, ans)

@bjvp(np.copy, np.asarray, np.array, np.asanyarray, np.ascontiguousarray, np.asarray_chkfinite)
def asarray_bjvp(da, ans, a, dtype=None, order=None): return if_inexact(breshape(da, ans), ans)

@bjvp(np.transpose)
def transpose_bjvp(da, ans, a, axes=None): return btranspose(da, axes)

@bjvp(np.swapaxes)
def swapaxes_bjvp(da, ans, a, axis1, axis2): return bswapaxes(da, axis1, axis2)

@bjvp(np.moveaxis)
def moveaxis_bjvp(da, ans, a, source, destination): return bmoveaxis(da, source, destination)

@bjvp(np.concatenate)
def concatenate_bjvp(darrays, ans, arrays, axis=0, out=None, dtype=None): return bjoin(darrays, arrays, axis)

@bjvp(np.stack)
def stack_bjvp(darrays, ans, arrays, axis=0, out=None, dtype=None): return bjoin(darrays, arrays, axis, True)

@bjvp(unbroadcast)
def unbroadcast_bjvp(dg, ans, g, x): return bunbroadcast(dg, x)

@bjvp(expand_reduced)
def expand_reduced_bjvp(dg, ans, g, x, axis=None, keepdims=False): return bexpand_reduced(dg, x, axis, keepdims)

@bjvp(grad_like)
def grad_like_bjvp(dg, ans, g, x): return bgrad_like(dg, x)

@bjvp(matmul_dx)
def matmul_dx_bjvp(dg, dx, dy, ans, g, x, y):
    return bmatmul_adj(dg, g, x, y, 0, 0), None, bmatmul_adj(dy, g, x, y, 0, 2)

@bjvp(matmul_dy)
def matmul_dy_bjvp(dg, dx, dy, ans, g, x, y):
    return bmatmul_adj(dg, g, x, y, 1, 0), bmatmul_adj(dx, g, x, y, 1, 1), None
