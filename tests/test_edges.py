"""Edge values, decorated functions, complex values and edited sources (the "Trust" issue, classes 6-8).

References are central finite differences (``tests.helpers.check``) or derived by hand.
"""
import functools
import inspect
import math

import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import check, num_second


# -- powers of a zero base: d/dy 0 ** y = 0 for y > 0 (0 ** y stays 0), not 0 * log(0) = nan ---------

def np_power_zero(y):
    return np.power(0.0, y) + y


def op_power_zero(y):
    return 0.0 ** y + y


def math_pow_zero(y):
    return math.pow(0.0, y) + y


def float_power_zero(y):
    return np.float_power(0.0, y) + y


def array_power_zero(y):
    return np.sum(np.array([0.0, 2.0, 0.0]) ** y * y)


@pytest.mark.parametrize("f", [np_power_zero, op_power_zero, math_pow_zero, float_power_zero])
def test_zero_base_power(f):
    assert check(f, 2.0) == 1.0  # the float fast path where there is one
    assert float(check(f, np.float64(2.0))) == 1.0  # the generic path


def test_zero_base_power_array():
    y = np.array([1.5, 2.0, 3.0])
    g = check(array_power_zero, y)  # d/dy_i b_i ** y_i y_i = b_i ** y_i (1 + y_i log b_i); 0 where b_i == 0
    np.testing.assert_allclose(g, [0.0, 4.0 * (1 + 2.0 * math.log(2.0)), 0.0])


def test_zero_base_power_hessian():
    # d2/dy2 (0 ** y + y ** 3) = 6 y where 0 ** y is flat (y > 0)
    assert sd.hessian(lambda y: 0.0 ** y + y ** 3)(2.0) == pytest.approx(12.0)
    assert sd.hessian(lambda y: np.power(0.0, y) + y ** 3)(np.float64(2.0)) == pytest.approx(12.0)
    f = lambda y: positive_base_power(1.7, y)  # noqa: E731  (a positive base keeps its log)
    assert sd.hessian(f)(0.8) == pytest.approx(num_second(f, 0.8), rel=1e-5)
    check(positive_base_power, np.array([0.5, 1.7]), np.array([1.2, -0.4]), wrt=(0, 1))


def positive_base_power(b, y):
    return np.sum(b ** y * np.power(b, 0.5 * y))


def test_negative_base_power_is_nan_not_an_exception():
    # (-2) ** y is defined only at integer y: no derivative in y (nan), in the float fast path as in numpy
    for y in (2.0, np.float64(2.0)):
        with np.errstate(invalid="ignore"):
            assert math.isnan(sd.grad(lambda y: (-2.0) ** y)(y))


# -- std of one element is identically 0 ---------------------------------------------------------

def std_of_one(x):
    return np.std(x[:1]) + np.sum(x)


def std_rows(x):
    return np.sum(np.std(x, axis=1) * x[:, 0])


def test_std_of_one_element():
    g = check(std_of_one, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])
    check(lambda x: np.std(x[:2]) * np.std(x, ddof=1), np.array([0.3, -1.2, 2.0]))  # more elements: unchanged


def test_std_over_an_axis_of_length_one():
    x = np.array([[1.0], [-2.0]])
    g = check(std_rows, x)
    np.testing.assert_array_equal(g, [[0.0], [0.0]])


# -- the source read must be the code that runs --------------------------------------------------

MODULE = '''
import numpy as np


def helper(x):
    return x * x


def f(x):
    return helper(x) + np.sin(x)


g = lambda x: x * x  # noqa: E731
'''


def _import(monkeypatch, tmp_path, name, text):
    import importlib
    import sys
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / (name + ".py")).write_text(text)
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(name)


@pytest.mark.parametrize("first_call", [False, True])
def test_edited_module_is_refused_until_reloaded(monkeypatch, tmp_path, first_call):
    import importlib
    name = "sd_edited_%d" % first_call
    mod = _import(monkeypatch, tmp_path, name, MODULE)
    if first_call:  # differentiated before the edit: linecache holds the old lines
        assert sd.grad(mod.f)(0.5) == pytest.approx(1.0 + math.cos(0.5))
    (tmp_path / (name + ".py")).write_text(MODULE.replace("x * x", "x * x * x"))
    if first_call:  # the lines read before the edit are the code that runs: its derivatives
        assert sd.grad(mod.f, mode="forward")(0.5) == pytest.approx(1.0 + math.cos(0.5))
        assert sd.grad(mod.g)(0.5) == pytest.approx(1.0)
    # a callee (f's refusal names it), a lambda: refused at their line
    for fn, line in [] if first_call else [(mod.f, 5), (mod.helper, 5), (mod.g, 13)]:
        with pytest.raises(sd.SourcediffError, match="the file changed since .* was defined: reload it") as e:
            sd.grad(fn, mode="forward")(0.5)
        assert (e.value.filename, e.value.lineno) == (str(tmp_path / (name + ".py")), line)
    mod = importlib.reload(mod)
    assert sd.grad(mod.f)(0.5) == pytest.approx(3 * 0.25 + math.cos(0.5))
    assert sd.grad(mod.g)(0.5) == pytest.approx(0.75)


def test_lines_inserted_above_a_definition(monkeypatch, tmp_path):
    mod = _import(monkeypatch, tmp_path, "sd_shifted", MODULE)
    (tmp_path / "sd_shifted.py").write_text("\n\n\n" + MODULE.replace("np.sin(x)", "np.cos(x)"))
    with pytest.raises(sd.SourcediffError, match="reload it") as e:
        sd.grad(mod.f)(0.5)
    assert e.value.lineno == 9


def test_exec_with_registered_source():
    import linecache
    text = "def h(x):\n    return x * x * x\n"
    ns = {}
    linecache.cache["<sd-registered-h>"] = (len(text), None, text.splitlines(True), "<sd-registered-h>")
    exec(compile(text, "<sd-registered-h>", "exec"), ns)
    assert sd.grad(ns["h"])(2.0) == 12.0  # the source is known and is the code: it works
    ns2 = {}  # a cell run, then edited and registered again under the same name (not run again)
    exec(compile(text, "<cell-sd-1>", "exec"), ns2)
    import linecache
    linecache.cache["<cell-sd-1>"] = (0, None, ["def h(x):\n", "    return x * x\n"], "<cell-sd-1>")
    with pytest.raises(sd.SourcediffError, match="the file changed since h was defined"):
        sd.grad(ns2["h"])(2.0)


# -- decorated functions ------------------------------------------------------------------------

def forwarding(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        """Only calls f."""
        return f(*args, **kwargs)
    return wrapper


def forwarding_bare(f):
    def wrapper(*a):
        return f(*a)
    return wrapper


def doubling(f):
    @functools.wraps(f)
    def wrapper(*args):
        return 2.0 * f(*args)
    return wrapper


def doubling_bare(f):
    def wrapper(*args):
        return 2.0 * f(*args)
    return wrapper


@forwarding
def dd(x):
    return x ** 2 + math.log(x)


@forwarding_bare
@forwarding
def dd2(x, y):
    return np.sum(x * y)


@doubling
def doubled(x):
    return x ** 2


@doubling_bare
def doubled_bare(x):
    return x ** 2


def calls_decorated(x):
    return dd(x) * 3.0


class Model:
    @forwarding
    def energy(self, x):
        return self.k * x ** 2

    k = 1.5


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_forwarding_decorators_are_followed(mode):
    assert sd.grad(dd, mode=mode)(1.0) == pytest.approx(3.0)  # 2x + 1/x
    assert sd.grad(calls_decorated, mode=mode)(2.0) == pytest.approx(3.0 * 4.5)
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    gx, gy = sd.grad(dd2, wrt=(0, 1), mode=mode)(x, y)
    np.testing.assert_array_equal(gx, y)
    np.testing.assert_array_equal(gy, x)
    assert sd.grad(Model().energy, mode=mode)(2.0) == pytest.approx(6.0)


def _def_line(f):
    return inspect.getsourcelines(f)[1]


@pytest.mark.parametrize("f", [doubled, doubled_bare])
def test_wrappers_that_change_the_value_are_refused_at_the_users_line(f):
    inner = f.__wrapped__ if hasattr(f, "__wrapped__") else f.__closure__[0].cell_contents
    calls_it = lambda x: f(x) + x  # noqa: E731
    for call in (lambda: sd.grad(f)(1.0), lambda: sd.grad(calls_it)(1.0)):
        with pytest.raises(sd.SourcediffError,
                           match="doubled.* is wrapped by .*wrapper .*from the decorator doubling") \
                as e:
            call()
        assert (e.value.filename, e.value.lineno) == (__file__, _def_line(inner))
        assert e.value.line.strip().startswith("@doubling")
    assert sd.grad(inner)(1.0) == 2.0  # the undecorated function


# -- complex values: refused at the first call that meets them where they are not differentiated -------
# (sd.grad in reverse mode, sd.vjp and sd.jvp differentiate them: tests/test_complex.py)

def abs_sum(z):
    return np.sum(np.abs(z))


def sqrt_shifted(x):
    return (x - 3.0) ** 0.5


def abs_sqrt(x):
    return abs((x - 3.0) ** 0.5) + x


def scaled(x, c):
    k = c * 2.0
    return k * x


def _refused(call, f, what="complex"):
    with pytest.raises(sd.SourcediffError, match=what) as e:
        call()
    assert (e.value.filename, e.value.lineno) == (__file__, _def_line(f)), str(e.value)


Z = np.array([1 + 2j, 3 - 1j])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_complex_arguments_are_refused(mode):
    """Forward-mode gradients of complex arguments take two sweeps per element (tests/test_complex.py); a Jacobian
    with respect to a complex argument has no complex matrix form for a non-holomorphic map: refused."""
    _refused(lambda: sd.jacobian(abs_sum, mode=mode)(Z), abs_sum)
    assert sd.grad(abs_sum, mode=mode)(np.array([1.0, -2.0])).tolist() == [1.0, -1.0]  # real: unchanged


def test_complex_arguments_of_the_other_operators_are_refused():
    _refused(lambda: sd.hessian(abs_sum)(Z), abs_sum)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_complex_intermediates_are_refused(mode):
    for f in (sqrt_shifted, abs_sqrt):  # a negative float to a fractional power is complex in Python
        _refused(lambda: sd.grad(f, mode=mode)(1.0), f)
        _refused(lambda: sd.value_and_grad(f, mode=mode)(1.0), f)
        assert sd.grad(f, mode=mode)(7.0) == pytest.approx(0.25 + (f is abs_sqrt))  # real: unchanged
    # a complex argument not differentiated, carried into the value (the float fast path checks only x)
    _refused(lambda: sd.grad(scaled, mode=mode)(1.0, 1j), scaled)
    assert sd.grad(scaled, mode=mode)(1.0, 2.0) == 4.0


# -- every refusal names the user's line ------------------------------------------------------------

def vector_out(x):
    return x * 2.0


def test_call_time_refusals_are_located():
    x = np.array([1.0, 2.0])
    for mode in ("reverse", "forward"):
        _refused(lambda: sd.grad(vector_out, mode=mode)(x), vector_out, "scalar output")
    _refused(lambda: sd.grad(vector_out, wrt="y"), vector_out, "not a parameter")
    _refused(lambda: sd.grad(vector_out, wrt=3), vector_out, "does not name a parameter")
    _refused(lambda: sd.jvp(vector_out, wrt=(0,))(x, (x, x)), vector_out, "tangents")
