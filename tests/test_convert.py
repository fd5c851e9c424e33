"""``convert.to_gast``/``to_ast`` give the trees gast's own converters give, field for field (issue 16, item 5:
they are the front end's and the printer's conversions, at a fraction of gast's cost)."""
import ast
import pathlib

import gast
import pytest

from sourcediff import convert

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted(ROOT.glob("sourcediff/**/*.py")) + sorted(ROOT.glob("tests/test_p*.py"))
EXTRA = '''
async def f(a, /, b: int = 1, *c, d, e=2, **g) -> "x":  # type: ignore
    try:
        x: int = yield from b
    except (ValueError, KeyError) as err:
        raise err from None
    except Exception:
        pass
    async with a as (b, c):
        async for i in b:
            del c[1:2, ::3]
    return [lambda *, k=1: k async for k in b if k] or {**g} or f"{a!r:>{b}}" or ...
class C(B, metaclass=M):
    global q
    @dec
    def m(self): nonlocal z; return (yield)
'''


def dump(n):
    """Every field and attribute of a tree, classes by module and name (``ast.dump`` does not show the class's
    module, nor a field that is not set)."""
    if isinstance(n, list):
        return [dump(x) for x in n]
    if not isinstance(n, ast.AST):
        return repr(n)
    return type(n).__module__, type(n).__name__, sorted((k, dump(v)) for k, v in vars(n).items())


@pytest.mark.parametrize("path", SOURCES[:40] + [None], ids=lambda p: p.name if p else "syntax")
def test_same_trees_as_gast(path):
    tree = ast.parse(path.read_text() if path else EXTRA)
    g = gast.ast_to_gast(tree)
    assert dump(convert.to_gast(tree)) == dump(g)
    assert dump(convert.to_ast(g)) == dump(gast.gast_to_ast(g))


def test_a_generated_tree_without_locations():
    node = gast.Assign(targets=[gast.Name(id="y", ctx=gast.Store(), annotation=None, type_comment=None)],
                       value=gast.Constant(value=1.0, kind=None), type_comment=None)
    assert dump(convert.to_ast(node)) == dump(gast.gast_to_ast(node))
