"""Negated adjoints: optimize._negations folds one read beside a number constant into it; a subtraction
negates after its unbroadcast and accumulates with `-=`; a literal keepdims picks one branch of a rule."""
import gast
import numpy as np
import pytest

import sourcediff as sd
from sourcediff import optimize
from sourcediff.codegen import to_source
from tests.helpers import write_module


def _run(body):
    fn = gast.parse("def f(a, x):\n" + body).body[0]
    optimize._negations(fn)
    return to_source(fn)


def test_folds_into_the_constant():
    out = _run("    w = a * x\n    v = -w\n    d = v * 2 * x\n    return d\n")
    assert "v = -w" not in out and "d = w * -2 * x" in out


@pytest.mark.parametrize("body", [
    "    w = a * x\n    v = -w\n    d = v * 2 * x\n    return d + w\n",              # w read again
    "    w = a * x\n    v = -w\n    w = x\n    d = v * 2\n    return d\n",             # w stored in between
    "    w = a * x\n    v = -w\n    d = v * x\n    return d\n",                        # no constant
    "    w = a * x\n    v = -w\n    if a:\n        d = v * 2\n    return d\n",         # read in another block
    "    w = a * x\n    v = -w\n    d = v * 2 + v\n    return d\n",                    # v read twice
])
def test_leaves_what_it_cannot_prove(body):
    assert "v = -w" in _run(body)


def test_gradient_through_a_folded_negation(tmp_path):
    src = "import numpy as np\ndef f(x):\n    return np.sum(np.sin(x) * np.exp(-x**2))\n"
    f = write_module(tmp_path, "neg_mod", src).f
    g = sd.grad(f)
    assert "* -2 * x" in g.source and " = -d" not in g.source
    x = np.linspace(-1.5, 2.0, 7)
    want = np.exp(-x ** 2) * (np.cos(x) - 2 * x * np.sin(x))
    np.testing.assert_allclose(g(x), want, rtol=1e-13)


def test_subtraction_negates_after_unbroadcast_and_subtracts_in_place(tmp_path):
    src = ("import numpy as np\n"
           "def f(a, b):\n"
           "    c = a - b\n"
           "    d = a * b - b\n"
           "    return np.sum(c * c) + np.sum(d)\n")
    f = write_module(tmp_path, "sub_mod", src).f
    g = sd.grad(f, wrt=(0, 1))
    assert "unbroadcast(-" not in g.source  # the negation runs on the small, summed adjoint
    assert "db -= " in g.source and "+= -" not in g.source and "+ -" not in g.source
    a, b = np.linspace(-1.0, 1.0, 12).reshape(4, 3), np.array([0.3, -0.2, 0.5])
    da, db = g(a, b)
    np.testing.assert_allclose(da, 2 * (a - b) + b, rtol=1e-12)
    np.testing.assert_allclose(db, np.sum(-2 * (a - b) + a - 1.0, axis=0), rtol=1e-12)


@pytest.mark.parametrize("keepdims", [True, False])
def test_max_rule_keeps_one_branch_for_a_literal_keepdims(tmp_path, keepdims):
    src = ("import numpy as np\n"
           "def f(x):\n"
           "    m = np.max(x, axis=1, keepdims=%s)\n"
           "    return np.sum(m * m)\n" % keepdims)
    f = write_module(tmp_path, "max_kd_%s" % keepdims, src).f
    g = sd.grad(f)
    assert " if " not in g.source and ("keepdims_shape" in g.source) == (not keepdims)
    x = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]])
    np.testing.assert_allclose(g(x), [[0.0, 3.0, 3.0], [4.0, 0.0, 0.0]], rtol=1e-12)
