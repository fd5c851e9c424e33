"""optimize._negations: a negated adjoint read once beside a number constant folds into it."""
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
