"""``sourcediff/rules/numpy_extra.py`` through the compiler: the functions as scripts call them, both modes and
batched forward Jacobians against central differences; the located refusals of what has no rule (sample points,
several axes of np.gradient, np.interp's period, np.meshgrid of three arrays, np.polyfit's weights); and the
array methods lowered to NumPy functions (``x.searchsorted``, ``x.argpartition``)."""
import numpy as np
import pytest

import sourcediff as sd
from helpers import check, num_jacobian, write_module

SRC = '''
import numpy as np

XS = np.array([0.0, 0.4, 1.1, 1.5, 2.3])


def signal(x):
    smooth = np.convolve(x, np.array([0.25, 0.5, 0.25]), "same")
    lagged = np.correlate(x, smooth[:3], "valid")
    return np.sum(smooth ** 2) + np.sum(np.tanh(lagged))


def poly(x):
    c = np.polyfit(XS, x, 2)
    return np.sum(np.polyval(c, XS) * x) + np.polyval(x[:3], x[3])


def integrate(x):
    return np.trapezoid(x ** 2, XS) + np.trapezoid(np.sin(x), None, x[0] ** 2) + np.sum(np.gradient(x, 0.5) ** 2)


def lookup(x):
    return np.sum(np.interp(x[:3] + 1.0, XS, np.cos(x)) ** 2)


def shuffle(x):
    y = np.append(x, x[:2] * 3.0)
    g = np.meshgrid(x[:2], y, indexing="ij")
    return np.sum(np.partition(y, 3) * np.arange(7.0)) + np.sum(np.fft.fftshift(g[0] * g[1])[0])


def choose(x):
    return (np.sum(np.select([x > 0.5, x < -0.5], [x ** 2, np.sin(x)], x[0] * 3.0) * np.arange(5.0)) +
            np.sum(np.select([x > 0.0], [x[1] * 2.0], x)))


def methods(x):
    i = x.argpartition(2)
    j = np.sort(x).searchsorted(0.5)
    return x[i[0]] * 2.0 + np.sum(x[:j] ** 2)


def trapezoid_points(x):
    return np.trapezoid(XS, x)


def interp_points(x):
    return np.interp(1.0, x, XS)


def polyfit_points(x):
    return np.sum(np.polyfit(x, XS, 1))


def polyfit_weights(x):
    return np.sum(np.polyfit(XS, x, 1, w=XS))


def gradient_of(x, axis):
    return np.sum(np.gradient(x, axis=axis)[0])


def interp_period(x, p):
    return np.sum(np.interp(0.5, XS, x, period=p))


def meshgrid1(x):
    return np.sum(np.meshgrid(x)[0])


def meshgrid3(x, y):
    return np.sum(np.meshgrid(x, x, y)[0])
'''

X = np.array([0.3, 1.2, -0.7, 0.85, 0.2])


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return write_module(tmp_path_factory.mktemp("extra"), "extra_prog", SRC)


@pytest.mark.parametrize("name", ["signal", "poly", "integrate", "lookup", "shuffle", "choose", "methods"])
def test_both_modes_against_differences(mod, name):
    check(getattr(mod, name), X.copy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["signal", "poly", "integrate", "lookup", "shuffle", "choose"])
def test_batched_jacobian(mod, name):
    f = getattr(mod, name)
    np.testing.assert_allclose(sd.jacobian(f, mode="forward")(X), num_jacobian(f, (X,), 0), rtol=1e-6, atol=1e-7)


def _located(e, line):
    msg = str(e.value)
    assert "extra_prog.py:" in msg and line in msg, msg


@pytest.mark.parametrize("name,why", [("trapezoid_points", "np.trapezoid in its sample points"),
                                      ("interp_points", "np.interp in its sample points"),
                                      ("polyfit_points", "np.polyfit in its sample points"),
                                      ("polyfit_weights", "np.polyfit with `w` has no derivative rule"),
                                      ("meshgrid1", "np.meshgrid is differentiated for two arrays")])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_refused_when_the_derivative_is_built(mod, name, why, mode):
    with pytest.raises(sd.SourcediffError, match=why) as e:
        sd.grad(getattr(mod, name), mode=mode)
    _located(e, "return")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_refused_when_it_runs(mod, mode):
    with pytest.raises(sd.SourcediffError, match="along several axes") as e:
        sd.grad(mod.gradient_of, mode=mode)(np.ones((3, 3)) * X[:3], None)
    _located(e, "def gradient_of")
    with pytest.raises(sd.SourcediffError, match="period") as e:
        sd.grad(mod.interp_period, mode=mode)(X, 4.0)
    _located(e, "def interp_period")
    with pytest.raises(sd.SourcediffError, match="np.meshgrid in meshgrid3 is differentiated for two arrays") as e:
        sd.grad(mod.meshgrid3, mode=mode)(X, X[:2])
    _located(e, "def meshgrid3")
