"""shapes.py: shape classes let the reverse sweep skip values it needs only for their shape."""
import numpy as np
import pytest

import sourcediff as sd
from sourcediff.pipeline import new_gen
from sourcediff.reverse import Reverse
from tests.helpers import write_module


def _classes(tmp_path, src, name="f"):
    mod = write_module(tmp_path, "shapes_mod_%d" % len(list(tmp_path.iterdir())), src)
    gen = new_gen()
    func = gen.prepare(getattr(mod, name))
    rv = Reverse(gen, func, func.params, None)
    return rv.cls


def _fd(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def test_elementwise_chain_is_one_class(tmp_path):
    cls = _classes(tmp_path, "import numpy as np\ndef f(x, y):\n    a = np.sin(x)\n    b = a * x + 2.0\n"
                             "    c = b @ y\n    return np.sum(c)\n")
    assert set(cls.values()) == {"x"} and len(cls) >= 2  # a, b (and their temporaries); c starts no class


def test_a_name_that_would_have_raised_is_not_a_sequence(tmp_path):
    cls = _classes(tmp_path, "def f(x):\n    a = x ** 2\n    b = 3 * x\n    return a + b\n")
    assert cls.get("b") == "x"  # a list x would have raised at x ** 2
    cls = _classes(tmp_path, "def f(x, c):\n    if c:\n        a = x ** 2\n    b = 3 * x\n    return b\n")
    assert "b" not in cls  # x ** 2 may not run


@pytest.mark.parametrize("body", [
    "    a = x * 2\n",          # x may be a list: [..] * 2 repeats it
    "    a = x + x\n",          # or concatenates
    "    x = x - 1.0\n    a = np.sin(x)\n",      # a reassigned parameter roots nothing
])
def test_no_class_where_a_sequence_could_change_shape(tmp_path, body):
    cls = _classes(tmp_path, "import numpy as np\ndef f(x):\n" + body + "    return np.sum(a)\n")
    assert "a" not in cls


def test_shape_only_values_are_not_computed(tmp_path):
    src = "import numpy as np\ndef f(x):\n    return np.sum(np.sin(x) * np.exp(-x**2) + np.log1p(x * x))\n"
    f = write_module(tmp_path, "shapes_mod", src).f
    g = sd.grad(f)
    assert "log1p(" not in g.source.split("return")[0] and "seed_one" not in g.source  # only the value needed them
    x = np.linspace(-1.5, 2.0, 7)
    np.testing.assert_allclose(g(x), _fd(f, x), rtol=1e-7, atol=1e-9)
    v, g2 = sd.value_and_grad(f)(x)
    assert v == f(x) and "np.log1p(" in sd.value_and_grad(f).source
    np.testing.assert_allclose(g2, g(x), rtol=1e-12)


def test_broadcast_operands_keep_their_unbroadcast(tmp_path):
    src = "import numpy as np\ndef f(x, b):\n    return np.sum(np.tanh(x + b) * x)\n"
    f = write_module(tmp_path, "shapes_mod", src).f
    x, b = np.linspace(-1, 1, 6).reshape(2, 3), np.array([0.1, -0.2, 0.3])
    gx, gb = sd.grad(f, wrt=(0, 1))(x, b)
    np.testing.assert_allclose(gb, _fd(lambda b_: f(x, b_), b), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gx, _fd(lambda x_: f(x_, b), x), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("body, spread", [
    ("np.sum(np.sin(x) * 3.0 + x)", True),            # every step elementwise from x: the seed stays 1.0
    ("np.mean(np.sin(x) + x)", True),
    ("np.sum(np.tanh(W @ x) * 2.0)", False),         # a matrix product on the way: ones of t's shape
    ("np.sum(x * x * np.cos(x))", True),              # x * x: one contribution
    ("np.sum(np.sin(x), axis=0)", False),             # not a whole-array sum
])
def test_sum_seed_spreads_only_through_elementwise_steps(tmp_path, body, spread):
    f = write_module(tmp_path, "spread_mod", "import numpy as np\nW = np.arange(12.0).reshape(4, 3) / 10\n"
                                              "def f(x):\n    return %s\n" % body).f
    g = sd.grad(f)
    assert ("expand_reduced" not in g.source) == spread
    x = np.linspace(-1.0, 1.3, 3)
    np.testing.assert_allclose(g(x), _fd(f, x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(sd.grad(f, mode="forward")(x), g(x), rtol=1e-10, atol=1e-12)


def test_a_number_adjoint_never_meets_a_non_elementwise_rule(tmp_path):
    # x also feeds an index: its adjoint must be an array when getitem_vjp accumulates into it
    f = write_module(tmp_path, "mixed_mod", "import numpy as np\ndef g(x):\n"
                                             "    return np.sum(np.sin(x[:, None] + np.sum(x)))\n").g
    x = np.array([0.3, -0.5, 0.7])
    np.testing.assert_allclose(sd.grad(f)(x), _fd(f, x), rtol=1e-7, atol=1e-9)


def test_a_ufunc_with_a_signature_starts_no_class(tmp_path):
    # np.matmul is a ufunc, but x @ x of a vector is a number: its shape is not x's
    f = write_module(tmp_path, "gufunc_mod", "import numpy as np\ndef f(x):\n"
                                              "    return np.sum(np.sin(np.matmul(x, x)) + x)\n").f
    assert "t0" not in _classes(tmp_path, "import numpy as np\ndef f(x):\n    t0 = np.matmul(x, x)\n    return t0\n")
    x = np.array([0.3, -0.5, 0.7])
    np.testing.assert_allclose(sd.grad(f)(x), _fd(f, x), rtol=1e-7, atol=1e-9)


def test_a_reassigned_parameter_roots_no_spread(tmp_path):
    # `a` is rebound to an array with a number broadcast into it: the mean's seed must stay an array
    f = write_module(tmp_path, "rebound_mod", "import math\nimport numpy as np\ndef f(a, b):\n"
                                               "    a = np.tanh(a) + math.cos(b)\n    return np.mean(a)\n").f
    a, b = np.array([0.3, -0.5, 0.7]), 0.56
    gb = sd.grad(f, wrt=1)(a, b)
    assert abs(gb - (f(a, b + 1e-6) - f(a, b - 1e-6)) / 2e-6) < 1e-8
