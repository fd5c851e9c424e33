"""Rules for SciPy: ``scipy.special``, ``scipy.signal`` and ``scipy.linalg`` here, the ``scipy.stats``
distributions in ``scipy_stats.py``; and the helpers both use.

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
  (``one_triangle``).
"""
import numpy as np
from scipy import integrate as scipy_integrate, linalg as sp_linalg, signal as sp_signal
from scipy import special as sp_special

from ..runtime import unbroadcast
from .combinators import elementwise, linear
from .helpers import expand_reduced, xdivy
from .numpy_decomp import one_triangle, sym_triangle
from .registry import jvp, nondiff, refuse, vjp

ORDER = "the derivative with respect to the order of a Bessel function has no closed form"
INTEGER = "an integer argument has no derivative"


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
    return (-sp_linalg.solve_triangular(a, np.matmul(np.swapaxes(dt, -1, -2) if sc_trans(trans) else dt, ans), trans,
                                        lower, unit_diagonal),
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
    return one_triangle(0.5 * (s + np.swapaxes(s, -1, -2)), lower)
@jvp(sp_linalg.cholesky)
def sc_cholesky_jvp(da, ans, a, lower=False, overwrite_a=False, check_finite=True):
    ll = ans if lower else np.swapaxes(ans, -1, -2)
    m = sp_linalg.solve_triangular(ll, np.swapaxes(sp_linalg.solve_triangular(ll, sym_triangle(da, lower), 0, True),
                                                   -1, -2), 0, True)
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
