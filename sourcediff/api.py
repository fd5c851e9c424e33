"""The public API: differential operators, inspection calls and helpers (see API.md)."""
import functools
import inspect
import math
from typing import Callable, Optional, Tuple, TypeVar, Union

import numpy as np

from . import backend_numba, build, complex_calls, pipeline, runtime, signature
from .trees import basis, unflat
from .user import CHECKPOINT, USER_JVP, USER_VJP
from .display import Source
from .errors import SourcediffError
from .frontend import unwrap
from .rules import registry as R

_MEMO = {}
_NON_SCALAR_HINT = "use sd.vjp, sd.jvp or sd.jacobian for non-scalar outputs, or reduce with np.sum"
T = TypeVar("T")
Wrt = Union[None, int, str, Tuple[Union[int, str], ...]]  # a parameter position or name, or a tuple of those


def _decorator(op):
    """Let ``op`` be used as ``@op``, ``@op(wrt=...)`` and ``op(f, ...)``."""
    @functools.wraps(op)
    def wrapper(f=None, *args, **kw):
        if f is None:
            return lambda g: op(g, *args, **kw)
        return op(f, *args, **kw)
    return wrapper


def _generated(f):
    """What differentiating ``f`` transforms: for a function sourcediff returned, the generated
    function it runs (never the wrapper, whose globals and signature are not the derivative's)."""
    gen = getattr(f, "sd_generated", f)
    if isinstance(gen, str):
        raise SourcediffError(gen, hint="differentiate sd.grad, sd.jvp (one tangent) or sd.vjp instead: "
                                        "sd.grad(sd.grad(f)), sd.jvp(sd.grad(f)), sd.jacobian(sd.grad(f))")
    return gen


def _params(f):
    if inspect.ismethod(f):  # obj.method: its function's parameters but `self`
        return _params(f.__func__)[1:]
    f = getattr(f, "__wrapped__", f) if not inspect.isfunction(f) else unwrap(f, refuse=False)
    try:
        return list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        raise SourcediffError("%r is not a Python function" % (f,), hint="pass a plain function or lambda")


def _wrt(f, wrt):
    """(indices, was_tuple) of ``wrt``: None, a position, a name, or a tuple of those."""
    params = _params(f)
    many = isinstance(wrt, (tuple, list))
    out = []
    for w in (wrt if many else [0 if wrt is None else wrt]):
        if isinstance(w, str):
            if w not in params:
                raise SourcediffError("`%s` is not a parameter of %s (it has %s)" % (w, f.__name__,
                                                                                     ", ".join(params) or "none"),
                                      **_at(f), hint="name one of the parameters in wrt=")
            out.append(params.index(w))
        elif isinstance(w, int) and -len(params) <= w < len(params):
            out.append(w % len(params))
        else:
            raise SourcediffError("wrt=%r does not name a parameter of %s" % (w, getattr(f, "__name__", f)), **_at(f),
                                  hint="use a position (0..%d) or a parameter name" % (len(params) - 1))
    return tuple(out), many


def _mode(mode):
    if mode not in ("forward", "reverse"):
        raise SourcediffError("mode must be 'forward' or 'reverse', not %r" % (mode,))
    return mode


def _derivative(f, wrt, kind, mode, optimize=True, many=False, shapes=None, backend="python", cplx=False):
    """The derivative, built once per key; in complex mode (``rules/complex_rules.py``) where ``cplx`` or
    where the code holds a complex literal; compiled by Numba where ``backend`` says so (not in complex mode)."""
    if isinstance(f, CHECKPOINT):
        f = f.fn
    if not cplx:
        cplx = _LITERAL.get(f)
        if cplx is None:
            cplx = _LITERAL[f] = build.complex_literals(f)
    key = (f, wrt, kind, mode, bool(optimize), many, shapes, cplx) + ((backend,) if backend != "python" else ())
    fn = _MEMO.get(key)
    if fn is None:
        if backend != "python" and not cplx:
            fn = _derivative(f, wrt, kind, mode, optimize, many, shapes)
            if not fn.sd_complex:  # complex mode stays Python
                fn = backend_numba.compiled(fn)
                fn.sd_complex = False
        else:
            try:
                fn = build.derivative(f, wrt, kind, mode, optimize, many, shapes, cplx)
            except SourcediffError as e:
                if cplx:
                    raise
                fn = _complex_instead(e, lambda: _derivative(f, wrt, kind, mode, optimize, many, shapes, cplx=True))
            else:
                fn = complex_calls.no_casts(fn, f, _at(f)) if cplx else fn
                fn.sd_complex = cplx
        _MEMO[key] = fn
    return fn


def _backend(backend):
    """``backend`` checked (``pipeline.Options`` validates it; Numba must be importable for "numba")."""
    pipeline.Options(backend=backend)
    return backend_numba.check_backend(backend)


def _run_on(backend, *args):
    """``_derivative(*args)`` as ``backend`` runs it (compiled by Numba, or the generated Python itself)."""
    return _derivative(*args) if backend == "python" else _derivative(*args, backend=backend)


def _on(backend, gen, make):
    """The reverse derivative ``gen`` as ``backend`` runs it: specialised to shapes by ``make(key)``."""
    if backend == "numba":
        return backend_numba.specialising(gen, make, SPECIALISE_MAX)
    return _specialising(gen, make)


def _complex_instead(refused, make):
    """Where a derivative is refused outside complex mode but builds in it (a function with rules in complex mode
    only: ``np.angle``, ``x.imag``), the complex-mode one: its rules are right for real values too."""
    try:
        return make()
    except SourcediffError:
        raise refused from None


_complex = complex_calls.has_complex
_LITERAL = {}  # a function -> does it (or one it reaches) hold a complex literal


SPECIALISE_AT, SPECIALISE_MAX = 2, 8  # the call with a new shape key that specialises; versions per derivative
SPECIALISE_SIZE = 1 << 14  # loop-free code: the arguments' size from which a specialised version pays


def _or_generic(make, key, gen):
    try:
        return make(key)
    except Exception as e:  # a bug, but the generic version still gives the right numbers
        import warnings
        warnings.warn("sourcediff could not specialise %s to shapes %s (%s: %s); using the generic version"
                      % (gen.__name__, key, type(e).__name__, e), RuntimeWarning, stacklevel=3)
        return gen


def _specialising(gen, make):
    """``gen``, or where it calls shape helpers, a function that sends each call to a version of
    ``gen`` specialised to its arguments' shapes (built by ``make(key)`` at the ``SPECIALISE_AT``-th
    call with those shapes, at most ``SPECIALISE_MAX`` of them). Loop-free code whose first call
    has arguments of fewer than ``SPECIALISE_SIZE`` numbers stays generic: there the shape helpers
    cost less than finding the version would."""
    shaped = getattr(gen, "sd_shaped", "")
    if not shaped:
        return _clone(gen)
    n, versions, calls, off = gen.__code__.co_argcount, {}, {}, False
    defaults = gen.__defaults__ or ()

    def special(*args, **kw):
        nonlocal off
        if n - len(defaults) <= len(args) < n and not kw:
            args += defaults[len(args) - n:]  # the left-out defaults are arguments of the shape key too
        if off or kw or len(args) != n:
            return gen(*args, **kw)
        key = runtime.shape_key(args)
        fn = versions.get(key)
        if fn is None:
            if shaped == "flat" and not calls and runtime.key_size(key) < SPECIALISE_SIZE:
                off = True
            if off or len(versions) >= SPECIALISE_MAX:
                return gen(*args)
            calls[key] = calls.get(key, 0) + 1
            if calls[key] < SPECIALISE_AT:
                if len(calls) > 256:  # shapes that do not repeat: forget them
                    calls.clear()
                return gen(*args)
            fn = versions[key] = gen if key.count(None) == n else _or_generic(make, key, gen)
        return fn(*args)
    special.__name__ = special.__qualname__ = gen.__name__
    special.specialised, special.sd_generated = versions, gen  # sd_generated: what differentiating it again reads
    special.source = gen.source
    return special


def _not_again(fn, op):
    """``fn`` (what ``sd.<op>`` returned: Python loops over generated sweeps) refusing to be differentiated."""
    fn.sd_generated = ("the result of sd.%s cannot be differentiated again (it loops over derivative sweeps in Python)"
                       % op)
    return fn


def _finish(fn, f, source=None):
    fn.source = Source(source if source is not None else getattr(fn, "source", ""))
    fn.__wrapped__ = f
    return fn


def _scalar(x):
    return isinstance(x, (float, int)) or (isinstance(x, np.ndarray) and x.ndim == 0) or isinstance(x, np.generic)


@_decorator
def grad(f: Callable, wrt: Wrt = None, mode: str = "reverse", optimize: bool = True,
         backend: str = "python") -> Callable:
    """A function with ``f``'s signature returning df/d(wrt); ``f`` must return a scalar."""
    return _grad(f, wrt, mode, optimize, "grad", backend)


@_decorator
def value_and_grad(f: Callable, wrt: Wrt = None, mode: str = "reverse", optimize: bool = True,
                   backend: str = "python", compute: bool = False) -> Callable:
    """A function returning ``(f(*args), gradient)`` from one primal sweep. On Dask arrays both are lazy;
    ``compute=True`` returns them computed, by one ``dask.compute`` (the work they share is done once)."""
    fn = _grad(f, wrt, mode, optimize, "value_and_grad", backend)
    return _computing(fn) if compute else fn


def _computing(fn):
    """``fn`` with the Dask collections in its result computed (``duck.concrete``)."""
    from .duck import concrete

    @functools.wraps(fn)
    def computed(*args, **kw):
        return concrete(fn(*args, **kw))
    computed.sd_generated = getattr(fn, "sd_generated", fn)  # differentiating it again transforms the same code
    return computed


def _grad(f, wrt, mode, optimize, kind, backend="python"):
    f = _generated(f)
    idx, many = _wrt(f, wrt)
    if mode == "reverse":
        gen = _derivative(f, idx, kind, mode, optimize, many)
        inner = _on(_backend(backend), gen, lambda key: _derivative(f, idx, kind, mode, optimize, many, key)) \
            if not gen.sd_complex else gen
        out = backend_numba.front(inner, complex_calls.switch(
            inner, lambda: _derivative(f, idx, kind, mode, optimize, many, cplx=True)))
        fast = None if signature.packed(f) or backend != "python" or gen.sd_complex else _direct(gen, idx, out)
        if fast is not None:  # floats go straight to the fast path, any other call through the switch
            out = functools.update_wrapper(fast, out)
        return _finish(signature.packing(out, f) if signature.packed(f) else out, f, gen.source)
    gen = _derivative(f, idx, kind, _mode(mode), optimize, many)
    run = _run_on(_backend(backend), f, idx, kind, mode, optimize, many)

    n = _arity(f)

    @functools.wraps(f)
    def wrapper(*args, **kw):
        if not kw and len(args) == n:  # the fast path: every differentiated argument a float, no binding needed
            for i in idx:
                if type(args[i]) is not float:
                    break
            else:
                out = gen(*args)
                if type(out) is float:
                    return out
                if type(out) is tuple:  # wrt a tuple: one tangent each (written out: this path is the hot one)
                    for o in out:
                        if type(o) is not float:
                            break
                    else:
                        return out
                if not _floats(out):
                    _real(f, out)  # a tangent made complex on the way to a real value
                return out
        return slow(args, kw)

    def slow(args, kw):
        args = _bind(f, args, kw)
        if _complex(args):
            grads = _complex_grad_fwd(f, idx, args)
            g = tuple(grads) if many else grads[0]
            return (signature.call(f, args), g) if kind == "value_and_grad" else g
        if all(_scalar(args[i]) for i in idx):
            out = run(*args)
            if type(out) is not float:  # a tangent made complex on the way to a real value
                _real(f, out)
            if all(isinstance(args[i], float) for i in idx):
                return out
            if kind == "value_and_grad":
                return out[0], _like_args(out[1], args, idx, many)
            return _like_args(out, args, idx, many)
        _real(f, args)
        grads = tuple(runtime.grad_like(_jac_fwd(f, args, idx, i, out_shape=(), optimize=optimize, backend=backend),
                                        args[i]) for i in idx)
        g = grads if many else grads[0]
        if kind == "value_and_grad":
            return signature.call(f, args), g
        return g
    fast = _direct(gen, idx, lambda *args: slow(args, {}))
    fwd = functools.update_wrapper(fast, f) if fast is not None else wrapper
    fwd.sd_generated = gen  # what differentiating this function again transforms
    return _finish(fwd, f, gen.source)


def _direct(gen, idx, fallback):
    """A derivative called with no wrapper in front, where ``gen`` is a float fast path whose guard
    covers every differentiated parameter (so it runs only when each of them is a float, when the wrapper
    would hand its result back as it is; the fast path has no way to a complex number, ``scalar_params``):
    ``gen``'s code with the function its guard sends other calls to replaced by ``fallback`` (the wrapper's
    general path: forward mode's, or reverse mode's complex switch). None where that does not hold."""
    import types
    guard = getattr(gen, "sd_guard", None)
    code = gen.__code__
    if not guard or guard[1] not in code.co_freevars:
        return None
    params = code.co_varnames[:code.co_argcount]
    if not all(i < len(params) and params[i] in guard[0] for i in idx):
        return None
    cells = tuple(types.CellType(fallback) if n == guard[1] else c for n, c in zip(code.co_freevars, gen.__closure__))
    return types.FunctionType(code, gen.__globals__, gen.__name__, gen.__defaults__, cells)


def _floats(out):
    """Is ``out`` a float, or a tuple of floats (or of such tuples): certainly real?"""
    return type(out) is float or type(out) is tuple and all(map(_floats, out))


def _like_args(g, args, idx, many):
    if many:
        return tuple(runtime.grad_like(gi, args[i]) for gi, i in zip(g, idx))
    return runtime.grad_like(g, args[idx[0]])


def _clone(fn):
    """A fresh function object sharing the code (so attributes can differ per operator)."""
    import types
    new = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__dict__.update(fn.__dict__)
    return new


def _bind(f, args, kw):
    """``args`` and ``kw`` as the full positional argument list of ``f``, defaults filled in
    (the generated jvp and vjp functions take every parameter, then the tangents or the seed)."""
    if signature.packed(f):
        return signature.bind(f, args, kw)
    if not kw and len(args) == _arity(f):
        return list(args)
    b = inspect.signature(f).bind(*args, **kw)
    b.apply_defaults()
    return list(b.args)


def _arity(f):
    """The number of positional parameters of a plain function or bound method (-1: unknown)."""
    if inspect.isfunction(f):
        return f.__code__.co_argcount
    return _arity(f.__func__) - 1 if inspect.ismethod(f) and inspect.isfunction(f.__func__) else -1


def jvp(f: Optional[Callable] = None, wrt: Wrt = None, backend: str = "python") -> Callable:
    """``(*args, tangents) -> (value, directional derivative)``, forward mode."""
    if f is None:
        return lambda g: jvp(g, wrt, backend)
    f = _generated(f)
    idx, many = _wrt(f, wrt)
    gen = _derivative(f, idx, "jvp", "forward", True, True)
    run = gen if gen.sd_complex else _run_on(_backend(backend), f, idx, "jvp", "forward", True, True)

    def jvp_fn(*args, **kw):
        *args, tangents = args
        args = _bind(f, args, kw)
        ts = tuple(tangents) if many else (tangents,)
        if len(ts) != len(idx):
            raise SourcediffError("jvp of %s needs %d tangents, got %d" % (f.__name__, len(idx), len(ts)), **_at(f))
        for i in idx:
            _check_arg(args[i])
        if gen.sd_complex or _complex((args, ts)):
            return _complex_jvp(f, idx, args, ts)
        _real(f, args, ts)
        val, tan = run(*args, *ts)
        _real(f, val, tan)
        return val, _like(tan, val)
    out = _finish(functools.wraps(f)(jvp_fn), f, gen.source)
    out.sd_generated = "sd.jvp with a tuple of tangents cannot be differentiated again" if many else gen
    return out


def vjp(f: Optional[Callable] = None, wrt: Wrt = None, backend: str = "python") -> Callable:
    """``(*args, seed) -> (value, cotangents)``, reverse mode."""
    if f is None:
        return lambda g: vjp(g, wrt, backend)
    f = _generated(f)
    idx, many = _wrt(f, wrt)
    generic = _derivative(f, idx, "vjp", "reverse", True, many)
    gen = _on(_backend(backend), generic, lambda key: _derivative(f, idx, "vjp", "reverse", True, many, key)) \
        if not generic.sd_complex else generic

    def vjp_fn(*args, **kw):
        *args, seed = args
        args = _bind(f, args, kw)
        if generic.sd_complex or _complex((args, seed)):
            return _derivative(f, idx, "vjp", "reverse", True, many, cplx=True)(*args, seed)
        val, ct = gen(*args, seed)
        _real(f, val)
        return val, ct
    out = _finish(functools.wraps(f)(vjp_fn), f, gen.source)
    out.sd_generated = generic  # what differentiating it again transforms
    return out


def _complex_grad_fwd(f, idx, args):
    """Forward-mode gradients where an argument is complex (numbers and arrays): JAX's convention, as reverse
    mode's, ``df/da - i df/db`` for each element ``a + ib``, from the tangents 1 and 1j (two sweeps each)."""
    def along(i, t):
        val, tan = _complex_jvp(f, idx, args, tuple(t if k == i else runtime.zeros_like(args[k]) for k in idx))
        if _complex(val) or np.ndim(val):
            raise SourcediffError("grad needs a real-valued function with a scalar output; %s returns %s"
                                  % (f.__qualname__, np.asarray(val).dtype if np.ndim(val) == 0 else np.shape(val)),
                                  **_at(f), hint=_NON_SCALAR_HINT)
        return float(np.real(tan))
    out = []
    for i in idx:
        x = args[i]
        if not isinstance(x, (complex, float, int, np.ndarray, np.number)):
            raise SourcediffError("a forward-mode sd.grad of %s with complex values meets a %s argument"
                                  % (f.__qualname__, type(x).__name__), **_at(f), hint="use mode='reverse'")
        cplx, shape = _complex(x), np.shape(x)
        g = np.zeros(shape, complex if cplx else float)
        for j in np.ndindex(shape):
            e = np.zeros(shape, g.dtype)
            e[j] = 1
            e = e if isinstance(x, np.ndarray) else e[()].item()
            g[j] = along(i, e) - (1j * along(i, 1j * e) if cplx else 0.0)
        out.append(g if isinstance(x, np.ndarray) else g[()].item())
    return out


def _complex_jvp(f, idx, args, ts):
    """sd.jvp in complex mode: a real argument's tangent must be real (a complex one would leave its type)."""
    for i, t in zip(idx, ts):
        if not _complex(args[i]) and _complex(t):
            raise SourcediffError("a real argument of %s has a complex tangent" % f.__qualname__, **_at(f),
                                  hint="pass a real tangent for a real argument (or make the argument complex)")
    val, tan = _derivative(f, idx, "jvp", "forward", True, True, cplx=True)(*args, *ts)
    return val, _like(tan, val)


def _at(f):
    """Where ``f`` is defined, as ``SourcediffError`` keywords (none when it has no code)."""
    import linecache
    f = getattr(f, "fn", f)  # a checkpoint
    code = getattr(unwrap(getattr(f, "__func__", f), refuse=False), "__code__", None)
    if code is None:
        return {}
    filename, line = runtime.ORIGIN.get(code, (code.co_filename, code.co_firstlineno))[:2]  # generated: its user's
    return {"filename": filename, "lineno": line, "line": linecache.getline(filename, line) or None}


def _real(f, *values):
    """Refuse complex arguments or results of a call of an operator on ``f``, at ``f``'s definition
    (complex numbers are not differentiated yet)."""
    if any(_complex(v) for v in values):
        raise SourcediffError("an argument or result of %s is complex: sourcediff differentiates real numbers only"
                              % getattr(f, "__qualname__", f), **_at(f),
                              hint="pass real arrays (np.real / np.imag of a complex one, or a pair of real arrays)")


def _like(t, v):
    if isinstance(t, float) and t == 0.0 and not isinstance(v, float):
        return runtime.zeros_like(v)
    if _has_struct(v):  # a structured value's tangent may be its children's: its own type again
        return runtime.grad_like(t, v)
    return t


def _check_arg(x):
    """Refuse, in ``x``, an object of an unknown class and a structured value with an attribute read as
    an array's (what a reverse gradient's ``grad_like`` refuses; a tangent passed in goes nowhere near it)."""
    if runtime.is_struct(x):
        runtime.struct_children(x)
    elif isinstance(x, (dict, list, tuple)):
        for e in (x.values() if isinstance(x, dict) else x):
            _check_arg(e)
    elif not isinstance(x, (float, int, np.ndarray)):
        runtime.check_leaf(x)


def _has_struct(v):
    return next(_structs(v), None) is not None


def _structs(v):
    """The structured values in ``v`` (itself, or inside its dicts, lists and tuples)."""
    if runtime.is_struct(v):
        yield v
    elif isinstance(v, (dict, list, tuple)):
        for e in (v.values() if isinstance(v, dict) else v):
            yield from _structs(e)


def _dtype(x, y):
    """float32 in and out stays float32; anything else is float64."""
    kinds = [np.asarray(v).dtype for v in (x, y) if isinstance(v, (np.ndarray, np.generic))]
    return np.float32 if kinds and all(k == np.float32 for k in kinds) else np.float64


CHUNK = 2 ** 22  # a batched sweep carries at most this many seed elements (directions x input size)


def _jac_fwd(f, args, idx, i, out_shape=None, optimize=True, part=None, backend="python"):
    """The forward-mode Jacobian of ``f`` (output ``part`` of it, when given) w.r.t. ``args[i]``,
    shape O + I; with ``out_shape=()`` the gradient of a scalar output. An array or number goes
    through the batched jvp, a chunk of directions per sweep; a container, whose tangents would
    be containers of batches, through the plain jvp, one direction per sweep."""
    x = args[i]
    if (runtime.is_struct(x) or isinstance(x, dict)) and out_shape != ():
        _no_jacobian(x)
    if isinstance(x, (dict, list, tuple)) or runtime.is_struct(x):
        return _jac_fwd_each(_run_on(backend, f, idx, "jvp", "forward", optimize, True), args, idx, x, i,
                             out_shape, part)
    jv = _run_on(backend, f, idx, "bjvp", "forward", optimize, True)
    shape = np.shape(x)
    n = int(math.prod(shape))
    step, rows, val = max(1, min(n, CHUNK // max(n, 1))), [], None
    for lo in range(0, n, step):
        b = min(step, n - lo)
        seed = np.zeros((b, n))
        seed[np.arange(b), lo + np.arange(b)] = 1.0
        if runtime.foreign(x):  # the seed of another library's array is of that library (CuPy: on its device)
            seed = np.asarray(seed, like=x)
        val, tan = jv(*args, *[seed.reshape((b,) + shape) if k == i else 0.0 for k in idx])
        if part is not None:
            val, tan = val[part], runtime.tindex(tan, part)
        t = _rows(tan, val, b)
        if out_shape == ():  # a gradient: the output must be a scalar
            if val is None or isinstance(val, (str, bytes, bool)):
                raise SourcediffError("grad needs a function that returns a number; %s returns %s"
                                      % (getattr(f, "__qualname__", f), type(val).__name__), **_at(f),
                                      hint="return a float or a size-1 array")
            if math.prod(np.shape(val)) != 1:
                raise SourcediffError("grad needs a function with a scalar output, got shape %s" % (np.shape(val),),
                                      **_at(f),
                                      hint=_NON_SCALAR_HINT)
            t = t.reshape(b)
        rows.append(t)
    if not isinstance(x, (int, float)):  # after the sweeps, which refuse reading its attributes at their lines
        runtime.check_leaf(x)
    if out_shape == ():
        g = np.concatenate(rows).reshape(shape) if rows else np.zeros(shape)
        return g if isinstance(x, np.ndarray) or runtime.foreign(g) else float(g)
    O = np.shape(val)
    J = np.concatenate(rows) if rows else np.zeros((0,) + O)
    return np.moveaxis(J, 0, -1).reshape(O + shape).astype(_dtype(x, val), copy=False)


def _rows(t, v, b):
    """Batched tangent ``t`` of ``v`` as one array of shape (b,) + np.shape(v): 0.0 filled in,
    a tuple or list stacked the way ``np.asarray`` stacks the values."""
    if isinstance(v, dict):
        raise SourcediffError("jacobian needs a function returning an array (or a tuple/list of them), not a dict")
    if isinstance(t, (list, tuple)) and isinstance(v, (list, tuple)):
        return np.stack([_rows(ti, vi, b) for ti, vi in zip(t, v)], axis=1)
    if isinstance(t, float) and t == 0.0:
        return np.zeros((b,) + np.shape(v))
    t = t if runtime.foreign(t) else np.asarray(t)  # another library's tangent stays its own (Dask: lazy)
    if t.shape != (b,) + np.shape(v):
        raise AssertionError("sourcediff bug: a batched tangent of shape %s for a value of shape %s"
                             % (t.shape, np.shape(v)))
    return t


def _jac_fwd_each(jv, args, idx, x, i, out_shape=None, part=None):
    cols = []
    for e in basis(x):
        ts = [e if k == i else runtime.zeros_like(args[k]) for k in idx]
        val, tan = jv(*args, *ts)
        if part is not None:
            val, tan = val[part], runtime.tindex(tan, part)
        if isinstance(val, dict) or runtime.is_struct(val):
            _no_jacobian(val)
        cols.append(np.asarray(_like(tan, val), dtype=_dtype(x, val)))
    if out_shape == ():  # a gradient: the output must be a scalar
        if cols and cols[0].size != 1:
            raise SourcediffError("grad needs a function with a scalar output, got shape %s" % (cols[0].shape,),
                                  **_at(jv),
                                  hint=_NON_SCALAR_HINT)
        return unflat(x, [float(np.sum(c)) for c in cols])
    O = np.shape(cols[0]) if cols else ()
    J = np.stack(cols, axis=-1) if cols else np.zeros(O + (0,))
    return J.reshape(O + np.shape(x))


def _no_jacobian(x):
    name = type(x).__name__
    raise SourcediffError("a Jacobian of or with respect to a %s (a structured value) has no array shape" % name,
                          hint="use sd.grad, sd.vjp or sd.jvp, whose results have the %s's structure" % name)


@_decorator
def jacobian(f: Callable, wrt: Wrt = None, mode: str = "reverse", backend: str = "python") -> Callable:
    """The Jacobian: for input shape I and output shape O, an array of shape O + I (forward mode:
    one batched sweep per chunk of input directions; reverse mode: one sweep per output element)."""
    f = _generated(f)
    idx, many = _wrt(f, wrt)
    _mode(mode)
    _backend(backend)
    if mode == "forward":
        jv = _derivative(f, idx, "bjvp", "forward", True, True)

        def jac(*args, **kw):
            args = _bind(f, args, kw)
            _real(f, args)
            out = tuple(_jac_fwd(f, args, idx, i, backend=backend) for i in idx)
            return out if many else out[0]
        return _not_again(_finish(functools.wraps(f)(jac), f, jv.source), "jacobian")
    vj = _run_on(backend, f, idx, "vjp", "reverse", True, True)

    def jac(*args, **kw):
        args = _bind(f, args, kw)
        for x in (args[i] for i in idx):
            if runtime.is_struct(x) or isinstance(x, dict):
                _no_jacobian(x)
        y = signature.call(f, args)
        _real(f, args, y)
        rows = [[] for _ in idx]
        for e in basis(y):
            _, cts = vj(*args, e)
            for r, c in zip(rows, cts):
                r.append(np.asarray(c, dtype=float))
        O = np.shape(y)
        rows = [[np.asarray(c, dtype=_dtype(args[i], y)) for c in r] for r, i in zip(rows, idx)]
        out = tuple(np.stack(r).reshape(O + np.shape(args[i])) if r else np.zeros(O + np.shape(args[i])) for r,
                    i in zip(rows, idx))
        return out if many else out[0]
    return _not_again(_finish(functools.wraps(f)(jac), f, vj.source), "jacobian")


@_decorator
def hessian(f: Callable, wrt: Wrt = None, backend: str = "python") -> Callable:
    """The Hessian, by forward mode over the generated reverse code."""
    f = _generated(f)
    idx, many = _wrt(f, wrt)
    _backend(backend)
    if many and len(idx) > 1:
        g = grad(f, wrt=wrt)
        inner = _derivative(f, idx, "grad", "reverse", True, True)

        def hess(*args, **kw):
            args = _bind(f, args, kw)
            _real(f, args)
            return tuple(tuple(_hess_block(inner, args, k, j, idx, backend) for j in idx) for k in range(len(idx)))
        return _not_again(_finish(functools.wraps(f)(hess), f, g.source), "hessian")
    inner = _derivative(f, idx, "grad", "reverse", True, False)
    jac = jacobian(inner, wrt=idx[0], mode="forward", backend=backend)

    def hess(*args, **kw):
        args = _bind(f, args, kw)
        _real(f, args)
        return jac(*args)
    return _not_again(_finish(functools.wraps(f)(hess), f, jac.source), "hessian")


def _hess_block(inner, args, k, j, idx, backend="python"):
    return _jac_fwd(inner, args, (j,), j, part=k, backend=backend)


def stop_gradient(x: T) -> T:
    """``x``, treated as a constant by every derivative."""
    return x


R.nondiff(stop_gradient)


def checkpoint(g: Callable) -> Callable:
    """``g`` unchanged in value; differentiated callers store only its inputs and recompute it."""
    return CHECKPOINT(g)


def defvjp(func: Callable, *rules: Optional[Callable]) -> None:
    """Register reverse rules for ``func``: one ``lambda g, ans, *args`` per positional argument."""
    USER_VJP[func] = list(rules)
    _invalidate()
    return func


def defjvp(func: Callable, *rules: Optional[Callable]) -> None:
    """Register forward rules for ``func``: one ``lambda dx, ans, *args`` per positional argument."""
    USER_JVP[func] = list(rules)
    _invalidate()
    return func


def _invalidate():
    _MEMO.clear()
    from . import cache
    cache.clear_memory()
