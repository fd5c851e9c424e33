"""The few helpers that generated derivative code calls.

Generated code is ordinary Python: it calls NumPy through ``np.`` functions
(which NumPy's dispatch protocols let other array types override) and these
helpers. Nothing here writes into a caller's array.
"""
import math
import numbers
from typing import Callable

import numpy as np

from .duck import foreign, spread, zeros_as


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
    if gs == xs or _unknown_alike(gs, xs):  # the common case: nothing was broadcast
        return g
    if not xs:
        s = np.sum(g)
        return float(s) if isinstance(x, (int, float)) and not foreign(s) and not isinstance(s, complex) else s
    plan = _PLANS.get((gs, xs)) or _plan(gs, xs)
    if plan is _SPREAD:  # a scalar zero from a join, or a smaller adjoint: spread it over x
        return np.array(np.broadcast_to(g, xs)) if not (foreign(x) or foreign(g)) else spread(g, x)
    axes, keep, reshape = plan
    if type(g) is np.ndarray:
        g = _add_reduce(g, axes, keepdims=keep)
    else:  # another array type's own sum may take no keepdims: pass it only when it is True
        g = np.sum(g, axis=axes, keepdims=True) if keep else np.sum(g, axis=axes)
    return g.reshape(xs) if reshape else g


def _unknown_alike(gs, xs):
    """Shapes with unknown sizes (NaN: a Dask array after a boolean mask) in the same places, the others equal:
    a broadcast against another operand of known size would have made them known, so none happened."""
    return len(gs) == len(xs) and any(a != a for a in gs) and all(a == b or a != a and b != b for a, b in zip(gs, xs))


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
        not_broadcast(gs, xs)
    else:
        ones = tuple(lead + i for i, (a, b) in enumerate(zip(gs[lead:], xs)) if b == 1 and a != 1)
        plan = (tuple(range(lead)) + ones, bool(ones) and not lead, bool(ones) and bool(lead))
    if len(_PLANS) > 512:
        _PLANS.clear()
    _PLANS[(gs, xs)] = plan
    return plan


def not_broadcast(gs, xs):
    """A derivative (adjoint or tangent) of shape ``gs`` that no broadcast of shape ``xs`` made: `+` joined
    or `*` repeated lists or tuples, whose derivative the operator rules do not describe."""
    raise refusal("a derivative of shape %s does not fit a value of shape %s: `+` or `*` on a list or "
                  "tuple joins or repeats it, which sourcediff cannot differentiate" % (gs, xs),
                  hint="build the list with append or a comprehension, or use np.concatenate / np.tile")


def zeros_like(x):
    """A zero with the structure of ``x``: 0.0 for scalars, arrays, containers alike."""
    if x is None or x is UNSET or isinstance(x, (float, int, bool, str)):  # a str: a dict key
        return 0.0
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.zeros_like(x, dtype=np.result_type(x, np.float64)
                             if not np.issubdtype(np.asarray(x).dtype, np.inexact) else None)
    if foreign(x):
        return zeros_as(x)
    if is_struct(x):
        return struct_rebuild(x, [zeros_like(c) if _numeric(c) else c for c in struct_children(x)])
    if isinstance(x, tuple):
        return tuple(zeros_like(v) for v in x)
    if isinstance(x, list):
        return [zeros_like(v) for v in x]
    if isinstance(x, dict):
        return {k: zeros_like(v) for k, v in x.items()}
    return np.zeros_like(x)


def add(a, b):
    """Add two adjoints of any structure (numbers, arrays, tuples, lists, dicts; a structured value's
    adjoint, its children's adjoints in a tuple or the structured value itself, gives a tuple)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        out = [add(x, y) for x, y in zip(a, b)]
        return out if type(a) is list else tuple(out)
    if isinstance(a, dict) and isinstance(b, dict):
        out = {k: add(a[k], b[k]) if k in b else a[k] for k in a}
        out.update((k, v) for k, v in b.items() if k not in a)
        return out
    if isinstance(a, float) and a == 0.0 and not isinstance(b, (int, float)):
        return b
    if isinstance(b, float) and b == 0.0 and not isinstance(a, (int, float)):
        return a
    if not (isinstance(a, _ARITH) and isinstance(b, _ARITH)) and (is_struct(a) or is_struct(b)):
        return add(tuple(_kids(a, a if is_struct(a) else b)), tuple(_kids(b, b if is_struct(b) else a)))
    return a + b


_ARITH = (np.ndarray, np.generic, float, int)


def tindex(t, idx, like=None):
    """``t[idx]`` for a tangent or adjoint that may be the scalar zero of a join (or sparse); a zero part of an
    array ``like`` (its value or shape stand-in) is zeros of its shape (``dense_zero``)."""
    return dense_zero(0.0 if isinstance(t, float) else t.get(idx, 0.0) if isinstance(t, dict) else t[idx], like)


def dense_zero(part, like):
    """``part``, or zeros of ``like``'s shape where ``part`` is the bare zero and ``like`` an array: the rules
    that change shapes (``reshape``, ``stack``, ``matmul``...) need an adjoint of their result's shape."""
    return zeros_like(like) if type(part) is float and part == 0.0 and isinstance(like, np.ndarray) else part


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
    if foreign(x) or foreign(g) and isinstance(x, np.ndarray):  # of the foreign library (Dask: lazy)
        ref = x if foreign(x) else g
        out = zeros_as(ref, x.shape, x.dtype)
        return scatter_add(out if fresh else out + acc, idx, g)
    if isinstance(x, np.ndarray):
        out = np.zeros(x.shape, dtype=np.result_type(x.dtype, np.float64) if x.dtype.kind in "biu" else x.dtype) \
            if fresh else np.array(acc, copy=True)
        if out.dtype.kind != "c" and is_complex(g):  # complex mode: a real value's adjoint (its real part taken last)
            out = out.astype(np.result_type(out.dtype, g))
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


def scatter_add(out, idx, g):
    """``out`` (a fresh array of another library, written in place) with ``g`` added at ``idx``: by item
    assignment where ``idx`` picks no element twice (Dask has no ``np.add.at``), else ``np.add.at``;
    refused (located) where that array type supports neither."""
    try:
        if unique_index(idx, out.shape):
            out[idx] = out[idx] + g
        else:
            np.add.at(out, idx, g)
    except (TypeError, NotImplementedError, ValueError, IndexError) as e:
        raise refusal("the adjoint of indexing a %s in {f} (index %s) needs a scatter-add, which this array "
                      "type does not support (%s: %s)" % (type(out).__name__, _describe(idx), type(e).__name__, e),
                      hint="index with slices, integers or a NumPy mask; for a lazy mask m, np.where(m, x, 0.0) "
                           "in place of x[m]")
    return out


def _describe(idx):
    parts = idx if isinstance(idx, tuple) else (idx,)
    return "(%s)" % ", ".join(type(p).__name__ for p in parts)


def unique_index(idx, shape):
    """Does ``x[idx]`` (``x`` of ``shape``) read each element at most once? Integers, slices, ``None``,
    ``...`` and boolean masks do; one integer array (or list) does where its entries differ; anything
    else (several integer arrays together) is not known to."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    ints = [(k, p) for k, p in enumerate(parts) if isinstance(p, list) or hasattr(p, "dtype") and p.dtype.kind in "iu"
            and np.ndim(p) > 0]
    if not ints:
        return True
    if len(ints) > 1 or foreign(ints[0][1]) or any(p is Ellipsis or p is None for p in parts):
        return False
    k, p = ints[0]
    p = np.asarray(p).ravel() % shape[k]  # an index array of NumPy's (never the data): which entries it picks
    return np.unique(p).size == p.size


def setitem_vjp(g, idx, a=None):
    """Adjoint of ``v[idx] = a``: (``g[idx]`` summed down to ``a``'s shape where the write broadcast
    it, a copy of ``g`` with ``[idx]`` zeroed)."""
    if isinstance(g, np.generic):  # the adjoint of a 0-d array, not the zero marker 0.0
        g = np.array(g)
    if isinstance(g, float):
        return 0.0, g
    if isinstance(g, dict):
        rest = dict(g)
        return rest.pop(idx, 0.0), rest
    part = g[idx]
    part = part.copy() if isinstance(part, np.ndarray) or foreign(part) else part
    if foreign(g) and not unique_index(idx, g.shape):
        raise refusal("{f} writes a %s with an index that may repeat an element; its adjoint on this array type "
                      "is not supported" % type(g).__name__, hint="write with slices, integers or a boolean mask")
    if isinstance(g, np.ndarray) and any(isinstance(i, (np.ndarray, list))
                                         for i in (idx if isinstance(idx, tuple) else (idx,))):
        pos = np.arange(g.size).reshape(g.shape)[idx].ravel()  # where each written element lands
        if np.unique(pos).size < pos.size:  # a repeated index: the last write wins, the others get nothing
            keep = np.zeros(pos.size, bool)
            keep[pos.size - 1 - np.unique(pos[::-1], return_index=True)[1]] = True
            part = part * keep.reshape(np.shape(part))
    rest = g.copy() if hasattr(g, "copy") else list(g)
    rest[idx] = 0 if isinstance(rest, np.ndarray) or foreign(rest) else zeros_like(part)
    if (isinstance(part, np.ndarray) or foreign(part)) and (isinstance(a, (np.ndarray, float, int)) or np.isscalar(a)
                                                            or foreign(a)):
        part = unbroadcast(part, a)
    return part, rest


class _Missing:
    """What a dict held under a key that a write is about to create."""

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


def keys_of(d):
    """The keys of ``d`` in order, as ``for k in d`` meets them (a constant to every derivative)."""
    return list(d)


def dict_keys(d):
    """``keys_of(d)`` where ``d`` is a dict, else None (a constant to every derivative)."""
    return list(d) if isinstance(d, dict) else None


def sort_order(keys, reverse=False):
    """The positions of ``keys`` in the order ``sorted(items, key=..., reverse=reverse)`` puts their items
    (stable, as ``sorted`` is; a constant to every derivative)."""
    return sorted(range(len(keys)), key=keys.__getitem__, reverse=reverse)


def getitem_copy(x, idx):
    """``x[idx]`` as an independent copy (the value a write is about to overwrite)."""
    if isinstance(x, dict) and idx not in x:
        return MISSING
    if isinstance(x, float):  # the zero tangent of a join (forward over reverse)
        return 0.0
    v = x[idx]
    return v.copy() if isinstance(v, np.ndarray) or foreign(v) else v


def snapshot(x):
    """A copy of a result that the adjoint sweep is about to restore in place."""
    if isinstance(x, np.ndarray) or foreign(x):
        return x.copy()
    if isinstance(x, (list, dict)):
        return type(x)(x)
    return x


def unit_seed(x):
    """The seed of a forward-mode gradient: 1.0 for a scalar argument. (``sd.grad(f, mode="forward")``
    sends arrays to batched sweeps; its seeded code meets one only when it is differentiated again or
    called inside differentiated code.)"""
    if is_complex(x):
        refuse_complex("an argument of")
    if np.ndim(x) != 0 or isinstance(x, (list, tuple, dict)) or is_struct(x):
        raise refusal("a seeded forward-mode gradient of {f} needs scalar arguments, got shape %s: a forward-mode "
                      "sd.grad of an array cannot be differentiated again" % (np.shape(x),),
                      hint="differentiate the reverse-mode sd.grad instead, or use sd.jvp / sd.jacobian")
    return 1.0


def adj_pop(dlst, lst=None):
    """Adjoint of ``lst.append(a)``: (the last entry of the list's adjoint, a new list of the rest); given
    ``lst`` (the list as the append left it), a zero entry for an array is zeros of its shape.

    ``dlst`` stays as it was: a derivative of this derivative may still read it (as ``adj_append`` copies too,
    every list adjoint is a value). An array adjoint (``np.sum(lst)``) holds the entries' adjoints as its rows.
    """
    last, rest = (0.0, dlst) if isinstance(dlst, float) or len(dlst) == 0 else (dlst[-1], list(dlst[:-1]))
    return (dense_zero(last, lst[-1]) if lst else last), rest


def adj_append(dlst, g, lst):
    """Adjoint of ``v = lst.pop()``: the popped value's adjoint goes back on the list's adjoint
    (zeros for what ``lst``, the list after the pop, still holds when it had none)."""
    out = zeros_like(list(lst)) if dlst is None or isinstance(dlst, float) else list(dlst)
    out.append(g)
    return out


ORIGIN = {}  # a generated code object -> (file, first line, name) of the user function it differentiates


def refusal(message, hint=None):
    """A ``SourcediffError`` located at the definition of the user function whose derivative the calling
    generated code is (``{f}`` in ``message`` names it): for what only the values of a call show."""
    import linecache
    import sys
    from .errors import SourcediffError
    frame = sys._getframe(1)
    while frame is not None and frame.f_code not in ORIGIN:
        frame = frame.f_back
    filename, line, name = ORIGIN[frame.f_code] if frame is not None else (None, None, "the function")
    return SourcediffError(message.replace("{f}", name), filename, line,
                           line=filename and linecache.getline(filename, line) or None, hint=hint)


def refuse_complex(what):
    """Refuse a complex value met at run time (complex numbers are not differentiated yet)."""
    raise refusal("%s {f} is complex: sourcediff differentiates real numbers only" % what,
                  hint="pass real arrays (np.real / np.imag of a complex one, or a pair of real arrays)")


def is_complex(v):
    """Does ``v`` hold complex numbers (a complex number or array)?"""
    return isinstance(v, complex) or (isinstance(v, (np.ndarray, np.generic)) or foreign(v)) and v.dtype.kind == "c"


def grad_like(g, x):
    """Give a gradient the structure of its argument: a float for a float, an array for an array.
    A complex argument or gradient is refused (``refuse_complex``)."""
    if isinstance(x, np.ndarray):
        if type(g) is np.ndarray and g.dtype == x.dtype and g.shape == x.shape and x.dtype.kind == "f":
            return g
        if x.dtype.kind == "c" or is_complex(g):
            refuse_complex("an argument, or the gradient of an argument, of")
        if foreign(g):  # the gradient of a NumPy argument on another library's data: of that library (lazy)
            return foreign_grad(g, x)
        if np.shape(g) != x.shape:
            g = np.broadcast_to(g, x.shape) + np.zeros(x.shape)
        return np.asarray(g, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        if type(g) is float:
            return g
        if is_complex(g):
            refuse_complex("the gradient of an argument of")
        return float(g) if np.ndim(g) == 0 and not foreign(g) else g
    if foreign(x):
        if is_complex(x) or is_complex(g):
            refuse_complex("an argument, or the gradient of an argument, of")
        return foreign_grad(g, x)
    if is_complex(x):
        refuse_complex("an argument of")
    if is_struct(x):  # the same type again: children that are no numbers, arrays or containers are kept
        return struct_map(grad_like, g, x)
    if isinstance(x, (tuple, list)):
        if not isinstance(g, (tuple, list)):  # an array (np.sin(xs) of a list xs) or a number spread over it
            spread_it = isinstance(g, (np.ndarray, np.generic)) or foreign(g) or g
            g = list(np.broadcast_to(g, np.shape(x))) if spread_it else [0.0] * len(x)
        return type(x)(grad_like(gi, xi) for gi, xi in zip(g, x))
    if isinstance(x, dict):
        g = g if isinstance(g, dict) else {}
        return {k: grad_like(g.get(k, 0.0), v) for k, v in x.items()}
    check_leaf(x)
    return g


def foreign_grad(g, x):
    """``grad_like`` where ``g`` or ``x`` is another library's array: ``g`` spread over ``x``'s shape and
    cast to its float type, staying of its library (a Dask gradient stays lazy)."""
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    if not foreign(g) or g.shape != x.shape:
        g = spread(g, x)
    return g if g.dtype == dtype else g.astype(dtype)


def cgrad_like(g, x):
    """``grad_like`` in complex mode (``rules/complex_rules.py``): a complex argument's gradient is complex
    (``df/da - i df/db``), a real argument's the real part of its cotangent; a container of complex values
    is refused."""
    if isinstance(x, (complex, np.complexfloating)):
        return complex(np.sum(g)) if np.ndim(g) else complex(g)
    if isinstance(x, np.ndarray) and x.dtype.kind == "c":
        return np.asarray(np.broadcast_to(g, x.shape), dtype=x.dtype).copy()
    if isinstance(x, (float, int, np.ndarray, np.generic)) and not isinstance(x, bool):
        return grad_like(np.real(g) if is_complex(g) else g, x)
    return grad_like(g, x)


def cseed_one(y):
    """``seed_one`` in complex mode: sd.grad needs a real-valued function."""
    if is_complex(y):
        raise refusal("grad needs a real-valued function; {f} returns a complex value",
                      hint="return a real value (np.real, np.abs of it), or use sd.vjp with a complex seed")
    return seed_one(y)


def check_leaf(x):
    """Refuse to differentiate with respect to an object of a class sourcediff knows nothing of
    (neither a number, an array nor a container): its derivative would have no structure."""
    if isinstance(x, (numbers.Number, str, bytes, type(None))) or hasattr(x, "shape") and hasattr(x, "dtype"):
        return
    from .errors import SourcediffError
    name = type(x).__name__
    raise SourcediffError("cannot differentiate with respect to a %s object" % name,
                          hint="make %s a NamedTuple or a dataclass, or register it with sd.register_container(%s, "
                               "flatten, unflatten)" % (name, name))


def seed_one(y):
    """The adjoint seed of a scalar output (1.0, or ones for a size-1 array)."""
    if isinstance(y, float):
        return 1.0
    if is_complex(y):
        refuse_complex("the value returned by")
    array = isinstance(y, np.ndarray) or foreign(y)  # a 0-d Dask array is a number, computed later
    if not (array or isinstance(y, (int, np.generic))) or isinstance(y, bool):
        raise refusal("grad needs a function that returns a number; {f} returns %s" % type(y).__name__,
                      hint="return a float or a size-1 array")
    if math.prod(np.shape(y)) != 1:
        raise refusal("grad needs a function with a scalar output; {f} returns shape %s" % (np.shape(y),),
                      hint="use sd.vjp, sd.jvp or sd.jacobian for non-scalar outputs, or reduce with np.sum")
    return np.ones_like(y, dtype=np.result_type(y.dtype, np.float64)) if array else 1.0


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


def shape_key(args):
    """What a derivative specialised to argument shapes is specialised to: per argument its
    shape (a NumPy array), ``"num"`` (a Python float or int), for a dict, list or tuple
    ``(type name, ((key, entry), ...))`` with entries like these, for a NamedTuple or dataclass
    ``("struct", ((field, entry), ...))``, else None."""
    return tuple([_container_key(a) if type(a) in _CONTAINERS else _leaf_key(a) if type(a) in _LEAVES
                  else _struct_key(a) for a in args])


def _leaf_key(a):
    return a.shape if type(a) is np.ndarray else "num" if type(a) in (float, int) else None


def _container_key(a):
    items = a.items() if type(a) is dict else enumerate(a)
    return type(a).__name__, tuple([(k, _leaf_key(v)) if type(k) in (str, int) else (None, None) for k, v in items])


def _struct_key(a):
    t = type(a)
    names = None if t in CONTAINERS else _field_names(t)  # a registered container's children have no names
    return None if names is None else ("struct", tuple([(n, _leaf_key(getattr(a, n))) for n in names]))


_CONTAINERS, _LEAVES = (dict, list, tuple), (np.ndarray, float, int)


def is_container_key(k):
    """Is ``k``, one entry of a ``shape_key``, a dict's, list's, tuple's or structured value's ``(kind, entries)``?"""
    return type(k) is tuple and bool(k) and type(k[0]) is str


def key_size(key):
    """How many numbers the arrays of a ``shape_key`` hold."""
    leaves = [e for k in key for e in ([v for _, v in k[1]] if is_container_key(k) else [k])]
    return sum(math.prod(e) for e in leaves if type(e) is tuple)


# --- structured values: NamedTuples, dataclass instances, registered containers ----------------
# A structured value is a container whose children are read by attribute (``p.w``). Its adjoint or
# tangent inside generated code is a tuple of its children's (sparse like ``getitem_vjp``'s: 0.0
# where zero) or a value of its own type (``zeros_like``, a user's tangent); ``grad_like`` gives
# the argument's type back. Children that are no numbers, arrays or containers (a name, a flag)
# are constants: gradients keep them as they are.

CONTAINERS = {}  # class -> (flatten, unflatten), from sd.register_container
_FIELDS = {}  # class -> its field names (NamedTuple, dataclass), or None for any other class


def _field_names(t):
    names = _FIELDS.get(t, False)
    if names is False:
        import dataclasses
        names = tuple(t._fields) if issubclass(t, tuple) and hasattr(t, "_fields") else \
            tuple(f.name for f in dataclasses.fields(t) if f.init) if dataclasses.is_dataclass(t) else None
        _FIELDS[t] = names
    return names


def is_struct(x):
    """Is ``x`` a NamedTuple, a dataclass instance or an instance of a registered container class?"""
    t = type(x)
    return t in CONTAINERS or _field_names(t) is not None


def struct_children(x):
    """The children of a structured value, in order (fields, or what its ``flatten`` gives)."""
    t = type(x)
    if t not in _CHECKED or t in CONTAINERS:
        _check_attrs(x)
    if t in CONTAINERS:
        return list(CONTAINERS[t][0](x)[0])
    return list(x) if issubclass(t, tuple) else [getattr(x, n) for n in _FIELDS[t]]


_CHECKED = set()


def _check_attrs(x):
    """Refuse a structured value with an attribute that lowering reads as an array's (``.T``,
    ``.size``, ...): its derivative would be an array's, or none."""
    from .primitives import ATTRS, NONDIFF_ATTRS
    t = type(x)
    clash = sorted(n for n in set(ATTRS) | NONDIFF_ATTRS if n in (_FIELDS.get(t) or ()) or hasattr(x, n))
    if clash:
        from .errors import SourcediffError
        raise SourcediffError("%s has an attribute `.%s`, which sourcediff reads as an array's, so it cannot be "
                              "differentiated as a container" % (t.__name__, clash[0]),
                              hint="rename the attribute, or pass its value as an argument of its own")
    _CHECKED.add(t)


def struct_rebuild(x, children):
    """A value of ``x``'s type with ``children`` (``_make``, ``dataclasses.replace`` or ``unflatten``)."""
    t = type(x)
    if t in CONTAINERS:
        flatten, unflatten = CONTAINERS[t]
        return unflatten(flatten(x)[1], list(children))
    if issubclass(t, tuple):
        return t._make(children)
    import dataclasses
    return dataclasses.replace(x, **dict(zip(_FIELDS[t], children)))


def struct_map(fn, t, x):
    """``x``'s type again, each child ``xi`` that is a number, array or container given ``fn(ti, xi)`` with its
    part ``ti`` of ``t`` (a gradient or tangent of ``x``, 0.0 when zero), the other children kept."""
    kids = _kids(t, x) or [0.0] * len(struct_children(x))
    return struct_rebuild(x, [fn(ti, xi) if _numeric(xi) else xi for ti, xi in zip(kids, struct_children(x))])


def _numeric(c):
    """Is ``c`` a value gradients describe (a number, an array, a container of those)?"""
    return isinstance(c, (int, float, complex, np.ndarray, np.number, list, tuple, dict)) and not isinstance(c, bool) \
        or foreign(c) \
        or is_struct(c)


def _kids(t, x):
    """The children's tangents or adjoints in ``t``, one of structured ``x`` (None when zero)."""
    if t is None or isinstance(t, float) and t == 0.0:
        return None
    if isinstance(t, (tuple, list)):
        return list(t)
    if is_struct(t):
        return struct_children(t)
    if isinstance(x, tuple) and (isinstance(t, (np.ndarray, np.generic, int, float)) or foreign(t)):  # np.asarray(p)
        return list(np.broadcast_to(t, np.shape(x)))
    raise AssertionError("sourcediff bug: %r as the derivative of a %s" % (t, type(x).__name__))


class _Child:
    """A stand-in child, to find which child an attribute of a registered container reads."""
    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i


def child_index(x, name, where=None):
    """Which child of structured ``x`` the attribute ``name`` reads; refuses (located at ``where``,
    ``"file:line:col"``) an attribute that is no child and a value that is not structured."""
    t = type(x)
    names = None if t in CONTAINERS else _field_names(t)
    if names is not None and name in names:
        return names.index(name)
    if t in CONTAINERS:
        flatten, unflatten = CONTAINERS[t]
        kids, aux = flatten(x)
        try:  # rebuilt from stand-ins, the attribute reads the stand-in of its child
            found = getattr(unflatten(aux, [_Child(i) for i in range(len(kids))]), name)
        except Exception:
            found = None
        if type(found) is _Child:
            return found.i
        hits = [i for i, c in enumerate(kids) if c is getattr(x, name, kids)]  # unflatten converted the stand-ins
        if len(hits) == 1:
            return hits[0]
        _refuse(where, "`.%s` of a %s is none of the children its flatten function gives" % (name, t.__name__),
                "differentiate through the children themselves (unflatten(aux, children).%s must be one)" % name)
    if names is not None:
        _refuse(where, "`.%s` is not a field of %s: a computed attribute cannot be differentiated" % (name, t.__name__),
                "read the fields it is computed from")
    if isinstance(x, (np.ndarray, np.generic, int, float, complex)):
        _refuse(where, "the attribute `.%s` of an array or number cannot be differentiated" % name,
                "use a NumPy function instead")
    _refuse(where, "cannot differentiate through the attribute `.%s` of a %s object" % (name, t.__name__),
            "make %s a NamedTuple or a dataclass, or register it with sd.register_container(%s, flatten, unflatten)"
            % (t.__name__, t.__name__))


def _refuse(where, message, hint):
    import linecache
    from .errors import SourcediffError
    f, ln, col = where.rsplit(":", 2) if where else (None, None, 0)
    line = linecache.getline(f, int(ln)).rstrip("\n") or None if f else None
    raise SourcediffError(message, f, int(ln) if ln else None, int(col) - 1 if f else 0, line, hint)


def getattr_vjp(acc, x, name, g, where=None):
    """Adjoint of ``x.name`` for a structured ``x``: ``acc`` (None when zero) plus ``g`` in that child's
    place, as a tuple of the children's adjoints (sparse like ``getitem_vjp``'s)."""
    i = child_index(x, name, where)
    kids = _kids(acc, x)
    return getitem_vjp(None if kids is None else tuple(kids), tuple(struct_children(x)), i, g)


def tgetattr(t, x, name, where=None):
    """Tangent of ``x.name`` from tangent ``t`` of a structured ``x`` (0.0 when zero)."""
    i = child_index(x, name, where)
    kids = _kids(t, x)
    return 0.0 if kids is None else kids[i]


btgetattr = tgetattr  # a structured value's batched tangent holds its children's batched tangents


def register_container(cls: type, flatten: Callable, unflatten: Callable) -> None:
    """Make instances of ``cls`` differentiable containers: ``flatten(obj) -> (children, aux)``,
    ``unflatten(aux, children) -> obj``. Gradients of such an argument are ``cls`` instances, and
    reading an attribute that is one of its children is differentiated."""
    from .errors import SourcediffError
    if not isinstance(cls, type) or not callable(flatten) or not callable(unflatten):
        raise SourcediffError("register_container needs a class and two functions, got %r, %r, %r"
                              % (cls, flatten, unflatten),
                              hint="sd.register_container(cls, flatten, unflatten)")
    CONTAINERS[cls] = (flatten, unflatten)
    return cls

