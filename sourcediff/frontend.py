"""Front end: a Python function -> its gast ``FunctionDef`` plus name resolution.

Takes a function object; gives a ``Func`` holding the parsed definition (decorators
stripped, lambdas turned into ``def``), where its lines are in the file, and a
``resolve(name)`` that finds what a free name means (closure cell, module global,
builtin). Generated derivative code is registered in ``linecache``, so this works
on it too (that is how ``sd.hessian`` differentiates the reverse code).

    >>> Func(lambda x: x * 2).node          # doctest: +SKIP
    def lambda_(x):
        return x * 2
"""
import ast
import builtins
import contextlib
import inspect
import linecache
import sys
import textwrap

import gast

from .errors import SourcediffError

_MISSING = object()


def source_lines(code):
    """(lines, first line) of a function's definition, read from its file through ``linecache``.

    Like ``inspect.getsourcelines(code)`` (never the function: its ``__wrapped__`` would lead
    back to the user function) without ``inspect``'s search of every loaded module.
    """
    lines = linecache.getlines(code.co_filename)
    start = code.co_firstlineno
    if not lines or start > len(lines):
        lines, start = inspect.getsourcelines(code)
        return lines, start
    return _block(lines[start - 1:]), start


_PARSED = {}  # dedented source -> the tree _block parsed to find its end (parse_def takes it from here)


def parse_def(src):
    """``gast.parse(src)``, without parsing again a block that ``_block`` just read; a tree nested
    deeper than ``DEEPEST`` raises ``TooDeep``."""
    tree = _PARSED.pop(src, None)
    if len(_PARSED) > 64:
        _PARSED.clear()  # blocks read but never parsed (a test calling source_lines directly)
    tree = tree if tree is not None else ast.parse(src)
    deepest = _deepest(tree)
    if deepest is not None:
        raise TooDeep(deepest)
    with deep_recursion():
        return gast.ast_to_gast(tree)


DEEPEST = 1000  # the nesting depth an expression may have: every pass walks trees recursively
_FRAMES = 8 * DEEPEST + 2000  # the recursion limit while transforming: gast takes about 4 frames a level


class TooDeep(Exception):
    """A tree nested deeper than ``DEEPEST``; ``node`` is where."""

    def __init__(self, node):
        super().__init__(node)
        self.node = node


def _deepest(tree):
    """The first node nested more than ``DEEPEST`` deep, or None (iterative: any depth)."""
    todo = [(tree, 0)]
    while todo:
        node, d = todo.pop()
        if d > DEEPEST and hasattr(node, "lineno"):  # an expression, not an operator or context
            return node
        todo.extend((c, d + 1) for c in ast.iter_child_nodes(node))
    return None


@contextlib.contextmanager
def deep_recursion():
    """Python's recursion limit raised to what the passes need for ``DEEPEST`` levels (a thousand-term
    sum from a code generator nests a thousand deep), and put back after."""
    old = sys.getrecursionlimit()
    if old < _FRAMES:
        sys.setrecursionlimit(_FRAMES)
    try:
        yield
    finally:
        if old < _FRAMES:
            sys.setrecursionlimit(old)


def _block(lines):
    """The lines of the ``def`` (decorators included) that starts ``lines``: up to the first
    later statement indented no deeper, once that much parses. ``inspect.getblock`` when that
    fails (a lambda, a body line dedented inside a string): it tokenizes, several times slower."""
    first = lines[0].lstrip()
    if first.startswith(("def ", "async def ", "@")):
        indent = len(lines[0]) - len(first)
        head = next((i for i, l in enumerate(lines) if l[indent:indent + 4] == "def " or l[indent:indent + 10] == "async def "), 0)
        for i in range(head + 1, len(lines) + 1):  # a block cannot end among its decorators
            if i < len(lines):
                text = lines[i].lstrip()
                if not text or text[0] == "#" or len(lines[i]) - len(text) > indent:
                    continue
            end = i
            while not lines[end - 1].strip() or lines[end - 1].lstrip()[0] == "#":
                end -= 1
            src = textwrap.dedent("".join(lines[:end]))
            try:
                _PARSED[src] = ast.parse(src)
            except SyntaxError:
                continue
            return lines[:end]
    return inspect.getblock(lines)


def _same_code(lam, code, first, indent):
    """Is ``code`` the code of this ``lambda`` node? Python 3.11+ records each instruction's
    source span: they all lie inside the node. Before 3.11: same names and constants."""
    spans = [p for p in getattr(code, "co_positions", lambda: ())()
             if None not in p and (p[0], p[2]) != (p[1], p[3])]  # RESUME and friends have no width
    if spans:
        start = (first + lam.lineno - 1, lam.col_offset + indent)
        end = (first + lam.end_lineno - 1, lam.end_col_offset + indent)
        return all(start <= (p[0], p[2]) and (p[1], p[3]) <= end for p in spans)
    names = {n.id for n in gast.walk(lam.body) if isinstance(n, gast.Name)} | \
        {n.attr for n in gast.walk(lam.body) if isinstance(n, gast.Attribute)}
    return [a.id for a in lam.args.args] == list(code.co_varnames[:code.co_argcount]) and set(code.co_names) <= names


def _with_params(args, names):
    """``args`` (a gast ``arguments``) with ``names`` appended as plain parameters."""
    extra = [gast.Name(id=n, ctx=gast.Param(), annotation=None, type_comment=None) for n in names]
    return gast.arguments(args=list(args.args) + extra, posonlyargs=args.posonlyargs, vararg=None, kwonlyargs=[],
                          kw_defaults=[], kwarg=None, defaults=[])


class Func:
    """A user function with its parsed source and where each line came from."""

    def __init__(self, fn):
        fn = getattr(fn, "sd_generated", fn)  # a forward-mode grad: its generated function
        self.bound = {}  # names bound to values at transformation time (a method's self, local defs)
        if inspect.ismethod(fn):  # obj.method: `self` is a constant, the rest are the parameters
            self.bound[fn.__func__.__code__.co_varnames[0]] = fn.__self__
            fn = fn.__func__
        self.fn = fn
        self.code = getattr(fn, "__code__", None)
        if self.code is None:
            raise SourcediffError("%r is not a Python function with source" % (fn,),
                                  hint="pass a plain `def` function or a lambda")
        self.filename = self.code.co_filename
        self.name = fn.__name__ if fn.__name__ != "<lambda>" else "lambda_"
        try:
            lines, start = source_lines(self.code)
        except (OSError, TypeError, IndexError):
            raise SourcediffError("cannot find the source of %s" % fn.__qualname__, self.filename,
                                  self.code.co_firstlineno, hint="define it in a file (not an interactive prompt or exec)")
        self.first = max(start, 1)
        raw = "".join(lines)
        src = textwrap.dedent(raw)
        self.indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
        try:
            tree = parse_def(src)
        except TooDeep as e:
            raise self.error("this expression is nested more than %d deep, more than sourcediff's passes can walk"
                             % DEEPEST, e.node, hint="split it into statements (assign parts to local variables)")
        except SyntaxError:  # a lambda in the middle of an expression that spans lines
            tree = gast.parse("(" + src.strip().rstrip(",") + ")") if fn.__name__ == "<lambda>" else None
            if tree is None:
                raise
        self.node = self._find(tree)
        self.node.decorator_list = []
        if getattr(fn, "sd_free", ()):  # a lifted nested def: the enclosing variables it reads are parameters
            self.node.args = _with_params(self.node.args, fn.sd_free)
        if self.bound:
            self.node.args.args = self.node.args.args[1:]
        self.source = src

    def _find(self, tree):
        if self.fn.__name__ == "<lambda>":
            lams = [n for n in gast.walk(tree) if isinstance(n, gast.Lambda)]
            if len(lams) > 1:  # several on one line: the one whose bytecode is this function's
                lams = [n for n in lams if _same_code(n, self.code, self.first, self.indent)][:1] or lams
            if len(lams) != 1:
                raise self.error("cannot tell which lambda on this line to differentiate", lams[0] if lams else tree,
                                 hint="give the lambda its own line, or use a `def`")
            lam = lams[0]
            ret = gast.Return(value=lam.body)
            gast.copy_location(ret, lam.body)
            fdef = gast.FunctionDef(name="lambda_", args=lam.args, body=[ret], decorator_list=[],
                                    returns=None, type_comment=None, type_params=[])
            return gast.copy_location(fdef, lam)
        for n in gast.walk(tree):
            if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef)) and n.name == self.fn.__name__:
                if isinstance(n, gast.AsyncFunctionDef):
                    raise self.error("async functions cannot be differentiated", n, hint="write a plain `def`")
                return n
        raise SourcediffError("cannot find the definition of %s in its source" % self.fn.__qualname__, self.filename, self.first)

    # -- locations -----------------------------------------------------------------
    def where(self, node):
        """(filename, file line, column, source line) of a node of this function."""
        ln = getattr(node, "lineno", None) or 1
        fl = self.first + ln - 1
        col = (getattr(node, "col_offset", 0) or 0) + self.indent
        return self.filename, fl, col, linecache.getline(self.filename, fl).rstrip("\n") or None

    def error(self, message, node, hint=None):
        f, ln, col, line = self.where(node)
        return SourcediffError(message, f, ln, col, line, hint)

    def line_of(self, node):
        """The stripped source line of a node, for `# grad of:` comments."""
        return (self.where(node)[3] or "").strip()

    # -- names -----------------------------------------------------------------------
    def resolve(self, name, default=_MISSING):
        """The object a free name refers to: closure cell, module global or builtin."""
        code, fn = self.code, self.fn
        if name in self.bound:
            return self.bound[name]
        if name in code.co_freevars and fn.__closure__:
            try:
                return fn.__closure__[code.co_freevars.index(name)].cell_contents
            except ValueError:
                pass
        g = fn.__globals__
        if name in g:
            return g[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        if default is not _MISSING:
            return default
        raise KeyError(name)

    def closure_names(self):
        """Values generated code must see under the user's names: closure cells, ``self``, local defs."""
        out = dict(zip(self.code.co_freevars, [c.cell_contents for c in (self.fn.__closure__ or ())]))
        out.update(self.bound)
        return out

    def bind_value(self, base, value):
        """A fresh name under which generated code sees ``value``."""
        name, k = base, 1
        while name in self.bound and self.bound[name] is not value or \
                name not in self.bound and (name in self.code.co_names or name in self.code.co_varnames):
            name, k = "%s_%d" % (base, k), k + 1
        self.bound[name] = value
        return name

    def local_function(self, node):
        """A function object for a ``def`` nested in this function (its source stays in the user's file).
        The enclosing variables it reads (``node.sd_free``, see fence.py) are extra parameters."""
        import ast
        import types
        free = tuple(getattr(node, "sd_free", ()))
        if free:
            node = gast.copy_location(gast.FunctionDef(name=node.name, args=_with_params(node.args, free), body=node.body,
                                                       decorator_list=[], returns=None, type_comment=None,
                                                       type_params=[]), node)
        tree = ast.fix_missing_locations(gast.gast_to_ast(gast.Module(body=[node], type_ignores=[])))
        ast.increment_lineno(tree, self.first - 1)
        code = compile(tree, self.filename, "exec")
        fcode = next(c for c in code.co_consts if isinstance(c, types.CodeType))
        fn = types.FunctionType(fcode, self.fn.__globals__, node.name)
        fn.__qualname__ = "%s.<locals>.%s" % (self.fn.__qualname__, node.name)
        fn.sd_free = free
        self.bound[node.name] = fn
        return fn
