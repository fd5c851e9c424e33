"""Rules for the ``scipy.stats`` distributions (conventions: ``scipy_rules.py``).

Imported by ``rules/__init__.py`` only when SciPy imports.
"""
import numpy as np
from scipy import special as sp_special, stats as sp_stats

from .combinators import elementwise
from .registry import jvp, refuse, vjp
from .numpy_decomp import one_triangle, sym_triangle

SHAPE_CDF = "the derivative of this cdf (sf, logcdf, logsf) with respect to a shape parameter has no closed form"


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

# cdf, sf, logcdf and logsf of the shaped families: x, loc and scale through p, the derivative in x
# (the pdf, -pdf, pdf/cdf and -pdf/sf, ratios as exp(logpdf - ans), stable in the tails); shapes are refused
TAILS = {"cdf": "{d}.pdf({a})", "sf": "-{d}.pdf({a})", "logcdf": "np.exp({d}.logpdf({a}) - ans)",
         "logsf": "-np.exp({d}.logpdf({a}) - ans)"}


def _shaped_tail(d, ans, x, shape, loc=0.0, scale=1.0, *, p_of_x):
    p = p_of_x
    return d * p, None, -d * p, -d * p * (x - loc) / scale


def _beta_tail(d, ans, x, a, b, loc=0.0, scale=1.0, *, p_of_x):
    p = p_of_x
    return d * p, None, None, -d * p, -d * p * (x - loc) / scale


for _kind, _p in TAILS.items():
    for _dist, _shape in (("t", "df"), ("chi2", "df"), ("gamma", "a")):
        _key = getattr(getattr(sp_stats, _dist), _kind)
        elementwise(_key, _shaped_tail, broadcasting=True, name="sc_%s_%s" % (_dist, _kind),
                    subs={"shape": _shape, "p_of_x": _p.format(d="sp_stats." + _dist, a="x, %s, loc, scale" % _shape)})
        refuse(_key, SHAPE_CDF, 1)
    elementwise(getattr(sp_stats.beta, _kind), _beta_tail, broadcasting=True, name="sc_beta_%s" % _kind,
                subs={"p_of_x": _p.format(d="sp_stats.beta", a="x, a, b, loc, scale")})
    refuse(getattr(sp_stats.beta, _kind), SHAPE_CDF, 1, 2)

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
# on the lower triangle SciPy reads (one_triangle).

@vjp(sp_stats.multivariate_normal.logpdf)
def sc_mvn_logpdf_vjp(g, ans, x, mean, cov):
    w = np.linalg.solve(cov, np.swapaxes(np.atleast_2d(x - mean), 0, 1))
    gw = w * g
    return (np.reshape(-np.swapaxes(gw, 0, 1), np.shape(x)), np.sum(gw, axis=1),
            one_triangle(0.5 * (np.dot(gw, np.swapaxes(w, 0, 1)) - np.sum(g) * np.linalg.inv(cov)), True))
@jvp(sp_stats.multivariate_normal.logpdf)
def sc_mvn_logpdf_jvp(dx, dmean, dcov, ans, x, mean, cov):
    w = np.linalg.solve(cov, np.swapaxes(np.atleast_2d(x - mean), 0, 1))
    return (-np.reshape(np.sum(np.atleast_2d(dx) * np.swapaxes(w, 0, 1), axis=1), np.shape(ans)),
            np.reshape(np.dot(dmean, w), np.shape(ans)),
            np.reshape(0.5 * (np.sum(w * np.dot(sym_triangle(dcov, True), w), axis=0) -
                              np.trace(np.linalg.solve(cov, sym_triangle(dcov, True)))), np.shape(ans)))

@vjp(sp_stats.multivariate_normal.pdf)
def sc_mvn_pdf_vjp(g, ans, x, mean, cov):
    w = np.linalg.solve(cov, np.swapaxes(np.atleast_2d(x - mean), 0, 1))
    gw = w * (g * ans)
    return (np.reshape(-np.swapaxes(gw, 0, 1), np.shape(x)), np.sum(gw, axis=1),
            one_triangle(0.5 * (np.dot(gw, np.swapaxes(w, 0, 1)) - np.sum(g * ans) * np.linalg.inv(cov)), True))
@jvp(sp_stats.multivariate_normal.pdf)
def sc_mvn_pdf_jvp(dx, dmean, dcov, ans, x, mean, cov):
    w = np.linalg.solve(cov, np.swapaxes(np.atleast_2d(x - mean), 0, 1))
    return (-ans * np.reshape(np.sum(np.atleast_2d(dx) * np.swapaxes(w, 0, 1), axis=1), np.shape(ans)),
            ans * np.reshape(np.dot(dmean, w), np.shape(ans)),
            ans * np.reshape(0.5 * (np.sum(w * np.dot(sym_triangle(dcov, True), w), axis=0) -
                                    np.trace(np.linalg.solve(cov, sym_triangle(dcov, True)))), np.shape(ans)))
