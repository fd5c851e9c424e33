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


def _split_tape(fdef, tape, unset):
    """One list per restored value instead of the shared tape (a Numba list holds values of one type)."""
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
    inits = [ast.parse("%s = []" % n).body[0] for n in keys.values()]
    inits += [ast.parse("if len(%s) > 0:\n    %s = %s[0]" % (n, k, n)).body[0] for k, n in keys.items() if k in unset]
    return inits


def _rewrite_def(fdef):
    """``fdef`` (a generated function) rewritten for Numba in place."""
    unset = set()
    body = []
    for s in fdef.body:
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Name) and s.value.id == "UNSET" and \
                isinstance(s.targets[0], ast.Name):
            unset.add(s.targets[0].id)
        else:
            body.append(s)
    out = []
    for s in body:
        out += _split_tape(fdef, s.targets[0].id, unset) if _is_tape_init(s) else [s]
    fdef.body = out or [ast.Pass()]
    if any(isinstance(n, ast.Name) and n.id == "UNSET" for n in ast.walk(fdef)):
        raise Unsupported("a value left UNSET")
    for n in ast.walk(fdef):
        if isinstance(n, ast.For) and isinstance(n.iter, ast.Call) and getattr(n.iter.func, "id", None) == "reversed":
            n.iter = _reversed(n.iter.args[0])


def _reversed(e):
    """``reversed(e)`` for a range ``e`` (or a range's head ``r[:n]``) as jitted range arithmetic."""
    if isinstance(e, ast.Subscript) and isinstance(e.slice, ast.Slice) and e.slice.lower is None and \
            e.slice.step is None and e.slice.upper is not None:
        e = ast.Call(func=ast.Name(id="_sd_range_head", ctx=ast.Load()), args=[e.value, e.slice.upper], keywords=[])
    return ast.Call(func=ast.Name(id="_sd_reversed", ctx=ast.Load()), args=[e], keywords=[])


# -- elementwise code as one loop --------------------------------------------------------------
ELEMENTWISE = {"sin", "cos", "tan", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "tanh", "sinh", "cosh",
               "arctan", "arcsin", "arccos", "arcsinh", "arctanh", "square", "negative", "absolute", "abs", "sign"}
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def _elementwise(e):
    """Is ``e`` made of names, numbers, arithmetic and elementwise NumPy functions only?"""
    if isinstance(e, ast.Name) or isinstance(e, ast.Constant) and type(e.value) in (int, float):
        return True
    if isinstance(e, ast.BinOp):
        return isinstance(e.op, _OPS) and _elementwise(e.left) and _elementwise(e.right)
    if isinstance(e, ast.UnaryOp):
        return isinstance(e.op, (ast.USub, ast.UAdd)) and _elementwise(e.operand)
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and isinstance(e.func.value, ast.Name) and \
        e.func.value.id == "np" and e.func.attr in ELEMENTWISE and not e.keywords and all(map(_elementwise, e.args))


def _outputs(ret, params, arrays):
    """The names ``return`` gives (each ``grad_like(name, param)`` or a name computed from the arrays), or None."""
    elts = ret.elts if isinstance(ret, ast.Tuple) else [ret]
    out = []
    for e in elts:
        if isinstance(e, ast.Call) and getattr(e.func, "id", None) == "grad_like" and len(e.args) == 2 and \
                isinstance(e.args[0], ast.Name) and isinstance(e.args[1], ast.Name) and e.args[1].id in params:
            out.append(e.args[0].id)
        elif isinstance(e, ast.Name) and e.id in arrays:
            out.append(e.id)
        else:
            return None
    return out


def fused(fdef):
    """``fdef``'s body as one loop over the elements, for calls whose arguments are all float arrays of one
    shape (``Compiled`` checks): where every statement is elementwise (``_elementwise``), what NumPy does
    array by array is the same arithmetic element by element, without the temporaries. None elsewhere."""
    params = [a.arg for a in fdef.args.args]
    body, ret = fdef.body[:-1], fdef.body[-1]
    if not params or fdef.args.defaults or not isinstance(ret, ast.Return) or ret.value is None:
        return None
    arrays = set(params)
    for st in body:
        tgt = st.targets[0] if isinstance(st, ast.Assign) and len(st.targets) == 1 else \
            st.target if isinstance(st, ast.AugAssign) and isinstance(st.op, (ast.Add, ast.Sub)) else None
        if not isinstance(tgt, ast.Name) or tgt.id in params or not _elementwise(st.value):
            return None
        if {n.id for n in ast.walk(st.value) if isinstance(n, ast.Name)} & arrays:
            arrays.add(tgt.id)
    outs = _outputs(ret.value, params, arrays)
    if outs is None:
        return None
    scalar = {p: "%s__e" % p for p in params}
    loop = ["_n = %s.size" % params[0]] + ["%s__f = %s.reshape(-1)" % (p, p) for p in params]
    loop += ["_o%d = np.empty(_n)" % i for i in range(len(outs))] + ["for _k in range(_n):"]
    loop += ["    %s = %s__f[_k]" % (scalar[p], p) for p in params]
    for st in body:
        for n in ast.walk(st):
            if isinstance(n, ast.Name) and n.id in scalar:
                n.id = scalar[n.id]
        loop.append("    " + ast.unparse(st))
    loop += ["    _o%d[_k] = %s" % (i, o if o not in scalar else scalar[o]) for i, o in enumerate(outs)]
    res = ["_o%d.reshape(%s.shape)" % (i, params[0]) for i in range(len(outs))]
    loop.append("return " + (", ".join(res) if isinstance(ret.value, ast.Tuple) else res[0]))
    text = "def %s__fused(%s):\n%s\n" % (fdef.name, ", ".join(params), "".join("    %s\n" % ln for ln in loop))
    return ast.parse(text).body[0]


def _free_names(tree):
    """The names the module's functions read but neither define nor assign."""
    defined = {d.name for d in tree.body} | {"_sd_reversed", "_sd_range_head"}
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
        _rewrite_def(d)
    loop = fused(copy.deepcopy(main)) if floats is None else None
    if loop is not None:
        defs.append(loop)
        tree.body.append(loop)
    cells = _reachable(fn)
    lines, checked = [], {}
    for n in _free_names(tree):
        line, value = _binding(n, cells, fn.__globals__)
        if line:
            lines.append(line)
        if value is not None:
            checked[n] = value
    head = ["# generated by sourcediff for Numba from %s" % fn.__name__, "import numba",
            "from sourcediff.numba_helpers import range_reversed as _sd_reversed, range_head as _sd_range_head"]
    jit = "@numba.njit(cache=CACHE, boundscheck=True)"
    body = ["%s\n%s" % (jit, ast.unparse(d)) for d in defs]
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
        run = self.jitted if self.floats is None or all(type(args[i]) is float for i in self.floats) else self.generic
        if self.fused is not None and _one_shape(args):
            run = self.fused
        return self._run(run, args)

    def _run(self, run, args):
        try:
            out = run(*args)
        except Exception as e:
            if _numba_error(e):
                self._fall_back(_construct(e))
            return self.py(*args)  # its own answer, or its own error
        return out if _finite(out) else self.py(*args)


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
