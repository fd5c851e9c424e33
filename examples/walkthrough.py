"""Walkthrough: what sourcediff does to two tiny functions.

Part 1 differentiates f(x, a, b) = (x + a) * (x + b) with respect to the
parameters a and b.  By the product rule

    df = (x + b) da + (x + a) db,

so df/da = x + b and df/db = x + a.  We show the three steps sourcediff
splits f into, the forward-mode derivative (tangents pushed along with each
step) and the reverse-mode derivative (adjoints pulled back through the steps
in the opposite order), then check both against the formulas above.

Part 2 repeats the exercise for g(x1, x2) = x1 * x2 + sin(x1), whose partial
derivatives are dg/dx1 = x2 + cos(x1) and dg/dx2 = x1.

Each generated derivative comes in two halves: a fast path taken when every
argument is a Python float, and a ``*_generic`` version for NumPy arrays
(where ``unbroadcast`` sums an adjoint back down to its argument's shape).

Part 3 exports g's derivative as a standalone module (``sd.export``): a file
that imports nothing from sourcediff, with the helpers it calls copied in.
It is imported back from that file and checked against the same formulas.

Run it with ``make demo`` or ``python examples/walkthrough.py``.
"""
import importlib.util
import inspect
import math
import os
import tempfile

import sourcediff as sd


def f(x, a, b):
    return (x + a) * (x + b)


def g(x1, x2):
    return x1 * x2 + math.sin(x1)


def banner(title):
    print()
    print("=" * 72)
    print(title)
    print("=" * 72)


def show(title, text):
    print()
    print("--- " + title + " ---")
    print(text.rstrip())


def compare(names, computed, expected):
    """Print each derivative next to its hand-derived value; assert they agree."""
    print()
    print("%-10s %22s %22s" % ("", "sourcediff", "by hand"))
    for name, got, want in zip(names, computed, expected):
        print("%-10s %22.15g %22.15g" % (name, got, want))
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (name, got, want)


def part_one():
    banner("Part 1: f(x, a, b) = (x + a) * (x + b), derivatives wrt a and b")
    show("the function", inspect.getsource(f))
    show("sd.lower(f): one primitive operation per step", sd.lower(f))
    show('forward mode: sd.source(f, wrt=("a", "b"), mode="forward")',
         sd.source(f, wrt=("a", "b"), mode="forward"))
    show('reverse mode: sd.source(f, wrt=("a", "b"))', sd.source(f, wrt=("a", "b")))
    show('reverse mode before simplification: sd.source(f, wrt=("a", "b"), optimize=False)',
         sd.source(f, wrt=("a", "b"), optimize=False))

    x, a, b = 1.5, 2.0, -0.75
    print()
    print("at x = %g, a = %g, b = %g:" % (x, a, b))
    hand = (x + b, x + a)  # df/da = x + b, df/db = x + a
    for mode in ("forward", "reverse"):
        df = sd.grad(f, wrt=("a", "b"), mode=mode)
        print()
        print(mode + " mode")
        compare(["df/da", "df/db"], df(x, a, b), hand)


def part_two():
    banner("Part 2: g(x1, x2) = x1 * x2 + sin(x1), derivatives wrt x1 and x2")
    show("the function", inspect.getsource(g))
    show("sd.lower(g)", sd.lower(g))
    show('forward mode: sd.source(g, wrt=("x1", "x2"), mode="forward")',
         sd.source(g, wrt=("x1", "x2"), mode="forward"))
    show('reverse mode: sd.source(g, wrt=("x1", "x2"))', sd.source(g, wrt=("x1", "x2")))

    x1, x2 = 0.5, 2.0
    print()
    print("at x1 = %g, x2 = %g:" % (x1, x2))
    hand = (x2 + math.cos(x1), x1)
    for mode in ("forward", "reverse"):
        dg = sd.grad(g, wrt=("x1", "x2"), mode=mode)
        print()
        print(mode + " mode")
        compare(["dg/dx1", "dg/dx2"], dg(x1, x2), hand)


def part_three():
    banner("Part 3: sd.export(g, path, wrt=(\"x1\", \"x2\")): a module that runs without sourcediff")
    with tempfile.TemporaryDirectory() as tmp:
        path = sd.export(g, os.path.join(tmp, "g_grad.py"), wrt=("x1", "x2"))
        with open(path) as fh:
            text = fh.read()
        imports = [l for l in text.splitlines() if l.startswith(("import ", "from "))]
        show("its imports (the helpers it calls are copied in, %d lines in all)" % len(text.splitlines()),
             "\n".join(imports))
        spec = importlib.util.spec_from_file_location("g_grad", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    x1, x2 = 0.5, 2.0
    print()
    print("the exported g_grad at x1 = %g, x2 = %g:" % (x1, x2))
    compare(["dg/dx1", "dg/dx2"], module.g_grad(x1, x2), (x2 + math.cos(x1), x1))


def main():
    part_one()
    part_two()
    part_three()
    print()
    print("All derivatives match the hand derivations.")


if __name__ == "__main__":
    main()
