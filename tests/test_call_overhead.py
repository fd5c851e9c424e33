"""Call overhead of forward-mode gradients on floats (issue 16, item 4).

Where the float fast path's guard covers every differentiated parameter, ``sd.grad(f, mode="forward")``
is that generated function itself (no Python wrapper in front, as in reverse mode); its guard hands any
other call to the wrapper's general path. Gradients are checked against central differences.
"""
import math

import numpy as np
import pytest

import sourcediff as sd
from sourcediff import api, cache
from tests.helpers import num_grad


def w1(x1, x2):
    return x1 * x2 + math.sin(x1)


def scaled(x, n):
    return x * x * n


def root(x):
    return x ** 0.5  # no float fast path (complex for a negative float)


def _fd(f, args, wrt):
    return tuple(num_grad(f, args, i) for i in wrt)


@pytest.mark.parametrize("wrt", [(0, 1), 0, 1])
def test_forward_grad_on_floats_is_the_generated_function(wrt):
    g = sd.grad(w1, wrt=wrt, mode="forward")
    assert g.__code__ is g.sd_generated.__code__  # no wrapper: the fast path itself
    got = g(0.7, -1.3)
    want = _fd(w1, (0.7, -1.3), wrt if isinstance(wrt, tuple) else (wrt,))
    np.testing.assert_allclose(got, want if isinstance(wrt, tuple) else want[0], rtol=1e-8)
    assert g.__name__ == "w1" and g.__wrapped__ is w1


@pytest.mark.parametrize("args", [(np.float64(0.7), -1.3), (1, 2), (0.7, np.float64(-1.3)), (0.5, 2.0)])
def test_other_arguments_take_the_general_path(args):
    g = sd.grad(w1, wrt=(0, 1), mode="forward")
    got = g(*args)
    want = _fd(w1, tuple(float(a) for a in args), (0, 1))
    np.testing.assert_allclose([float(v) for v in got], want, rtol=1e-8)
    by_name = g(x1=args[0], x2=args[1])
    np.testing.assert_allclose([float(v) for v in by_name], want, rtol=1e-8)


def poly(x1, x2):
    return np.sum(x1 * x2 + x1 * x1)


def test_arrays_take_the_general_path():
    g = sd.grad(poly, wrt=0, mode="forward")
    assert g(0.5, 2.0) == 3.0
    x = np.array([0.3, 0.7])
    np.testing.assert_allclose(g(x, 2.0), 2.0 + 2 * x, rtol=1e-12)


def test_value_and_grad_forward_on_floats():
    vg = sd.value_and_grad(w1, wrt=(0, 1), mode="forward")
    assert vg.__code__ is vg.sd_generated.__code__
    value, grads = vg(0.7, -1.3)
    assert value == w1(0.7, -1.3)
    np.testing.assert_allclose(grads, _fd(w1, (0.7, -1.3), (0, 1)), rtol=1e-8)


def test_a_guard_that_does_not_cover_wrt_keeps_the_wrapper():
    g = sd.grad(scaled, wrt=(0, 1), mode="forward")  # n is differentiated but need not be a float
    np.testing.assert_allclose(g(1.5, 3), _fd(scaled, (1.5, 3.0), (0, 1)), rtol=1e-8)


def test_no_fast_path_keeps_the_wrapper_and_its_refusal():
    g = sd.grad(root, mode="forward")
    assert g.__code__ is not g.sd_generated.__code__
    assert abs(g(4.0) - 0.25) < 1e-12
    with pytest.raises(sd.SourcediffError, match="complex"):
        g(-4.0)


def test_direct_forward_grad_from_the_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SOURCEDIFF_CACHE", raising=False)
    cache.clear_memory()
    api._MEMO.clear()
    sd.grad(w1, wrt=(0, 1), mode="forward")
    cache.clear_memory()
    api._MEMO.clear()
    g = sd.grad(w1, wrt=(0, 1), mode="forward")  # read back from disk: the guard comes with the entry
    assert g.__code__ is g.sd_generated.__code__
    np.testing.assert_allclose(g(0.7, -1.3), _fd(w1, (0.7, -1.3), (0, 1)), rtol=1e-8)
    cache.clear_memory()
    api._MEMO.clear()
