"""The package's architecture: its import graph has no cycle (module-level and function-level imports alike),
no module is over 700 lines and no class over 250.

An edge ``a -> b`` is any ``import``/``from ... import`` statement in ``a`` (anywhere in the file) that
names ``b``; ``from pkg import name`` names the submodule ``pkg.name`` when there is one, else ``pkg``.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "sourcediff"


def modules(root=ROOT):
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def imports(name, path, mods):
    """The package modules that module ``name`` (file ``path``) imports."""
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                up = pkg.split(".")[:len(pkg.split(".")) - n.level + 1]
                base = ".".join(up + ([base] if base else []))
            subs = {base + "." + a.name for a in n.names}
            out |= {s for s in subs if s in mods}
            if not subs <= set(mods):
                out.add(base)
    return {m for m in out if m in mods and m != name}


def graph(mods):
    return {m: imports(m, f, mods) for m, f in mods.items()}


def cycles(edges):
    """The strongly connected components of more than one module, and the modules importing themselves."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_function_level_imports(tmp_path):
    pkg = tmp_path / "p"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("def g():\n    from ..a import x\n")
    mods = modules(pkg)
    edges = graph(mods)
    assert edges["p.a"] == {"p.b"} and edges["p.b"] == {"p.sub.c"} and edges["p.sub.c"] == {"p.a"}
    assert cycles(edges) == [["p.a", "p.b", "p.sub.c"]]


def test_no_import_cycle_in_the_package():
    found = cycles(graph(modules()))
    assert not found, "import cycles: %s" % found


@pytest.mark.parametrize("lower,upper", [("context", "pipeline"), ("runtime", "lower"), ("display", "api")])
def test_layers_import_downwards(lower, upper):
    mods = modules()
    edges = graph(mods)
    seen, todo = set(), ["sourcediff." + lower]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += edges[m]
    assert "sourcediff." + upper not in seen


MAX_MODULE_LINES, MAX_CLASS_LINES = 700, 250


def test_no_module_is_over_700_lines():
    long = {m: n for m, f in modules().items() if (n := len(f.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, "modules over %d lines: %s" % (MAX_MODULE_LINES, long)


def test_no_class_is_over_250_lines():
    long = {"%s.%s" % (m, c.name): c.end_lineno - c.lineno + 1 for m, f in modules().items()
            for c in ast.walk(ast.parse(f.read_text())) if isinstance(c, ast.ClassDef)
            and c.end_lineno - c.lineno + 1 > MAX_CLASS_LINES}
    assert not long, "classes over %d lines: %s" % (MAX_CLASS_LINES, long)
