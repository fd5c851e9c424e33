"""Maximum likelihood with SciPy: fit a Student-t and a gamma model by their exact gradients.

Heavy-tailed data are drawn from a Student t with location 1.5, scale 0.7 and 4 degrees of
freedom. The negative log-likelihood is written with ``scipy.stats.t.logpdf`` (and a gamma
model with ``scipy.stats.gamma.logpdf`` plus a ``scipy.special.gammaln`` prior term); the
parameters are unconstrained (log-scale, log-degrees-of-freedom), and ``sd.grad`` gives the
gradient that ``scipy.optimize.minimize`` (BFGS) walks on. The gradient is checked against
central differences before fitting, and the fitted parameters come back close to the truth.

SciPy is an optional dependency of sourcediff: its rules are registered when it imports.
"""
import sys

import numpy as np
from scipy import optimize, special, stats

import sourcediff as sd
from _plot import plot_path, save_curve

TRUE = {"mu": 1.5, "scale": 0.7, "df": 4.0}
SHAPE, RATE = 2.5, 1.8


def t_nll(theta, x):
    """Negative log-likelihood of a Student t with theta = (mu, log scale, log df)."""
    mu, s, df = theta[0], np.exp(theta[1]), np.exp(theta[2])
    return -np.sum(stats.t.logpdf(x, df, mu, s))


def gamma_nll(theta, y):
    """Negative log-likelihood of a gamma model, theta = (log shape, log scale), with a weak prior on the shape."""
    a, s = np.exp(theta[0]), np.exp(theta[1])
    prior = special.gammaln(a) - 0.5 * np.log(a)
    return -np.sum(stats.gamma.logpdf(y, a, 0.0, s)) + 0.01 * prior


def central(f, theta, data, h=1e-6):
    return np.array([(f(theta + h * e, data) - f(theta - h * e, data)) / (2 * h) for e in np.eye(len(theta))])


def fit(f, theta0, data, history=None):
    """BFGS on f with sourcediff's gradient; the gradient is checked at the start; each iterate's f goes on
    ``history``."""
    grad = sd.grad(f)
    err = np.max(np.abs(grad(theta0, data) - central(f, theta0, data)))
    print("  gradient at the start vs central differences: max difference %.1e" % err)
    assert err < 1e-5 * (1 + np.max(np.abs(grad(theta0, data))))
    trace = (lambda xk: history.append(f(xk, data))) if history is not None else None
    res = optimize.minimize(f, theta0, args=(data,), jac=grad, method="BFGS", callback=trace)
    print("  BFGS: %d iterations, %d gradient evaluations, |gradient| %.1e at the optimum"
          % (res.nit, res.njev, np.max(np.abs(grad(res.x, data)))))
    return res.x


def main(argv=()):
    plot = plot_path(argv, __doc__.splitlines()[0])
    rng = np.random.default_rng(0)
    x = TRUE["mu"] + TRUE["scale"] * rng.standard_t(TRUE["df"], 4000)
    y = rng.gamma(SHAPE, 1.0 / RATE, 3000)

    print("Student t fit (mu, scale, df), gradient source:")
    print(sd.source(t_nll))
    history = []
    th = fit(t_nll, np.array([0.0, 0.0, np.log(10.0)]), x, history)
    mu, scale, df = th[0], np.exp(th[1]), np.exp(th[2])
    print("fitted mu = %.3f, scale = %.3f, df = %.2f (true %.1f, %.1f, %.1f)"
          % (mu, scale, df, TRUE["mu"], TRUE["scale"], TRUE["df"]))

    print("gamma fit (shape, rate):")
    a, s = np.exp(fit(gamma_nll, np.array([0.0, 0.0]), y))
    print("fitted shape = %.3f, rate = %.3f (true %.1f, %.1f)" % (a, 1.0 / s, SHAPE, RATE))
    ok = abs(mu - TRUE["mu"]) < 0.1 and abs(scale - TRUE["scale"]) < 0.1 and abs(df - TRUE["df"]) < 1.5 and \
        abs(a - SHAPE) < 0.25 and abs(1.0 / s - RATE) < 0.2
    print("Both fits recover the true parameters." if ok else "A fit missed the true parameters.")
    if plot:
        save_curve(plot, history, "Student t maximum likelihood (BFGS)", "negative log-likelihood", xlabel="iteration")


if __name__ == "__main__":
    main(sys.argv[1:])
