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
from .combinators import elementwise, linear
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


elementwise(sc_mvpsi, lambda h, ans, a, d, n=0: h * sc_mvpsi(a, d, n + 1))

@linear(sc_uncenter)
def sc_uncenter_vjp(g, ans, x, full): return sc_recenter(g, x)

@linear(sc_recenter)
def sc_recenter_vjp(g, ans, x, like): return sc_uncenter(g, np.shape(x))

@linear(sc_frechet)
def sc_frechet_vjp(g, ans, f, a, e): return None, None, sc_frechet(f, np.swapaxes(a, -1, -2), g)

refuse(sc_frechet, "the second derivative of a matrix function is not implemented", 1)

@linear(sc_one_triangle)
def sc_one_triangle_vjp(g, ans, s, lower): return sc_sym_triangle(g, lower)

@linear(sc_sym_triangle)
def sc_sym_triangle_vjp(g, ans, m, lower): return sc_one_triangle(g, lower)


# --- scipy.special: one argument -----------------------------------------------------------------

elementwise(sp_special.gamma, lambda d, ans, x: d * ans * sp_special.digamma(x))
elementwise(sp_special.gammaln, lambda d, ans, x: d * sp_special.digamma(x))
elementwise(sp_special.digamma, lambda d, ans, x: d * sp_special.polygamma(1, x))
elementwise(sp_special.polygamma, lambda d, ans, n, x: (None, d * sp_special.polygamma(n + 1, x)), broadcasting=True)

refuse(sp_special.polygamma, INTEGER, 0)

elementwise(sp_special.multigammaln, lambda h, ans, a, d: h * sc_mvpsi(a, d))

refuse(sp_special.multigammaln, INTEGER, 1)

elementwise(sp_special.erf, lambda d, ans, x: d * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x))
elementwise(sp_special.erfc, lambda d, ans, x: -d * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x))
elementwise(sp_special.erfinv, lambda d, ans, x: d * (np.sqrt(np.pi) / 2.0) * np.exp(ans * ans))
elementwise(sp_special.erfcinv, lambda d, ans, x: -d * (np.sqrt(np.pi) / 2.0) * np.exp(ans * ans))
elementwise(sp_special.expit, lambda d, ans, x: d * ans * (1.0 - ans))
elementwise(sp_special.logit, lambda d, ans, x: d / (x * (1.0 - x)))
elementwise(sp_special.log_expit, lambda d, ans, x: d * sp_special.expit(-x))

# entr(x) = -x log x
elementwise(sp_special.entr, lambda d, ans, x: -d * (np.log(x) + 1.0))

# --- scipy.special: several arguments ------------------------------------------------------------

@elementwise(sp_special.beta, broadcasting=True)
def sc_beta(d, ans, a, b):
    s = sp_special.digamma(a + b)
    return d * ans * (sp_special.digamma(a) - s), d * ans * (sp_special.digamma(b) - s)

@elementwise(sp_special.betaln, broadcasting=True)
def sc_betaln(d, ans, a, b):
    s = sp_special.digamma(a + b)
    return d * (sp_special.digamma(a) - s), d * (sp_special.digamma(b) - s)

# d/dx I_x(a, b) = x^(a-1) (1-x)^(b-1) / B(a, b)
elementwise(sp_special.betainc, lambda d, ans, a, b, x: (
    None, None, d * np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - sp_special.betaln(a, b))),
    broadcasting=True)

refuse(sp_special.betainc, "the derivative of betainc with respect to a or b has no closed form", 0, 1)

# d/dx P(a, x) = x^(a-1) e^-x / Gamma(a)
elementwise(sp_special.gammainc,
            lambda d, ans, a, x: (None, d * np.exp((a - 1.0) * np.log(x) - x - sp_special.gammaln(a))),
            broadcasting=True)

elementwise(sp_special.gammaincc,
            lambda d, ans, a, x: (None, -d * np.exp((a - 1.0) * np.log(x) - x - sp_special.gammaln(a))),
            broadcasting=True)

refuse(sp_special.gammainc, "the derivative of gammainc with respect to a has no closed form", 0)
refuse(sp_special.gammaincc, "the derivative of gammaincc with respect to a has no closed form", 0)

elementwise(sp_special.xlogy, lambda d, ans, x, y: (d * np.log(y), xdivy(d * x, y)), broadcasting=True)
elementwise(sp_special.xlog1py, lambda d, ans, x, y: (d * np.log1p(y), d * x / (1.0 + y)), broadcasting=True)

# rel_entr(x, y) = x log(x / y)
elementwise(sp_special.rel_entr, lambda d, ans, x, y: (d * (np.log(x / y) + 1.0), -d * x / y), broadcasting=True)

# Hurwitz zeta(s, q): d/dq = -s zeta(s + 1, q); d/ds has no closed form
elementwise(sp_special.zeta, lambda d, ans, x, q: (None, -d * x * sp_special.zeta(x + 1.0, q)), broadcasting=True)

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

elementwise(sp_special.softmax, lambda d, ans, x, axis=None: ans * (d - np.sum(d * ans, axis=axis, keepdims=True)))

@vjp(sp_special.log_softmax)
def sc_log_softmax_vjp(g, ans, x, axis=None): return g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)
@jvp(sp_special.log_softmax)
def sc_log_softmax_jvp(dx, ans, x, axis=None): return dx - np.sum(np.exp(ans) * dx, axis=axis, keepdims=True)

# --- scipy.special: Bessel functions (derivatives in x; the order is refused) -------------------

elementwise(sp_special.j0, lambda d, ans, x: -d * sp_special.j1(x))
elementwise(sp_special.j1, lambda d, ans, x: d * 0.5 * (sp_special.j0(x) - sp_special.jv(2.0, x)))
elementwise(sp_special.y0, lambda d, ans, x: -d * sp_special.y1(x))
elementwise(sp_special.y1, lambda d, ans, x: d * 0.5 * (sp_special.y0(x) - sp_special.yv(2.0, x)))
elementwise(sp_special.i0, lambda d, ans, x: d * sp_special.i1(x))
elementwise(sp_special.i1, lambda d, ans, x: d * 0.5 * (sp_special.i0(x) + sp_special.iv(2.0, x)))

# jn is jv: C'_v = (C_{v-1} - C_{v+1}) / 2 for J and Y
elementwise(sp_special.jv,
            lambda d, ans, v, x: (None, d * 0.5 * (sp_special.jv(v - 1.0, x) - sp_special.jv(v + 1.0, x))),
            broadcasting=True)

elementwise(sp_special.yn,
            lambda d, ans, n, x: (None, d * 0.5 * (sp_special.yv(n - 1.0, x) - sp_special.yv(n + 1.0, x))),
            broadcasting=True)

elementwise(sp_special.yv,
            lambda d, ans, v, x: (None, d * 0.5 * (sp_special.yv(v - 1.0, x) - sp_special.yv(v + 1.0, x))),
            broadcasting=True)

elementwise(sp_special.iv,
            lambda d, ans, v, x: (None, d * 0.5 * (sp_special.iv(v - 1.0, x) + sp_special.iv(v + 1.0, x))),
            broadcasting=True)

# ive(v, x) = iv(v, x) exp(-|x|)
elementwise(sp_special.ive, lambda d, ans, v, x: (
    None, d * (0.5 * (sp_special.ive(v - 1.0, x) + sp_special.ive(v + 1.0, x)) - np.sign(x) * ans)), broadcasting=True)

elementwise(sp_special.kv,
            lambda d, ans, v, x: (None, -d * 0.5 * (sp_special.kv(v - 1.0, x) + sp_special.kv(v + 1.0, x))),
            broadcasting=True)

for _k in (sp_special.jv, sp_special.yn, sp_special.yv, sp_special.iv, sp_special.ive, sp_special.kv):
    refuse(_k, ORDER, 0)

# --- scipy.stats: location-scale families, z = (x - loc) / scale --------------------------------
# For logpdf = log f(z) - log(scale): d/dx = f'/f / scale, d/dloc = -d/dx, d/dscale = -(z f'/f + 1) / scale;
# pdf multiplies by ans; a cdf F(z) has d/dx = pdf(x), d/dloc = -pdf(x), d/dscale = -z pdf(x).

@elementwise(sp_stats.norm.logpdf, broadcasting=True)
def sc_norm_logpdf(d, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return -d * z / scale, d * z / scale, d * (z * z - 1.0) / scale

@elementwise(sp_stats.norm.pdf, broadcasting=True)
def sc_norm_pdf(d, ans, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return -d * ans * z / scale, d * ans * z / scale, d * ans * (z * z - 1.0) / scale

@elementwise(sp_stats.norm.cdf, broadcasting=True)
def sc_norm_cdf(d, ans, x, loc=0.0, scale=1.0):
    p = sp_stats.norm.pdf(x, loc, scale)
    return d * p, -d * p, -d * p * (x - loc) / scale

@elementwise(sp_stats.norm.sf, broadcasting=True)
def sc_norm_sf(d, ans, x, loc=0.0, scale=1.0):
    p = sp_stats.norm.pdf(x, loc, scale)
    return -d * p, d * p, d * p * (x - loc) / scale

# log cdf: the pdf / cdf ratio as exp(logpdf - logcdf), stable in the far tail
@elementwise(sp_stats.norm.logcdf, broadcasting=True)
def sc_norm_logcdf(d, ans, x, loc=0.0, scale=1.0):
    r = np.exp(sp_stats.norm.logpdf(x, loc, scale) - ans)
    return d * r, -d * r, -d * r * (x - loc) / scale

@elementwise(sp_stats.norm.logsf, broadcasting=True)
def sc_norm_logsf(d, ans, x, loc=0.0, scale=1.0):
    r = np.exp(sp_stats.norm.logpdf(x, loc, scale) - ans)
    return -d * r, d * r, d * r * (x - loc) / scale

# Student t: log f(z) = C(df) - (df + 1)/2 log(1 + z^2/df),
# C'(df) = (digamma((df+1)/2) - digamma(df/2) - 1/df) / 2
@elementwise(sp_stats.t.logpdf, broadcasting=True)
def sc_t_logpdf(d, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    q = z * z / df
    s = -(df + 1.0) * z / (df + z * z)
    c = 0.5 * (sp_special.digamma(0.5 * (df + 1.0)) - sp_special.digamma(0.5 * df) - 1.0 / df)
    return (d * s / scale, d * (c - 0.5 * np.log1p(q) + 0.5 * (df + 1.0) * q / (df * (1.0 + q))), -d * s / scale,
            -d * (z * s + 1.0) / scale)

@elementwise(sp_stats.t.pdf, broadcasting=True)
def sc_t_pdf(d, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    q = z * z / df
    s = -(df + 1.0) * z / (df + z * z)
    c = 0.5 * (sp_special.digamma(0.5 * (df + 1.0)) - sp_special.digamma(0.5 * df) - 1.0 / df)
    return (d * ans * s / scale, d * ans * (c - 0.5 * np.log1p(q) + 0.5 * (df + 1.0) * q / (df * (1.0 + q))),
            -d * ans * s / scale, -d * ans * (z * s + 1.0) / scale)

# chi2: log f(z) = (k/2 - 1) log z - z/2 - (k/2) log 2 - gammaln(k/2)
@elementwise(sp_stats.chi2.logpdf, broadcasting=True)
def sc_chi2_logpdf(d, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (0.5 * df - 1.0) / z - 0.5
    return (d * s / scale, d * 0.5 * (np.log(0.5 * z) - sp_special.digamma(0.5 * df)), -d * s / scale,
            -d * (z * s + 1.0) / scale)

@elementwise(sp_stats.chi2.pdf, broadcasting=True)
def sc_chi2_pdf(d, ans, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (0.5 * df - 1.0) / z - 0.5
    return (d * ans * s / scale, d * ans * 0.5 * (np.log(0.5 * z) - sp_special.digamma(0.5 * df)), -d * ans * s / scale,
            -d * ans * (z * s + 1.0) / scale)

# gamma: log f(z) = (a - 1) log z - z - gammaln(a)
@elementwise(sp_stats.gamma.logpdf, broadcasting=True)
def sc_gamma_logpdf(d, ans, x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - 1.0
    return d * s / scale, d * (np.log(z) - sp_special.digamma(a)), -d * s / scale, -d * (z * s + 1.0) / scale

@elementwise(sp_stats.gamma.pdf, broadcasting=True)
def sc_gamma_pdf(d, ans, x, a, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - 1.0
    return (d * ans * s / scale, d * ans * (np.log(z) - sp_special.digamma(a)), -d * ans * s / scale,
            -d * ans * (z * s + 1.0) / scale)

# beta: log f(z) = (a - 1) log z + (b - 1) log(1 - z) - betaln(a, b)
@elementwise(sp_stats.beta.logpdf, broadcasting=True)
def sc_beta_logpdf(d, ans, x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    c = sp_special.digamma(a + b)
    return (d * s / scale, d * (np.log(z) - sp_special.digamma(a) + c), d * (np.log1p(-z) - sp_special.digamma(b) + c),
            -d * s / scale, -d * (z * s + 1.0) / scale)

@elementwise(sp_stats.beta.pdf, broadcasting=True)
def sc_beta_pdf(d, ans, x, a, b, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    s = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    c = sp_special.digamma(a + b)
    return (d * ans * s / scale, d * ans * (np.log(z) - sp_special.digamma(a) + c),
            d * ans * (np.log1p(-z) - sp_special.digamma(b) + c), -d * ans * s / scale,
            -d * ans * (z * s + 1.0) / scale)

# cdfs of the shaped families: x, loc and scale through the pdf; the shape parameters are refused
def _shaped_cdf(d, ans, x, shape, loc=0.0, scale=1.0, *, dist):
    p = dist.pdf(x, shape, loc, scale)
    return d * p, None, -d * p, -d * p * (x - loc) / scale


for _dist, _shape in (("t", "df"), ("chi2", "df"), ("gamma", "a")):
    elementwise(getattr(sp_stats, _dist).cdf, _shaped_cdf, broadcasting=True, name="sc_%s_cdf" % _dist,
                subs={"dist": "sp_stats." + _dist, "shape": _shape})
    refuse(getattr(sp_stats, _dist).cdf, SHAPE_CDF, 1)

@elementwise(sp_stats.beta.cdf, broadcasting=True)
def sc_beta_cdf(d, ans, x, a, b, loc=0.0, scale=1.0):
    p = sp_stats.beta.pdf(x, a, b, loc, scale)
    return d * p, None, None, -d * p, -d * p * (x - loc) / scale

refuse(sp_stats.beta.cdf, SHAPE_CDF, 1, 2)

# --- scipy.stats: Poisson (k and loc are integers) ----------------------------------------------

elementwise(sp_stats.poisson.logpmf, lambda d, ans, k, mu, loc=0: (None, d * ((k - loc) / mu - 1.0), None),
            broadcasting=True)

elementwise(sp_stats.poisson.pmf, lambda d, ans, k, mu, loc=0: (None, d * ans * ((k - loc) / mu - 1.0), None),
            broadcasting=True)

# d/dmu P(K <= k) = -pmf(floor(k), mu)
elementwise(sp_stats.poisson.cdf,
            lambda d, ans, k, mu, loc=0: (None, -d * sp_stats.poisson.pmf(np.floor(k), mu, loc), None),
            broadcasting=True)

elementwise(sp_stats.poisson.sf,
            lambda d, ans, k, mu, loc=0: (None, d * sp_stats.poisson.pmf(np.floor(k), mu, loc), None),
            broadcasting=True)

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

@linear(sp_signal.convolve, args=("mode",))
def sc_convolve_vjp(g, ans, in1, in2, mode="full", method="auto"):
    gf = sc_uncenter(g, sc_full_shape(in1, in2))
    return sp_signal.correlate(gf, in2, "valid"), sp_signal.correlate(gf, in1, "valid")

@linear(sp_signal.correlate, args=("mode",))
def sc_correlate_vjp(g, ans, in1, in2, mode="full", method="auto"):
    gf = sc_uncenter(g, sc_full_shape(in1, in2))
    return sp_signal.convolve(gf, in2, "valid"), np.flip(sp_signal.correlate(gf, in1, "valid"))

# --- scipy.linalg --------------------------------------------------------------------------------
# solve_triangular reads one triangle of a (without the diagonal when unit_diagonal): its adjoint lives there.

@vjp(sp_linalg.solve_triangular)
def sc_solve_triangular_vjp(g, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                            check_finite=True):
    gb = sp_linalg.solve_triangular(a, g, 1 - sc_trans(trans), lower, unit_diagonal)
    ga = -np.outer(gb, ans) if np.ndim(b) == 1 else -np.matmul(gb, np.swapaxes(ans, -1, -2))
    ga = np.swapaxes(ga, -1, -2) if sc_trans(trans) else ga
    return ((np.tril(ga, -1 if unit_diagonal else 0) if lower else np.triu(ga, 1 if unit_diagonal else 0)), gb)
@jvp(sp_linalg.solve_triangular)
def sc_solve_triangular_jvp(da, db, ans, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                            check_finite=True):
    dt = np.tril(da, -1 if unit_diagonal else 0) if lower else np.triu(da, 1 if unit_diagonal else 0)
    return (-sp_linalg.solve_triangular(a, np.matmul(np.swapaxes(dt, -1, -2) if sc_trans(trans) else dt, ans),
                                        trans, lower, unit_diagonal),
            sp_linalg.solve_triangular(a, db, trans, lower, unit_diagonal))

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
    m = sp_linalg.solve_triangular(
        ll, np.swapaxes(sp_linalg.solve_triangular(ll, sc_sym_triangle(da, lower), 0, True), -1, -2), 0, True)
    dl = np.matmul(ll, np.tril(m) - 0.5 * m * np.eye(np.shape(m)[-1]))
    return dl if lower else np.swapaxes(dl, -1, -2)

# cho_solve((c, lower), b) = a^-1 b: b only (the factor tuple is refused)
elementwise(sp_linalg.cho_solve, lambda d, ans, c_and_lower, b, overwrite_b=False, check_finite=True: (
    None, sp_linalg.cho_solve(c_and_lower, d)))

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
