"""inplace.py: marked accumulations become ``+=`` only where the accumulator owns its array."""
import gast
import numpy as np
import pytest

import sourcediff as sd
from sourcediff.annotations import setanno
from sourcediff.codegen import to_source
from sourcediff.inplace import inplace


def _run(src):
    fn = gast.parse(src).body[0]
    for n in gast.walk(fn):  # mark every `d = d + e` the way reverse.py does
        if isinstance(n, gast.Assign) and isinstance(n.value, gast.BinOp) and isinstance(n.value.left, gast.Name) \
                and isinstance(n.targets[0], gast.Name) and n.value.left.id == n.targets[0].id:
            setanno(n, "accumulator")
    return to_source(inplace(fn))


OWNED = """
def f(W, xs):
    dW = zeros_like(W)
    for x in xs:
        dW = dW + matmul_dy(g, x, W)
    return grad_like(dW, W)
"""


@pytest.mark.parametrize("leak", [
    "    t = dW\n",                      # a copy shares the array
    "    tape.append(dW)\n",             # the tape keeps it
    "    t = unbroadcast(dW, W)\n",      # may return dW itself
    "    dW = W\n",                      # stores an array it does not own
])
def test_leaks_keep_plain_accumulation(leak):
    src = OWNED.replace("    return", leak + "    return")
    out = _run(src)
    assert "+=" not in out and "dW = dW + matmul_dy" in out


def test_owned_accumulator_becomes_augmented():
    out = _run(OWNED)
    assert "dW += matmul_dy(g, x, W)" in out


def test_parameter_accumulator_is_never_written():
    out = _run("def f(dW, e):\n    dW = dW + e\n    return dW\n")
    assert "+=" not in out


def test_generated_rnn_gradient_accumulates_in_place_and_is_right():
    def loss(Wh, xs, h):
        for x in xs:
            h = np.tanh(x + h @ Wh)
        return np.sum(h ** 2)
    rng = np.random.default_rng(0)
    Wh, xs, h0 = rng.standard_normal((3, 3)) * 0.5, rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 3))
    g = sd.grad(loss)
    assert "dWh += " in g.source
    before = Wh.copy()
    got = g(Wh, xs, h0)
    np.testing.assert_array_equal(Wh, before)  # the argument is never written
    ref = np.zeros_like(Wh)
    for i in np.ndindex(Wh.shape):
        e = np.zeros_like(Wh)
        e[i] = 1e-6
        ref[i] = (loss(Wh + e, xs, h0) - loss(Wh - e, xs, h0)) / 2e-6
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-8)
