"""The rule tables and the runtime stay split by topic, and every helper stays reachable by its name.

Generated code binds runtime helpers by name from ``sourcediff.runtime`` (``Gen.bind_rt``, the disk cache's
manifest), so a helper moved into a module of its own must still be a name of ``runtime``.
"""
import pathlib

import sourcediff
from sourcediff import runtime_batched

ROOT = pathlib.Path(sourcediff.__file__).parent


def test_batched_helpers_are_bound_by_name():
    """Generated code binds every helper by its name from ``rules.helper_modules()`` (``Gen.bind_rt``, the
    disk cache's manifest), so the batched ones in their own module are found as the others are."""
    from sourcediff.context import Gen
    from sourcediff.pipeline import new_gen
    from sourcediff.rules import helper_modules
    moved = [n for n, v in vars(runtime_batched).items() if callable(v) and getattr(v, "__module__", "") ==
             runtime_batched.__name__ and not n.startswith("_")]
    assert len(moved) >= 8 and runtime_batched in helper_modules()
    gen = new_gen()
    assert isinstance(gen, Gen)
    for n in moved:
        gen.bind_rt(n)
        assert gen.bindings[n] is getattr(runtime_batched, n)


def test_rule_and_runtime_modules_are_small():
    big = {p.name: n for p in sorted(ROOT.glob("rules/*.py")) + sorted(ROOT.glob("runtime*.py"))
           if (n := len(p.read_text().splitlines())) > 700}
    assert not big, "modules over 700 lines: %s" % big
