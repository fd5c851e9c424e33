"""splice.py: callee pairs called once at top level are pasted into the caller."""
import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import write_module

SRC = '''
import math
import numpy as np

def h(x):
    return math.sin(x) * x

def g(x, y):
    return h(x) + y * y

def f(x, y):
    return g(x, y) * 2.0 + g(y, x)

def fact(x, n):
    if n == 0:
        return x
    return x * fact(x, n - 1)

def r(x):
    return fact(x, 3) + 1.0

def loopy(x):
    s = 0.0
    for i in range(3):
        s = s + h(x + i)
    return s

def k(x, y):
    return np.tanh(x) * y

def arr(x):
    return np.sum(k(x, x) ** 2)
'''


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return write_module(tmp_path_factory.mktemp("splice"), "splice_mod", SRC)


def _fd(f, args, i, h=1e-6):
    a, b = list(args), list(args)
    a[i], b[i] = a[i] + h, a[i] - h
    return (f(*a) - f(*b)) / (2 * h)


def test_chain_and_repeated_calls_are_spliced(mod):
    g = sd.grad(mod.f, wrt=(0, 1))
    assert "_fwd(" not in g.source and "_bwd(" not in g.source  # h into g, g (twice) into f
    got = g(0.7, -1.3)
    for i in (0, 1):
        assert abs(got[i] - _fd(mod.f, (0.7, -1.3), i)) < 1e-6


def test_recursive_callee_keeps_its_pair(mod):
    g = sd.grad(mod.r)
    assert "def fact_fwd" in g.source
    assert abs(g(0.4) - _fd(mod.r, (0.4,), 0)) < 1e-6


def test_callee_in_a_loop_keeps_one_residual_tuple_per_iteration(mod):
    g = sd.grad(mod.loopy)
    assert "def h_fwd" not in g.source and "tape.append(res)" in g.source
    assert abs(g(0.4) - _fd(mod.loopy, (0.4,), 0)) < 1e-6


def test_generic_path_is_spliced_too(mod):
    g = sd.grad(mod.arr)
    x = np.linspace(-1.0, 1.0, 4)
    assert "def k_fwd" not in g.source
    ref = np.array([_fd(lambda t: mod.arr(x + t * e), (0.0,), 0) for e in np.eye(4)])
    np.testing.assert_allclose(g(x), ref, rtol=1e-6, atol=1e-8)
