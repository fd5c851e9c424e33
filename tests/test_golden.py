"""Golden sources: the generated code is a product, so its exact text is pinned.

Each ``tests/golden/<name>.txt`` holds the expected output of one call on the seed
functions in ``tests/golden/seeds.py``. After an intended change to code generation,
regenerate with ``SOURCEDIFF_REGOLD=1 pytest tests/test_golden.py`` and review the diff.
"""
import os
import pathlib
import sys

import pytest

import sourcediff as sd

HERE = pathlib.Path(__file__).parent / "golden"
sys.path.insert(0, str(HERE))
import seeds  # noqa: E402

CASES = {
    "lower_walkthrough": lambda: sd.lower(seeds.walkthrough),
    "reverse_walkthrough": lambda: sd.source(seeds.walkthrough, wrt=("a", "b")),
    "forward_walkthrough": lambda: sd.source(seeds.walkthrough, wrt=("a", "b"), mode="forward"),
    "reverse_wiki": lambda: sd.source(seeds.wiki, wrt=("x1", "x2")),
    "reverse_wiki_unoptimized": lambda: sd.source(seeds.wiki, wrt=("x1", "x2"), optimize=False),
    "reverse_wiki_numpy": lambda: sd.source(seeds.wiki_np, wrt=("x1", "x2")),
    "forward_wiki": lambda: sd.source(seeds.wiki, wrt=("x1", "x2"), mode="forward"),
    "reverse_poly_loss": lambda: sd.source(seeds.poly_loss),
    "reverse_poly_in_loop": lambda: sd.source(seeds.poly_in_loop),
    "reverse_loop": lambda: sd.source(seeds.loop, wrt=("y", "a")),
    "reverse_const_arg": lambda: sd.source(seeds.const_arg),
    "forward_batched": lambda: sd.jacobian(seeds.batched, mode="forward").source,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    got = CASES[name]()
    path = HERE / (name + ".txt")
    if os.environ.get("SOURCEDIFF_REGOLD"):
        path.write_text(got)
    assert got == path.read_text()


def test_lowered_walkthrough_is_the_seed_form():
    assert sd.lower(seeds.walkthrough).splitlines()[1:5] == [
        "    t0 = x + a", "    t1 = x + b", "    t2 = t0 * t1", "    return t2"]


def test_zero_derivatives_have_no_line():
    src = sd.source(seeds.const_arg)  # n only feeds float(n): no adjoint, no tangent
    assert "dn" not in src and "dt1" not in src.split("def const_arg_grad_generic")[0]
    fast = sd.source(seeds.walkthrough, wrt=("a", "b"), mode="forward").split("\n\n\n")[0]
    assert "dt0_db" not in fast and "dt1_da" not in fast and "dx" not in fast


def test_optimize_false_keeps_the_unfolded_steps():
    src = sd.source(seeds.wiki, wrt=("x1", "x2"), optimize=False)
    assert "dy = 1.0" in src and "dt0 = dy" in src
    assert "dy = 1.0" not in sd.source(seeds.wiki, wrt=("x1", "x2"))


def test_golden_sources_compute_the_hand_derivatives():
    g = sd.grad(seeds.walkthrough, wrt=("a", "b"))
    assert g(1.5, 2.0, -3.0) == (1.5 - 3.0, 1.5 + 2.0)
    gf = sd.grad(seeds.walkthrough, wrt=("a", "b"), mode="forward")
    assert gf(1.5, 2.0, -3.0) == (1.5 - 3.0, 1.5 + 2.0)
