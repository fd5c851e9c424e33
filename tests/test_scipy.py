"""SciPy through the compiler: user programs calling scipy.special, scipy.stats, scipy.signal and
scipy.linalg, differentiated in reverse, forward and batched forward mode against central differences;
and the refusals (an argument without a closed-form derivative, odeint, cho_factor), located at the
user's line when the derivative is built."""
import numpy as np
import pytest

pytest.importorskip("scipy")

import sourcediff as sd  # noqa: E402
from helpers import write_module  # noqa: E402

SRC = '''
import numpy as np
from scipy import integrate, linalg, signal, special, stats


def special_mix(x, a):
    y = special.gammaln(a + x * x) + special.erf(x) * special.expit(a * x)
    y = y + special.logsumexp(x * a) + np.sum(special.softmax(x) * special.log_softmax(x * a))
    y = y + special.xlogy(a, 1.5 + x * x) + special.jv(1, a + x) + special.kv(0.5, 2.0 + x * x)
    return np.sum(y) + special.multigammaln(a + 3.0, 2) + special.polygamma(1, a + 1.0)


def likelihood(x, mu, s):
    t = stats.norm.logpdf(x, mu, s) + stats.t.logpdf(x, 3.0 + s, mu, s) + stats.norm.logcdf(x, mu, s)
    return np.sum(t) + np.sum(stats.gamma.logpdf(x * x + 1.0, s + 1.0, 0.0, s))


def tails(x, s):
    y = stats.t.logcdf(x, 3.0, 0.1, s) + stats.chi2.sf(x * x + 1.0, 3.0, 0.0, s) + stats.gamma.logsf(x * x + 0.5, 2.0)
    return np.sum(y + stats.beta.logcdf(0.5 + 0.2 * np.tanh(x), 2.0, 3.0) + stats.t.logsf(x, 4.0, scale=s))


def keyword_scale(x, mu, s):
    return np.sum(stats.norm.logpdf(x, loc=mu, scale=s))


def scale_only(x, s):
    return np.sum(stats.t.logpdf(x, 4.0, scale=s * s))


def signal_linalg(x, a):
    y = signal.convolve(x, np.array([0.5, a, -0.25]), "same") + signal.correlate(x * a, x, "same")
    m = np.array([[3.0, a, 0.0], [0.1, 2.0 + a, 0.3], [0.0, 0.2, 4.0]])
    z = linalg.solve_triangular(m, x, lower=False) + linalg.expm(m * 0.1) @ x + linalg.sqrtm(m) @ x
    c = linalg.cholesky(m @ m.T, lower=True)
    return np.sum(y * y) + np.sum(z) + np.sum(c) + np.sum(linalg.logm(m))


def second(v):
    y = special.gammaln(v[0] * v[0] + 1.0) + stats.norm.logpdf(v[1], v[0], 1.5) + special.expit(v[0] * v[1])
    return y + special.logsumexp(v) + stats.t.logpdf(v[0], 3.0, v[1], 1.2) + special.erf(v[1])


def matrix_exp(v):
    m = np.array([[v[0], 0.5], [0.1, v[1]]])
    return np.sum(linalg.expm(m))


def betainc_in_a(a, x):
    return special.betainc(a, 2.0, x)


def betainc_in_x(a, x):
    return special.betainc(a, 2.0, x)


def order_through_local(v, x):
    w = v * 2.0
    return special.iv(w, x)


def poisson_count(k, mu):
    return stats.poisson.logpmf(k, mu)


def weights(a, b):
    return special.logsumexp(a, None, b)


def factor(a):
    c = linalg.cho_factor(a)
    return np.sum(c[0])


def step(y, t):
    return -y


def ode(y0):
    return np.sum(integrate.odeint(step, y0, np.array([0.0, 0.5])))
'''


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return write_module(tmp_path_factory.mktemp("scipy"), "scipy_prog", SRC)


def fd_grad(f, args, i, h=1e-6):
    """Central differences of the scalar f in argument i (a float or an array)."""
    x = np.asarray(args[i], dtype=float)
    out = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[j] = h
        plus, minus = list(args), list(args)
        plus[i], minus[i] = (x + e) if x.ndim else float(x + e), (x - e) if x.ndim else float(x - e)
        out[j] = (f(*plus) - f(*minus)) / (2 * h)
    return out


CASES = [("special_mix", (np.array([0.3, -0.7, 1.1]), 0.8)),
         ("likelihood", (np.array([0.3, -0.7, 1.1]), 0.2, 1.3)),
         ("tails", (np.array([0.3, -0.7, 1.1]), 1.3)),
         ("keyword_scale", (np.array([0.3, -0.7]), 0.2, 1.3)),
         ("signal_linalg", (np.array([0.3, -0.7, 1.1]), 0.4)),
         ("betainc_in_x", (0.7, 0.4))]


@pytest.mark.parametrize("name,args", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_gradient_matches_central_differences(mod, name, args, mode):
    f = getattr(mod, name)
    wrt = tuple(range(len(args))) if name != "betainc_in_x" else (1,)
    got = sd.grad(f, wrt=wrt, mode=mode)(*args)
    got = got if isinstance(got, tuple) else (got,)
    for g, i in zip(got, wrt):
        np.testing.assert_allclose(g, fd_grad(f, args, i), rtol=1e-6, atol=1e-6, err_msg="%s wrt %d" % (name, i))


@pytest.mark.parametrize("name", ["special_mix", "likelihood", "signal_linalg", "tails"])
def test_batched_forward_jacobian(mod, name):
    """sd.jacobian(mode='forward') carries every direction of x in one batched sweep."""
    f = getattr(mod, name)
    args = dict((n, a) for n, a in CASES)[name]
    got = sd.jacobian(f, wrt=0, mode="forward")(*args)
    np.testing.assert_allclose(got, fd_grad(f, args, 0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_keyword_loc_scale_differentiate(mod, mode):
    """stats.norm.logpdf(x, loc=mu, scale=s): the keywords are moved to their positions and differentiated."""
    args = (np.array([0.3, -0.7]), 0.2, 1.3)
    got = sd.grad(mod.keyword_scale, wrt=(0, 1, 2), mode=mode)(*args)
    for i in range(3):
        np.testing.assert_allclose(got[i], fd_grad(mod.keyword_scale, args, i), rtol=1e-6, atol=1e-7)


def test_keyword_gap_takes_the_default(mod):
    """Only scale= given: loc takes the rule's default (SciPy's, 0)."""
    args = (np.array([0.3, -0.7]), 1.3)
    np.testing.assert_allclose(sd.grad(mod.scale_only, wrt=1)(*args), fd_grad(mod.scale_only, args, 1), rtol=1e-6)


@pytest.mark.parametrize("name,wrt,args,says", [
    ("betainc_in_a", 0, (0.7, 0.4), "argument 1 of `betainc`: the derivative of betainc with respect to a or b"),
    ("order_through_local", 0, (1.5, 0.4), "argument 1 of `iv`: the derivative with respect to the order"),
    ("poisson_count", 0, (3.0, 1.5), "a Poisson count"),
    ("weights", 1, (np.array([0.1, 0.2]), np.array([1.0, 2.0])), "the weights b of logsumexp"),
    ("factor", 0, (np.eye(2) * 2.0,), "cho_factor"),
    ("ode", 0, (np.ones(2),), "odeint has no adjoint rule")])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_refused_at_build_time_with_location(mod, name, wrt, args, says, mode):
    """No zero or wrong derivative: the active argument is refused, naming the user's line, before anything runs."""
    with pytest.raises(sd.SourcediffError) as e:
        sd.grad(getattr(mod, name), wrt=wrt, mode=mode)
    msg = str(e.value)
    assert says in msg and "scipy_prog.py:" in msg, msg


def test_refused_argument_inactive_is_fine(mod):
    """Only an active refused argument is refused: betainc in x alone differentiates."""
    assert sd.grad(mod.betainc_in_a, wrt=1)(0.7, 0.4) > 0


def test_stats_method_is_one_rule_key():
    """stats.norm.logpdf is found by the bound method (equal on every access), not as rv_continuous.logpdf."""
    from scipy import stats
    from sourcediff.rules.registry import VJP, lookup
    assert lookup(VJP, stats.norm.logpdf) is not None
    assert lookup(VJP, stats.t.logpdf) is not lookup(VJP, stats.norm.logpdf)
    assert lookup(VJP, type(stats.norm).logpdf) is None


def test_hessian_through_scipy_rules(mod):
    """Forward over reverse: the rules' own calls (digamma, polygamma, norm.pdf ...) have rules too."""
    v = np.array([0.4, -0.3])
    got = sd.hessian(mod.second)(v)
    g = sd.grad(mod.second)
    want = np.array([(g(v + 1e-5 * e) - g(v - 1e-5 * e)) / 2e-5 for e in np.eye(2)])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_hessian_of_expm_is_refused(mod):
    """expm's gradient is right; its second derivative is refused, not wrong."""
    v = np.array([0.4, -0.3])
    np.testing.assert_allclose(sd.grad(mod.matrix_exp)(v), fd_grad(mod.matrix_exp, (v,), 0), rtol=1e-6, atol=1e-7)
    with pytest.raises(sd.SourcediffError, match="second derivative of a matrix function"):
        sd.hessian(mod.matrix_exp)(v)
