"""NumPy rules: reductions (``sum``, ``mean``, ``max``, ``var``, ...) and cumulative sums and products.

See ``numpy_rules.py`` for the conventions the NumPy rules share."""

import numpy as np

from .combinators import linear
from .helpers import expand_reduced, keepdims_shape, reduced_count
from .numpy_rules import _opt
from .registry import jvp, vjp

# --- reductions ----------------------------------------------------------------------------------

@linear(np.sum, args=(), kwargs=("axis", "keepdims"))
def sum_np_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False): return expand_reduced(g, a, axis, keepdims)

@vjp(np.nansum)
def nansum_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.where(np.isnan(a), 0.0, expand_reduced(g, a, axis, keepdims))
@jvp(np.nansum)
def nansum_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(np.where(np.isnan(a), 0.0, da), axis=axis, keepdims=keepdims)

@linear(np.mean, args=(), kwargs=("axis", "keepdims"))
def mean_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return expand_reduced(g / reduced_count(a, axis), a, axis, keepdims)

@vjp(np.nanmean)
def nanmean_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    return expand_reduced(g, a, axis, keepdims) * ok / np.sum(ok, axis=axis, keepdims=True)
@jvp(np.nanmean)
def nanmean_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    return np.sum(np.where(ok, da, 0.0), axis=axis, keepdims=keepdims) / np.sum(ok, axis=axis, keepdims=keepdims)

@vjp(np.prod)
def prod_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return expand_reduced(g * ans, a, axis, keepdims) / a
@jvp(np.prod)
def prod_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(da / a, axis=axis, keepdims=keepdims) * ans

@vjp(np.nanprod)
def nanprod_vjp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.where(np.isnan(a), 0.0, expand_reduced(g * ans, a, axis, keepdims) / a)
@jvp(np.nanprod)
def nanprod_jvp(da, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(np.where(np.isnan(a), 0.0, da / a), axis=axis, keepdims=keepdims) * ans

# max/min: the adjoint is shared evenly among the tied maxima (NaNs never tie, so nanmax fits too)
@vjp(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin)
def max_np_vjp(g, ans, a, axis=None, out=None, keepdims=False):
    # m has a's shape: g, kept small, broadcasts against it
    m = a == (ans if keepdims else np.reshape(ans, keepdims_shape(a, axis)))
    return (g if keepdims else np.reshape(g, keepdims_shape(a, axis))) / np.sum(m, axis=axis, keepdims=True) * m
@jvp(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin)
def max_np_jvp(da, ans, a, axis=None, out=None, keepdims=False):
    m = a == (ans if keepdims else np.reshape(ans, keepdims_shape(a, axis)))
    return np.sum(da * m, axis=axis, keepdims=keepdims) / np.sum(m, axis=axis, keepdims=keepdims)

@vjp(np.ptp)
def ptp_vjp(g, ans, a, axis=None, out=None, keepdims=False):
    hi = a == np.max(a, axis=axis, keepdims=True)
    lo = a == np.min(a, axis=axis, keepdims=True)
    return expand_reduced(g, a, axis, keepdims) * (hi / np.sum(hi, axis=axis, keepdims=True)
                                                   - lo / np.sum(lo, axis=axis, keepdims=True))
@jvp(np.ptp)
def ptp_jvp(da, ans, a, axis=None, out=None, keepdims=False):
    hi = a == np.max(a, axis=axis, keepdims=True)
    lo = a == np.min(a, axis=axis, keepdims=True)
    return np.sum(da * (hi / np.sum(hi, axis=axis, keepdims=True) - lo / np.sum(lo, axis=axis, keepdims=True)),
                  axis=axis, keepdims=keepdims)

@vjp(np.var)
def var_vjp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return (expand_reduced(g, a, axis, keepdims) * 2.0 * (a - np.mean(a, axis=axis, keepdims=True))
            / (reduced_count(a, axis) - ddof))
@jvp(np.var)
def var_jvp(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return (np.sum(2.0 * da * (a - np.mean(a, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims)
            / (reduced_count(a, axis) - ddof))

# The std of one element is 0 whatever it is: its derivative is 0 (a - mean is 0 there), not 0 / 0.
# Elsewhere std == 0 (all elements equal) is a kink, like |x| at 0: nan.
@vjp(np.std)
def std_vjp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    s = 1.0 if reduced_count(a, axis) == 1 else ans
    return (expand_reduced(g / s, a, axis, keepdims) * (a - np.mean(a, axis=axis, keepdims=True))
            / (reduced_count(a, axis) - ddof))
@jvp(np.std)
def std_jvp(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    s = 1.0 if reduced_count(a, axis) == 1 else ans
    return (np.sum(da * (a - np.mean(a, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims)
            / ((reduced_count(a, axis) - ddof) * s))

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
    return (np.sum(2.0 * np.where(ok, da, 0.0) * d, axis=axis, keepdims=keepdims)
            / (np.sum(ok, axis=axis, keepdims=keepdims) - ddof))

@vjp(np.nanstd)
def nanstd_vjp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    d = np.where(ok, a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    return expand_reduced(g / ans, a, axis, keepdims) * d / (np.sum(ok, axis=axis, keepdims=True) - ddof)
@jvp(np.nanstd)
def nanstd_jvp(da, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    ok = np.logical_not(np.isnan(a))
    d = np.where(ok, a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    return (np.sum(np.where(ok, da, 0.0) * d, axis=axis, keepdims=keepdims)
            / ((np.sum(ok, axis=axis, keepdims=keepdims) - ddof) * ans))

# The adjoint of a cumulative sum is the reversed cumulative sum (of the flattened g for axis=None).
@linear(np.cumsum, args=(), kwargs=("axis",))
def cumsum_vjp(g, ans, a, axis=None, dtype=None, out=None):
    return np.reshape(np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis), np.shape(a))

@vjp(np.nancumsum)
def nancumsum_vjp(g, ans, a, axis=None, dtype=None, out=None):
    return np.where(np.isnan(a), 0.0, np.reshape(np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis), np.shape(a)))
@jvp(np.nancumsum)
def nancumsum_jvp(da, ans, a, axis=None, dtype=None, out=None):
    return np.cumsum(np.where(np.isnan(a), 0.0, da), axis=axis)

@vjp(np.cumprod)
def cumprod_vjp(g, ans, a, axis=None, dtype=None, out=None):
    return np.reshape(np.flip(np.cumsum(np.flip(g * ans, axis), axis=axis), axis), np.shape(a)) / a
@jvp(np.cumprod)
def cumprod_jvp(da, ans, a, axis=None, dtype=None, out=None): return ans * np.cumsum(da / a, axis=axis)

@linear(_opt("cumulative_sum"), args=(), kwargs=("axis", "include_initial"))
def cumulative_sum_vjp(g, ans, x, axis=None, dtype=None, out=None, include_initial=False):
    r = np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)
    return np.delete(r, 0, axis=axis) if include_initial else r

@vjp(_opt("cumulative_prod"))
def cumulative_prod_vjp(g, ans, x, axis=None, dtype=None, out=None, include_initial=False):
    r = np.flip(np.cumsum(np.flip(g * ans, axis), axis=axis), axis)
    return (np.delete(r, 0, axis=axis) if include_initial else r) / x
@jvp(_opt("cumulative_prod"))
def cumulative_prod_jvp(dx, ans, x, axis=None, dtype=None, out=None, include_initial=False):
    return ans * np.cumulative_sum(dx / x, axis=axis, include_initial=include_initial)
