"""Build a derivative through the cache: key from the sources involved, text on disk.

The disk entry is the generated source plus a manifest saying how to rebind each
name the code needs (a runtime or rule helper by name, or a closure variable of the
differentiated functions). Entries whose bindings cannot be named that way (user
rules from ``sd.defvjp``, non-constant default arguments) stay in memory only.
"""
import base64
import functools
import inspect
import json
import marshal
import math
import sys
import types

import numpy as np

from . import cache, codegen, frontend, pipeline, runtime
from .user import CHECKPOINT, USER_JVP, USER_VJP
from .frontend import GlobalsView, deep_recursion, globals_view, viewed
from .rules import rule_modules


def _own_hash():
    """A hash of sourcediff's own code, so a changed compiler never reuses old entries."""
    import hashlib
    import pathlib
    h = hashlib.sha256()
    for f in sorted(pathlib.Path(__file__).parent.rglob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()


_OWN = _own_hash()


def _helpers():
    env = {"np": np, "math": math}
    for mod in [runtime] + rule_modules():
        env.update({k: v for k, v in vars(mod).items() if not k.startswith("__")})
    return env


def related(fn):
    """``fn`` and every user function it can reach by name (module globals and closures)."""
    seen, todo = [], [fn]
    while todo:
        f = todo.pop()
        if isinstance(f, CHECKPOINT):
            f = f.fn
        f = getattr(f, "sd_generated", f)
        if inspect.ismethod(f):
            f = f.__func__
        if isinstance(f, functools.partial):
            f = f.func
        if not inspect.isfunction(f) or f in seen:
            continue
        seen.append(f)
        codes, names = [f.__code__], set()
        while codes:
            c = codes.pop()
            names |= set(c.co_names) | set(c.co_freevars)
            codes += [k for k in c.co_consts if isinstance(k, types.CodeType)]
        cells = closure_cells([f])
        for n in sorted(names):
            obj = cells.get(n, f.__globals__.get(n))
            if isinstance(obj, (CHECKPOINT, functools.partial)) or inspect.ismethod(obj) or \
                    inspect.isfunction(obj) and obj.__module__ != "sourcediff.runtime":
                todo.append(obj)
    return seen


def closure_cells(funcs):
    """The closure variables of ``funcs`` (name -> value), as their code reads them."""
    cells = {}
    for f in funcs:
        cells.update(zip(f.__code__.co_freevars, [c.cell_contents for c in (f.__closure__ or ())]))
    return cells


def _code_key(f):
    """What identifies a function's source: its compiled code (with file and line numbers) and defaults."""
    try:
        return marshal.dumps(f.__code__) + repr(f.__defaults__).encode()
    except ValueError:
        return None


def _origin(out, code, fn):
    """Record which user function the generated code objects in ``code`` differentiate (for the
    run-time refusals of ``runtime.refuse_complex``): ``fn``, or what ``fn`` itself was generated from."""
    f = getattr(fn, "sd_generated", fn)
    f = getattr(f, "__func__", f)
    fc = getattr(frontend.unwrap(f, refuse=False), "__code__", None)
    where = runtime.ORIGIN.get(fc) or (fc and (fc.co_filename, fc.co_firstlineno, getattr(f, "__qualname__", "?")))
    todo = [code]
    while todo and where:
        c = todo.pop()
        runtime.ORIGIN[c] = where
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return out


def build(fn, wrt, kind, mode, optimize, many, shapes=None):
    """The compiled derivative, from the memory or disk cache when its key matches.

    The key covers every function involved (their code objects, so any edit of the
    source changes it), the options, the argument shapes it is specialised to (``shapes``,
    see ``pipeline.generate``), sourcediff's own code and the Python version.
    The entry holds the generated source and its compiled code, so a new process
    neither transforms nor compiles again.
    """
    funcs = related(fn)
    globs = getattr(getattr(fn, "sd_generated", fn), "__globals__", None)  # a derivative's wrapper: the user's module
    parts = [_code_key(f) for f in funcs]
    ruled = sorted(getattr(f, "__qualname__", "?") for f in funcs if f in USER_VJP or f in USER_JVP)
    k = cache.key(_OWN, *parts, repr((wrt, kind, mode, bool(optimize), many, ruled, shapes))) if None not in parts else None
    cells = closure_cells(funcs)
    text = cache.get(k) if k else None
    if text is not None:
        try:
            entry = json.loads(text)
            env = _helpers()
            bindings = {n: _rebind(how, n, env, cells) for n, how in entry["bind"].items()}
            code = marshal.loads(base64.b64decode(entry["code"]))
            out = codegen.instantiate(code, entry["file"], entry["source"], globs, bindings)
            out.source, out.sd_shaped = entry["source"], entry["shaped"]
            return _origin(out, code, fn)
        except Exception:  # a stale or foreign entry: regenerate
            pass
    with deep_recursion():
        src, name, bindings, shaped = generate(fn, wrt, kind, mode, optimize, many, shapes)
        code, filename = codegen.compile_module(src, name, sorted(bindings))
    out = _origin(codegen.instantiate(code, filename, src, globs, bindings), code, fn)
    out.source, out.sd_shaped = src, shaped
    if k:
        env, manifest = _helpers(), {}
        for n, obj in bindings.items():
            if env.get(n) is obj:
                manifest[n] = "rt"
            elif n in cells and cells[n] is obj:
                manifest[n] = "free"
            elif isinstance(obj, GlobalsView) and _importable(viewed(obj)):
                manifest[n] = "globals " + viewed(obj)["__name__"]  # a callee's module globals: frontend.reach_globals
            else:
                manifest = None
                break
        if manifest is not None:
            cache.put(k, json.dumps({"source": src, "main": name, "bind": manifest, "file": filename, "shaped": shaped,
                                     "code": base64.b64encode(marshal.dumps(code)).decode()}))
    return out


def _module_named(name):
    """The globals of the loaded module ``name`` (KeyError when it is not loaded)."""
    return vars(sys.modules[name])


def _importable(g):
    """Are ``g`` the globals of a loaded module (so a later process finds them by its name)?"""
    mod = sys.modules.get(g.get("__name__"))
    return mod is not None and getattr(mod, "__dict__", None) is g


def _rebind(how, n, env, cells):
    """The object a manifest entry names: a helper, a closure variable, or a module's globals view."""
    if how == "rt":
        return env[n]
    if how.startswith("globals "):
        return globals_view(_module_named(how[len("globals "):]))
    return cells[n]


def generate(fn, wrt, kind, mode, optimize, many, shapes=None):
    """(source, main name, bindings, shaped): for pure-scalar code, a float fast path plus the generic one.

    The fast path is plain float arithmetic (no ``unbroadcast``, ``math`` instead of ``np``);
    its first line sends any call whose differentiable arguments are not all floats to the
    generic version.
    """
    floats = pipeline.scalar_params(fn, wrt) if kind not in ("jvp", "bjvp") and not shapes else None
    src, name, bindings, shaped = pipeline.generate(fn, wrt, kind, mode, optimize=optimize, tuple_wrt=many,
                                                    suffix="_generic" if floats else "", shapes=shapes)
    if not floats:
        return src, name, bindings, "" if shapes else shaped
    fsrc, fname, fbind, _ = pipeline.generate(fn, wrt, kind, mode, optimize=optimize, scalar=True, tuple_wrt=many,
                                              guard=(floats, name))
    fbind.update(bindings)
    return fsrc + "\n\n" + src, fname, fbind, ""
