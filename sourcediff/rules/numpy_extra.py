"""NumPy rules for the functions scientific scripts reach for beyond the core: ``partition``, ``append``,
``select``, ``fft.fftshift``/``ifftshift``, ``convolve``/``correlate``, ``polyval``/``polyfit``, ``trapezoid``,
``interp``, ``gradient`` and ``meshgrid``.

Conventions beyond ``numpy_rules.py``:

* ``convolve``/``correlate`` (1-D, every mode): a 'same' or 'valid' result is the centred part of the 'full' one
  (``full_part``), and the adjoint of a 'full' result is a 'valid' correlation with the other operand.
* ``polyfit(x, y, deg)`` is differentiated in ``y`` (the least-squares fit ``pinv(vander(x)) y``); its sample
  points ``x`` and the options ``w``, ``full``, ``cov`` are refused. ``trapezoid`` is differentiated in ``y`` and
  ``dx``; its sample points ``x`` are refused. ``interp(x, xp, fp)`` in ``x`` (the slope of the piece it falls in;
  at a knot, the piece to its right) and ``fp``; ``xp`` and ``period`` are refused.
* ``gradient(f, spacing)``: along one axis (``f`` 1-D, or ``axis`` an integer), one spacing (a number or the
  coordinates); its result is linear in ``f``: the matrix of that map is ``np.gradient`` of the identity.
* ``meshgrid(x, y, indexing=...)``: two arrays; other counts are refused when the derivative is built.
"""
import numpy as np

from ..runtime import refusal
from .combinators import linear
from ..runtime import unbroadcast
from .helpers import broadcast_like, fill_pieces, split_like, untake_along_axis
from .numpy_rules import _opt
from .registry import checked, jvp, nondiff, refuse, structured, vjp


# --- helpers ------------------------------------------------------------------------------------------------

def vander_powers(x, N=None, increasing=False):
    """The power of ``x`` in each column of ``np.vander(x, N, increasing)``."""
    k = np.arange(np.size(x) if N is None else N) * 1.0
    return k if increasing else np.flip(k)


def descending_powers(n):
    """``[n - 1, ..., 1, 0]`` as floats: the powers of a polynomial's coefficients, highest first."""
    return np.arange(n - 1, -1, -1.0)


def _start(n, m, mode):
    """Where ``mode``'s part of a 'full' result of lengths ``n``, ``m`` starts ('same_r': a correlation's 'same'
    with the shorter operand first, which NumPy centres the other way)."""
    return {"full": 0, "same": (min(n, m) - 1) // 2, "same_r": min(n, m) // 2}.get(mode, min(n, m) - 1)


def correlate_mode(mode, n, m):
    """``np.correlate``'s ``mode`` as ``full_part`` reads it."""
    return "same_r" if mode == "same" and n < m else mode


def full_part(c, n, m, mode):
    """The part of the 'full' convolution ``c`` of lengths ``n`` and ``m`` that ``mode`` keeps."""
    size = {"full": n + m - 1, "same": max(n, m), "same_r": max(n, m)}.get(mode, max(n, m) - min(n, m) + 1)
    return c[_start(n, m, mode):_start(n, m, mode) + size]


def full_embed(g, n, m, mode):
    """``g`` put back into the 'full' length with zeros around it: the adjoint of ``full_part``."""
    return np.pad(g, (_start(n, m, mode), n + m - 1 - _start(n, m, mode) - np.size(g)))


def gradient_matrix(n, spacing=1.0, edge_order=1):
    """The ``n x n`` matrix ``np.gradient`` applies along an axis of length ``n`` with this spacing."""
    return np.gradient(np.eye(n), spacing, axis=0, edge_order=edge_order)


def one_axis(f, axis):
    """The one axis ``np.gradient(f, ..., axis=axis)`` works along, or a located refusal (several axes: a list)."""
    if axis is None and np.ndim(f) == 1:
        return 0
    if isinstance(axis, (int, np.integer)):
        return int(axis)
    raise refusal("np.gradient in {f} along several axes has no derivative rule (it returns a list)",
                  hint="call np.gradient once per axis, with axis=k")


def trapezoid_weights(y, x, axis):
    """The weight of each sample of ``y`` along ``axis`` in ``np.trapezoid(y, x)`` (unit spacing when ``x`` is
    None), shaped to broadcast against ``y``."""
    n = np.shape(y)[axis]
    if x is not None and np.ndim(x) != 1:
        raise refusal("np.trapezoid in {f} with sample points x of %d dimensions has no derivative rule (1-D x)"
                      % np.ndim(x))
    shape = [1] * np.ndim(y)
    shape[axis] = n
    return np.reshape(np.trapezoid(np.eye(n), x, 1.0, axis=-1), shape)


def interp_weights(x, xp, left=None, right=None):
    """``W[..., j]``: the weight of ``fp[j]`` in ``np.interp(x, xp, fp)`` (its other part is ``left``/``right``)."""
    eye = np.eye(np.size(xp))
    lo, hi = (None if left is None else 0.0), (None if right is None else 0.0)
    return np.stack([np.interp(x, xp, e, lo, hi) for e in eye], axis=-1)


def interp_slopes(x, xp, left=None, right=None):
    """``d W / d x``: piecewise constant in ``x`` (0 outside ``xp``'s range, right-continuous at a knot)."""
    xp = np.asarray(xp, dtype=float)
    i = np.clip(np.searchsorted(xp, x, "right") - 1, 0, np.size(xp) - 2)
    inside = (np.asarray(x) >= xp[0]) & (np.asarray(x) < xp[-1])
    s = np.zeros(np.shape(x) + (np.size(xp),))
    h = (xp[i + 1] - xp[i]) * 1.0
    np.put_along_axis(s, np.expand_dims(i, -1), np.expand_dims(inside * (-1.0 / h), -1), -1)
    np.put_along_axis(s, np.expand_dims(i + 1, -1), np.expand_dims(inside * (1.0 / h), -1), -1)
    return s


def partition_index(a, ans, axis=-1):
    """Where each element of ``ans``, a reordering of ``a`` along ``axis`` (flattened when None), comes from:
    the stable ranks of ``ans`` looked up in the stable sorting order of ``a`` (equal values are one kink)."""
    a = np.ravel(a) if axis is None else a
    axis = -1 if axis is None else axis
    rank = np.argsort(np.argsort(ans, axis=axis, kind="stable"), axis=axis, kind="stable")
    return np.take_along_axis(np.argsort(a, axis=axis, kind="stable"), rank, axis=axis)


def _conditions(condlist):
    return np.array(np.broadcast_arrays(*[np.asarray(c, dtype=bool) for c in condlist]))


def select_masks(condlist):
    """1.0 where condition ``i`` is the first that holds (axis 0: one row per condition), else 0.0."""
    c = _conditions(condlist)
    return (c & (np.cumsum(c, axis=0) - c == 0)) * 1.0


def none_of(condlist):
    """1.0 where no condition holds (``np.select`` takes ``default`` there), else 0.0."""
    return 1.0 - np.any(_conditions(condlist), axis=0)


def select_pieces(g, condlist, choicelist):
    """The adjoint of each choice of ``np.select(condlist, choicelist)`` from the result's adjoint ``g``."""
    m = select_masks(condlist)
    return tuple(unbroadcast(g * m[i], c) for i, c in enumerate(choicelist))


def grid_axes(indexing):
    """The axes ``np.meshgrid``'s two grids repeat their arrays along, or a located refusal where ``indexing``
    is no option (a third array passed in its place)."""
    if isinstance(indexing, str) and indexing in ("xy", "ij"):
        return (0, 1) if indexing == "xy" else (1, 0)
    raise refusal("np.meshgrid in {f} is differentiated for two arrays", hint="build the grids of three with np.ix_ "
                  "and broadcasting")


def absent(v):
    """Was this option left out (None)? (A rule's ``v is None`` would read ``-1 is None`` once inlined.)"""
    return v is None


def no_period(period):
    """1.0, or a located refusal of ``np.interp``'s ``period``."""
    if period is not None:
        raise refusal("np.interp with period= in {f} has no derivative rule")
    return 1.0


# Constants: each is piecewise constant in its float arguments, except the sample points and spacings (xp of
# interp_slopes, spacing of gradient_matrix, x of trapezoid_weights), which the rules calling them refuse.
nondiff(partition_index, correlate_mode, vander_powers, descending_powers, gradient_matrix, one_axis, interp_slopes,
        no_period, trapezoid_weights, absent, select_masks, none_of, grid_axes,
        np.argpartition)

@linear(full_part)
def full_part_vjp(g, ans, c, n, m, mode): return full_embed(g, n, m, mode)

@linear(full_embed)
def full_embed_vjp(h, ans, g, n, m, mode): return full_part(h, n, m, mode)

@vjp(interp_weights)
def interp_weights_vjp(g, ans, x, xp, left=None, right=None):
    return np.sum(g * interp_slopes(x, xp, left, right), -1), None
@jvp(interp_weights)
def interp_weights_jvp(dx, dxp, ans, x, xp, left=None, right=None):
    return np.expand_dims(dx, -1) * interp_slopes(x, xp, left, right), None

refuse(interp_weights, "the derivative of np.interp in its sample points xp is not implemented", 1)


# --- selection, joining, shifting -------------------------------------------------------------------------------

# np.argpartition may order the elements away from the k-th differently: partition_index reads ans
@vjp(np.partition)
def partition_vjp(g, ans, a, kth, axis=-1, kind="introselect", order=None):
    return untake_along_axis(g, partition_index(a, ans, axis), a, axis)
@jvp(np.partition)
def partition_jvp(da, ans, a, kth, axis=-1, kind="introselect", order=None):
    return np.reshape(np.take_along_axis(np.ravel(da) if absent(axis) else da, partition_index(a, ans, axis),
                                         axis=-1 if absent(axis) else axis), np.shape(ans))

# select(condlist, choicelist, default): the lists stay lists (numpy_rules.SEQUENCE_FIRST), the choices' adjoint
# is a tuple with one adjoint per choice
structured(select_pieces)


@linear(select_pieces)
def select_pieces_vjp(h, ans, g, condlist, choicelist):
    return broadcast_like(np.select(condlist, fill_pieces(h, choicelist), 0.0), g)

@vjp(np.select)
def select_vjp(g, ans, condlist, choicelist, default=0):
    return None, select_pieces(g, condlist, choicelist), unbroadcast(g * none_of(condlist), default)
@jvp(np.select)
def select_jvp(dcondlist, dchoicelist, ddefault, ans, condlist, choicelist, default=0):
    return (None, broadcast_like(np.select(condlist, fill_pieces(dchoicelist, choicelist), 0.0), ans),
            broadcast_like(np.select(condlist, fill_pieces(0.0, choicelist), ddefault), ans))

# append(arr, values, axis): a join of two pieces (flattened when axis is None)
@vjp(np.append)
def append_vjp(g, ans, arr, values, axis=None):
    parts = split_like(g, [arr, values], axis)
    return parts[0], parts[1]
@jvp(np.append)
def append_jvp(darr, dvalues, ans, arr, values, axis=None):
    return (np.append(darr + np.zeros(np.shape(arr)), np.zeros(np.shape(values)), axis),
            np.append(np.zeros(np.shape(arr)), dvalues + np.zeros(np.shape(values)), axis))

@linear(np.fft.fftshift, fn="np.fft.fftshift")
def fftshift_vjp(g, ans, x, axes=None): return np.fft.ifftshift(g, axes)

@linear(np.fft.ifftshift, fn="np.fft.ifftshift")
def ifftshift_vjp(g, ans, x, axes=None): return np.fft.fftshift(g, axes)


# --- convolution and polynomials ---------------------------------------------------------------------------------

@linear(np.convolve, args=("mode",))
def convolve_vjp(g, ans, a, v, mode="full"):
    return (np.correlate(full_embed(g, np.size(a), np.size(v), mode), v, "valid"),
            np.correlate(full_embed(g, np.size(a), np.size(v), mode), a, "valid"))

# correlate(a, v, mode) is convolve(a, v[::-1], mode)
@linear(np.correlate, args=("mode",))
def correlate_vjp(g, ans, a, v, mode="valid"):
    return (np.correlate(full_embed(g, np.size(a), np.size(v), correlate_mode(mode, np.size(a), np.size(v))),
                         np.flip(v), "valid"),
            np.flip(np.correlate(full_embed(g, np.size(a), np.size(v), correlate_mode(mode, np.size(a), np.size(v))),
                                 a, "valid")))

# polyval(p, x) = sum_i p_i x^(n-1-i): linear in p; in x its derivative is the polynomial p'
@vjp(np.polyval)
def polyval_vjp(g, ans, p, x):
    k = descending_powers(np.size(p))
    return (np.reshape(np.sum(np.reshape(np.expand_dims(g * np.ones(np.shape(ans)), -1) * np.expand_dims(
                np.asarray(x) * np.ones(np.shape(ans)), -1) ** k, (-1, np.size(p))), 0), np.shape(p)),
            g * np.polyval(p[:-1] * k[:-1], x))
@jvp(np.polyval)
def polyval_jvp(dp, dx, ans, p, x):
    return np.polyval(dp, x) * np.ones(np.shape(ans)), dx * np.polyval(p[:-1] * descending_powers(np.size(p))[:-1], x)

@vjp(np.vander)
def vander_vjp(g, ans, x, N=None, increasing=False):
    k = vander_powers(x, N, increasing)
    return np.sum(g * k * np.expand_dims(x, -1) ** np.maximum(k - 1.0, 0.0), -1)
@jvp(np.vander)
def vander_jvp(dx, ans, x, N=None, increasing=False):
    k = vander_powers(x, N, increasing)
    return np.expand_dims(dx, -1) * k * np.expand_dims(x, -1) ** np.maximum(k - 1.0, 0.0)

def _polyfit_refusal(literal, given):
    """Weights, or the extra results of ``full``/``cov``."""
    extra = [k for k in ("w", "full", "cov") if k in given and literal.get(k, True) not in (None, False)]
    if extra:
        return "np.polyfit with `%s` has no derivative rule (rules: the coefficients, in y)" % extra[0]


@linear(np.polyfit, args=("deg",))
@checked(_polyfit_refusal)
def polyfit_vjp(g, ans, x, y, deg, rcond=None, full=False, w=None, cov=False):
    return None, np.matmul(np.swapaxes(np.linalg.pinv(np.vander(x, np.shape(ans)[0])), -1, -2), g)

refuse(np.polyfit, "the derivative of np.polyfit in its sample points x is not implemented", 0)


# --- integration, differences, interpolation, grids --------------------------------------------------------------

_TRAPEZOID = _opt("trapezoid")


@vjp(_TRAPEZOID)
def trapezoid_vjp(g, ans, y, x=None, dx=1.0, axis=-1):
    return (np.expand_dims(g, axis) * trapezoid_weights(y, x, axis) * (dx if absent(x) else 1.0), None,
            np.sum(g * np.trapezoid(y, None, 1.0, axis)) * absent(x))
@jvp(_TRAPEZOID)
def trapezoid_jvp(ty, tx, tdx, ans, y, x=None, dx=1.0, axis=-1):
    return np.trapezoid(ty, x, dx, axis), None, tdx * np.trapezoid(y, None, 1.0, axis) * absent(x)

refuse(_TRAPEZOID, "the derivative of np.trapezoid in its sample points x is not implemented", 1)

# interp(x, xp, fp) = W(x) fp (plus left/right outside xp's range)
@vjp(np.interp)
def interp_vjp(g, ans, x, xp, fp, left=None, right=None, period=None):
    return (g * np.matmul(interp_slopes(x, xp, left, right) * no_period(period), fp), None,
            np.tensordot(g, interp_weights(x, xp, left, right) * no_period(period), np.ndim(g)))
@jvp(np.interp)
def interp_jvp(dx, dxp, dfp, ans, x, xp, fp, left=None, right=None, period=None):
    return (dx * np.matmul(interp_slopes(x, xp, left, right) * no_period(period), fp), None,
            np.matmul(interp_weights(x, xp, left, right) * no_period(period), dfp))

refuse(np.interp, "the derivative of np.interp in its sample points xp is not implemented", 1)

# gradient(f, spacing) along one axis: the matrix D = gradient_matrix(n); out = D f, adjoint D^T g
@vjp(np.gradient)
def gradient_vjp(g, ans, f, spacing=1.0, axis=None, edge_order=1):
    return np.moveaxis(np.matmul(np.moveaxis(g, one_axis(f, axis), -1), gradient_matrix(
        np.shape(f)[one_axis(f, axis)], spacing, edge_order)), -1, one_axis(f, axis))
@jvp(np.gradient)
def gradient_jvp(df, ans, f, spacing=1.0, axis=None, edge_order=1):
    return np.gradient(df, spacing, axis=one_axis(f, axis), edge_order=edge_order)

refuse(np.gradient, "the derivative of np.gradient in its spacing is not implemented", 1)

def _meshgrid_refusal(literal, given):
    """One array, or ``sparse`` grids (three arrays: ``grid_axes`` refuses the third when it runs)."""
    if "y" not in given or "sparse" in given and literal.get("sparse", True) is not False:
        return "np.meshgrid is differentiated for two arrays (not sparse)"


@vjp(np.meshgrid)
@checked(_meshgrid_refusal)
def meshgrid_vjp(g, ans, x, y=None, indexing="xy", copy=True, sparse=False):
    axes = grid_axes(indexing)
    gx, gy = fill_pieces(g, ans)
    return np.reshape(np.sum(gx, axes[0]), np.shape(x)), np.reshape(np.sum(gy, axes[1]), np.shape(y))
@jvp(np.meshgrid)
@checked(_meshgrid_refusal)
def meshgrid_jvp(dx, dy, ans, x, y=None, indexing="xy", copy=True, sparse=False):
    ij = "xy" if grid_axes(indexing)[0] == 0 else "ij"
    return ([np.meshgrid(dx + np.zeros(np.shape(x)), y, indexing=ij)[0], np.zeros(np.shape(ans[1]))],
            [np.zeros(np.shape(ans[0])), np.meshgrid(x, dy + np.zeros(np.shape(y)), indexing=ij)[1]])

structured(np.meshgrid)
