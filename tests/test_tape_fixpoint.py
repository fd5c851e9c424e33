"""What the tape keeps is found to a fixed point, however many rounds that takes.

A chain of conditions, each guarding the assignment of the one before, makes each round of
sweep-then-decide find one more condition to keep (``Reverse._to_fixpoint``). Reverse mode used to
stop after 20 rounds and generate from an unsettled decision: at 20 links the adjoint popped an empty
tape, at 25 it read overwritten conditions and gave a wrong gradient without a word.
"""
import pytest

import sourcediff as sd
from tests.helpers import write_module


def _chain(links):
    """``y`` is multiplied under ``c1``; ``c_k`` is reassigned under ``c_(k+1)``; all inside one loop."""
    names = ["c%d" % k for k in range(1, links + 2)]
    lines = ["def f(x):", "    y = x", "    %s = %s" % (", ".join(names), ", ".join(["True"] * len(names))),
             "    for i in range(4):", "        if c1:", "            y = y * x"]
    for k in range(1, links + 1):
        lines += ["        if c%d:" % (k + 1), "            c%d = i %% %d != 1" % (k, k + 2)]
    lines += ["        c%d = i != 2" % (links + 1), "    return y"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("links", [3, 20, 25])
def test_a_long_chain_of_kept_conditions(tmp_path, links):
    f = write_module(tmp_path, "chain_%d" % links, _chain(links)).f
    x, h = 1.3, 1e-6
    fd = (f(x + h) - f(x - h)) / (2 * h)
    assert abs(fd - 5.07) < 1e-6  # y = x ** 3 here: two of the four iterations multiply
    assert sd.grad(f)(x) == pytest.approx(fd, rel=1e-7)
    value, g = sd.value_and_grad(f)(x)
    assert value == pytest.approx(f(x)) and g == pytest.approx(fd, rel=1e-7)
