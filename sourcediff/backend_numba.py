"""The Numba backend (``backend="numba"``): the generated derivative compiled with ``numba.njit``.

The Python backend's generated module is rewritten for Numba (``numba_source``), written to a file in
sourcediff's cache directory named by the hash of its text (Numba's disk cache needs a real file, and
the text already depends on everything the derivative depends on), imported, and each function jitted
with ``cache=True, boundscheck=True``. The rewrite:

* drops the float fast path's first line (``if not type(x) is float: return ..._generic(...)``): the
  compiled version is called only when those arguments are floats;
* splits the tape into one typed list per value it restores (a Numba list holds one type), and gives a
  value that starts as ``UNSET`` its type from its own tape (``if len(tape_x) > 0: x = tape_x[0]``, a
  branch never taken), instead of the ``UNSET`` object;
* replaces ``reversed(range)`` (and ``reversed(r[:n])``) by jitted range arithmetic;
* binds the runtime helpers the code calls to jitted overloads for numbers and float arrays
  (``numba_helpers``), NumPy and ``math`` to themselves, and a user's global number to its value
  (checked again at every call: a changed global sends calls to the Python version).

Anything else (a structured value, a dict argument, a helper without an overload, a NumPy call Numba
does not know...) makes the derivative fall back to the Python version, with one warning naming the
construct. A call also goes to the Python version when an argument is not a number or a numeric array,
when the compiled code raises (the Python version then gives its own answer or error), and when the
compiled result holds a NaN or an infinity (where ``math`` raises, Numba gives a NaN). So the backend
never gives other numbers than the Python backend (up to rounding: Numba's sums add in order).
"""
import ast
import copy
import builtins
import functools
import hashlib
import importlib.util
import math
import os
import sys
import tempfile
import threading
import types
import warnings

import numpy as np

from .errors import SourcediffError
from .numba_fused import _OPS, fused

BACKENDS = ("python", "numba")
_LOCK = threading.Lock()
_MODULES = {}  # text hash -> loaded module


def check_backend(backend):
    """Refuse an unknown backend, and ``"numba"`` where Numba cannot be imported."""
    if backend not in BACKENDS:
        raise SourcediffError("backend must be 'python' or 'numba', not %r" % (backend,))
    if backend == "numba":
        require()
    return backend


def require():
    """Numba, with sourcediff's overloads registered; a SourcediffError naming the extra when missing."""
    try:
        import numba
    except ImportError as e:
        raise SourcediffError("backend='numba' needs Numba, which cannot be imported here (%s)" % e,
                              hint="install the extra: pip install 'sourcediff[numba]'") from None
    from . import numba_helpers
    numba_helpers.register()
    return numba


class Unsupported(Exception):
    """A construct the rewrite for Numba does not take (its message names it)."""


# -- the rewrite ----------------------------------------------------------------------------------
def _guard_floats(fdef):
    """(the parameters the float fast path's first line requires to be floats, the generic function it calls
    otherwise), the line removed; None where ``fdef`` has no such line."""
    first = fdef.body[0] if fdef.body else None
    if not (isinstance(first, ast.If) and isinstance(first.test, ast.UnaryOp)
            and any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "type" for n in ast.walk(first.test))):
        return None
    fdef.body = fdef.body[1:]
    names = [n.args[0].id for n in ast.walk(first.test)
             if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "type"]
    return names, first.body[0].value.func.id


def _is_tape_init(s):
    return isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and \
        isinstance(s.value, ast.List) and not s.value.elts and s.targets[0].id.startswith("tape")


def _tape_uses(fdef, tape):
    """(appends, pops) of list ``tape`` in ``fdef``, or None where it is used any other way."""
    appends, pops, seen = [], [], set()
    for n in ast.walk(fdef):
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) and _method_of(n.value, tape, "append") \
                and len(n.value.args) == 1:
            appends.append(n)
            seen.add(id(n.value.func.value))
        elif isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.value, ast.Call) and \
                _method_of(n.value, tape, "pop") and not n.value.args:
            pops.append(n)
            seen.add(id(n.value.func.value))
    names = [n for n in ast.walk(fdef) if isinstance(n, ast.Name) and n.id == tape]
    if len([n for n in names if id(n) not in seen]) != 1:  # the init only
        return None
    return appends, pops


def _method_of(c, obj, name):
    f = c.func
    return isinstance(f, ast.Attribute) and f.attr == name and isinstance(f.value, ast.Name) and f.value.id == obj


def _kept(e):
    """What a push keeps or a pop restores: a name, or ``x[]`` for part of ``x`` (``getitem_copy(x, i)`` pushed,
    ``x[i] = tape.pop()`` restored: each restore pops right after the push it pairs with comes off)."""
    if isinstance(e, ast.Call) and getattr(e.func, "id", None) == "getitem_copy" and isinstance(e.args[0], ast.Name):
        return e.args[0].id + "[]"
    if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name):
        return e.value.id + "[]"
    return ast.unparse(e)


def _split_tape(fdef, tape, unset, tapes):
    """One list per restored value instead of the shared tape (a Numba list holds values of one type);
    ``tapes`` gets each new list's name -> what it keeps."""
    uses = _tape_uses(fdef, tape)
    if uses is None:
        raise Unsupported("a tape used other than by append and pop")
    appends, pops = uses
    keys = {}
    for a in appends:
        keys.setdefault(_kept(a.value.args[0]), "%s__%d" % (tape, len(keys)))
    for p in pops:
        k = _kept(p.targets[0])
        if k not in keys:
            raise Unsupported("a tape popped into %s, which it never kept" % ast.unparse(p.targets[0]))
        p.value.func.value.id = keys[k]
    for a in appends:
        a.value.func.value.id = keys[_kept(a.value.args[0])]
    tapes.update((n, k) for k, n in keys.items())
    inits = [ast.parse("%s = []" % n).body[0] for n in keys.values()]
    inits += [ast.parse("if len(%s) > 0:\n    %s = %s[0]" % (n, k, n)).body[0] for k, n in keys.items() if k in unset]
    return inits


def _rewrite_def(fdef, floats=()):
    """``fdef`` (a generated function) rewritten for Numba in place; ``floats``: the parameters it is called
    with floats only."""
    kinds = float_names(fdef, floats)
    unset = set()
    body = []
    for s in fdef.body:
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Name) and s.value.id == "UNSET" and \
                isinstance(s.targets[0], ast.Name):
            unset.add(s.targets[0].id)
        else:
            body.append(s)
    out, tapes = [], {}
    for s in body:
        out += _split_tape(fdef, s.targets[0].id, unset, tapes) if _is_tape_init(s) else [s]
    fdef.body = out or [ast.Pass()]
    FloatTapes({t for t, k in tapes.items() if k in kinds and _reservable(fdef, t)}).visit(fdef)
    if any(isinstance(n, ast.Name) and n.id == "UNSET" for n in ast.walk(fdef)):
        raise Unsupported("a value left UNSET")
    for n in ast.walk(fdef):
        if isinstance(n, ast.For) and isinstance(n.iter, ast.Call) and getattr(n.iter.func, "id", None) == "reversed":
            n.iter = _reversed(n.iter.args[0])


# -- tapes of floats as growable float arrays --------------------------------------------------------
MATH_FLOATS = {"sin", "cos", "tan", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "tanh", "sinh", "cosh",
               "atan", "asin", "acos", "asinh", "acosh", "atanh", "atan2", "hypot", "pow", "fabs", "erf", "erfc",
               "copysign", "cbrt", "exp2"}


def float_names(fdef, floats):
    """The names of ``fdef`` that certainly hold floats when the parameters ``floats`` do: every assignment
    to them gives a float (the largest such set: a loop's values start from parameters and constants).
    A value a tape restores keeps the kind of what was pushed, so pops and ``UNSET`` say nothing."""
    values, params, seen = {}, {a.arg for a in fdef.args.args}, set()
    for n in ast.walk(fdef):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            values.setdefault(n.targets[0].id, []).append(n.value)
            seen.add(id(n.targets[0]))
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            values.setdefault(n.target.id, []).append(ast.BinOp(left=n.target, op=n.op, right=n.value))
            seen.add(id(n.target))
    for n in ast.walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)) and id(n) not in seen:
            values.setdefault(n.id, []).append(None)  # assigned in another way: unknown
    for p in params:
        values.setdefault(p, []).append(ast.Constant(1.0) if p in floats else None)
    names = set(values)
    while True:
        out = {k for k in names if all(v is not None and (_neutral(v) or _kind(v, names) == "f") for v in values[k])}
        if out == names:
            return names
        names = out


def _neutral(v):
    """A tape's pop, a tape's first entry, ``UNSET``: the value kept, whatever its kind."""
    if isinstance(v, ast.Name):
        return v.id == "UNSET"
    if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "pop" and not v.args:
        return isinstance(v.func.value, ast.Name) and v.func.value.id.startswith("tape")
    return False


def _kind(e, floats):
    """"f" for an expression that certainly gives a float where the names ``floats`` are floats, "i" for an
    integer constant, None where not known."""
    if isinstance(e, ast.Constant):
        return "f" if type(e.value) is float else "i" if type(e.value) in (int, bool) else None
    if isinstance(e, ast.Name):
        return "f" if e.id in floats else None
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
        return _kind(e.operand, floats)
    if isinstance(e, ast.BinOp) and isinstance(e.op, _OPS):
        k = {_kind(e.left, floats), _kind(e.right, floats)}
        return "f" if k <= {"f", "i"} and ("f" in k or isinstance(e.op, ast.Div)) else "i" if k == {"i"} else None
    if isinstance(e, ast.IfExp):
        return "f" if _kind(e.body, floats) == _kind(e.orelse, floats) == "f" else None
    if isinstance(e, ast.Call) and not e.keywords and all(_kind(a, floats) in ("f", "i") for a in e.args):
        f = e.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "math":
            return "f" if f.attr in MATH_FLOATS else None
        if isinstance(f, ast.Name) and f.id in ("float", "abs") and len(e.args) == 1:
            return "f" if f.id == "float" else _kind(e.args[0], floats)
    return None


def _is_push(st, tape):
    return isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and _method_of(st.value, tape, "append")


def _pushes(body, tape):
    """How many pushes onto ``tape`` ``body`` holds outside the loops in it (those reserve their own)."""
    n = 0
    for st in body:
        if _is_push(st, tape):
            n += 1
        elif not isinstance(st, (ast.For, ast.While, ast.AsyncFor, ast.FunctionDef, ast.Lambda)):
            n += sum(_pushes(getattr(st, f, []), tape) for f in ("body", "orelse", "handlers", "finalbody"))
    return n


def _counted(loop):
    """Does ``loop`` run a number of times ``len`` of its iterable says, read without side effects?"""
    if not isinstance(loop, ast.For) or loop.orelse:
        return False
    it = loop.iter
    return isinstance(it, ast.Name) or isinstance(it, ast.Call) and getattr(it.func, "id", None) == "range" and \
        all(isinstance(a, (ast.Name, ast.Constant)) for a in it.args)


def _reservable(fdef, tape):
    """Is every push onto ``tape`` in a loop whose trip count is known at its start (or in no loop)? Room is then
    reserved before the loop, and the loop never reassigns the tape (an array reassigned in a loop costs Numba
    reference counting at every turn: twice the time of a scalar loop)."""
    def ok(body, loop):
        for st in body:
            if _is_push(st, tape) and loop is not None and not _counted(loop):
                return False
            for f in ("body", "orelse", "handlers", "finalbody"):
                inner = st if isinstance(st, (ast.For, ast.While)) and f == "body" else loop
                if isinstance(getattr(st, f, None), list) and not ok(getattr(st, f), inner):
                    return False
        return True
    return ok(fdef.body, None)


class FloatTapes(ast.NodeTransformer):
    """The tapes ``names`` (each keeping one float name) as float arrays with a count, room reserved before
    each loop that pushes (``_reservable``): no list of boxed entries, no shrinking on pops."""

    def __init__(self, names):
        self.names = names

    def _tape(self, call, attr):
        f = call.func if isinstance(call, ast.Call) else None
        if isinstance(f, ast.Attribute) and f.attr == attr and isinstance(f.value, ast.Name) and \
                f.value.id in self.names:
            return f.value.id
        return None

    def visit_Assign(self, node):
        t = node.targets[0].id if isinstance(node.targets[0], ast.Name) else None
        if t in self.names and isinstance(node.value, ast.List):
            return ast.parse("%s = _sd_tape()\n%s_n = 0" % (t, t)).body
        tape = self._tape(node.value, "pop")
        if tape is None:
            return node
        return ast.parse("%s_n -= 1\n%s = %s[%s_n]" % (tape, ast.unparse(node.targets[0]), tape, tape)).body

    def visit_Expr(self, node):
        tape = self._tape(node.value, "append")
        if tape is None:
            return node
        return ast.parse("%s[%s_n] = %s\n%s_n += 1" % (tape, tape, ast.unparse(node.value.args[0]), tape)).body

    def _counts(self, body):
        return [(t, _pushes(body, t)) for t in sorted(self.names) if _pushes(body, t)]

    def visit_For(self, node):
        counts = self._counts(node.body)
        self.generic_visit(node)
        return ast.parse("\n".join("%s = _sd_reserve(%s, %s_n + %d * len(%s))" % (t, t, t, k, ast.unparse(node.iter))
                                   for t, k in counts)).body + [node]

    def visit_FunctionDef(self, node):
        counts = self._counts(node.body)
        self.generic_visit(node)
        node.body = ast.parse("\n".join("%s = _sd_reserve(%s, %d)" % (t, t, k) for t, k in counts)).body + node.body
        return node

    def visit_If(self, node):
        """``if len(tape) > 0: x = tape[0]`` (what gives a value left unset its type) as ``x = 0.0``."""
        t = node.test
        if isinstance(t, ast.Compare) and isinstance(t.left, ast.Call) and getattr(t.left.func, "id", "") == "len" \
                and isinstance(t.left.args[0], ast.Name) and t.left.args[0].id in self.names and len(node.body) == 1:
            return ast.parse("%s = 0.0" % node.body[0].targets[0].id).body[0]
        self.generic_visit(node)
        return node


def _reversed(e):
    """``reversed(e)`` for a range ``e`` (or a range's head ``r[:n]``) as jitted range arithmetic."""
    if isinstance(e, ast.Subscript) and isinstance(e.slice, ast.Slice) and e.slice.lower is None and \
            e.slice.step is None and e.slice.upper is not None:
        e = ast.Call(func=ast.Name(id="_sd_range_head", ctx=ast.Load()), args=[e.value, e.slice.upper], keywords=[])
    return ast.Call(func=ast.Name(id="_sd_reversed", ctx=ast.Load()), args=[e], keywords=[])


def _free_names(tree):
    """The names the module's functions read but neither define nor assign."""
    defined = {d.name for d in tree.body} | set(_HELPERS)
    defined |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id.startswith("_sd_np_")}
    out = set()
    for d in tree.body:
        local = {a.arg for a in d.args.args} | {n.id for n in ast.walk(d) if isinstance(n, ast.Name)
                                                and isinstance(n.ctx, ast.Store)}
        out |= {n.id for n in ast.walk(d) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - local
    return sorted(out - defined)


def _reachable(fn):
    """name -> value of every closure variable of ``fn`` and of the generated functions it reaches."""
    out, todo, seen = {}, [fn], set()
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        for n, c in zip(f.__code__.co_freevars, f.__closure__ or ()):
            try:
                v = c.cell_contents
            except ValueError:
                continue
            out.setdefault(n, v)
            if isinstance(v, types.FunctionType) and v.__code__.co_filename == fn.__code__.co_filename:
                todo.append(v)
    return out


def _binding(name, cells, globs):
    """(import line, checked global value or None) for free name ``name``; Unsupported where Numba cannot
    be given it."""
    from . import numba_helpers
    if name in cells:
        v = cells[name]
    elif name in globs:
        v = globs[name]
    elif hasattr(builtins, name):
        return "", None
    else:
        raise Unsupported("the name `%s`" % name)
    if v is np or v is math:
        return "import %s as %s" % (v.__name__, name), None
    where = numba_helpers.OVERLOADED.get(id(v))
    if where is not None:
        return "from %s import %s as %s" % (where[0], where[1], name), None
    for mod in (np, math):
        if getattr(v, "__name__", None) and getattr(mod, v.__name__, None) is v:
            return "from %s import %s as %s" % (mod.__name__, v.__name__, name), None
    if type(v) in (float, int, bool) and name in globs and name not in cells:
        return "%s = %r" % (name, v), v
    raise Unsupported("the global `%s` (%s)" % (name, type(v).__name__))


_HELPERS = {"_sd_reversed": "range_reversed", "_sd_range_head": "range_head", "_sd_tape": "float_tape",
            "_sd_reserve": "reserved"}  # the jitted helpers the rewrite calls, by the name it gives them


def _numpy_loops(defs, cells, globs):
    """Calls ``np.<f>(x)`` of ``numba_helpers.NUMPY_LOOPS`` (``np`` the name NumPy has there) as calls of the
    helper that runs NumPy's own loop on a large float array; not in a fused loop (its ``x`` are numbers)."""
    from .numba_helpers import NUMPY_LOOPS
    for d in defs:
        for n in ast.walk(d):
            f = n.func if isinstance(n, ast.Call) else None
            if isinstance(f, ast.Attribute) and f.attr in NUMPY_LOOPS and isinstance(f.value, ast.Name) and \
                    cells.get(f.value.id, globs.get(f.value.id)) is np and len(n.args) == 1 and not n.keywords:
                n.func = ast.Name(id="_sd_np_" + f.attr, ctx=ast.Load())


_JIT = "@numba.njit(cache=CACHE, boundscheck=True)"
# a fused loop indexes nothing but its own arrays, in bounds; it runs array code, so a division by zero gives
# NumPy's infinity (which the call's finiteness test sends to the Python version), not a test in every turn
_FUSED_JIT = "@numba.njit(cache=CACHE, error_model='numpy')"


def numba_source(fn):
    """(module text for Numba, main name, (float parameters, generic function) of a fast path or None, checked
    globals)."""
    tree = ast.parse(fn.source)
    defs = [d for d in tree.body if isinstance(d, ast.FunctionDef)]
    if len(defs) != len(tree.body):
        raise Unsupported("a module with more than functions")
    main = next((d for d in defs if d.name == fn.__name__), None)
    if main is None:
        raise Unsupported("a derivative whose main function is not in its text")
    floats = _guard_floats(main)
    for d in defs:
        d.decorator_list = []
        _rewrite_def(d, floats[0] if floats and d is main else ())
    loop = fused(copy.deepcopy(main)) if floats is None else None
    if loop is not None:
        defs.append(loop)
        tree.body.append(loop)
    cells = _reachable(fn)
    _numpy_loops([d for d in defs if d is not loop], cells, fn.__globals__)
    lines, checked = [], {}
    for n in _free_names(tree):
        line, value = _binding(n, cells, fn.__globals__)
        if line:
            lines.append(line)
        if value is not None:
            checked[n] = value
    used = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id.startswith("_sd_np_")})
    helpers = ["%s as %s" % (v, k) for k, v in _HELPERS.items()] + ["%s as %s" % (n[4:], n) for n in used]
    head = ["# generated by sourcediff for Numba from %s" % fn.__name__, "import numba",
            "from sourcediff.numba_helpers import %s" % ", ".join(helpers)]
    body = ["%s\n%s" % (_FUSED_JIT if d is loop else _JIT, ast.unparse(d)) for d in defs]
    return "\n".join(head + lines) + "\n\n\n" + "\n\n\n".join(body) + "\n", main.name, floats, checked


# -- loading --------------------------------------------------------------------------------------
def _load(text):
    """The module of ``text``, from a file named by its hash in the cache directory (a temporary one when
    the disk cache is off: then Numba caches nothing)."""
    import numba
    from . import cache
    from .version import VERSION
    from .build import _OWN  # Numba's cache does not see the overloads change: sourcediff's own code is in the name
    h = hashlib.sha256(("%s;%s;%s;%s" % (VERSION, _OWN, numba.__version__, text)).encode()).hexdigest()[:40]
    with _LOCK:
        mod = _MODULES.get(h)
        if mod is not None:
            return mod
        d = cache._usable_dir()
        on = d is not None
        d = (d / "numba") if on else _temp_dir()
        d.mkdir(mode=0o700, exist_ok=True)
        path = d / ("sd_%s.py" % h)
        src = text.replace("cache=CACHE", "cache=%s" % on)
        if not path.exists() or path.read_text() != src:  # rewriting an equal file would void Numba's cache
            tmp = path.with_name(".tmp-%d-%s" % (os.getpid(), path.name))
            tmp.write_text(src)
            os.replace(str(tmp), str(path))
        spec = importlib.util.spec_from_file_location("sourcediff_numba_%s" % h, str(path))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # Numba's disk cache imports it by name
        spec.loader.exec_module(mod)
        _MODULES[h] = mod
        return mod


_TEMP = []


def _temp_dir():
    if not _TEMP:
        from pathlib import Path
        _TEMP.append(Path(tempfile.mkdtemp(prefix="sourcediff-numba-")))
    return _TEMP[0]


# -- calling --------------------------------------------------------------------------------------
_NUMERIC = ("f", "i", "u", "b")


def _eligible(a):
    """Can argument ``a`` go to compiled code with the Python version's meaning? A float, a bool, a small
    int (Numba's ints have 64 bits), a NumPy array of real numbers."""
    t = type(a)
    if t is float or t is bool:
        return True
    if t is int:
        return -(1 << 31) < a < (1 << 31)
    return t is np.ndarray and a.dtype.kind in _NUMERIC


def _loops(text, name):
    """Does function ``name`` of module ``text`` loop?"""
    d = next(d for d in ast.parse(text).body if isinstance(d, ast.FunctionDef) and d.name == name)
    return any(isinstance(n, (ast.For, ast.While)) for n in ast.walk(d))


def _one_shape(args):
    """Are ``args`` float64 arrays of one shape, laid out contiguously (what a fused loop takes)?"""
    a0 = args[0]
    return all(type(a) is np.ndarray and a.dtype == np.float64 and a.shape == a0.shape and a.flags.c_contiguous
               for a in args)


def _finite(v):
    t = type(v)
    if t is float:
        return v - v == 0.0  # False for an infinity and a NaN
    if t is tuple:
        for e in v:
            if not _finite(e):
                return False
        return True
    if t is np.ndarray:
        return v.dtype.kind not in "fc" or bool(np.isfinite(v).all())
    return True


class Compiled:
    """A derivative's compiled version in front of its Python version ``py`` (see the module docstring)."""

    def __init__(self, py):
        self.py, self.jitted, self.floats, self.checked, self.off, self.odd = py, None, None, {}, None, False
        self.fused, self.python = None, False
        self.__name__ = py.__name__
        try:
            text, main, floats, self.checked = numba_source(py)
            self.text = text
            mod = _load(text)
            self.jitted = self.generic = getattr(mod, main)
            self.fused = getattr(mod, main + "__fused", None)
            params = py.__code__.co_varnames[:py.__code__.co_argcount]
            if floats and not _loops(text, main):
                self.python = True  # loop-free float code: its Python fast path costs less than a call into Numba
                return
            if floats:
                self.floats, self.generic = [params.index(p) for p in floats[0]], getattr(mod, floats[1])
        except Unsupported as e:
            self._fall_back(str(e))
        except Exception as e:  # a bug of the rewrite: the Python version still gives the right numbers
            self._fall_back("%s: %s" % (type(e).__name__, e))

    def _fall_back(self, construct):
        self.off = construct
        warnings.warn("sourcediff: Numba cannot compile %s (%s); using the Python version"
                      % (self.py.__name__, construct), RuntimeWarning, stacklevel=4)

    def _current(self):
        globs = self.py.__globals__
        return all(globs.get(n) == v and type(globs.get(n)) is type(v) for n, v in self.checked.items())

    def __call__(self, *args):
        if self.off is not None or self.checked and not self._current():
            return self.py(*args)
        floats = True
        for a in args:
            if type(a) is not float:
                floats = False
                break
        if floats and self.floats is not None:  # the common case of scalar code, checked quickly
            return self._run(self.jitted, args)
        if not all(map(_eligible, args)):
            if not self.odd:  # once: later calls may bring other types
                self.odd = True
                warnings.warn("sourcediff: the Numba version of %s takes numbers and real NumPy arrays, not %s; "
                              "using the Python version for such calls" % (self.py.__name__, ", ".join(
                                  sorted({type(a).__name__ for a in args if not _eligible(a)}))),
                              RuntimeWarning, stacklevel=3)
            return self.py(*args)
        if self.fused is not None and _one_shape(args):
            try:
                out, nan = self.fused(*args)
            except Exception as e:
                return self.failed(e, args)
            return out if nan == 0.0 else self.py(*args)
        run = self.jitted if self.floats is None or all(type(args[i]) is float for i in self.floats) else self.generic
        return self._run(run, args)

    def _run(self, run, args):
        try:
            out = run(*args)
        except Exception as e:
            return self.failed(e, args)
        return out if _finite(out) else self.py(*args)

    def failed(self, e, args):
        """The answer to a call whose compiled code raised ``e``: the Python version's (or its error)."""
        if _numba_error(e):
            self._fall_back(_construct(e))
        return self.py(*args)


_FRONT = """def make(c, jitted, py, slow, finite, G, {ks}):
    def front({ps}):
        if {test}:
            try:
                out = jitted({ps})
            except Exception as e:
                return c.failed(e, ({ps},))
            if finite(out):
                return out
            return py({ps})
        return slow({ps})
    return front
"""


def front(inner, outer):
    """``outer`` (what ``sd.grad`` returns around ``inner``) behind a lean path for calls whose arguments are
    all floats, where ``inner`` is a ``Compiled``: on scalar code the wrapper costs as much as the loop. One type
    test per argument and an identity test per checked global, then the compiled function itself (an error
    or a NaN goes to the Python version, as in ``Compiled``); every other call goes the full way."""
    if not isinstance(inner, Compiled) or inner.off is not None:
        return outer
    code = inner.py.__code__
    if inner.py.__defaults__ or code.co_kwonlyargcount or code.co_flags & 0x0C or not code.co_argcount:
        return outer  # 0x0C: *args, **kwargs
    ps = ", ".join("a%d" % i for i in range(code.co_argcount))
    test = ["type(a%d) is float" % i for i in range(code.co_argcount)] + ["c.off is None"]
    test += ["G.get(%r) is k%d" % (n, i) for i, n in enumerate(inner.checked)]
    ks = ", ".join(["k%d" % i for i in range(len(inner.checked))] + ["_=None"])
    space = {}
    exec(compile(_FRONT.format(ps=ps, test=" and ".join(test), ks=ks), "<sourcediff: float calls>", "exec"), space)
    fn = space["make"](inner, inner.jitted, inner.py, outer, _finite, inner.py.__globals__, *inner.checked.values())
    return functools.update_wrapper(fn, outer)


def _numba_error(e):
    from numba.core import errors
    return isinstance(e, (errors.NumbaError, errors.TypingError, errors.UnsupportedError))


def _construct(e):
    """What Numba could not compile, from its message: the first lines that name something."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(("Failed in", "During:", "File ", "^", "- Resolution", "\x1b"))]
    text = " ".join((keep or lines)[:2])
    return text[:300]


def compiled(py):
    """``py`` (a generated Python derivative) in front of its Numba version; ``py`` itself where Numba
    cannot take it (warned once)."""
    c = Compiled(py)
    if c.off is not None or c.python:
        return py
    c.sd_compiled, c.sd_generated, c.source = c, py, getattr(py, "source", "")
    c.sd_shaped, c.__qualname__ = getattr(py, "sd_shaped", ""), py.__qualname__
    return c


def specialising(gen, make, limit=8):
    """``gen``'s compiled version, or where it calls shape helpers, the compiled version specialised to each
    call's argument shapes (built by ``make(key)`` at the first call with them, ``limit`` of them at most)."""
    from . import runtime
    if not getattr(gen, "sd_shaped", ""):
        return compiled(gen)
    versions, generic = {}, []

    def special(*args):
        key = runtime.shape_key(args)
        fn = versions.get(key)
        if fn is None:
            if None in key or len(versions) >= limit:
                if not generic:
                    generic.append(compiled(gen))
                return generic[0](*args)
            try:
                fn = versions[key] = compiled(make(key))
            except Exception:
                fn = versions[key] = compiled(gen)
        return fn(*args)
    special.__name__ = special.__qualname__ = gen.__name__
    special.specialised, special.sd_generated, special.source = versions, gen, gen.source
    return special
