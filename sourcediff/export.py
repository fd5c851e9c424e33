"""Export: a derivative written as a standalone module that imports nothing from sourcediff.

``export(f, path, ...)`` generates the derivative as ``sd.grad`` would, then writes one file:

* a header naming the source function, its file and line, the hash of its source, sourcediff's
  version and the options;
* the imports the code needs (``numpy as np``, ``math``) and the user's module globals the
  derivative reads, imported from the user's module by name (so they stay live, as in ``sd.grad``);
* the runtime helpers the derivative calls, copied from sourcediff's own source with everything they
  call in turn (only those), as readable functions;
* the generated derivative functions themselves.

Closure variables of the differentiated functions are written as literals where ``repr`` gives
one back; anything else is refused (export needs names a fresh process can import).
"""
import ast
import builtins
import hashlib
import importlib
import inspect
import sys
import textwrap
import types
from typing import Any, Callable

from . import build
from .errors import SourcediffError
from .version import VERSION

_OWN = "sourcediff"


def _own(obj):
    """Whether ``obj`` (a function or class) is defined in sourcediff's own code."""
    return (getattr(obj, "__module__", None) or "").split(".")[0] == _OWN


def _top_level(module):
    """(source lines, {name: top-level statement binding it}) of ``module``."""
    text = inspect.getsource(module)
    out = {}
    for st in ast.parse(text).body:
        if isinstance(st, (ast.FunctionDef, ast.ClassDef)):
            out[st.name] = st
        elif isinstance(st, (ast.Assign, ast.AnnAssign)):
            for t in (st.targets if isinstance(st, ast.Assign) else [st.target]):
                out.update((n.id, st) for n in ast.walk(t) if isinstance(n, ast.Name))
    return text.splitlines(), out


def _loads(node):
    """Names a statement reads (over-approximated: a local that shadows a global brings the global along)."""
    return sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)})


class _Collector:
    """Collects, in dependency order, the definitions that a set of names needs, as their source text."""

    def __init__(self):
        self.imports, self.chunks, self.done, self._trees = set(), [], {}, {}

    def need(self, name, namespace):
        """Make ``name`` (as looked up in ``namespace``, a module dict) defined in the exported module."""
        if name not in namespace:
            if hasattr(builtins, name):
                return
            raise SourcediffError("export: cannot find `%s`" % name)
        obj = namespace[name]
        if self.done.get(name, obj) is not obj:
            raise SourcediffError("export: two different objects are both called `%s`" % name)
        if name in self.done:
            return
        self.done[name] = obj
        if isinstance(obj, types.ModuleType):
            self.imports.add("import %s" % obj.__name__ if obj.__name__ == name else
                             "import %s as %s" % (obj.__name__, name))
        elif (inspect.isfunction(obj) or inspect.isclass(obj)) and _own(obj):
            self._copy(obj.__module__, obj.__name__)
            if obj.__name__ != name:
                self.chunks.append("%s = %s" % (name, obj.__name__))
        elif not self._statement(name, obj):
            home = sys.modules.get(getattr(obj, "__module__", None) or "")
            if getattr(home, getattr(obj, "__name__", ""), None) is not obj:
                raise SourcediffError("export: the derivative calls `%s` (%r), which no module names" % (name, obj),
                                      hint="define it (and any rule registered for it) at a module's top level")
            self.imports.add("from %s import %s" % (obj.__module__, obj.__name__) +
                             ("" if obj.__name__ == name else " as %s" % name))

    def _tree(self, module_name):
        if module_name not in self._trees:
            self._trees[module_name] = _top_level(sys.modules[module_name])
        return self._trees[module_name]

    def _statement(self, name, obj):
        """Copy the top-level statement of sourcediff's that binds ``obj`` as ``name``; False if none does."""
        for modname in sorted(m for m in sys.modules if m.split(".")[0] == _OWN):
            if getattr(sys.modules[modname], name, None) is obj and name in self._tree(modname)[1]:
                self._copy(modname, name)
                return True
        return False

    def _copy(self, modname, name):
        """Copy the text of ``modname``'s statement that binds ``name``, after what it needs. Rule
        registrations (decorators from sourcediff) are left out; a local ``from .x import y`` becomes
        a copy of ``y``."""
        lines, tree = self._tree(modname)
        node, namespace = tree[name], vars(sys.modules[modname])
        skip, dropped = set(), set()
        for d in getattr(node, "decorator_list", []):
            root = d.func if isinstance(d, ast.Call) else d
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and _own(namespace.get(root.id)):
                skip.update(range(d.lineno, d.end_lineno + 1))
                dropped.update(_loads(d))
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and sub.level:
                target = importlib.import_module("." * sub.level + (sub.module or ""), modname.rpartition(".")[0])
                for alias in sub.names:
                    self.need(alias.name, vars(target))
                skip.update(range(sub.lineno, sub.end_lineno + 1))
        body = [sub for sub in ast.iter_child_nodes(node) if sub not in getattr(node, "decorator_list", [])]
        for n in sorted(set().union(*map(_loads, body)) if body else ()):
            if n != name and n in namespace:
                self.need(n, namespace)
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        self.chunks.append("\n".join(lines[k - 1] for k in range(first, node.end_lineno + 1) if k not in skip))


def _literal(value):
    """Source text of ``value`` where ``repr`` gives it back exactly, else None."""
    text = repr(value)
    try:
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return text if type(back) is type(value) and back == value else None


def _user_module(fn):
    """The name to import ``fn``'s module globals from."""
    name = fn.__module__ or ""
    if name == "__main__" or name.startswith("_sourcediff_cli_") or name not in sys.modules:
        path = getattr(sys.modules.get(name), "__file__", None) or fn.__code__.co_filename
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if not stem.isidentifier():
            raise SourcediffError("export: %s's module cannot be imported by name (%s)" % (fn.__name__, path))
        return stem
    return name


def _header(fn, wrt, mode, optimize, main):
    code = fn.__code__
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        text = ""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return ('"""%s: the derivative of %s, written by sourcediff %s.\n\n'
            "Source: %s:%d (sha256 %s)\n"
            "Options: wrt=%r, mode=%r, optimize=%r\n"
            "This module imports nothing from sourcediff; regenerate it when the source changes.\n"
            '"""' % (main, fn.__qualname__, VERSION, code.co_filename, code.co_firstlineno, digest, wrt, mode,
                     optimize))


def module_source(f, wrt=None, mode="reverse", optimize=True):
    """(text, main function name) of the standalone module ``export`` writes."""
    from . import api
    fn = f.fn if isinstance(f, api.CHECKPOINT) else f
    idx, many = api._wrt(fn, wrt)
    src, main, bindings = build.source(fn, idx, "grad", api._mode(mode), optimize, many)[:3]
    col = _Collector()
    cells = build.closure_cells(build.related(fn))
    free = []
    for name in sorted(bindings):
        obj = bindings[name]
        if name in cells and cells[name] is obj and not isinstance(obj, types.ModuleType):
            text = _literal(obj)
            if text is None:
                raise SourcediffError("export: %s reads the closure variable `%s` (%s), which has no literal form"
                                      % (fn.__name__, name, type(obj).__name__),
                                      hint="make it a module-level name or pass it as an argument")
            free.append("%s = %s" % (name, text))
        else:
            col.need(name, {name: obj})
    defined = set(col.done) | {l.split(" = ")[0] for l in free}
    tree = ast.parse(src)
    local = {n.name for n in tree.body}
    user = sorted({n for n in _loads(tree) if n not in defined and n not in local and not hasattr(builtins, n)
                   and n in fn.__globals__ and not _assigned_in(tree, n)})
    lines = [_header(fn, wrt, mode, optimize, main), ""]
    lines += sorted(col.imports)
    if user:
        lines.append("from %s import %s" % (_user_module(fn), ", ".join(user)))
    lines += ["", ""] + free + ([""] if free else [])
    lines += ["\n\n\n".join(col.chunks), "", "", src.rstrip()]
    if mode == "forward":
        lines += ["", "", _forward_guard(main, fn, idx)]
    lines += ["", "", "__all__ = [%r]" % main, ""]
    return "\n".join(lines), main


def _assigned_in(tree, name):
    return any(isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load) for n in ast.walk(tree)) \
        or any(isinstance(n, ast.arg) and n.arg == name for n in ast.walk(tree))


def _forward_guard(main, fn, idx):
    """Forward mode exports the float derivative: array arguments get a clear error, not a wrong number."""
    params = list(inspect.signature(fn).parameters)
    names = [params[i] for i in idx]
    return textwrap.dedent("""\
        _%(m)s = %(m)s


        def %(m)s(*args, **kwargs):
            \"\"\"Forward mode, exported for number arguments; export mode='reverse' for arrays.\"\"\"
            import inspect as _inspect
            _sig = _inspect.signature(_%(m)s).bind(*args, **kwargs)
            for _name in %(names)r:
                _v = _sig.arguments.get(_name)
                if isinstance(_v, (list, tuple, dict)) or getattr(_v, "ndim", 0):
                    raise TypeError("this exported forward-mode derivative takes numbers for %%s; "
                                    "export with mode='reverse' for arrays and containers" %% _name)
            return _%(m)s(*args, **kwargs)""") % {"m": main, "names": names}


def export(f: Callable, path: str, wrt: Any = None, mode: str = "reverse", optimize: bool = True) -> str:
    """Write the derivative of ``f`` (as ``sd.grad(f, wrt, mode)`` computes it) to ``path`` as a standalone
    module that imports nothing from sourcediff; return ``path``."""
    text, _ = module_source(f, wrt, mode, optimize)
    with open(path, "w") as fh:
        fh.write(text)
    return path
