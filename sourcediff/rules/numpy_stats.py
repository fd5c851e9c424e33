"""NumPy rules for statistics and polynomial arithmetic: ``quantile``/``percentile``/``median`` and their ``nan``
forms, ``average``, ``cov``, ``corrcoef``, ``polyadd``/``polysub``/``polymul``/``polyder``/``polyint``, ``matvec``,
``vecmat``, ``linalg.svdvals``, ``bincount`` (in its weights), ``resize``, ``unwrap``, ``real_if_close`` (real
arrays) and ``row_stack``.

Conventions:

* The quantiles (``method='linear'``, the default; other methods, ``weights=`` and several axes are refused where
  the derivative runs) are ``(1 - f) s[i] + f s[i + 1]`` of the sorted values ``s``: each result is a fixed
  combination of two elements of its input (``quantile_weights``), where ties and the points where ``f`` is 0 are
  kinks. ``q`` is a constant (refused). The ``nan`` forms skip the NaNs as NumPy does.
* ``average`` in ``a`` and ``weights`` (``returned=True`` is refused); ``cov``/``corrcoef`` of one array ``m``
  (``rowvar``, ``bias``, ``ddof``; ``y`` and the frequency/analytic weights are refused).
* ``polyint`` is differentiated in ``p`` (its integration constants ``k`` are refused); ``polyder`` and ``polyint``
  are linear, their matrices the function applied to the unit coefficient vectors (``poly_matrix``).
"""
import numpy as np

from ..runtime import refusal, unbroadcast
from .combinators import linear
from .numpy_extra import absent
from .numpy_linalg import _einsum_refusal
from .numpy_rules import _opt
from .registry import checked, complex_ok, jvp, nondiff, refuse, vjp


# --- quantiles ------------------------------------------------------------------------------------------------

def _along(a, axis):
    """``a`` with ``axis`` moved last (flattened where ``axis`` is None), or a located refusal of several axes."""
    if axis is None:
        return np.ravel(a)
    if not isinstance(axis, (int, np.integer)):
        raise refusal("a quantile in {f} over several axes has no derivative rule", hint="reshape to one axis first")
    return np.moveaxis(np.asarray(a), int(axis), -1)


def quantile_weights(a, q, axis=None, nan=False, method="linear", weights=None):
    """``W`` (shape ``np.shape(q)`` + the result's other axes + ``n``): the weight of each element of ``a`` along
    ``axis`` in each linear quantile ``q`` (NaNs skipped where ``nan``), or a located refusal of what has none."""
    if method != "linear" or weights is not None:
        raise refusal("np.quantile/np.percentile/np.median in {f} is differentiated for method='linear' without "
                      "weights")
    x = _along(a, axis)
    n = x.shape[-1]
    order = np.argsort(x, axis=-1, kind="stable")  # NaNs last
    count = np.sum(~np.isnan(x), axis=-1) if nan else np.full(x.shape[:-1], n)
    pos = np.multiply.outer(np.asarray(q, dtype=float), np.maximum(count - 1, 0))  # q's shape + the rest
    lo = np.floor(pos)
    f = pos - lo
    lo = lo.astype(int)
    hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
    w = np.zeros(np.shape(pos) + (n,))
    rows = np.broadcast_to(order, np.shape(pos) + (n,))
    np.put_along_axis(w, np.take_along_axis(rows, lo[..., None], -1), (1.0 - f)[..., None], -1)
    at_hi = np.take_along_axis(w, np.take_along_axis(rows, hi[..., None], -1), -1)
    np.put_along_axis(w, np.take_along_axis(rows, hi[..., None], -1), at_hi + f[..., None], -1)
    return w


def _kept_shape(a, q, axis, keepdims):
    """The shape of the quantile's result: ``q``'s, then ``a``'s without ``axis`` (kept as 1 where ``keepdims``)."""
    rest = [1 if keepdims else None for _ in np.shape(a)] if axis is None else \
        [(1 if keepdims else None) if k == int(axis) % np.ndim(a) else s for k, s in enumerate(np.shape(a))]
    return tuple(np.shape(q)) + tuple(s for s in rest if s is not None)


def quantile_apply(da, a, q, axis=None, keepdims=False, nan=False, method="linear", weights=None):
    """The quantiles' weights applied to ``da`` (shaped like ``a``): the tangent of ``np.quantile(a, q, ...)``."""
    w = quantile_weights(a, q, axis, nan, method, weights)
    x = _along(np.zeros(np.shape(a)) + da, axis)
    return np.reshape(np.sum(w * x, axis=-1), _kept_shape(a, q, axis, keepdims))


def quantile_spread(g, a, q, axis=None, keepdims=False, nan=False, method="linear", weights=None):
    """The transpose of ``quantile_apply``: the result's adjoint ``g`` spread back onto ``a``."""
    w = quantile_weights(a, q, axis, nan, method, weights)
    gq = np.reshape(np.zeros(_kept_shape(a, q, axis, keepdims)) + g, np.shape(w)[:-1])
    x = np.sum(gq[..., None] * w, axis=tuple(range(np.ndim(q))))
    if axis is None:
        return np.reshape(x, np.shape(a))
    return np.moveaxis(x, -1, int(axis))


nondiff(quantile_weights)


@linear(quantile_apply)
def quantile_apply_vjp(g, ans, da, a, q, axis=None, keepdims=False, nan=False, method="linear", weights=None):
    return quantile_spread(g, a, q, axis, keepdims, nan, method, weights)

@linear(quantile_spread)
def quantile_spread_vjp(h, ans, g, a, q, axis=None, keepdims=False, nan=False, method="linear", weights=None):
    return quantile_apply(h, a, q, axis, keepdims, nan, method, weights)


@vjp(np.quantile)
def quantile_vjp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
                 weights=None):
    return quantile_spread(g, a, q, axis, keepdims, False, method, weights), None
@jvp(np.quantile)
def quantile_jvp(da, dq, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
                 weights=None):
    return quantile_apply(da, a, q, axis, keepdims, False, method, weights), None

@vjp(np.nanquantile)
def nanquantile_vjp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
                    weights=None):
    return quantile_spread(g, a, q, axis, keepdims, True, method, weights), None
@jvp(np.nanquantile)
def nanquantile_jvp(da, dq, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
                    weights=None):
    return quantile_apply(da, a, q, axis, keepdims, True, method, weights), None

@vjp(np.percentile)
def percentile_vjp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
                   weights=None):
    return quantile_spread(g, a, np.asarray(q) / 100.0, axis, keepdims, False, method, weights), None
@jvp(np.percentile)
def percentile_jvp(da, dq, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
                   weights=None):
    return quantile_apply(da, a, np.asarray(q) / 100.0, axis, keepdims, False, method, weights), None

@vjp(np.nanpercentile)
def nanpercentile_vjp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
                      weights=None):
    return quantile_spread(g, a, np.asarray(q) / 100.0, axis, keepdims, True, method, weights), None
@jvp(np.nanpercentile)
def nanpercentile_jvp(da, dq, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear",
                      keepdims=False, weights=None):
    return quantile_apply(da, a, np.asarray(q) / 100.0, axis, keepdims, True, method, weights), None

@vjp(np.median)
def median_vjp(g, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return quantile_spread(g, a, 0.5, axis, keepdims)
@jvp(np.median)
def median_jvp(da, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return quantile_apply(da, a, 0.5, axis, keepdims)

@vjp(np.nanmedian)
def nanmedian_vjp(g, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return quantile_spread(g, a, 0.5, axis, keepdims, True)
@jvp(np.nanmedian)
def nanmedian_jvp(da, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return quantile_apply(da, a, 0.5, axis, keepdims, True)

for _k in (np.quantile, np.nanquantile, np.percentile, np.nanpercentile):
    refuse(_k, "the derivative of a quantile in q (the slope between two sorted values) is not implemented", 1)


# --- average, covariance, correlation ---------------------------------------------------------------------------

def weights_shape(a, w, axis=None):
    """The shape ``average``'s ``weights`` broadcast against ``a`` in: their own, or 1-D along ``axis``."""
    if np.shape(w) == np.shape(a) or axis is None:
        return np.shape(w)
    shape = [1] * np.ndim(a)
    shape[int(axis)] = np.size(w)
    return tuple(shape)


def _average_refusal(literal, given):
    """``returned=True``: a tuple of the average and the weights' sum."""
    if literal.get("returned", False) is not False:
        return "np.average with returned=True has no derivative rule (rules: the average)"


def not_returned(returned):
    """1.0, or a located refusal of ``average(..., returned=True)`` (a tuple of the average and the weights' sum)."""
    if returned:
        raise refusal("np.average with returned=True in {f} has no derivative rule", hint="sum the weights yourself")
    return 1.0


nondiff(weights_shape, not_returned)


@vjp(np.average)
@checked(_average_refusal)
def average_vjp(g, ans, a, axis=None, weights=None, returned=False, keepdims=False):
    wb = np.ones(np.shape(a)) if absent(weights) else np.reshape(weights, weights_shape(a, weights, axis))
    sw = np.sum(wb * np.ones(np.shape(a)), axis=axis, keepdims=True) * not_returned(returned)
    ge = np.reshape(g, np.shape(sw)) / sw
    return (ge * wb + np.zeros(np.shape(a)), None,
            None if absent(weights) else np.reshape(unbroadcast(ge * (a - np.reshape(ans, np.shape(sw))), wb),
                                                    np.shape(weights)))
@jvp(np.average)
@checked(_average_refusal)
def average_jvp(da, daxis, dweights, ans, a, axis=None, weights=None, returned=False, keepdims=False):
    wb = np.ones(np.shape(a)) if absent(weights) else np.reshape(weights, weights_shape(a, weights, axis))
    sw = np.sum(wb * np.ones(np.shape(a)), axis=axis, keepdims=keepdims) * not_returned(returned)
    return (np.sum(wb * da, axis=axis, keepdims=keepdims) / sw, None,
            None if absent(weights) else np.sum(np.reshape(dweights, np.shape(wb)) * (a - np.reshape(
                ans, np.shape(np.sum(a, axis=axis, keepdims=True)))), axis=axis, keepdims=keepdims) / sw)


def cov_transposed(m, rowvar=True):
    """Does ``np.cov`` read ``m`` transposed (``rowvar`` false and more than one row)?"""
    return not rowvar and np.shape(np.atleast_2d(m))[0] != 1


def cov_rows(m, rowvar=True):
    """``m`` as ``np.cov`` reads it: one variable a row."""
    return np.transpose(np.atleast_2d(m)) if cov_transposed(m, rowvar) else np.atleast_2d(m)


def cov_unrows(t, m, rowvar=True):
    """The transpose of ``cov_rows``: ``t`` (one variable a row) back in the shape of ``m``."""
    return np.reshape(np.transpose(t) if cov_transposed(m, rowvar) else t, np.shape(m))


def cov_norm(x, bias=False, ddof=None):
    """What ``np.cov`` divides by: the number of observations less ``ddof`` (1, or 0 where ``bias``)."""
    return np.shape(x)[1] - ((0 if bias else 1) if absent(ddof) else ddof)


def _cov_refusal(literal, given):
    """The second array ``y`` and the weights."""
    extra = [k for k in ("y", "fweights", "aweights") if k in given and literal.get(k, True) is not None]
    if extra:
        return "np.cov/np.corrcoef with `%s` has no derivative rule (rules: one array of variables)" % extra[0]


nondiff(cov_transposed, cov_norm)


@linear(cov_rows)
def cov_rows_vjp(g, ans, m, rowvar=True): return cov_unrows(g, m, rowvar)

@linear(cov_unrows)
def cov_unrows_vjp(h, ans, t, m, rowvar=True): return cov_rows(h, rowvar)


# cov: C = Xc Xc^T / N with Xc the centred rows; the adjoint (G + G^T) Xc / N has centred rows already
@vjp(np.cov)
@checked(_cov_refusal)
def cov_vjp(g, ans, m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, dtype=None):
    x = cov_rows(m, rowvar)
    xc = x - np.mean(x, axis=1, keepdims=True)
    gm = np.reshape(g, (np.shape(x)[0], np.shape(x)[0]))
    return cov_unrows(np.matmul(gm + np.transpose(gm), xc) / cov_norm(x, bias, ddof), m, rowvar), None
@jvp(np.cov)
@checked(_cov_refusal)
def cov_jvp(dm, dy, ans, m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, dtype=None):
    x = cov_rows(m, rowvar)
    xc = x - np.mean(x, axis=1, keepdims=True)
    dx = cov_rows(dm + np.zeros(np.shape(m)), rowvar)
    dxc = np.matmul(dx - np.mean(dx, axis=1, keepdims=True), np.transpose(xc))
    return np.reshape((dxc + np.transpose(dxc)) / cov_norm(x, bias, ddof), np.shape(ans)), None


# corrcoef: R = C / (s s^T), s = sqrt(diag C); dR = dC / (s s^T) - R (ds_i / s_i + ds_j / s_j),
# ds_i / s_i = dC_ii / 2C_ii
@vjp(np.corrcoef)
@checked(_cov_refusal)
def corrcoef_vjp(g, ans, x, y=None, rowvar=True, dtype=None):
    xr = cov_rows(x, rowvar)
    xc = xr - np.mean(xr, axis=1, keepdims=True)
    c = np.matmul(xc, np.transpose(xc))
    s = np.sqrt(np.diag(c))
    gm = np.reshape(g, np.shape(c))
    r = c / np.outer(s, s)
    gc = gm / np.outer(s, s) - np.diag((np.sum(gm * r, 1) + np.sum(gm * r, 0)) / (2.0 * np.diag(c)))
    return cov_unrows(np.matmul(gc + np.transpose(gc), xc), x, rowvar), None
@jvp(np.corrcoef)
@checked(_cov_refusal)
def corrcoef_jvp(dx, dy, ans, x, y=None, rowvar=True, dtype=None):
    xr = cov_rows(x, rowvar)
    xc = xr - np.mean(xr, axis=1, keepdims=True)
    c = np.matmul(xc, np.transpose(xc))
    d = cov_rows(dx + np.zeros(np.shape(x)), rowvar)
    dc = np.matmul(d - np.mean(d, axis=1, keepdims=True), np.transpose(xc))
    dc = dc + np.transpose(dc)
    s = np.sqrt(np.diag(c))
    rel = np.diag(dc) / (2.0 * np.diag(c))
    return np.reshape(dc / np.outer(s, s) - c / np.outer(s, s) * (np.expand_dims(rel, 1) + np.expand_dims(rel, 0)),
                      np.shape(ans)), None


# --- polynomials ------------------------------------------------------------------------------------------------

def poly_matrix(n, m, integral=False):
    """The matrix ``M`` of ``np.polyder(p, m)`` (``np.polyint`` where ``integral``) for ``n`` coefficients:
    the result is ``p @ M``."""
    eye = np.eye(max(n, 1))[:n]
    rows = [np.polyint(e, m) if integral else np.polyder(e, m) for e in eye]
    return np.reshape(np.array(rows, dtype=float), (n, -1))


nondiff(poly_matrix)


@vjp(np.polyadd)
def polyadd_vjp(g, ans, a1, a2):
    return (np.reshape(np.ravel(g)[np.size(g) - np.size(a1):], np.shape(a1)),
            np.reshape(np.ravel(g)[np.size(g) - np.size(a2):], np.shape(a2)))
@jvp(np.polyadd)
def polyadd_jvp(da1, da2, ans, a1, a2):
    return (np.polyadd(da1 + np.zeros(np.shape(a1)), np.zeros(np.shape(a2))),
            np.polyadd(np.zeros(np.shape(a1)), da2 + np.zeros(np.shape(a2))))

@vjp(np.polysub)
def polysub_vjp(g, ans, a1, a2):
    return (np.reshape(np.ravel(g)[np.size(g) - np.size(a1):], np.shape(a1)),
            -np.reshape(np.ravel(g)[np.size(g) - np.size(a2):], np.shape(a2)))
@jvp(np.polysub)
def polysub_jvp(da1, da2, ans, a1, a2):
    return (np.polysub(da1 + np.zeros(np.shape(a1)), np.zeros(np.shape(a2))),
            np.polysub(np.zeros(np.shape(a1)), da2 + np.zeros(np.shape(a2))))

def untrimmed(ans, a1, a2):
    """1.0 where ``np.polymul`` kept every coefficient of the full product (it drops leading zeros, a result whose
    length jumps there), else a located refusal."""
    if np.size(ans) != np.size(a1) + np.size(a2) - 1:
        raise refusal("np.polymul in {f} dropped leading zero coefficients: its length jumps there, so it has no "
                      "derivative", hint="use np.convolve, which keeps them")
    return 1.0


nondiff(untrimmed)


# polymul is the full convolution of the coefficients
@vjp(np.polymul)
def polymul_vjp(g, ans, a1, a2):
    gf = np.atleast_1d(g) * untrimmed(ans, a1, a2)
    return (np.reshape(np.correlate(gf, np.atleast_1d(a2), "valid"), np.shape(a1)),
            np.reshape(np.correlate(gf, np.atleast_1d(a1), "valid"), np.shape(a2)))
@jvp(np.polymul)
def polymul_jvp(da1, da2, ans, a1, a2):
    return (np.convolve(np.atleast_1d(da1 + np.zeros(np.shape(a1))), np.atleast_1d(a2)) * untrimmed(ans, a1, a2),
            np.convolve(np.atleast_1d(a1), np.atleast_1d(da2 + np.zeros(np.shape(a2)))) * untrimmed(ans, a1, a2))

@vjp(np.polyder)
def polyder_vjp(g, ans, p, m=1): return np.matmul(poly_matrix(np.size(p), m), np.ravel(g))
@jvp(np.polyder)
def polyder_jvp(dp, ans, p, m=1): return np.matmul(np.ravel(dp + np.zeros(np.shape(p))), poly_matrix(np.size(p), m))

@vjp(np.polyint)
def polyint_vjp(g, ans, p, m=1, k=None): return np.matmul(poly_matrix(np.size(p), m, True), np.ravel(g))
@jvp(np.polyint)
def polyint_jvp(dp, ans, p, m=1, k=None):
    return np.matmul(np.ravel(dp + np.zeros(np.shape(p))), poly_matrix(np.size(p), m, True))


# --- products, counting, stacking -------------------------------------------------------------------------------

_MATVEC, _VECMAT = _opt("matvec"), _opt("vecmat")


# matvec(A, x)[..., i] = sum_j A[..., i, j] x[..., j]; vecmat(x, A)[..., j] = sum_i x[..., i] A[..., i, j] (real)
@vjp(_MATVEC)
def matvec_vjp(g, ans, x1, x2):
    return (unbroadcast(np.expand_dims(g, -1) * np.expand_dims(x2, -2), x1),
            unbroadcast(np.sum(np.expand_dims(g, -1) * x1, -2), x2))
@jvp(_MATVEC)
def matvec_jvp(dx1, dx2, ans, x1, x2):
    return np.sum(dx1 * np.expand_dims(x2, -2), -1), np.sum(x1 * np.expand_dims(dx2, -2), -1)

@vjp(_VECMAT)
def vecmat_vjp(g, ans, x1, x2):
    return (unbroadcast(np.sum(x2 * np.expand_dims(g, -2), -1), x1),
            unbroadcast(np.expand_dims(x1, -1) * np.expand_dims(g, -2), x2))
@jvp(_VECMAT)
def vecmat_jvp(dx1, dx2, ans, x1, x2):
    return np.sum(np.expand_dims(dx1, -1) * x2, -2), np.sum(np.expand_dims(x1, -1) * dx2, -2)


# np.einsum of three to five operands is lowered to einsum_many (``lower_calls``): one rule of a fixed arity, the
# absent operands None. The adjoint of operand k is the einsum of the adjoint with the others into k's subscripts
# (``einsum_adjoint_spec``, ellipses spelled out; ones supply the indices only k has), summed down to k's shape.
def einsum_many(subscripts, x, y, z, w=None, v=None, u=None, optimize=False):
    """``np.einsum(subscripts, x, y, z, ...)`` of the operands that are not None."""
    return np.einsum(subscripts, *[o for o in (x, y, z, w, v, u) if o is not None], optimize=optimize)


def many_spec(subscripts, which, x, y, z, w=None, v=None, u=None):
    """``einsum_adjoint_spec`` of the operands that are not None, or a located refusal of what it cannot do."""
    from .helpers import einsum_adjoint_spec
    ops = [o for o in (x, y, z, w, v, u) if o is not None]
    if len(ops) > 5:
        raise refusal("np.einsum of %d operands in {f} has no derivative rule here (at most five)" % len(ops))
    try:
        return einsum_adjoint_spec(subscripts, which, *ops)
    except NotImplementedError:
        raise refusal("np.einsum with an index repeated inside one operand (%r) in {f} has no derivative rule"
                      % subscripts) from None


nondiff(many_spec)
complex_ok(einsum_many)  # multilinear, no conjugates: its rules are right for complex values
refuse(einsum_many, "np.einsum of six operands has no derivative rule (at most five)", 6)


@vjp(einsum_many)
@checked(_einsum_refusal)
def einsum_many_vjp(g, ans, subscripts, x, y, z, w=None, v=None, u=None, optimize=False):
    return (None, unbroadcast(einsum_many(many_spec(subscripts, 0, x, y, z, w, v), g, y, z, w, v, np.ones(np.shape(x)),
                                          optimize), x),
            unbroadcast(einsum_many(many_spec(subscripts, 1, x, y, z, w, v), g, x, z, w, v, np.ones(np.shape(y)),
                                    optimize), y),
            unbroadcast(einsum_many(many_spec(subscripts, 2, x, y, z, w, v), g, x, y, w, v, np.ones(np.shape(z)),
                                    optimize), z),
            None if absent(w) else unbroadcast(einsum_many(many_spec(subscripts, 3, x, y, z, w, v), g, x, y, z, v,
                                                           np.ones(np.shape(w)), optimize), w),
            None if absent(v) else unbroadcast(einsum_many(many_spec(subscripts, 4, x, y, z, w, v), g, x, y, z, w,
                                                           np.ones(np.shape(v)), optimize), v),
            None)
@jvp(einsum_many)
@checked(_einsum_refusal)
def einsum_many_jvp(ds, dx, dy, dz, dw, dv, du, ans, subscripts, x, y, z, w=None, v=None, u=None, optimize=False):
    return (None, einsum_many(subscripts, dx, y, z, w, v, u, optimize),
            einsum_many(subscripts, x, dy, z, w, v, u, optimize), einsum_many(subscripts, x, y, dz, w, v, u, optimize),
            None if absent(w) else einsum_many(subscripts, x, y, z, dw, v, u, optimize),
            None if absent(v) else einsum_many(subscripts, x, y, z, w, dv, u, optimize), None)


_SVDVALS = _opt("linalg.svdvals")


# ds_i = u_i^T dA v_i (distinct singular values; at equal ones the sum of the values is still smooth)
@vjp(_SVDVALS)
def svdvals_vjp(g, ans, x):
    usv = np.linalg.svd(x, False)
    return np.matmul(usv[0] * np.expand_dims(g, -2), usv[2])
@jvp(_SVDVALS)
def svdvals_jvp(dx, ans, x):
    usv = np.linalg.svd(x, False)
    return np.sum(np.matmul(np.swapaxes(usv[0], -1, -2), dx) * usv[2], -1)


# bincount(x, weights): the sum of the weights in each bin, linear in the weights
@vjp(np.bincount)
def bincount_vjp(g, ans, x, weights=None, minlength=0):
    return None, np.take(g, x)
@jvp(np.bincount)
def bincount_jvp(dx, dweights, ans, x, weights=None, minlength=0):
    return None, np.bincount(x, dweights + np.zeros(np.shape(x)), minlength)

def resize_source(a, ans):
    """Where each element of ``np.resize(a, shape)`` (``ans``) comes from in the flattened ``a``."""
    return np.arange(np.size(ans)) % max(np.size(a), 1)


nondiff(resize_source)


# resize(a, shape): a's flattened values repeated in turn to fill the shape; the adjoint sums each repeat back
@vjp(np.resize)
def resize_vjp(g, ans, a, new_shape):
    return np.reshape(np.bincount(resize_source(a, ans), np.ravel(g), np.size(a)), np.shape(a))
@jvp(np.resize)
def resize_jvp(da, ans, a, new_shape): return np.resize(da + np.zeros(np.shape(a)), new_shape)

# unwrap adds multiples of the period that are constant between the jumps it removes (its kinks)
@vjp(np.unwrap)
def unwrap_vjp(g, ans, p, discont=None, axis=-1, period=2 * np.pi): return g
@jvp(np.unwrap)
def unwrap_jvp(dp, ans, p, discont=None, axis=-1, period=2 * np.pi): return dp + np.zeros(np.shape(ans))

# real_if_close of a real array is the array (a complex one is built in complex mode, where it is refused)
@vjp(np.real_if_close)
def real_if_close_vjp(g, ans, a, tol=100): return g
@jvp(np.real_if_close)
def real_if_close_jvp(da, ans, a, tol=100): return da + np.zeros(np.shape(ans))

refuse(np.polyint, "the derivative of np.polyint in its integration constants k is not implemented", 2)
