"""The few helpers that generated derivative code calls.

Generated code is ordinary Python: it calls NumPy through ``np.`` functions
(which NumPy's dispatch protocols let other array types override) and these
helpers. Nothing here writes into a caller's array.
"""
import math

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
    plan = _PLANS.get((gs, xs)) or _plan(gs, xs)
    if plan is _SPREAD:  # a scalar zero from a join, or a smaller adjoint: spread it over x
        return np.array(np.broadcast_to(g, xs))
    axes, keep, reshape = plan
    if type(g) is np.ndarray:
        g = _add_reduce(g, axes, keepdims=keep)
    else:  # another array type's own sum may take no keepdims: pass it only when it is True
        g = np.sum(g, axis=axes, keepdims=True) if keep else np.sum(g, axis=axes)
    return g.reshape(xs) if reshape else g


_PLANS, _SPREAD = {}, "spread"
_add_reduce = np.add.reduce  # a float array's sum without ndarray.sum's Python-level wrapper


def _plan(gs, xs):
    """How ``unbroadcast`` takes shape ``gs`` to ``xs``: the axes to sum, whether ``keepdims`` puts
    back the size-1 axes (none of ``gs``'s leading axes goes) or else a reshape must (both go);
    remembered per pair of shapes (a few hundred at most)."""
    lead = len(gs) - len(xs)
    if lead < 0:
        plan = _SPREAD
    elif any(a != b and b != 1 for a, b in zip(gs[lead:], xs)):
        _not_broadcast(gs, xs)
    else:
        ones = tuple(lead + i for i, (a, b) in enumerate(zip(gs[lead:], xs)) if b == 1 and a != 1)
        plan = (tuple(range(lead)) + ones, bool(ones) and not lead, bool(ones) and bool(lead))
    if len(_PLANS) > 512:
        _PLANS.clear()
    _PLANS[(gs, xs)] = plan
    return plan


def _not_broadcast(gs, xs):
    """An adjoint of shape ``gs`` that no broadcast of shape ``xs`` made: `+` joined or `*` repeated
    lists or tuples, whose derivative the operator rules do not describe."""
    from .errors import SourcediffError
    raise SourcediffError("an adjoint of shape %s does not fit an operand of shape %s: `+` or `*` on a list or "
                          "tuple joins or repeats it, which sourcediff cannot differentiate" % (gs, xs),
                          hint="build the list with append or a comprehension, or use np.concatenate / np.tile")


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


def setitem_vjp(g, idx, a=None):
    """Adjoint of ``v[idx] = a``: (``g[idx]``, a copy of ``g`` with ``[idx]`` zeroed); where ``a``
    is given, ``g[idx]`` summed down to its shape (``a`` broadcast into the slots it fills)."""
    if isinstance(g, float):
        return 0.0, g
    if isinstance(g, dict):
        rest = dict(g)
        return rest.pop(idx, 0.0), rest
    part = g[idx]
    part = part.copy() if isinstance(part, np.ndarray) else part
    if a is not None and isinstance(g, np.ndarray):
        part = unbroadcast(part, a)
    if isinstance(g, np.ndarray) and any(isinstance(i, (np.ndarray, list)) for i in (idx if isinstance(idx, tuple) else (idx,))):
        pos = np.arange(g.size).reshape(g.shape)[idx].ravel()  # where each written element lands
        if np.unique(pos).size < pos.size:  # a repeated index: the last write wins, the others get nothing
            keep = np.zeros(pos.size, bool)
            keep[pos.size - 1 - np.unique(pos[::-1], return_index=True)[1]] = True
            part = part * keep.reshape(np.shape(part))
    rest = g.copy() if hasattr(g, "copy") else list(g)
    rest[idx] = zeros_like(part) if not isinstance(rest, np.ndarray) else 0
    return part, rest


class _Missing:
    """What a dict held under a key that a write is about to create."""

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


def keys_of(d):
    """The keys of ``d`` in order, as ``for k in d`` meets them (a constant to every derivative)."""
    return list(d)


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

    List adjoints are always fresh lists made by sourcediff, so popping in place is safe; a NumPy
    rule given the list (``np.sum(lst)``) makes its adjoint an array, whose rows are the entries'.
    """
    if isinstance(dlst, float) or len(dlst) == 0:
        return 0.0, dlst
    dlst = dlst if isinstance(dlst, list) else list(dlst)
    return dlst.pop(), dlst


def adj_append(dlst, g, lst):
    """Adjoint of ``v = lst.pop()``: the popped value's adjoint goes back on the list's adjoint
    (zeros for what ``lst``, the list after the pop, still holds when it had none)."""
    out = zeros_like(list(lst)) if dlst is None or isinstance(dlst, float) else list(dlst)
    out.append(g)
    return out


def grad_like(g, x):
    """Give a gradient the structure of its argument: a float for a float, an array for an array."""
    if isinstance(x, np.ndarray):
        if type(g) is np.ndarray and g.dtype == x.dtype and g.shape == x.shape and x.dtype.kind in "fc":
            return g
        if np.shape(g) != x.shape:
            g = np.broadcast_to(g, x.shape) + np.zeros(x.shape)
        return np.asarray(g, dtype=x.dtype if x.dtype.kind in "fc" else np.float64)
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return float(g) if np.ndim(g) == 0 else g
    if isinstance(x, (tuple, list)):
        if not isinstance(g, (tuple, list)):  # an array (np.sin(xs) of a list xs) or a number spread over it
            g = list(np.broadcast_to(g, np.shape(x))) if isinstance(g, (np.ndarray, np.generic)) or g else [0.0] * len(x)
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
    if not isinstance(x, np.ndarray):
        return x
    key = (x.shape, x.dtype)
    z = _SHAPES.get(key)
    if z is None:
        z = _SHAPES[key] = np.broadcast_to(np.zeros((), x.dtype), x.shape)
    return z


def stand_in(shape):
    """``shape_of`` for a float array of ``shape``: what a derivative specialised to shapes reads
    for the shape of a value it does not keep."""
    z = _SHAPES.get((shape, _F64))
    if z is None:
        z = _SHAPES[shape, _F64] = np.broadcast_to(np.zeros(()), shape)
    return z


_F64 = np.dtype(np.float64)


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


def unbound(name):
    """Read a local the function assigns only after its ``return``: Python's own error."""
    raise UnboundLocalError("local variable %r referenced before assignment" % name)


# --- batched forward mode ---------------------------------------------------------------------
# A batched tangent of a value v is an array of shape (B,) + np.shape(v) (one row per direction),
# the zero marker 0.0 (zero in every direction), or a list/tuple/dict of batched tangents; never
# an array without the batch axis. Every helper below takes and gives the zero marker.

def _bzero(t):
    return t is None or isinstance(t, float) and t == 0.0


def bzeros(x):
    """The batched zero of ``x``: 0.0, kept inside ``x``'s list/tuple/dict structure (``append`` needs a list)."""
    if isinstance(x, (list, tuple)):
        return type(x)(bzeros(v) for v in x)
    if isinstance(x, dict):
        return {k: bzeros(v) for k, v in x.items()}
    return 0.0


def _nbatch(t):
    """B of a batched tangent, or None when it is zero in every direction."""
    if isinstance(t, np.ndarray):
        return t.shape[0]
    for v in (t.values() if isinstance(t, dict) else t if isinstance(t, (list, tuple)) else ()):
        n = _nbatch(v)
        if n is not None:
            return n
    return None


def bpack(t):
    """A list/tuple of batched tangents as one batched array, as ``np.asarray`` packs the values."""
    if not isinstance(t, (list, tuple)):
        return t
    parts = [bpack(v) for v in t]
    if all(_bzero(p) for p in parts):
        return 0.0
    return np.stack(np.broadcast_arrays(*[0.0 if _bzero(p) else p for p in parts]), axis=1)


def bpad(t, ans):
    """Tangent ``t`` of an operand with ones after the batch axis up to the rank of ``ans``, so an
    elementwise rule broadcasts it like the operand: (B, 3) -> (B, 1, 3) for a (2, 3) result."""
    if isinstance(ans, (list, tuple)):  # `+` and `*` joining or repeating sequences are not elementwise
        from .errors import SourcediffError
        raise SourcediffError("a list or tuple joined or repeated with + or * cannot be differentiated in batched forward mode",
                              hint="build it with np.concatenate, np.tile or a list comprehension")
    t = bpack(t)
    if _bzero(t):
        return 0.0
    k = np.ndim(ans) + 1 - t.ndim
    return t.reshape(t.shape[:1] + (1,) * k + t.shape[1:]) if k > 0 else t


def bfix(t, ans):
    """An elementwise rule's batched tangent; 0.0 when no batch axis survived (all its inputs were 0.0)."""
    return t if np.ndim(t) > np.ndim(ans) else 0.0


def _bslice(t, x, b):
    if isinstance(t, np.ndarray):
        return t[b]
    if isinstance(t, (list, tuple)):
        xs = x if isinstance(x, (list, tuple)) and len(x) == len(t) else [None] * len(t)
        return type(t)(_bslice(v, xv, b) for v, xv in zip(t, xs))
    if isinstance(t, dict):
        return {k: _bslice(v, x.get(k) if isinstance(x, dict) else None, b) for k, v in t.items()}
    return zeros_like(x)  # the plain rules get the zero a plain sweep would have: shaped like the value


def bdirs(*pairs):
    """The (tangent, value) pairs' tangents one direction at a time (a tuple, or the tangent itself
    for one pair), as the plain forward rules take them; nothing when every tangent is zero (the
    rules are linear in them)."""
    n = next((m for m in (_nbatch(t) for t, _ in pairs) if m is not None), None)
    for b in range(n or 0):
        yield _bslice(*pairs[0], b) if len(pairs) == 1 else tuple(_bslice(t, x, b) for t, x in pairs)


def bstack(rs, ans):
    """Per-direction tangents of ``ans`` stacked on a leading batch axis (0.0 when all are zero)."""
    if all(_bzero(r) for r in rs):
        return 0.0
    if isinstance(ans, (list, tuple)):
        return type(ans)(bstack([tindex(r, i) for r in rs], a) for i, a in enumerate(ans))
    if isinstance(ans, dict):
        return {k: bstack([tindex(r, k) for r in rs], a) for k, a in ans.items()}
    shape = np.shape(ans)
    return np.stack([np.broadcast_to(0.0 if _bzero(r) else r, shape) for r in rs])


def _moves_front(parts):
    """Whether NumPy puts the advanced-index dimensions of ``x[parts]`` first: they are split by a
    slice, None or ``...``, so a batch axis in front would land behind them."""
    if not any(isinstance(p, (list, np.ndarray)) for p in parts):
        return False
    adv = [i for i, p in enumerate(parts) if isinstance(p, (list, np.ndarray, int, np.integer, np.bool_))]
    return adv[-1] - adv[0] + 1 != len(adv)


def btindex(t, idx):
    """``tindex`` of a batched tangent: an array keeps its batch axis in front (``t[:, idx]``)."""
    if not isinstance(t, np.ndarray):
        return tindex(t, idx)
    parts = idx if isinstance(idx, tuple) else (idx,)
    if _moves_front(parts):
        return np.stack([tb[idx] for tb in t])
    return t[(slice(None),) + parts]


def btsetitem(t, x, idx, v):
    """``tsetitem`` of batched tangents: a copy of ``t`` (zero when None or 0.0) with ``[idx] = v``."""
    if not isinstance(x, np.ndarray):
        t = bzeros(x) if _bzero(t) else t.copy()
        t[idx] = v
        return t
    v = bpack(v)
    if _bzero(t) and _bzero(v):
        return 0.0
    if _bzero(t):
        t = np.zeros(v.shape[:1] + x.shape, dtype=x.dtype if x.dtype.kind in "fc" else np.float64)
    else:
        t = t.copy()
    parts = idx if isinstance(idx, tuple) else (idx,)
    if _moves_front(parts):
        for b in range(len(t)):
            t[b][idx] = 0.0 if _bzero(v) else v[b]
    elif _bzero(v):
        t[(slice(None),) + parts] = 0.0
    else:
        k = np.ndim(x[idx]) + 1 - v.ndim
        t[(slice(None),) + parts] = v.reshape(v.shape[:1] + (1,) * k + v.shape[1:]) if k > 0 else v
    return t


def shape_key(args):
    """What a derivative specialised to argument shapes is specialised to: per argument its
    shape (a NumPy array), ``"num"`` (a Python float or int), for a dict, list or tuple
    ``(type name, ((key, entry), ...))`` with entries like these, else None."""
    return tuple([_container_key(a) if type(a) in _CONTAINERS else _leaf_key(a) for a in args])


def _leaf_key(a):
    return a.shape if type(a) is np.ndarray else "num" if type(a) in (float, int) else None


def _container_key(a):
    items = a.items() if type(a) is dict else enumerate(a)
    return type(a).__name__, tuple([(k, _leaf_key(v)) if type(k) in (str, int) else (None, None) for k, v in items])


_CONTAINERS = (dict, list, tuple)


def is_container_key(k):
    """Is ``k``, one entry of a ``shape_key``, a dict's, list's or tuple's ``(type name, entries)``?"""
    return type(k) is tuple and bool(k) and type(k[0]) is str


def key_size(key):
    """How many numbers the arrays of a ``shape_key`` hold."""
    leaves = [e for k in key for e in ([v for _, v in k[1]] if is_container_key(k) else [k])]
    return sum(math.prod(e) for e in leaves if type(e) is tuple)
