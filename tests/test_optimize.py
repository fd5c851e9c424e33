"""optimize: _count says exactly when _Fold would change a function, and _replace swaps
reads (never stores) for fresh nodes, as the NodeTransformer it replaced did."""
import gast
import pytest

from sourcediff import optimize
from sourcediff.codegen import to_source


def _fn(body):
    return gast.parse("def f(a, x):\n" + body).body[0]


@pytest.mark.parametrize("body", [
    "    d = a * 1.0\n    return d\n", "    d = 1 * a\n    return d\n", "    d = a + 0\n    return d\n",
    "    d = 0 - a\n    return d\n", "    d = -1 * a\n    return d\n", "    d = 2 * 3\n    return d\n",
    "    d = -(-a)\n    return d\n", "    d = -2\n    return d\n", "    d = a * (x + 0.0)\n    return d\n",
    "    d = a * 2 + x\n    return d\n", "    d = a - x\n    return d\n", "    d = 10 ** 100\n    return d\n",
    "    d = a / 1 - 1 / 0\n    return d\n", "    d = -a\n    return d\n",
])
def test_count_says_exactly_whether_fold_changes_something(body):
    before = gast.dump(_fn(body))
    fn = _fn(body)
    claimed = bool(optimize._count(fn)[3])  # the statements to fold: none when nothing folds
    assert gast.dump(fn) == before  # asking changes nothing
    assert claimed == (gast.dump(optimize._Fold().visit(fn)) != before)


def test_replace_swaps_reads_for_fresh_nodes():
    fn = _fn("    y = a + a * x\n    a = y\n    return a\n")
    env = {"a": gast.Constant(value=2.0, kind=None),
           "x": gast.Name(id="w", ctx=gast.Load(), annotation=None, type_comment=None)}
    optimize._replace(fn, env)
    assert to_source(fn) == "def f(a, x):\n    y = 2.0 + 2.0 * w\n    a = y\n    return 2.0\n"
    consts = [n for n in gast.walk(fn) if type(n) is gast.Constant]
    assert len({id(c) for c in consts}) == 3 and all(c is not env["a"] for c in consts)
