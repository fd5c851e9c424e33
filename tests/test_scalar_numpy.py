"""The float fast path of scalar code that calls NumPy's elementwise functions on floats (issue 16, item 3).

``np.sin(x)`` of a Python float is a NumPy float; the fast path keeps calling ``np`` (``math`` would raise where
NumPy gives ``nan``) and leaves out only the helpers that are identities on numbers (``seed_one``,
``unbroadcast``), ``grad_like`` becoming ``float(...)``. Its guard sends every other argument (NumPy floats,
0-d arrays, ``np.float32``, ints where a float is differentiated) to the generic path. References: central
differences, and the generic path's own numbers (which must be the same, bit for bit).
"""
import math
import warnings

import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import num_grad


def w1(x1, x2):
    return x1 * x2 + np.sin(x1)


def mixed(x, y):
    z = np.exp(-x * x) * np.tanh(y) + math.cos(x)
    return np.log(1.0 + z * z) + np.sqrt(np.abs(y) + 1.0) + np.arctan2(x, y) + np.power(x, 2.0)


def operators(x, y):
    return np.multiply(x, y) + np.subtract(x, np.divide(y, 3.0)) + np.negative(np.hypot(x, y))


def looped(x, a, n):
    s = 0.0
    for i in range(n):
        x = np.sin(x) * a + 0.5 * x
        if x > 0.2:
            s = s + np.exp(x)
        else:
            s = s - x
    return s + x


def inner(x, y):
    return np.cosh(x) * y


def calls(x, y):
    return inner(x, y) + inner(y, np.log1p(x * x))


CASES = [(w1, (0.7, -1.3), (0, 1)), (mixed, (0.4, -0.9), (0, 1)), (operators, (1.1, 0.6), (0, 1)),
         (looped, (0.3, 1.2, 6), (0, 1)), (calls, (0.5, 1.5), (0, 1)), (w1, (0.7, -1.3), 0)]


def _generic(g):
    """The generic function a fast path's guard sends other calls to (as ``sd.source`` shows it)."""
    fn = g.sd_generated
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__))
    return cells[fn.sd_guard[1]].cell_contents


def _fd(f, args, wrt):
    got = [num_grad(f, args, i) for i in (wrt if isinstance(wrt, tuple) else (wrt,))]
    return tuple(got) if isinstance(wrt, tuple) else got[0]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_fast_path_matches_differences_and_the_generic_path(f, args, wrt):
    g = sd.grad(f, wrt=wrt)
    assert "_generic" in g.source and g.sd_generated.sd_guard is not None  # a fast path is built
    got = g(*args)
    np.testing.assert_allclose(got, _fd(f, args, wrt), rtol=1e-7, atol=1e-9)
    want = _generic(g)(*args)
    assert got == want and type(got) is type(want)
    for v in (got if isinstance(wrt, tuple) else (got,)):
        assert type(v) is float  # as grad_like gives it for a float argument


@pytest.mark.parametrize("f, args, wrt", CASES[:3], ids=lambda v: getattr(v, "__name__", ""))
def test_value_and_grad_and_forward_mode(f, args, wrt):
    value, grads = sd.value_and_grad(f, wrt=wrt)(*args)
    assert value == f(*args)
    np.testing.assert_allclose(grads, _fd(f, args, wrt), rtol=1e-7)
    fwd = sd.grad(f, wrt=wrt, mode="forward")
    assert "_generic" in fwd.source
    np.testing.assert_allclose(fwd(*args), _fd(f, args, wrt), rtol=1e-7)


def test_the_fast_path_keeps_numpy_and_has_no_helpers():
    fast = sd.source(w1, wrt=(0, 1)).split("\n\n\n")[0]
    assert "np.cos(x1)" in fast and "math." not in fast
    for helper in ("seed_one", "unbroadcast", "grad_like"):
        assert helper not in fast


def test_reverse_grad_on_floats_is_the_generated_function():
    g = sd.grad(w1, wrt=(0, 1))
    assert g.__code__ is g.sd_generated.__code__  # no wrapper in front of the fast path


def _outcome(fn, *args):
    """What a call gives: its value, or the type of the error it raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return fn(*args)
        except ArithmeticError as e:
            return type(e)


@pytest.mark.parametrize("x", [-1.0, 0.0, 2.0, 1.0])
def test_domain_edges_give_the_generic_paths_values(x):
    def f(x):
        return np.log(x) + np.arcsin(x) + np.sqrt(x)
    g = sd.grad(f)
    got, want = _outcome(g, x), _outcome(_generic(g), x)
    assert type(got) is type(want)
    assert got == want or isinstance(got, float) and math.isnan(got) and math.isnan(want)
    if x in (-1.0, 2.0):
        assert math.isnan(got)  # where math.log / math.asin would raise


def test_division_by_a_numpy_zero_is_infinite_not_an_error():
    def f(x):
        return 1.0 / np.sin(x)
    g = sd.grad(f)
    got = _outcome(g, 0.0)
    assert got == _outcome(_generic(g), 0.0) and math.isinf(got)


@pytest.mark.parametrize("args", [(np.float64(0.7), -1.3), (np.array(0.7), -1.3), (np.float32(0.7), -1.3),
                                  (1, 2), (0.7, np.float64(-1.3))], ids=["float64", "0d", "float32", "ints", "y64"])
def test_other_arguments_take_the_generic_path(args):
    g = sd.grad(w1, wrt=(0, 1))
    got = g(*args)
    want = _generic(g)(*args)
    for a, b in zip(got, want):
        assert type(a) is type(b)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose([float(v) for v in got], _fd(w1, tuple(float(a) for a in args), (0, 1)),
                               rtol=1e-6)


def test_arrays_take_the_generic_path():
    g = sd.grad(lambda x, y: x * y + np.sin(x), wrt=0)
    x = np.array([0.3])
    np.testing.assert_allclose(g(x, 2.0), 2.0 + np.cos(x), rtol=1e-12)
    with pytest.raises(sd.SourcediffError, match="scalar output"):
        g(np.array([0.3, 0.4]), 2.0)


def test_an_unchecked_parameter_in_numpy_keeps_the_generic_path():
    def f(x, a):
        return x * 2.0 + np.sin(a)  # a is not differentiated, so not checked: it may be an array
    g = sd.grad(f, wrt=0)
    assert "_generic" not in g.source
    assert g(0.5, 0.25) == 2.0
    with pytest.raises(sd.SourcediffError, match="scalar output"):
        g(0.5, np.array([1.0, 2.0]))


@pytest.mark.parametrize("body", ["np.sin(x, dtype=np.float64)", "np.sum(x)", "np.matmul(x, x)", "np.modf(x)[0]"])
def test_other_numpy_calls_have_no_fast_path(body):
    ns = {"np": np}
    exec("def f(x):\n    return %s * x\n" % body, ns)
    try:
        src = sd.source(ns["f"])
    except sd.SourcediffError:
        return  # refused: no fast path either
    assert "_generic" not in src
