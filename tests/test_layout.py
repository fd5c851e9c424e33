"""The rule tables and the runtime stay split by topic, and every helper stays reachable by its name.

Generated code binds runtime helpers by name from ``sourcediff.runtime`` (``Gen.bind_rt``, the disk cache's
manifest), so a helper moved into a module of its own must still be a name of ``runtime``.
"""
import pathlib

import sourcediff
from sourcediff import runtime, runtime_batched

ROOT = pathlib.Path(sourcediff.__file__).parent


def test_batched_helpers_are_runtime_names():
    moved = [n for n, v in vars(runtime_batched).items() if callable(v) and getattr(v, "__module__", "") ==
             runtime_batched.__name__]
    assert len(moved) >= 10
    missing = [n for n in moved if getattr(runtime, n, None) is not getattr(runtime_batched, n)
               and not n.startswith(("_bslice", "_moves_front"))]
    assert not missing, missing


def test_rule_and_runtime_modules_are_small():
    big = {p.name: n for p in sorted(ROOT.glob("rules/*.py")) + sorted(ROOT.glob("runtime*.py"))
           if (n := len(p.read_text().splitlines())) > 700}
    assert not big, "modules over 700 lines: %s" % big
