"""Jitted versions of the runtime helpers generated code calls, for the Numba backend (``backend_numba``).

Each is a ``numba.extending.overload`` of the Python helper itself, for the argument types whose meaning
it keeps (numbers, real NumPy arrays); other types have no overload, so Numba refuses to compile the
derivative and the backend falls back to the Python version. Where the Python helper would take a path
the overload does not (an adjoint spread over a larger shape, a size-1 check failing), the overload
raises, and the backend runs the Python version for that call. Importing this module registers them.
"""
import numba
import numpy as np
from numba import types
from numba.extending import overload
from numba.np.numpy_support import as_dtype

from . import runtime
from .rules import helpers as H


def _num(t):
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


def _arr(t):
    return isinstance(t, types.Array)


def _none(t):
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


@numba.njit(cache=True)
def range_reversed(r):
    """``reversed(r)`` of a range."""
    n = len(r)
    return range(r.start + (n - 1) * r.step, r.start - r.step, -r.step)


@numba.njit(cache=True)
def range_head(r, n):
    """``r[:n]`` of a range, for ``n >= 0``."""
    k = min(max(n, 0), len(r))
    return range(r.start, r.start + k * r.step, r.step)


@numba.njit(cache=True)
def float_tape():
    """An empty tape of floats (``backend_numba.FloatTapes``)."""
    return np.empty(16)


@numba.njit(cache=True)
def reserved(tape, n):
    """``tape`` with room for ``n`` entries: itself, or its entries copied into a larger one."""
    if n <= len(tape):
        return tape
    out = np.empty(max(n, 2 * len(tape)))
    out[:len(tape)] = tape
    return out


@numba.njit(cache=True)
def reduce_to(g, shape):
    """``g`` summed down to ``shape`` (NumPy's broadcasting undone); raises where ``g`` is not a broadcast of
    an array of ``shape`` (the Python version handles those)."""
    out = np.zeros(shape)
    flat_o = out.reshape(-1)
    flat_g = np.ascontiguousarray(g).reshape(-1)
    off = g.ndim - len(shape)
    if off < 0:
        raise ValueError("an adjoint smaller than its value")
    if off == 1 and flat_o.size * g.shape[0] == flat_g.size and g.shape[1:] == shape:  # summed over rows
        for i in range(g.shape[0]):
            flat_o += flat_g[i * flat_o.size:(i + 1) * flat_o.size]
        return out
    for d in range(g.ndim):
        if d >= off and shape[d - off] != 1 and shape[d - off] != g.shape[d]:
            raise ValueError("an adjoint of another shape")
    for k in range(flat_g.size):
        rem, oi, stride = k, 0, 1
        for d in range(g.ndim - 1, -1, -1):
            c = rem % g.shape[d]
            rem //= g.shape[d]
            if d >= off:
                if shape[d - off] != 1:
                    oi += c * stride
                stride *= shape[d - off]
        flat_o[oi] += flat_g[k]
    return out


@overload(runtime.unbroadcast)
def _unbroadcast(g, x):
    if _num(g) and _num(x):
        return lambda g, x: g
    if _arr(g) and (_num(x) or _arr(x) and x.ndim == 0):
        return lambda g, x: np.sum(g)
    if _num(g) and _arr(x):
        return lambda g, x: np.full(x.shape, g)
    if _arr(g) and _arr(x) and g.ndim == x.ndim:
        def same(g, x):
            if g.shape == x.shape:
                return g
            return reduce_to(g, x.shape)
        return same
    if _arr(g) and _arr(x):
        return lambda g, x: reduce_to(g, x.shape)


@overload(runtime.shape_of)
def _shape_of(x):
    if _num(x) or _arr(x):
        return lambda x: x  # only its shape is read


@overload(runtime.stand_in)
def _stand_in(shape):
    if isinstance(shape, types.BaseTuple):
        return lambda shape: np.zeros(shape)


@overload(runtime.seed_one)
def _seed_one(y):
    if isinstance(y, (types.Float, types.Integer)):
        return lambda y: 1.0
    if _arr(y) and y.dtype in types.real_domain | types.integer_domain:
        def seed(y):
            if y.size != 1:
                raise ValueError("a non-scalar output")
            return np.ones(y.shape)
        return seed


@overload(runtime.zeros_like)
def _zeros_like(x):
    if _num(x):
        return lambda x: 0.0
    if _arr(x) and isinstance(x.dtype, types.Float):
        return lambda x: np.zeros_like(x)
    if _arr(x) and x.dtype in types.integer_domain | {types.boolean}:
        return lambda x: np.zeros(x.shape)


@overload(runtime.add)
def _add(a, b):
    if (_num(a) or _arr(a)) and (_num(b) or _arr(b)):
        return lambda a, b: a + b


@overload(runtime.grad_like)
def _grad_like(g, x):
    if isinstance(x, (types.Float, types.Integer)) and _num(g):
        return lambda g, x: float(g)
    if not _arr(x) or x.ndim == 0 or not (_num(g) or _arr(g) and isinstance(g.dtype, (types.Float, types.Integer))):
        return None
    dt = as_dtype(x.dtype) if isinstance(x.dtype, types.Float) else np.dtype(np.float64)
    if _num(g):
        return lambda g, x: np.full(x.shape, g).astype(dt)
    if g.ndim != x.ndim:
        return None
    if g.dtype == numba.from_dtype(dt):
        def same(g, x):
            if g.shape != x.shape:
                raise ValueError("a gradient of another shape")
            return g
        return same

    def cast(g, x):
        if g.shape != x.shape:
            raise ValueError("a gradient of another shape")
        return g.astype(dt)
    return cast


@overload(H.expand_reduced)
def _expand_reduced(g, x, axis=None, keepdims=False):
    if not _none(axis) or not _num(g):
        return None
    if _num(x):
        return lambda g, x, axis=None, keepdims=False: g
    if _arr(x):
        return lambda g, x, axis=None, keepdims=False: np.full(x.shape, g)


@overload(runtime.getitem_vjp)
def _getitem_vjp(acc, x, idx, g):
    """``x[i]`` of an array, ``i`` an integer or a tuple of them (one per axis): a new array, like Python's."""
    if not _arr(x) or not (isinstance(x.dtype, (types.Float, types.Integer)) or x.dtype == types.boolean):
        return None
    whole = isinstance(idx, types.UniTuple) and isinstance(idx.dtype, types.Integer) and idx.count == x.ndim
    if not (isinstance(idx, types.Integer) and (x.ndim == 1 and _num(g) or _arr(g) and g.ndim == x.ndim - 1)
            or whole and _num(g)):
        return None
    dt = as_dtype(x.dtype) if isinstance(x.dtype, types.Float) else np.dtype(np.float64)
    if _none(acc) or isinstance(acc, types.Float):
        def fresh(acc, x, idx, g):
            out = np.zeros(x.shape, dt)
            out[idx] += g
            return out
        return fresh
    if _arr(acc) and acc.ndim == x.ndim:
        def more(acc, x, idx, g):
            out = acc.copy()
            out[idx] += g
            return out
        return more


@overload(runtime.getitem_copy)
def _getitem_copy(x, idx):
    """``x[idx]`` of an array: an element, or a copy of a part."""
    if not _arr(x):
        return None
    if isinstance(idx, types.Integer) and x.ndim == 1 or \
            isinstance(idx, types.UniTuple) and isinstance(idx.dtype, types.Integer) and idx.count == x.ndim:
        return lambda x, idx: x[idx]
    return lambda x, idx: x[idx].copy()


@overload(H.matmul_dx)
def _matmul_dx(g, x, y):
    if _arr(g) and _arr(x) and _arr(y) and g.ndim == x.ndim == y.ndim == 2:
        return lambda g, x, y: g @ np.ascontiguousarray(y.T)


@overload(H.matmul_dy)
def _matmul_dy(g, x, y):
    if _arr(g) and _arr(x) and _arr(y) and g.ndim == x.ndim == y.ndim == 2:
        return lambda g, x, y: np.ascontiguousarray(x.T) @ g


# NumPy's own loops for these run 7-20x faster than Numba's (SIMD against one libm call per element; not
# sin, cos, sqrt: there Numba's are as fast), so on a float array of NUMPY_FROM numbers or more the compiled
# code calls NumPy itself (an object-mode block costs a few microseconds), which also gives the Python
# backend's very numbers.
NUMPY_LOOPS = ("exp", "expm1", "log", "log1p", "log2", "log10", "tanh", "sinh", "cosh", "tan", "arctan", "arcsin",
               "arccos", "arcsinh", "arctanh")
NUMPY_FROM = 512


def _numpy_loop(name):
    """``np_<name>(x)``: ``np.<name>(x)``, by NumPy's loop for a large float64 array."""
    f = getattr(np, name)

    def call(x):
        return f(x)
    call.__name__ = call.__qualname__ = "np_" + name

    @overload(call)
    def _call(x):
        if not (_arr(x) and x.dtype == types.float64):
            return lambda x: f(x)
        out_type = types.Array(types.float64, x.ndim, "C")

        def numpy_loop(x):
            if x.size < NUMPY_FROM:
                return f(x)
            with numba.objmode(out=out_type):
                out = np.ascontiguousarray(f(x))
            return out
        return numpy_loop
    return call


NUMPY_CALLS = {name: _numpy_loop(name) for name in NUMPY_LOOPS}
globals().update(("np_" + n, f) for n, f in NUMPY_CALLS.items())  # importable by name from generated modules

_FUNCS = [runtime.getitem_vjp, runtime.getitem_copy, runtime.unbroadcast, runtime.shape_of, runtime.stand_in,
          runtime.seed_one, runtime.zeros_like, runtime.add, runtime.grad_like, H.expand_reduced, H.matmul_dx,
          H.matmul_dy]
OVERLOADED = {id(f): (f.__module__, f.__name__) for f in _FUNCS}  # what a generated module imports by name


def register():
    """Nothing more to do: importing this module registered the overloads."""
