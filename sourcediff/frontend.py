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
import dis
import inspect
import linecache
import os
import sys
import textwrap
import types

import gast

from .annotations import getanno
from .convert import to_gast
from .errors import SourcediffError
from .names import clone, ids, load

_MISSING = object()
_HERE = os.path.dirname(os.path.abspath(__file__))
_VIEWS = {}  # id(module globals) -> (the globals, their view)


class GlobalsView:
    """A module's globals read as attributes, when they are read (not when the view was made). It has
    no attributes of its own but one dunder, so no global is hidden behind one."""

    def __init__(self, d):
        object.__setattr__(self, "__sd_globals__", d)

    def __getattr__(self, name):
        try:
            return viewed(self)[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self):
        return "<globals of %s>" % viewed(self).get("__name__")


def viewed(view):
    """The globals dict behind a ``GlobalsView``."""
    return object.__getattribute__(view, "__sd_globals__")


def globals_view(d):
    """The one view of globals dict ``d`` (one per module, so every function of it binds the same object)."""
    got = _VIEWS.get(id(d))
    if got is None or got[0] is not d:
        got = _VIEWS[id(d)] = (d, GlobalsView(d))
    return got[1]


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


def parse_def(src, keep=None):
    """``gast.parse(src)``, without parsing again a block that ``_block`` just read; the ``ast`` tree
    is appended to the list ``keep`` when given; a tree nested deeper than ``DEEPEST`` raises ``TooDeep``."""
    tree = _PARSED.pop(src, None)
    if len(_PARSED) > 64:
        _PARSED.clear()  # blocks read but never parsed (a test calling source_lines directly)
    tree = tree if tree is not None else ast.parse(src)
    if keep is not None:
        keep.append(tree)
    deepest = _deepest(tree)
    if deepest is not None:
        raise TooDeep(deepest)
    with deep_recursion():
        return to_gast(tree)


DEEPEST = 1000  # the nesting depth an expression may have: every pass walks trees recursively
_FRAMES = 8 * DEEPEST + 2000  # the recursion limit while transforming: gast takes about 4 frames a level


class TooDeep(Exception):
    """A tree nested deeper than ``DEEPEST``; ``node`` is where."""

    def __init__(self, node):
        super().__init__(node)
        self.node = node


def _deepest(tree):
    """The first node nested more than ``DEEPEST`` deep, or None (iterative: any depth)."""
    todo, AST = [(tree, 0)], ast.AST
    while todo:
        node, d = todo.pop()
        if d > DEEPEST and hasattr(node, "lineno"):  # an expression, not an operator or context
            return node
        d += 1
        for f in node._fields:  # ast.iter_child_nodes, without a generator per node
            v = getattr(node, f, None)
            if type(v) is list:
                todo.extend((c, d) for c in v if isinstance(c, AST))
            elif isinstance(v, AST):
                todo.append((v, d))
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


def _as_ast(node, trees):
    """The ``ast`` node, among ``trees``, that gast ``node`` (a ``def`` or ``lambda``) was made from."""
    kind = "Lambda" if isinstance(node, gast.Lambda) else "FunctionDef"
    for t in trees:
        for n in ast.walk(t):
            if type(n).__name__ == kind and (n.lineno, n.col_offset) == (node.lineno, node.col_offset):
                return n
    return gast.gast_to_ast(node)


def _block(lines):
    """The lines of the ``def`` (decorators included) that starts ``lines``: up to the first
    later statement indented no deeper, once that much parses. ``inspect.getblock`` when that
    fails (a lambda, a body line dedented inside a string): it tokenizes, several times slower."""
    first = lines[0].lstrip()
    if first.startswith(("def ", "async def ", "@")):
        indent = len(lines[0]) - len(first)
        head = next((i for i,
                     l in enumerate(lines) if l[indent:indent + 4] == "def "
                     or l[indent:indent + 10] == "async def "), 0)
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


_FUTURE = 0
for _name in __import__("__future__").all_feature_names:
    _FUTURE |= getattr(__import__("__future__"), _name).compiler_flag


def _compiles_to(node, code, qualname, module_globals=None):
    """Does the parsed ``node`` (an ``ast`` ``def`` or ``lambda``) compile to ``code``, the code that runs?
    It is compiled where the function lives: inside a class of the same name (private names are mangled
    by it, ``super()`` needs it) and a function defining its free variables; a function's qualified name,
    in the constants of the functions it defines, depends on where it lives, so that prefix is set aside."""
    if isinstance(node, ast.Lambda):
        node = ast.Expr(value=node)
    else:
        node.decorator_list = []
    body, prefix = [node], ""
    parts = qualname.split(".")
    if len(parts) > 1 and parts[-2] != "<locals>":  # defined in a class body
        body, prefix = [ast.ClassDef(name=parts[-2], bases=[], keywords=[], body=body, decorator_list=[],
                                     type_params=[])], parts[-2] + "."
    free = [n for n in code.co_freevars if n != "__class__"]
    if free:
        cells = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store()) for n in free], value=ast.Constant(value=None))]
        body = [ast.FunctionDef(name="__sd_check__", args=ast.arguments(posonlyargs=[], args=[], vararg=None,
                                kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]), body=cells + body,
                                decorator_list=[], returns=None, type_params=[])]
        prefix = "__sd_check__.<locals>." + prefix
    imports = sorted(n for n in _names(code) if isinstance((module_globals or {}).get(n), types.ModuleType))
    body = [ast.Import(names=[ast.alias(name=n, asname=None)]) for n in imports] + body  # see _ops
    tree = ast.fix_missing_locations(ast.Module(body=body, type_ignores=[]))
    try:
        compiled = compile(tree, code.co_filename, "exec", flags=code.co_flags & _FUTURE, dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return False
    todo = [compiled]
    while todo:  # breadth first: the outermost code of that name
        c = todo.pop(0)
        if c.co_name == code.co_name and c is not compiled:
            return _same(c, code, prefix, qualname[:len(qualname) - len(code.co_name)])
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return False


def _names(code):
    """The global and attribute names ``code`` and the code nested in it use."""
    out, todo = set(), [code]
    while todo:
        c = todo.pop()
        out.update(c.co_names)
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return out


def _same(a, b, pa, pb):
    """Same instructions, names and constants (recursively), qualified names read with prefix ``pb`` for ``pa``."""
    if (a.co_names, a.co_varnames, a.co_freevars, a.co_cellvars, a.co_argcount, a.co_kwonlyargcount) != \
            (b.co_names, b.co_varnames, b.co_freevars, b.co_cellvars, b.co_argcount, b.co_kwonlyargcount) \
            or len(a.co_consts) != len(b.co_consts) or a.co_code != b.co_code and _ops(a) != _ops(b):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType):
            if not isinstance(y, types.CodeType) or not _same(x, y, pa, pb):
                return False
        elif isinstance(x, str) and pa and x.startswith(pa):
            if y != pb + x[len(pa):]:
                return False
        elif type(x) is not type(y) or not (x == y or repr(x) == repr(y)):
            return False
    return True


def _ops(code):
    """The instructions of ``code`` as (operation, argument), jumps to instruction numbers. Calling a method
    of a name that the module imports compiles to another (equivalent) operation: one name for both; it
    moves jumps, which may then need an ``EXTENDED_ARG`` more or less."""
    at, ins = {}, []
    for i in dis.get_instructions(code):
        at[i.offset] = len(ins)  # a jump to an EXTENDED_ARG goes to the instruction it extends
        if i.opname != "EXTENDED_ARG":
            ins.append(i)
    jumps = set(dis.hasjrel) | set(dis.hasjabs)
    return [("LOAD_ATTR" if i.opname == "LOAD_METHOD" else i.opname,
             at.get(i.argval) if i.opcode in jumps else i.arg if i.opcode in dis.hasconst else i.argval) for i in ins]


def _with_params(args, names):
    """``args`` (a gast ``arguments``) with ``names`` appended as plain parameters."""
    extra = [gast.Name(id=n, ctx=gast.Param(), annotation=None, type_comment=None) for n in names]
    return gast.arguments(args=list(args.args) + extra, posonlyargs=args.posonlyargs, vararg=None, kwonlyargs=[],
                          kw_defaults=[], kwarg=None, defaults=[])


def flatten(args):
    """``args`` (a gast ``arguments``) with ``*args``, keyword-only parameters and ``**kwargs`` made plain
    parameters, in the signature's order (``signature.py``); their defaults ``()``, the keyword-only
    defaults and ``{}`` where every one has a default, else no defaults at all (the API passes each)."""
    if not (args.vararg or args.kwonlyargs or args.kwarg):
        return args
    extra, dflt = [], []
    if args.vararg:
        extra.append(args.vararg)
        dflt.append(gast.Tuple(elts=[], ctx=gast.Load()))
    extra += args.kwonlyargs
    dflt += args.kw_defaults
    if args.kwarg:
        extra.append(args.kwarg)
        dflt.append(gast.Dict(keys=[], values=[]))
    every = all(d is not None for d in dflt)
    return gast.arguments(args=list(args.posonlyargs) + list(args.args) + extra, posonlyargs=[], vararg=None,
                          kwonlyargs=[], kw_defaults=[], kwarg=None,
                          defaults=list(args.defaults) + dflt if every else [])


def _inner(fn):
    """The function that ``fn`` wraps when it looks like a decorator's wrapper (``functools.wraps`` set
    ``__wrapped__``, or it takes ``*args``/``**kwargs`` and holds one function in its closure), else None."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_filename.startswith(("<sourcediff ", _HERE)):  # ours: sd.grad's results set __wrapped__
        return None
    inner = getattr(fn, "__wrapped__", None)
    if inspect.isfunction(inner):
        return inner
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        cells = []
        for c in fn.__closure__ or ():
            try:
                cells.append(c.cell_contents)
            except ValueError:  # an empty cell
                pass
        funcs = [v for v in cells if inspect.isfunction(v)]
        return funcs[0] if len(funcs) == 1 else None
    return None


def _forwards_to(fn):
    """The function a wrapper ``fn`` calls with exactly its own arguments and returns the result of
    (``def w(*a, **k): return f(*a, **k)``, a docstring allowed), or None: it is the wrapper's whole body."""
    code = fn.__code__
    try:
        lines, _ = source_lines(code)
        trees = []
        tree = parse_def(textwrap.dedent("".join(lines)), trees)
    except (OSError, TypeError, IndexError, SyntaxError):
        return None
    node = next((n for n in gast.walk(tree) if isinstance(n, gast.FunctionDef) and n.name == code.co_name), None)
    if node is None \
            or not _compiles_to(_as_ast(node, trees), code, getattr(code, "co_qualname", None) or fn.__qualname__,
                                        fn.__globals__):
        return None
    body = node.body[1:] if node.body and isinstance(node.body[0], gast.Expr) and \
        isinstance(node.body[0].value, gast.Constant) and isinstance(node.body[0].value.value, str) else node.body
    a = node.args
    if len(body) != 1 or not isinstance(body[0], gast.Return) or a.defaults or a.kwonlyargs:
        return None
    call = body[0].value
    if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name)):
        return None
    names = lambda xs: [x.id if isinstance(x, gast.Name) else None for x in xs]  # noqa: E731
    star = [x.value.id for x in call.args[len(a.posonlyargs + a.args):] if isinstance(x, gast.Starred)]
    if names(call.args[:len(a.posonlyargs + a.args)]) != names(a.posonlyargs + a.args) or \
            star != ([a.vararg.id] if a.vararg else []) or len(call.args) != len(a.posonlyargs + a.args) + len(star) \
                    or \
            [(k.arg, getattr(k.value, "id", None)) for k in call.keywords] != ([(None, a.kwarg.id)] if a.kwarg else []):
        return None
    name = call.func.id
    if name in code.co_freevars:
        try:
            target = fn.__closure__[code.co_freevars.index(name)].cell_contents
        except ValueError:  # an empty cell
            return None
    else:
        target = fn.__globals__.get(name, getattr(builtins, name, None))
    return target if inspect.isfunction(target) else None


def unwrap(fn, refuse=True):
    """``fn``; for a decorator's wrapper that only forwards its call, the function it forwards to (followed
    on). A wrapper that does more is refused at the decorated function's line (``refuse``), else returned."""
    inner = _inner(fn)
    if inner is None:
        return fn
    target = _forwards_to(fn)
    if target is not None:
        return unwrap(target, refuse)
    if not refuse:
        return fn
    code = fn.__code__
    qual = getattr(code, "co_qualname", code.co_name)
    deco = qual.split(".<locals>.")[0] if ".<locals>." in qual else qual
    first = inner.__code__.co_firstlineno
    raise SourcediffError("%s is wrapped by %s (%s:%d, from the decorator %s), which does more than return its call: "
                          "sourcediff follows a wrapper only when that is all it does" % (
                              inner.__name__, qual, code.co_filename, code.co_firstlineno, deco),
                          inner.__code__.co_filename, first, line=linecache.getline(inner.__code__.co_filename, first)
                          or None, hint="differentiate the undecorated function (%s.__wrapped__ where the decorator "
                                        "uses functools.wraps), or a wrapper that only returns its call"
                                        % inner.__name__)


class Func:
    """A user function with its parsed source and where each line came from."""

    def __init__(self, fn):
        fn = getattr(fn, "sd_generated", fn)  # a forward-mode grad: its generated function
        self.bound = {}  # names bound to values at transformation time (a method's self, local defs)
        if inspect.ismethod(fn):  # obj.method: `self` is a constant, the rest are the parameters
            func = unwrap(fn.__func__)
            self.bound[func.__code__.co_varnames[0]] = fn.__self__
            fn = func
        else:
            fn = unwrap(fn)
        self.fn = fn
        self.code = getattr(fn, "__code__", None)
        if self.code is None:
            raise SourcediffError("%r is not a Python function with source" % (fn,),
                                  hint="pass a plain `def` function or a lambda")
        self.filename = self.code.co_filename
        self.name = fn.__name__ if fn.__name__ != "<lambda>" else "lambda_"
        try:
            ok = self._given() or self._read() or self._runs()
        except (SourcediffError, SyntaxError):
            ok = False
        if not ok:  # linecache may hold the lines of an older version of the file: read it again
            linecache.checkcache(self.filename)
            try:
                ok = self._read() or self._runs()
            except SyntaxError:
                raise SourcediffError("cannot parse the definition of %s read from its file" % self.fn.__qualname__,
                                      self.filename, self.code.co_firstlineno,
                                      line=linecache.getline(self.filename, self.code.co_firstlineno) or None,
                                      hint="if the file was edited since it was defined, reload it; a lambda "
                                           "inside a larger statement: give it a line of its own, or use a `def`")
            if not ok:
                raise SourcediffError("the file changed since %s was defined: reload it" % self.fn.__qualname__,
                                      self.filename, self.code.co_firstlineno,
                                      line=linecache.getline(self.filename, self.code.co_firstlineno) or None,
                                      hint="its source no longer compiles to the code that runs; importlib.reload() "
                                           "its module (or run the cell defining it again), then differentiate it")
        self.trees = None  # only the check reads them
        self.node.decorator_list = []
        self.node.args = flatten(self.node.args)
        if getattr(fn, "sd_free", ()):  # a lifted nested def: the enclosing variables it reads are parameters
            self.node.args = _with_params(self.node.args, fn.sd_free)
        if self.bound:
            self.node.args.args = self.node.args.args[1:]

    def _given(self):
        """A nested ``def`` that the ``closures`` pass made of a named lambda has no ``def`` in the file to read:
        its tree is the one the enclosing function's was rewritten to, located as that function's lines."""
        given = getattr(self.fn, "sd_node", None)
        if given is None:
            return False
        node, self.first, self.indent = given
        self.node = self.found = clone(node)
        self.source = ast.unparse(gast.gast_to_ast(gast.Module(body=[clone(node)], type_ignores=[])))
        self.trees = []
        return True

    def _read(self):
        """Read and parse the definition: ``first``, ``indent``, ``source``, ``node`` (and ``found``, the
        parsed ``def`` or ``lambda`` as written)."""
        fn = self.fn
        try:
            lines, start = source_lines(self.code)
        except (OSError, TypeError, IndexError):
            raise SourcediffError("cannot find the source of %s" % fn.__qualname__, self.filename,
                                  self.code.co_firstlineno,
                                  hint="define it in a file (not an interactive prompt or exec)")
        self.first = max(start, 1)
        raw = "".join(lines)
        src = textwrap.dedent(raw)
        self.indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
        try:
            self.trees = []
            tree = parse_def(src, self.trees)
        except TooDeep as e:
            raise self.error("this expression is nested more than %d deep, more than sourcediff's passes can walk"
                             % DEEPEST, e.node, hint="split it into statements (assign parts to local variables)")
        except SyntaxError:  # a lambda in the middle of an expression that spans lines
            tree = gast.parse("(" + src.strip().rstrip(",") + ")") if fn.__name__ == "<lambda>" else None
            if tree is None:
                raise
        self.node = self._find(tree)
        self.source = src

    def _runs(self):
        """Is the source read the code that runs? Our own generated code (and the nested ``def``s we
        compile with extra parameters, ``local_function``) is never edited: not checked."""
        if self.filename.startswith("<sourcediff ") or hasattr(self.fn, "sd_free"):
            return True
        qualname = getattr(self.code, "co_qualname", None) or self.fn.__qualname__
        return _compiles_to(_as_ast(self.found, self.trees), self.code, qualname, self.fn.__globals__)

    def _find(self, tree):
        if self.fn.__name__ == "<lambda>":
            lams = [n for n in gast.walk(tree) if isinstance(n, gast.Lambda)]
            if len(lams) > 1:  # several on one line: the one whose bytecode is this function's
                inner = lambda n: (n.end_lineno - n.lineno, n.end_col_offset - n.col_offset)  # noqa: E731
                lams = sorted([n for n in lams if _same_code(n, self.code, self.first, self.indent)], key=inner)[:1] \
                    or lams  # a lambda inside another lies inside it too: the innermost
            if len(lams) != 1:
                raise self.error("cannot tell which lambda on this line to differentiate", lams[0] if lams else tree,
                                 hint="give the lambda its own line, or use a `def`")
            lam = self.found = lams[0]
            ret = gast.Return(value=lam.body)
            gast.copy_location(ret, lam.body)
            fdef = gast.FunctionDef(name="lambda_", args=lam.args, body=[ret], decorator_list=[],
                                    returns=None, type_comment=None, type_params=[])
            return gast.copy_location(fdef, lam)
        for n in gast.walk(tree):
            if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef)) and n.name == self.code.co_name:
                if isinstance(n, gast.AsyncFunctionDef):
                    raise self.error("async functions cannot be differentiated", n, hint="write a plain `def`")
                self.found = n
                return n
        raise SourcediffError("cannot find the definition of %s in its source" % self.fn.__qualname__, self.filename,
                              self.first, hint="if its file was edited since, reload it")

    # -- locations -----------------------------------------------------------------
    def where(self, node):
        """(filename, file line, column, source line) of a node of this function."""
        ln = getattr(node, "lineno", None) or 1
        fl = self.first + ln - 1
        col = (getattr(node, "col_offset", 0) or 0) + self.indent
        return self.filename, fl, col, linecache.getline(self.filename, fl).rstrip("\n") or None

    def at(self, node):
        """``file:line:col`` of a node, for the refusals a runtime helper can only make when it runs."""
        f, ln, col, _ = self.where(node)
        return "%s:%d:%d" % (f, ln, col + 1)

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
                return unwrap(fn.__closure__[code.co_freevars.index(name)].cell_contents, refuse=False)
            except ValueError:
                pass
        g = fn.__globals__
        if name in g:
            return unwrap(g[name], refuse=False)
        if hasattr(builtins, name):
            return getattr(builtins, name)
        if default is not _MISSING:
            return default
        raise KeyError(name)

    def reach_globals(self):
        """Read this function's module globals through a bound view of its module (``hmod_globals.K``
        for ``K``): the derivative runs in another module's globals (the differentiated function's),
        where ``K`` is missing or, worse, another value. Reads stay live, as a global read is."""
        g = self.fn.__globals__
        skip = ids(self.node, (gast.Store, gast.Param, gast.Del)) | set(self.code.co_freevars) | set(self.bound)
        name = []

        def view(child):
            if not name:
                base = "%s_globals" % (self.fn.__module__ or "module").replace(".", "_")
                name.append(self.bind_value(base, globals_view(g)))
            return gast.copy_location(gast.Attribute(value=load(name[0]), attr=child.id, ctx=gast.Load()), child)

        def visit(node):
            for field, value in gast.iter_fields(node):
                for k, child in enumerate(value if isinstance(value, list) else [value]):
                    if isinstance(child, (gast.FunctionDef, gast.Lambda)):
                        continue  # a nested def is a function of its own, read from its own globals
                    if type(child) is gast.Name and type(child.ctx) is gast.Load and child.id not in skip \
                            and child.id in g:
                        if isinstance(value, list):
                            value[k] = view(child)
                        else:
                            setattr(node, field, view(child))
                    elif isinstance(child, gast.AST):
                        visit(child)
        for stmt in self.node.body:
            visit(stmt)

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
        The enclosing variables it reads (its ``free`` annotation, see fence.py) are extra parameters."""
        import ast
        import types
        free = getanno(node, "free", ())
        given = (node, self.first, self.indent) if getanno(node, "lambda", False) else None
        if free:
            node = gast.copy_location(gast.FunctionDef(name=node.name, args=_with_params(node.args, free),
                                                       body=node.body,
                                                       decorator_list=[], returns=None, type_comment=None,
                                                       type_params=[]), node)
        tree = ast.fix_missing_locations(gast.gast_to_ast(gast.Module(body=[node], type_ignores=[])))
        ast.increment_lineno(tree, self.first - 1)
        code = compile(tree, self.filename, "exec")
        fcode = next(c for c in code.co_consts if isinstance(c, types.CodeType))
        fn = types.FunctionType(fcode, self.fn.__globals__, node.name)
        fn.__qualname__ = "%s.<locals>.%s" % (self.fn.__qualname__, node.name)
        fn.sd_free = free
        if given is not None:
            fn.sd_node = given
        self.bound[node.name] = fn
        return fn


GENERATED_TEMPORARIES = {}  # file name of a compiled module -> {def name: its compiler temporaries}


def temporaries_of(fn):
    """The compiler temporaries of a generated function (``fn`` or the one a derivative wraps), else none."""
    fn = getattr(fn, "sd_generated", fn)
    code = getattr(fn, "__code__", None)
    return GENERATED_TEMPORARIES.get(code.co_filename, {}).get(fn.__name__, ()) if code is not None else ()
