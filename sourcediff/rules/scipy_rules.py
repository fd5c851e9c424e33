"""Rules for SciPy: ``scipy.special``, ``scipy.stats`` distributions, ``scipy.signal`` and ``scipy.linalg``.

Imported by ``rules/__init__.py`` only when SciPy imports. Conventions beyond ``registry.py``
and ``numpy_rules.py``:

* ``scipy.stats`` keys are the bound methods (``sp_stats.norm.logpdf``): two accesses give equal
  methods, so lookup by the method works and ``lower.py`` keeps such a call whole instead of
  turning it into ``rv_continuous.logpdf(norm, ...)``. Shape parameters, ``loc`` and ``scale``
  are differentiable positional arguments, in the method's order (``lower.keywords_in_place``
  moves ``loc=``/``scale=`` keywords to these positions).
* An argument whose derivative has no closed form here (an order of a Bessel function, the
  ``a``/``b`` of ``betainc``, the ``a`` of ``gammainc``, the shape parameters of a cdf, the
  integer ``n`` of ``polygamma``) gets ``None`` in the rule and a ``refuse`` declaration: a
  derivative through it is refused when it is built, never returned as zero.
* Matrix functions without a closed-form derivative (``expm``, ``logm``, ``sqrtm``) use the
  block identity ``f([[A, E], [0, A]]) = [[f(A), L_f(A, E)], [0, f(A)]]`` (``sc_frechet``), and
  ``L_f(A, E)^T``-adjoints are ``L_f(A^T, G)``.
* ``scipy.linalg.cholesky`` reads one triangle of its input: its adjoint lives on that triangle
  (``sc_one_triangle``).
"""
import numpy as np
from scipy import integrate as scipy_integrate, linalg as sp_linalg, signal as sp_signal
from scipy import special as sp_special, stats as sp_stats

from ..runtime import unbroadcast
from .helpers import expand_reduced, xdivy
from .registry import jvp, nondiff, refuse, vjp

ORDER = "the derivative with respect to the order of a Bessel function has no closed form"
INTEGER = "an integer argument has no derivative"
SHAPE_CDF = "the derivative of this cdf with respect to a shape parameter has no closed form"


# --- helpers (each with its own rules, so Hessians differentiate the rules) ----------------------

def sc_mvpsi(a, d, n=0):
    """sum_{j<d} polygamma(n, a - j/2): the derivative of ``multigammaln(a, d)`` for n=0."""
    out = 0.0
    for j in range(int(d)):
        out = out + sp_special.polygamma(n, a - 0.5 * j)
    return out


def sc_uncenter(g, full):
    """``g`` (a centred part of an array of shape ``full``, as ``scipy.signal`` cuts 'same'/'valid')
    put back in place with zeros around it: the adjoint of that cut."""
    start = [(f - s) // 2 for f, s in zip(full, np.shape(g))]
    return np.pad(g, [(b, f - b - s) for b, f, s in zip(start, full, np.shape(g))])


def sc_recenter(g, like):
    """The centred part of ``g`` shaped like ``like``: the adjoint of ``sc_uncenter``."""
    start = [(f - s) // 2 for f, s in zip(np.shape(g), np.shape(like))]
    return g[tuple(slice(b, b + s) for b, s in zip(start, np.shape(like)))]


def sc_full_shape(in1, in2):
    """The shape of the 'full' convolution of ``in1`` and ``in2``."""
    return tuple(a + b - 1 for a, b in zip(np.shape(in1), np.shape(in2)))


def sc_frechet(f, a, e):
    """The Frechet derivative ``L_f(a, e)`` of the matrix function ``f`` (expm, logm, sqrtm)."""
    n = np.shape(a)[-1]
    top = np.concatenate([a, e], axis=-1)
    bottom = np.concatenate([np.zeros_like(top[..., :n]), a], axis=-1)
    return f(np.concatenate([top, bottom], axis=-2))[..., :n, n:]


def sc_one_triangle(s, lower):
    """The adjoint of a function of a symmetric matrix that reads only one triangle of its input
    (``s`` is the adjoint of the symmetric matrix): off-diagonal entries of the read triangle get both halves."""
    t = s + np.swapaxes(s, -1, -2)
    return (np.tril(t, -1) if lower else np.triu(t, 1)) + s * np.eye(np.shape(s)[-1])


def sc_sym_triangle(m, lower):
    """The symmetric matrix one triangle of ``m`` stands for (what SciPy reads of a symmetric input)."""
    t = np.tril(m, -1) if lower else np.triu(m, 1)
    return t + np.swapaxes(t, -1, -2) + m * np.eye(np.shape(m)[-1])


def sc_trans(trans):
    """``solve_triangular``'s ``trans`` as 0 (solve a x = b) or 1 (solve a^T x = b); real matrices only."""
    if trans in (0, "N"):
        return 0
    if trans in (1, "T", 2, "C"):
        return 1
    raise NotImplementedError("solve_triangular: trans=%r" % (trans,))


def sc_no_sign(return_sign):
    """``logsumexp``'s ``return_sign=True`` (a pair) has no rule."""
    if return_sign:
        raise NotImplementedError("logsumexp(..., return_sign=True)")
    return 1.0


nondiff(sc_full_shape, sc_trans, sc_no_sign)


@vjp(sc_mvpsi)
def sc_mvpsi_vjp(g, ans, a, d, n=0): return g * sc_mvpsi(a, d, n + 1)
@jvp(sc_mvpsi)
def sc_mvpsi_jvp(da, ans, a, d, n=0): return da * sc_mvpsi(a, d, n + 1)

@vjp(sc_uncenter)
def sc_uncenter_vjp(g, ans, x, full): return sc_recenter(g, x)
@jvp(sc_uncenter)
def sc_uncenter_jvp(dx, ans, x, full): return sc_uncenter(dx, full)

@vjp(sc_recenter)
def sc_recenter_vjp(g, ans, x, like): return sc_uncenter(g, np.shape(x))
@jvp(sc_recenter)
def sc_recenter_jvp(dx, ans, x, like): return sc_recenter(dx, like)

@vjp(sc_frechet)
def sc_frechet_vjp(g, ans, f, a, e): return None, None, sc_frechet(f, np.swapaxes(a, -1, -2), g)
@jvp(sc_frechet)
def sc_frechet_jvp(df, da, de, ans, f, a, e): return None, None, sc_frechet(f, a, de)

refuse(sc_frechet, "the second derivative of a matrix function is not implemented", 1)

@vjp(sc_one_triangle)
def sc_one_triangle_vjp(g, ans, s, lower): return sc_sym_triangle(g, lower)
@jvp(sc_one_triangle)
def sc_one_triangle_jvp(ds, ans, s, lower): return sc_one_triangle(ds, lower)

@vjp(sc_sym_triangle)
def sc_sym_triangle_vjp(g, ans, m, lower): return sc_one_triangle(g, lower)
@jvp(sc_sym_triangle)
def sc_sym_triangle_jvp(dm, ans, m, lower): return sc_sym_triangle(dm, lower)


# --- scipy.special: one argument -----------------------------------------------------------------

@vjp(sp_special.gamma)
def sc_gamma_vjp(g, ans, x): return g * ans * sp_special.digamma(x)
@jvp(sp_special.gamma)
def sc_gamma_jvp(dx, ans, x): return dx * ans * sp_special.digamma(x)

@vjp(sp_special.gammaln)
def sc_gammaln_vjp(g, ans, x): return g * sp_special.digamma(x)
@jvp(sp_special.gammaln)
def sc_gammaln_jvp(dx, ans, x): return dx * sp_special.digamma(x)

@vjp(sp_special.digamma)
def sc_digamma_vjp(g, ans, x): return g * sp_special.polygamma(1, x)
@jvp(sp_special.digamma)
def sc_digamma_jvp(dx, ans, x): return dx * sp_special.polygamma(1, x)

@vjp(sp_special.polygamma)
def sc_polygamma_vjp(g, ans, n, x): return None, unbroadcast(g * sp_special.polygamma(n + 1, x), x)
@jvp(sp_special.polygamma)
def sc_polygamma_jvp(dn, dx, ans, n, x): return None, dx * sp_special.polygamma(n + 1, x)

refuse(sp_special.polygamma, INTEGER, 0)

@vjp(sp_special.multigammaln)
def sc_multigammaln_vjp(g, ans, a, d): return g * sc_mvpsi(a, d)
@jvp(sp_special.multigammaln)
def sc_multigammaln_jvp(da, ans, a, d): return da * sc_mvpsi(a, d)

refuse(sp_special.multigammaln, INTEGER, 1)

@vjp(sp_special.erf)
def sc_erf_vjp(g, ans, x): return g * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)
@jvp(sp_special.erf)
def sc_erf_jvp(dx, ans, x): return dx * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)

@vjp(sp_special.erfc)
def sc_erfc_vjp(g, ans, x): return -g * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)
@jvp(sp_special.erfc)
def sc_erfc_jvp(dx, ans, x): return -dx * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)

@vjp(sp_special.erfinv)
def sc_erfinv_vjp(g, ans, x): return g * (np.sqrt(np.pi) / 2.0) * np.exp(ans * ans)
@jvp(sp_special.erfinv)
def sc_erfinv_jvp(dx, ans, x): return dx * (np.sqrt(np.pi) / 2.0) * np.exp(ans * ans)

@vjp(sp_special.erfcinv)
def sc_erfcinv_vjp(g, ans, x): return -g * (np.sqrt(np.pi) / 2.0) * np.exp(ans * ans)
@jvp(sp_special.erfcinv)
def sc_erfcinv_jvp(dx, ans, x): return -dx * (np.sqrt(np.pi) / 2.0) * np.exp(ans * ans)

@vjp(sp_special.expit)
def sc_expit_vjp(g, ans, x): return g * ans * (1.0 - ans)
@jvp(sp_special.expit)
def sc_expit_jvp(dx, ans, x): return dx * ans * (1.0 - ans)

@vjp(sp_special.logit)
def sc_logit_vjp(g, ans, x): return g / (x * (1.0 - x))
@jvp(sp_special.logit)
def sc_logit_jvp(dx, ans, x): return dx / (x * (1.0 - x))

@vjp(sp_special.log_expit)
def sc_log_expit_vjp(g, ans, x): return g * sp_special.expit(-x)
@jvp(sp_special.log_expit)
def sc_log_expit_jvp(dx, ans, x): return dx * sp_special.expit(-x)

# entr(x) = -x log x
@vjp(sp_special.entr)
def sc_entr_vjp(g, ans, x): return -g * (np.log(x) + 1.0)
@jvp(sp_special.entr)
def sc_entr_jvp(dx, ans, x): return -dx * (np.log(x) + 1.0)

# --- scipy.special: several arguments ------------------------------------------------------------

@vjp(sp_special.beta)
def sc_beta_vjp(g, ans, a, b):
    s = sp_special.digamma(a + b)
    return unbroadcast(g * ans * (sp_special.digamma(a) - s), a), unbroadcast(g * ans * (sp_special.digamma(b) - s), b)
@jvp(sp_special.beta)
def sc_beta_jvp(da, db, ans, a, b):
    s = sp_special.digamma(a + b)
    return da * ans * (sp_special.digamma(a) - s), db * ans * (sp_special.digamma(b) - s)

@vjp(sp_special.betaln)
def sc_betaln_vjp(g, ans, a, b):
    s = sp_special.digamma(a + b)
    return unbroadcast(g * (sp_special.digamma(a) - s), a), unbroadcast(g * (sp_special.digamma(b) - s), b)
@jvp(sp_special.betaln)
def sc_betaln_jvp(da, db, ans, a, b):
    s = sp_special.digamma(a + b)
    return da * (sp_special.digamma(a) - s), db * (sp_special.digamma(b) - s)

# d/dx I_x(a, b) = x^(a-1) (1-x)^(b-1) / B(a, b)
@vjp(sp_special.betainc)
def sc_betainc_vjp(g, ans, a, b, x):
    return None, None, unbroadcast(g * np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - sp_special.betaln(a, b)), x)
@jvp(sp_special.betainc)
def sc_betainc_jvp(da, db, dx, ans, a, b, x):
    return None, None, dx * np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - sp_special.betaln(a, b))

refuse(sp_special.betainc, "the derivative of betainc with respect to a or b has no closed form", 0, 1)

# d/dx P(a, x) = x^(a-1) e^-x / Gamma(a)
@vjp(sp_special.gammainc)
def sc_gammainc_vjp(g, ans, a, x): return None, unbroadcast(g * np.exp((a - 1.0) * np.log(x) - x - sp_special.gammaln(a)), x)
@jvp(sp_special.gammainc)
def sc_gammainc_jvp(da, dx, ans, a, x): return None, dx * np.exp((a - 1.0) * np.log(x) - x - sp_special.gammaln(a))

@vjp(sp_special.gammaincc)
def sc_gammaincc_vjp(g, ans, a, x): return None, unbroadcast(-g * np.exp((a - 1.0) * np.log(x) - x - sp_special.gammaln(a)), x)
@jvp(sp_special.gammaincc)
def sc_gammaincc_jvp(da, dx, ans, a, x): return None, -dx * np.exp((a - 1.0) * np.log(x) - x - sp_special.gammaln(a))

refuse(sp_special.gammainc, "the derivative of gammainc with respect to a has no closed form", 0)
refuse(sp_special.gammaincc, "the derivative of gammaincc with respect to a has no closed form", 0)

@vjp(sp_special.xlogy)
def sc_xlogy_vjp(g, ans, x, y): return unbroadcast(g * np.log(y), x), unbroadcast(xdivy(g * x, y), y)
@jvp(sp_special.xlogy)
def sc_xlogy_jvp(dx, dy, ans, x, y): return dx * np.log(y), xdivy(dy * x, y)

@vjp(sp_special.xlog1py)
def sc_xlog1py_vjp(g, ans, x, y): return unbroadcast(g * np.log1p(y), x), unbroadcast(g * x / (1.0 + y), y)
@jvp(sp_special.xlog1py)
def sc_xlog1py_jvp(dx, dy, ans, x, y): return dx * np.log1p(y), dy * x / (1.0 + y)

# rel_entr(x, y) = x log(x / y)
@vjp(sp_special.rel_entr)
def sc_rel_entr_vjp(g, ans, x, y): return unbroadcast(g * (np.log(x / y) + 1.0), x), unbroadcast(-g * x / y, y)
@jvp(sp_special.rel_entr)
def sc_rel_entr_jvp(dx, dy, ans, x, y): return dx * (np.log(x / y) + 1.0), -dy * x / y

# Hurwitz zeta(s, q): d/dq = -s zeta(s + 1, q); d/ds has no closed form
@vjp(sp_special.zeta)
def sc_zeta_vjp(g, ans, x, q): return None, unbroadcast(-g * x * sp_special.zeta(x + 1.0, q), q)
@jvp(sp_special.zeta)
def sc_zeta_jvp(dx, dq, ans, x, q): return None, -dq * x * sp_special.zeta(x + 1.0, q)

refuse(sp_special.zeta, "the derivative of zeta with respect to s has no closed form", 0)

# --- scipy.special: reductions -------------------------------------------------------------------

@vjp(sp_special.logsumexp)
def sc_logsumexp_vjp(g, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    w = np.exp(a - expand_reduced(ans, a, axis, keepdims)) * (1.0 if b is None else b) * sc_no_sign(return_sign)
    return unbroadcast(expand_reduced(g, a, axis, keepdims) * w, a)
@jvp(sp_special.logsumexp)
def sc_logsumexp_jvp(da, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    w = np.exp(a - expand_reduced(ans, a, axis, keepdims)) * (1.0 if b is None else b) * sc_no_sign(return_sign)
    return np.sum(da * w, axis=axis, keepdims=keepdims)

refuse(sp_special.logsumexp, "the weights b of logsumexp are not differentiated", 2)

@vjp(sp_special.softmax)
def sc_softmax_vjp(g, ans, x, axis=None): return ans * (g - np.sum(g * ans, axis=axis, keepdims=True))
@jvp(sp_special.softmax)
def sc_softmax_jvp(dx, ans, x, axis=None): return ans * (dx - np.sum(dx * ans, axis=axis, keepdims=True))

@vjp(sp_special.log_softmax)
def sc_log_softmax_vjp(g, ans, x, axis=None): return g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)
@jvp(sp_special.log_softmax)
def sc_log_softmax_jvp(dx, ans, x, axis=None): return dx - np.sum(np.exp(ans) * dx, axis=axis, keepdims=True)

# --- scipy.special: Bessel functions (derivatives in x; the order is refused) -------------------

@vjp(sp_special.j0)
def sc_j0_vjp(g, ans, x): return -g * sp_special.j1(x)
@jvp(sp_special.j0)
def sc_j0_jvp(dx, ans, x): return -dx * sp_special.j1(x)

@vjp(sp_special.j1)
def sc_j1_vjp(g, ans, x): return g * 0.5 * (sp_special.j0(x) - sp_special.jv(2.0, x))
@jvp(sp_special.j1)
def sc_j1_jvp(dx, ans, x): return dx * 0.5 * (sp_special.j0(x) - sp_special.jv(2.0, x))

@vjp(sp_special.y0)
def sc_y0_vjp(g, ans, x): return -g * sp_special.y1(x)
@jvp(sp_special.y0)
def sc_y0_jvp(dx, ans, x): return -dx * sp_special.y1(x)

@vjp(sp_special.y1)
def sc_y1_vjp(g, ans, x): return g * 0.5 * (sp_special.y0(x) - sp_special.yv(2.0, x))
@jvp(sp_special.y1)
def sc_y1_jvp(dx, ans, x): return dx * 0.5 * (sp_special.y0(x) - sp_special.yv(2.0, x))

@vjp(sp_special.i0)
def sc_i0_vjp(g, ans, x): return g * sp_special.i1(x)
@jvp(sp_special.i0)
def sc_i0_jvp(dx, ans, x): return dx * sp_special.i1(x)

@vjp(sp_special.i1)
def sc_i1_vjp(g, ans, x): return g * 0.5 * (sp_special.i0(x) + sp_special.iv(2.0, x))
@jvp(sp_special.i1)
def sc_i1_jvp(dx, ans, x): return dx * 0.5 * (sp_special.i0(x) + sp_special.iv(2.0, x))

# jn is jv: C'_v = (C_{v-1} - C_{v+1}) / 2 for J and Y
@vjp(sp_special.jv)
def sc_jv_vjp(g, ans, v, x): return None, unbroadcast(g * 0.5 * (sp_special.jv(v - 1.0, x) - sp_special.jv(v + 1.0, x)), x)
@jvp(sp_special.jv)
def sc_jv_jvp(dv, dx, ans, v, x): return None, dx * 0.5 * (sp_special.jv(v - 1.0, x) - sp_special.jv(v + 1.0, x))

@vjp(sp_special.yn)
def sc_yn_vjp(g, ans, n, x): return None, unbroadcast(g * 0.5 * (sp_special.yv(n - 1.0, x) - sp_special.yv(n + 1.0, x)), x)
@jvp(sp_special.yn)
def sc_yn_jvp(dn, dx, ans, n, x): return None, dx * 0.5 * (sp_special.yv(n - 1.0, x) - sp_special.yv(n + 1.0, x))

@vjp(sp_special.yv)
def sc_yv_vjp(g, ans, v, x): return None, unbroadcast(g * 0.5 * (sp_special.yv(v - 1.0, x) - sp_special.yv(v + 1.0, x)), x)
@jvp(sp_special.yv)
def sc_yv_jvp(dv, dx, ans, v, x): return None, dx * 0.5 * (sp_special.yv(v - 1.0, x) - sp_special.yv(v + 1.0, x))

@vjp(sp_special.iv)
def sc_iv_vjp(g, ans, v, x): return None, unbroadcast(g * 0.5 * (sp_special.iv(v - 1.0, x) + sp_special.iv(v + 1.0, x)), x)
@jvp(sp_special.iv)
def sc_iv_jvp(dv, dx, ans, v, x): return None, dx * 0.5 * (sp_special.iv(v - 1.0, x) + sp_special.iv(v + 1.0, x))

# ive(v, x) = iv(v, x) exp(-|x|)
@vjp(sp_special.ive)
def sc_ive_vjp(g, ans, v, x):
    return None, unbroadcast(g * (0.5 * (sp_special.ive(v - 1.0, x) + sp_special.ive(v + 1.0, x)) - np.sign(x) * ans), x)
@jvp(sp_special.ive)
def sc_ive_jvp(dv, dx, ans, v, x): return None, dx * (0.5 * (sp_special.ive(v - 1.0, x) + sp_special.ive(v + 1.0, x)) - np.sign(x) * ans)

@vjp(sp_special.kv)
def sc_kv_vjp(g, ans, v, x): return None, unbroadcast(-g * 0.5 * (sp_special.kv(v - 1.0, x) + sp_special.kv(v + 1.0, x)), x)
@jvp(sp_special.kv)
def sc_kv_jvp(dv, dx, ans, v, x): return None, -dx * 0.5 * (sp_special.kv(v - 1.0, x) + sp_special.kv(v + 1.0, x))

for _k in (sp_special.jv, sp_special.yn, sp_special.yv, sp_special.iv, sp_special.ive, sp_special.kv):
    refuse(_k, ORDER, 0)

# --- scipy.stats: location-scale families, z = (x - loc) / scale --------------------------------
# For logpdf = log f(z) - log(scale): d/dx = f'/f / scale, d/dloc = -d/dx, d/dscale = -(z f'/f + 1) / scale;
# pdf multiplies by ans; a cdf F(z) has d/dx = pdf(x), d/dloc = -pdf(x), d/dscale = -z pdf(x).

@vjp(sp_stats.norm.logpdf)
def sc_norm_logpdf_vjp(g, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return unbroadcast(-g * z / scale, x), unbroadcast(g * z / scale, loc), unbroadcast(g * (z * z - 1.0) / scale, scale)
@jvp(sp_stats.norm.logpdf)
def sc_norm_logpdf_jvp(dx, dloc, dscale, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return -dx * z / scale, dloc * z / scale, dscale * (z * z - 1.0) / scale

@vjp(sp_stats.norm.pdf)
def sc_norm_pdf_vjp(g, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return (unbroadcast(-g * ans * z / scale, x), unbroadcast(g * ans * z / scale, loc),
            unbroadcast(g * ans * (z * z - 1.0) / scale, scale))
@jvp(sp_stats.norm.pdf)
def sc_norm_pdf_jvp(dx, dloc, dscale, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return -dx * ans * z / scale, dloc * ans * z / scale, dscale * ans * (z * z - 1.0) / scale

@vjp(sp_stats.norm.cdf)
def sc_norm_cdf_vjp(g, ans, x, loc=0.0, scale=1.0):
    p = sp_stats.norm.pdf(x, loc, scale)
    return unbroadcast(g * p, x), unbroadcast(-g * p, loc), unbroadcast(-g * p * (x - loc) / scale, scale)
@jvp(sp_stats.norm.cdf)
def sc_norm_cdf_jvp(dx, dloc, dscale, ans, x, loc=0.0, scale=1.0):
    p = sp_stats.norm.pdf(x, loc, scale)
    return dx * p, -dloc * p, -dscale * p * (x - loc) / scale

@vjp(sp_stats.norm.sf)
def sc_norm_sf_vjp(g, ans, x, loc=0.0, scale=1.0):
    p = sp_stats.norm.pdf(x, loc, scale)
    return unbroadcast(-g * p, x), unbroadcast(g * p, loc), unbroadcast(g * p * (x - loc) / scale, scale)
@jvp(sp_stats.norm.sf)
def sc_norm_sf_jvp(dx, dloc, dscale, ans, x, loc=0.0, scale=1.0):
    p = sp_stats.norm.pdf(x, loc, scale)
    return -dx * p, dloc * p, dscale * p * (x - loc) / scale

# log cdf: the pdf / cdf ratio as exp(logpdf - logcdf), stable in the far tail
@vjp(sp_stats.norm.logcdf)
def sc_norm_logcdf_vjp(g, ans, x, loc=0.0, scale=1.0):
    r = np.exp(sp_stats.norm.logpdf(x, loc, scale) - ans)
    return unbroadcast(g * r, x), unbroadcast(-g * r, loc), unbroadcast(-g * r * (x - loc) / scale, scale)
@jvp(sp_stats.norm.logcdf)
def sc_norm_logcdf_jvp(dx, dloc, dscale, ans, x, loc=0.0, scale=1.0):
    r = np.exp(sp_stats.norm.logpdf(x, loc, scale) - ans)
    return dx * r, -dloc * r, -dscale * r * (x - loc) / scale

@vjp(sp_stats.norm.logsf)
def sc_norm_logsf_vjp(g, ans, x, loc=0.0, scale=1.0):
    r = np.exp(sp_stats.norm.logpdf(x, loc, scale) - ans)
    return unbroadcast(-g * r, x), unbroadcast(g * r, loc), unbroadcast(g * r * (x - loc) / scale, scale)
@jvp(sp_stats.norm.logsf)
def sc_norm_logsf_jvp(dx, dloc, dscale, ans, x, loc=0.0, scale=1.0):
    r = np.exp(sp_stats.norm.logpdf(x, loc, scale) - ans)
    return -dx * r, dloc * r, dscale * r * (x - loc) / scale

# Student t: log f(z) = C(df) - (df + 1)/2 log(1 + z^2/df),
# C'(df) = (digamma((df+1)/2) - digamma(df/2) - 1/df) / 2
@vjp(sp_stats.t.logpdf)
def sc_t_logpdf_vjp(g, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    q = z * z / df
    s = -(df + 1.0) * z / (df + z * z)
    c = 0.5 * (sp_special.digamma(0.5 * (df + 1.0)) - sp_special.digamma(0.5 * df) - 1.0 / df)
    return (unbroadcast(g * s / scale, x), unbroadcast(g * (c - 0.5 * np.log1p(q) + 0.5 * (df + 1.0) * q / (df * (1.0 + q))), df),
            unbroadcast(-g * s / scale, loc), unbroadcast(-g * (z * s + 1.0) / scale, scale))
@jvp(sp_stats.t.logpdf)
def sc_t_logpdf_jvp(dx, ddf, dloc, dscale, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    q = z * z / df
    s = -(df + 1.0) * z / (df + z * z)
    c = 0.5 * (sp_special.digamma(0.5 * (df + 1.0)) - sp_special.digamma(0.5 * df) - 1.0 / df)
    return (dx * s / scale, ddf * (c - 0.5 * np.log1p(q) + 0.5 * (df + 1.0) * q / (df * (1.0 + q))),
            -dloc * s / scale, -dscale * (z * s + 1.0) / scale)

@vjp(sp_stats.t.pdf)
def sc_t_pdf_vjp(g, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    q = z * z / df
    s = -(df + 1.0) * z / (df + z * z)
    c = 0.5 * (sp_special.digamma(0.5 * (df + 1.0)) - sp_special.digamma(0.5 * df) - 1.0 / df)
    return (unbroadcast(g * ans * s / scale, x),
            unbroadcast(g * ans * (c - 0.5 * np.log1p(q) + 0.5 * (df + 1.0) * q / (df * (1.0 + q))), df),
            unbroadcast(-g * ans * s / scale, loc), unbroadcast(-g * ans * (z * s + 1.0) / scale, scale))
@jvp(sp_stats.t.pdf)
def sc_t_pdf_jvp(dx, ddf, dloc, dscale, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    q = z * z / df
    s = -(df + 1.0) * z / (df + z * z)
    c = 0.5 * (sp_special.digamma(0.5 * (df + 1.0)) - sp_special.digamma(0.5 * df) - 1.0 / df)
    return (dx * ans * s / scale, ddf * ans * (c - 0.5 * np.log1p(q) + 0.5 * (df + 1.0) * q / (df * (1.0 + q))),
            -dloc * ans * s / scale, -dscale * ans * (z * s + 1.0) / scale)

# chi2: log f(z) = (k/2 - 1) log z - z/2 - (k/2) log 2 - gammaln(k/2)
@vjp(sp_stats.chi2.logpdf)
def sc_chi2_logpdf_vjp(g, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (0.5 * df - 1.0) / z - 0.5
    return (unbroadcast(g * s / scale, x), unbroadcast(g * 0.5 * (np.log(0.5 * z) - sp_special.digamma(0.5 * df)), df),
            unbroadcast(-g * s / scale, loc), unbroadcast(-g * (z * s + 1.0) / scale, scale))
@jvp(sp_stats.chi2.logpdf)
def sc_chi2_logpdf_jvp(dx, ddf, dloc, dscale, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (0.5 * df - 1.0) / z - 0.5
    return (dx * s / scale, ddf * 0.5 * (np.log(0.5 * z) - sp_special.digamma(0.5 * df)), -dloc * s / scale,
            -dscale * (z * s + 1.0) / scale)

@vjp(sp_stats.chi2.pdf)
def sc_chi2_pdf_vjp(g, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (0.5 * df - 1.0) / z - 0.5
    return (unbroadcast(g * ans * s / scale, x), unbroadcast(g * ans * 0.5 * (np.log(0.5 * z) - sp_special.digamma(0.5 * df)), df),
            unbroadcast(-g * ans * s / scale, loc), unbroadcast(-g * ans * (z * s + 1.0) / scale, scale))
@jvp(sp_stats.chi2.pdf)
def sc_chi2_pdf_jvp(dx, ddf, dloc, dscale, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (0.5 * df - 1.0) / z - 0.5
    return (dx * ans * s / scale, ddf * ans * 0.5 * (np.log(0.5 * z) - sp_special.digamma(0.5 * df)), -dloc * ans * s / scale,
            -dscale * ans * (z * s + 1.0) / scale)

# gamma: log f(z) = (a - 1) log z - z - gammaln(a)
@vjp(sp_stats.gamma.logpdf)
def sc_gamma_logpdf_vjp(g, ans, x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - 1.0
    return (unbroadcast(g * s / scale, x), unbroadcast(g * (np.log(z) - sp_special.digamma(a)), a),
            unbroadcast(-g * s / scale, loc), unbroadcast(-g * (z * s + 1.0) / scale, scale))
@jvp(sp_stats.gamma.logpdf)
def sc_gamma_logpdf_jvp(dx, da, dloc, dscale, ans, x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - 1.0
    return dx * s / scale, da * (np.log(z) - sp_special.digamma(a)), -dloc * s / scale, -dscale * (z * s + 1.0) / scale

@vjp(sp_stats.gamma.pdf)
def sc_gamma_pdf_vjp(g, ans, x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - 1.0
    return (unbroadcast(g * ans * s / scale, x), unbroadcast(g * ans * (np.log(z) - sp_special.digamma(a)), a),
            unbroadcast(-g * ans * s / scale, loc), unbroadcast(-g * ans * (z * s + 1.0) / scale, scale))
@jvp(sp_stats.gamma.pdf)
def sc_gamma_pdf_jvp(dx, da, dloc, dscale, ans, x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - 1.0
    return (dx * ans * s / scale, da * ans * (np.log(z) - sp_special.digamma(a)), -dloc * ans * s / scale,
            -dscale * ans * (z * s + 1.0) / scale)

# beta: log f(z) = (a - 1) log z + (b - 1) log(1 - z) - betaln(a, b)
@vjp(sp_stats.beta.logpdf)
def sc_beta_logpdf_vjp(g, ans, x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    c = sp_special.digamma(a + b)
    return (unbroadcast(g * s / scale, x), unbroadcast(g * (np.log(z) - sp_special.digamma(a) + c), a),
            unbroadcast(g * (np.log1p(-z) - sp_special.digamma(b) + c), b), unbroadcast(-g * s / scale, loc),
            unbroadcast(-g * (z * s + 1.0) / scale, scale))
@jvp(sp_stats.beta.logpdf)
def sc_beta_logpdf_jvp(dx, da, db, dloc, dscale, ans, x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    c = sp_special.digamma(a + b)
    return (dx * s / scale, da * (np.log(z) - sp_special.digamma(a) + c), db * (np.log1p(-z) - sp_special.digamma(b) + c),
            -dloc * s / scale, -dscale * (z * s + 1.0) / scale)

@vjp(sp_stats.beta.pdf)
def sc_beta_pdf_vjp(g, ans, x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    c = sp_special.digamma(a + b)
    return (unbroadcast(g * ans * s / scale, x), unbroadcast(g * ans * (np.log(z) - sp_special.digamma(a) + c), a),
            unbroadcast(g * ans * (np.log1p(-z) - sp_special.digamma(b) + c), b), unbroadcast(-g * ans * s / scale, loc),
            unbroadcast(-g * ans * (z * s + 1.0) / scale, scale))
@jvp(sp_stats.beta.pdf)
def sc_beta_pdf_jvp(dx, da, db, dloc, dscale, ans, x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    c = sp_special.digamma(a + b)
    return (dx * ans * s / scale, da * ans * (np.log(z) - sp_special.digamma(a) + c),
            db * ans * (np.log1p(-z) - sp_special.digamma(b) + c), -dloc * ans * s / scale, -dscale * ans * (z * s + 1.0) / scale)

# cdfs of the shaped families: x, loc and scale through the pdf; the shape parameters are refused
@vjp(sp_stats.t.cdf)
def sc_t_cdf_vjp(g, ans, x, df, loc=0.0, scale=1.0):
    p = sp_stats.t.pdf(x, df, loc, scale)
    return unbroadcast(g * p, x), None, unbroadcast(-g * p, loc), unbroadcast(-g * p * (x - loc) / scale, scale)
@jvp(sp_stats.t.cdf)
def sc_t_cdf_jvp(dx, ddf, dloc, dscale, ans, x, df, loc=0.0, scale=1.0):
    p = sp_stats.t.pdf(x, df, loc, scale)
    return dx * p, None, -dloc * p, -dscale * p * (x - loc) / scale

@vjp(sp_stats.chi2.cdf)
def sc_chi2_cdf_vjp(g, ans, x, df, loc=0.0, scale=1.0):
    p = sp_stats.chi2.pdf(x, df, loc, scale)
    return unbroadcast(g * p, x), None, unbroadcast(-g * p, loc), unbroadcast(-g * p * (x - loc) / scale, scale)
@jvp(sp_stats.chi2.cdf)
def sc_chi2_cdf_jvp(dx, ddf, dloc, dscale, ans, x, df, loc=0.0, scale=1.0):
    p = sp_stats.chi2.pdf(x, df, loc, scale)
    return dx * p, None, -dloc * p, -dscale * p * (x - loc) / scale

@vjp(sp_stats.gamma.cdf)
def sc_gamma_cdf_vjp(g, ans, x, a, loc=0.0, scale=1.0):
    p = sp_stats.gamma.pdf(x, a, loc, scale)
    return unbroadcast(g * p, x), None, unbroadcast(-g * p, loc), unbroadcast(-g * p * (x - loc) / scale, scale)
@jvp(sp_stats.gamma.cdf)
def sc_gamma_cdf_jvp(dx, da, dloc, dscale, ans, x, a, loc=0.0, scale=1.0):
    p = sp_stats.gamma.pdf(x, a, loc, scale)
    return dx * p, None, -dloc * p, -dscale * p * (x - loc) / scale

@vjp(sp_stats.beta.cdf)
def sc_beta_cdf_vjp(g, ans, x, a, b, loc=0.0, scale=1.0):
    p = sp_stats.beta.pdf(x, a, b, loc, scale)
    return unbroadcast(g * p, x), None, None, unbroadcast(-g * p, loc), unbroadcast(-g * p * (x - loc) / scale, scale)
@jvp(sp_stats.beta.cdf)
def sc_beta_cdf_jvp(dx, da, db, dloc, dscale, ans, x, a, b, loc=0.0, scale=1.0):
    p = sp_stats.beta.pdf(x, a, b, loc, scale)
    return dx * p, None, None, -dloc * p, -dscale * p * (x - loc) / scale

for _k in (sp_stats.t.cdf, sp_stats.chi2.cdf, sp_stats.gamma.cdf):
    refuse(_k, SHAPE_CDF, 1)
refuse(sp_stats.beta.cdf, SHAPE_CDF, 1, 2)

# --- scipy.stats: Poisson (k and loc are integers) ----------------------------------------------

@vjp(sp_stats.poisson.logpmf)
def sc_poisson_logpmf_vjp(g, ans, k, mu, loc=0): return None, unbroadcast(g * ((k - loc) / mu - 1.0), mu), None
@jvp(sp_stats.poisson.logpmf)
def sc_poisson_logpmf_jvp(dk, dmu, dloc, ans, k, mu, loc=0): return None, dmu * ((k - loc) / mu - 1.0), None

@vjp(sp_stats.poisson.pmf)
def sc_poisson_pmf_vjp(g, ans, k, mu, loc=0): return None, unbroadcast(g * ans * ((k - loc) / mu - 1.0), mu), None
@jvp(sp_stats.poisson.pmf)
def sc_poisson_pmf_jvp(dk, dmu, dloc, ans, k, mu, loc=0): return None, dmu * ans * ((k - loc) / mu - 1.0), None

# d/dmu P(K <= k) = -pmf(floor(k), mu)
@vjp(sp_stats.poisson.cdf)
def sc_poisson_cdf_vjp(g, ans, k, mu, loc=0): return None, unbroadcast(-g * sp_stats.poisson.pmf(np.floor(k), mu, loc), mu), None
@jvp(sp_stats.poisson.cdf)
def sc_poisson_cdf_jvp(dk, dmu, dloc, ans, k, mu, loc=0): return None, -dmu * sp_stats.poisson.pmf(np.floor(k), mu, loc), None

@vjp(sp_stats.poisson.sf)
def sc_poisson_sf_vjp(g, ans, k, mu, loc=0): return None, unbroadcast(g * sp_stats.poisson.pmf(np.floor(k), mu, loc), mu), None
@jvp(sp_stats.poisson.sf)
def sc_poisson_sf_jvp(dk, dmu, dloc, ans, k, mu, loc=0): return None, dmu * sp_stats.poisson.pmf(np.floor(k), mu, loc), None

for _k in (sp_stats.poisson.logpmf, sp_stats.poisson.pmf, sp_stats.poisson.cdf, sp_stats.poisson.sf):
    refuse(_k, "a Poisson count (and its loc) is an integer", 0, 2)

# --- scipy.stats: multivariate ------------------------------------------------------------------
# dirichlet: log f = sum (alpha - 1) log x + gammaln(sum alpha) - sum gammaln(alpha); x (K,) or (K, N).
# x lives on the simplex (SciPy rejects a point off it), so only alpha is differentiated.

@vjp(sp_stats.dirichlet.logpdf)
def sc_dirichlet_logpdf_vjp(g, ans, x, alpha):
    c = sp_special.digamma(np.sum(alpha)) - sp_special.digamma(alpha)
    return None, np.dot(np.log(x), g) + np.sum(g) * c
@jvp(sp_stats.dirichlet.logpdf)
def sc_dirichlet_logpdf_jvp(dx, dalpha, ans, x, alpha):
    c = sp_special.digamma(np.sum(alpha)) - sp_special.digamma(alpha)
    return None, np.dot(dalpha, np.log(x)) + np.dot(dalpha, c)

@vjp(sp_stats.dirichlet.pdf)
def sc_dirichlet_pdf_vjp(g, ans, x, alpha):
    c = sp_special.digamma(np.sum(alpha)) - sp_special.digamma(alpha)
    return None, np.dot(np.log(x), g * ans) + np.sum(g * ans) * c
@jvp(sp_stats.dirichlet.pdf)
def sc_dirichlet_pdf_jvp(dx, dalpha, ans, x, alpha):
    c = sp_special.digamma(np.sum(alpha)) - sp_special.digamma(alpha)
    return None, ans * (np.dot(dalpha, np.log(x)) + np.dot(dalpha, c))

for _k in (sp_stats.dirichlet.logpdf, sp_stats.dirichlet.pdf):
    refuse(_k, "a Dirichlet point lies on the simplex; a derivative would leave it", 0)

# multivariate_normal(x, mean, cov) with x (d,) or (N, d) and a full (d, d) cov:
# d/dx = -cov^-1 (x - mean), d/dmean = +cov^-1 (x - mean), d/dcov = (cov^-1 r r^T cov^-1 - cov^-1) / 2
# on the lower triangle SciPy reads (sc_one_triangle).

@vjp(sp_stats.multivariate_normal.logpdf)
def sc_mvn_logpdf_vjp(g, ans, x, mean, cov):
    w = np.linalg.solve(cov, np.swapaxes(np.atleast_2d(x - mean), 0, 1))
    gw = w * g
    return (np.reshape(-np.swapaxes(gw, 0, 1), np.shape(x)), np.sum(gw, axis=1),
            sc_one_triangle(0.5 * (np.dot(gw, np.swapaxes(w, 0, 1)) - np.sum(g) * np.linalg.inv(cov)), True))
@jvp(sp_stats.multivariate_normal.logpdf)
def sc_mvn_logpdf_jvp(dx, dmean, dcov, ans, x, mean, cov):
    w = np.linalg.solve(cov, np.swapaxes(np.atleast_2d(x - mean), 0, 1))
    return (-np.reshape(np.sum(np.atleast_2d(dx) * np.swapaxes(w, 0, 1), axis=1), np.shape(ans)),
            np.reshape(np.dot(dmean, w), np.shape(ans)),
            np.reshape(0.5 * (np.sum(w * np.dot(sc_sym_triangle(dcov, True), w), axis=0) -
                              np.trace(np.linalg.solve(cov, sc_sym_triangle(dcov, True)))), np.shape(ans)))

@vjp(sp_stats.multivariate_normal.pdf)
def sc_mvn_pdf_vjp(g, ans, x, mean, cov):
    w = np.linalg.solve(cov, np.swapaxes(np.atleast_2d(x - mean), 0, 1))
    gw = w * (g * ans)
    return (np.reshape(-np.swapaxes(gw, 0, 1), np.shape(x)), np.sum(gw, axis=1),
            sc_one_triangle(0.5 * (np.dot(gw, np.swapaxes(w, 0, 1)) - np.sum(g * ans) * np.linalg.inv(cov)), True))
@jvp(sp_stats.multivariate_normal.pdf)
def sc_mvn_pdf_jvp(dx, dmean, dcov, ans, x, mean, cov):
    w = np.linalg.solve(cov, np.swapaxes(np.atleast_2d(x - mean), 0, 1))
    return (-ans * np.reshape(np.sum(np.atleast_2d(dx) * np.swapaxes(w, 0, 1), axis=1), np.shape(ans)),
            ans * np.reshape(np.dot(dmean, w), np.shape(ans)),
            ans * np.reshape(0.5 * (np.sum(w * np.dot(sc_sym_triangle(dcov, True), w), axis=0) -
                                    np.trace(np.linalg.solve(cov, sc_sym_triangle(dcov, True)))), np.shape(ans)))

# --- scipy.signal: convolve(x, y)[k] = sum_i x[i] y[k - i]; correlate(x, y) = convolve(x, flip(y)) ----
# The adjoint of any mode is that of 'full' (a 'valid' correlation) after putting g back in place.

@vjp(sp_signal.convolve)
def sc_convolve_vjp(g, ans, in1, in2, mode="full", method="auto"):
    gf = sc_uncenter(g, sc_full_shape(in1, in2))
    return sp_signal.correlate(gf, in2, "valid"), sp_signal.correlate(gf, in1, "valid")
@jvp(sp_signal.convolve)
def sc_convolve_jvp(din1, din2, ans, in1, in2, mode="full", method="auto"):
    return sp_signal.convolve(din1, in2, mode), sp_signal.convolve(in1, din2, mode)

@vjp(sp_signal.correlate)
def sc_correlate_vjp(g, ans, in1, in2, mode="full", method="auto"):
    gf = sc_uncenter(g, sc_full_shape(in1, in2))
    return sp_signal.convolve(gf, in2, "valid"), np.flip(sp_signal.correlate(gf, in1, "valid"))
@jvp(sp_signal.correlate)
def sc_correlate_jvp(din1, din2, ans, in1, in2, mode="full", method="auto"):
    return sp_signal.correlate(din1, in2, mode), sp_signal.correlate(in1, din2, mode)

# --- scipy.linalg --------------------------------------------------------------------------------
# solve_triangular reads one triangle of a (without the diagonal when unit_diagonal): its adjoint lives there.

@vjp(sp_linalg.solve_triangular)
def sc_solve_triangular_vjp(g, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    gb = sp_linalg.solve_triangular(a, g, 1 - sc_trans(trans), lower, unit_diagonal)
    ga = -np.outer(gb, ans) if np.ndim(b) == 1 else -np.matmul(gb, np.swapaxes(ans, -1, -2))
    ga = np.swapaxes(ga, -1, -2) if sc_trans(trans) else ga
    return ((np.tril(ga, -1 if unit_diagonal else 0) if lower else np.triu(ga, 1 if unit_diagonal else 0)), gb)
@jvp(sp_linalg.solve_triangular)
def sc_solve_triangular_jvp(da, db, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    dt = np.tril(da, -1 if unit_diagonal else 0) if lower else np.triu(da, 1 if unit_diagonal else 0)
    return (-sp_linalg.solve_triangular(a, np.matmul(np.swapaxes(dt, -1, -2) if sc_trans(trans) else dt, ans), trans, lower,
                                        unit_diagonal), sp_linalg.solve_triangular(a, db, trans, lower, unit_diagonal))

# cholesky: a = L L^T; dL = L Phi(L^-1 da L^-T) with Phi the lower triangle and half the diagonal.
# The adjoint of a symmetric a is L^-T Phi(L^T gL) L^-1 symmetrised, then put on the triangle read.
@vjp(sp_linalg.cholesky)
def sc_cholesky_vjp(g, ans, a, lower=False, overwrite_a=False, check_finite=True):
    ll = ans if lower else np.swapaxes(ans, -1, -2)
    gl = g if lower else np.swapaxes(g, -1, -2)
    p = np.matmul(np.swapaxes(ll, -1, -2), gl)
    p = np.tril(p) - 0.5 * p * np.eye(np.shape(p)[-1])
    s = sp_linalg.solve_triangular(ll, np.swapaxes(sp_linalg.solve_triangular(ll, p, 1, True), -1, -2), 1, True)
    return sc_one_triangle(0.5 * (s + np.swapaxes(s, -1, -2)), lower)
@jvp(sp_linalg.cholesky)
def sc_cholesky_jvp(da, ans, a, lower=False, overwrite_a=False, check_finite=True):
    ll = ans if lower else np.swapaxes(ans, -1, -2)
    m = sp_linalg.solve_triangular(ll, np.swapaxes(sp_linalg.solve_triangular(ll, sc_sym_triangle(da, lower), 0, True), -1, -2), 0, True)
    dl = np.matmul(ll, np.tril(m) - 0.5 * m * np.eye(np.shape(m)[-1]))
    return dl if lower else np.swapaxes(dl, -1, -2)

# cho_solve((c, lower), b) = a^-1 b: b only (the factor tuple is refused)
@vjp(sp_linalg.cho_solve)
def sc_cho_solve_vjp(g, ans, c_and_lower, b, overwrite_b=False, check_finite=True): return None, sp_linalg.cho_solve(c_and_lower, g)
@jvp(sp_linalg.cho_solve)
def sc_cho_solve_jvp(dc_and_lower, db, ans, c_and_lower, b, overwrite_b=False, check_finite=True):
    return None, sp_linalg.cho_solve(c_and_lower, db)

refuse(sp_linalg.cho_solve, "the factor from cho_factor has unspecified entries in its unused triangle; "
       "differentiate through scipy.linalg.cholesky and solve_triangular instead", 0)
refuse(sp_linalg.cho_factor, "its factor has unspecified entries in the unused triangle; use scipy.linalg.cholesky")

@vjp(sp_linalg.expm)
def sc_expm_vjp(g, ans, A): return sc_frechet(sp_linalg.expm, np.swapaxes(A, -1, -2), g)
@jvp(sp_linalg.expm)
def sc_expm_jvp(dA, ans, A): return sc_frechet(sp_linalg.expm, A, dA)

@vjp(sp_linalg.logm)
def sc_logm_vjp(g, ans, A, disp=True): return sc_frechet(sp_linalg.logm, np.swapaxes(A, -1, -2), g)
@jvp(sp_linalg.logm)
def sc_logm_jvp(dA, ans, A, disp=True): return sc_frechet(sp_linalg.logm, A, dA)

# sqrtm: X dX + dX X = dA, a Sylvester equation
@vjp(sp_linalg.sqrtm)
def sc_sqrtm_vjp(g, ans, A): return sp_linalg.solve_sylvester(np.swapaxes(ans, -1, -2), np.swapaxes(ans, -1, -2), g)
@jvp(sp_linalg.sqrtm)
def sc_sqrtm_jvp(dA, ans, A): return sp_linalg.solve_sylvester(ans, ans, dA)

# a X + X b = q: da X + a dX + dX b + X db = dq
@vjp(sp_linalg.solve_sylvester)
def sc_solve_sylvester_vjp(g, ans, a, b, q):
    gq = sp_linalg.solve_sylvester(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), g)
    return -np.matmul(gq, np.swapaxes(ans, -1, -2)), -np.matmul(np.swapaxes(ans, -1, -2), gq), gq
@jvp(sp_linalg.solve_sylvester)
def sc_solve_sylvester_jvp(da, db, dq, ans, a, b, q):
    return (sp_linalg.solve_sylvester(a, b, -np.matmul(da, ans)), sp_linalg.solve_sylvester(a, b, -np.matmul(ans, db)),
            sp_linalg.solve_sylvester(a, b, dq))

refuse(scipy_integrate.odeint, "odeint has no adjoint rule; write the integrator in Python (an RK4 loop) "
       "to differentiate it")
