"""The few helpers that generated derivative code calls.

Generated code is ordinary Python: it calls NumPy through ``np.`` functions
(which NumPy's dispatch protocols let other array types override) and these
helpers. Nothing here writes into a caller's array.
"""
import numpy as np


def unbroadcast(g, x):
    """Sum the adjoint ``g`` down to the shape of ``x`` (undo NumPy broadcasting).

    ``unbroadcast(ones((4, 3)), zeros((3,)))`` -> ``full((3,), 4.0)``; a Python
    scalar ``x`` gets a Python float back. The result is ``g`` itself, a new array, or
    (``g`` smaller than ``x``) a new writable array spread over ``x``'s shape.
    """
    try:
        gs, xs = g.shape, x.shape
    except AttributeError:
        if type(g) is float and type(x) is float:
            return g
        gs, xs = np.shape(g), np.shape(x)
    if gs == xs:  # the common case: nothing was broadcast
        return g
    if not xs:
        s = np.sum(g)
        return float(s) if isinstance(x, (int, float)) else s
    lead = len(gs) - len(xs)
    if lead < 0:  # a scalar zero from a join, or a smaller adjoint: spread it over x
        return np.array(np.broadcast_to(g, xs))
    if 1 not in xs:  # only leading axes were added (a bias over a batch): one reduction
        return g.sum(axis=_LEAD[lead]) if type(g) is np.ndarray else np.sum(g, axis=_LEAD[lead])
    if lead:
        g = np.sum(g, axis=_LEAD[lead])
    axes = tuple(i for i, (a, b) in enumerate(zip(np.shape(g), xs)) if b == 1 and a != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, xs) if np.shape(g) != xs else g


_LEAD = tuple(tuple(range(k)) for k in range(65))


def zeros_like(x):
    """A zero with the structure of ``x``: 0.0 for scalars, arrays, containers alike."""
    if x is None or x is UNSET or isinstance(x, (float, int, bool)):
        return 0.0
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.zeros_like(x, dtype=np.result_type(x, np.float64) if not np.issubdtype(np.asarray(x).dtype, np.inexact) else None)
    if isinstance(x, tuple):
        return tuple(zeros_like(v) for v in x)
    if isinstance(x, list):
        return [zeros_like(v) for v in x]
    if isinstance(x, dict):
        return {k: zeros_like(v) for k, v in x.items()}
    return np.zeros_like(x)


def add(a, b):
    """Add two adjoints of any structure (numbers, arrays, tuples, lists, dicts)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a)(add(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        out = {k: add(a[k], b[k]) if k in b else a[k] for k in a}
        out.update((k, v) for k, v in b.items() if k not in a)
        return out
    if isinstance(a, float) and a == 0.0 and not isinstance(b, (int, float)):
        return b
    if isinstance(b, float) and b == 0.0 and not isinstance(a, (int, float)):
        return a
    return a + b


def tindex(t, idx):
    """``t[idx]`` for a tangent or adjoint that may be the scalar zero of a join (or sparse)."""
    if isinstance(t, float):
        return 0.0
    return t.get(idx, 0.0) if isinstance(t, dict) else t[idx]


def tsetitem(t, x, idx, v):
    """A copy of tangent ``t`` (zeros shaped like ``x`` when None) with ``[idx] = v``."""
    t = zeros_like(x) if t is None or isinstance(t, float) else (t.copy() if hasattr(t, "copy") else list(t))
    t[idx] = v
    return t


def getitem_vjp(acc, x, idx, g):
    """Adjoint of ``x[idx]``: ``acc`` (None when zero) plus ``g`` scattered into ``x``'s shape.

    Container adjoints stay sparse (a missing key, a 0.0 entry); ``grad_like`` fills them in.
    """
    fresh = acc is None or isinstance(acc, float)
    if isinstance(x, np.ndarray):
        out = np.zeros(x.shape, dtype=np.result_type(x.dtype, np.float64) if x.dtype.kind in "biu" else x.dtype) \
            if fresh else np.array(acc, copy=True)
        np.add.at(out, idx, g)
        return out
    if isinstance(x, dict):
        out = {} if fresh else dict(acc)
        out[idx] = add(out[idx], g) if idx in out else g
        return out
    out = [0.0] * len(x) if fresh else list(acc)
    if isinstance(idx, slice):
        for j, gj in zip(range(len(x))[idx], g):
            out[j] = add(out[j], gj)
    else:
        out[idx] = add(out[idx], g)
    return tuple(out) if isinstance(x, tuple) else out


def setitem_vjp(g, idx):
    """Adjoint of ``v[idx] = a``: (``g[idx]``, a copy of ``g`` with ``[idx]`` zeroed)."""
    if isinstance(g, float):
        return 0.0, g
    if isinstance(g, dict):
        rest = dict(g)
        return rest.pop(idx, 0.0), rest
    part = g[idx]
    part = part.copy() if isinstance(part, np.ndarray) else part
    rest = g.copy() if hasattr(g, "copy") else list(g)
    rest[idx] = zeros_like(part) if not isinstance(rest, np.ndarray) else 0
    return part, rest


class _Missing:
    """What a dict held under a key that a write is about to create."""

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


def getitem_copy(x, idx):
    """``x[idx]`` as an independent copy (the value a write is about to overwrite)."""
    if isinstance(x, dict) and idx not in x:
        return MISSING
    if isinstance(x, float):  # the zero tangent of a join (forward over reverse)
        return 0.0
    v = x[idx]
    return v.copy() if isinstance(v, np.ndarray) else v


def snapshot(x):
    """A copy of a result that the adjoint sweep is about to restore in place."""
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, (list, dict)):
        return type(x)(x)
    return x


def unit_seed(x):
    """The seed of a forward-mode gradient: 1.0 for a scalar argument."""
    if np.ndim(x) != 0 or isinstance(x, (list, tuple, dict)):
        from .errors import SourcediffError
        raise SourcediffError("a seeded forward-mode gradient needs scalar arguments, got shape %s" % (np.shape(x),),
                              hint="differentiate the reverse-mode sd.grad instead, or use sd.jvp / sd.jacobian")
    return 1.0


def adj_pop(dlst):
    """Adjoint of ``lst.append(a)``: (the last entry of the list's adjoint, the rest).

    List adjoints are always fresh lists made by sourcediff, so popping in place is safe.
    """
    if isinstance(dlst, float) or not dlst:
        return 0.0, dlst
    dlst = dlst if isinstance(dlst, list) else list(dlst)
    return dlst.pop(), dlst


def adj_append(dlst, g):
    """Adjoint of ``v = lst.pop()``: the popped value's adjoint goes back on the list's adjoint."""
    out = [] if dlst is None or isinstance(dlst, float) else list(dlst)
    out.append(g)
    return out


def grad_like(g, x):
    """Give a gradient the structure of its argument: a float for a float, an array for an array."""
    if isinstance(x, np.ndarray):
        if np.shape(g) != x.shape:
            g = np.broadcast_to(g, x.shape) + np.zeros(x.shape)
        return np.asarray(g, dtype=x.dtype if x.dtype.kind in "fc" else np.float64)
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return float(g) if np.ndim(g) == 0 else g
    if isinstance(x, (tuple, list)):
        g = g if isinstance(g, (tuple, list)) else [0.0] * len(x)
        return type(x)(grad_like(gi, xi) for gi, xi in zip(g, x))
    if isinstance(x, dict):
        g = g if isinstance(g, dict) else {}
        return {k: grad_like(g.get(k, 0.0), v) for k, v in x.items()}
    return g


def seed_one(y):
    """The adjoint seed of a scalar output (1.0, or ones for a size-1 array)."""
    if isinstance(y, float):
        return 1.0
    if not isinstance(y, (int, np.ndarray, np.generic)) or isinstance(y, bool):
        from .errors import SourcediffError
        raise SourcediffError("grad needs a function that returns a number, got %s" % type(y).__name__,
                              hint="return a float or a size-1 array")
    if np.size(y) != 1:
        from .errors import SourcediffError
        raise SourcediffError("grad needs a function with a scalar output, got shape %s" % (np.shape(y),),
                              hint="use sd.vjp, sd.jvp or sd.jacobian for non-scalar outputs, or reduce with np.sum")
    return np.ones_like(y, dtype=np.result_type(y, np.float64)) if isinstance(y, np.ndarray) else 1.0


_SHAPES = {}


def shape_of(x):
    """A stand-in with ``x``'s shape and dtype and no data (a zero-strided view), for
    adjoints that need only the shape of a value a loop overwrites."""
    shape = getattr(x, "shape", None)
    if shape is None or not isinstance(x, np.ndarray):
        return x
    key = (shape, x.dtype)
    z = _SHAPES.get(key)
    if z is None:
        z = _SHAPES[key] = np.broadcast_to(np.zeros((), x.dtype), shape)
    return z


class _Unset:
    """What a name holds before its first assignment in generated code: using it raises the
    ``UnboundLocalError`` that the user's function itself would raise."""
    __slots__ = ()

    def _fail(self, *args, **kw):
        raise UnboundLocalError("local variable referenced before assignment")

    def __repr__(self):
        return "UNSET"


for _op in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow matmul rmatmul neg pos "
            "abs lt le gt ge bool float int index getitem setitem len iter array array_ufunc call getattr").split():
    setattr(_Unset, "__%s__" % _op, _Unset._fail)
UNSET = _Unset()
