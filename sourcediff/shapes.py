"""Shape classes: values that certainly have the shape of a parameter.

Takes a lowered function and its assignment counts; gives ``{name: parameter}`` for the names
assigned once from one parameter by shape-keeping elementwise steps (operators, one-output
NumPy ufuncs, number constants). The reverse sweep uses it twice: a read of such a value's
*shape* reads the parameter instead (so a value needed only for its shape is never kept,
and often never computed), and an ``unbroadcast`` between two values of one class is dropped. ``spreadable`` says
where the adjoint of a whole-array sum may stay a number instead of an array of ones.

    def f(x):                 t0 = np.sin(x)      t0 -> x
        y = np.sin(x) * x     t1 = t0 * x         t1 -> x
        return np.sum(y)      t2 = np.sum(t1)     (a reduction starts no class)

Only never-reassigned parameters root a class (their shape is fixed for the whole call), and
``+``/``*`` join a class only where no operand can be a list or tuple (``[a] * 2`` repeats,
``a + b`` concatenates). A value is certainly not a sequence when it is a number, the result of
a class step, or a name the function unconditionally subtracts, divides, raises to a power or
negates (a sequence would have raised there).

In a derivative specialised to its arguments' shapes, ``concrete`` gives more: every name's
shape, inferred from the parameters' own, so ``unbroadcast`` between any two values of one
shape drops out and ``matmul`` of two 2-D arrays takes the rule without rank cases.
"""
import gast
import numpy as np

from . import primitives as P
from .context import CHECKPOINT, is_user_function
from .lower import classify, field_read, walk
from .names import ids
from .runtime import is_container_key

_RAISE = P.keys(P.NOT_A_SEQUENCE)  # a list or tuple operand raises: it is certainly not one
_SCALAR = object()
elementwise = P.same_shape  # the name reverse.py reads it by


def roots(node, params, sites):
    """The parameters whose shape is fixed for the whole call: never reassigned, never grown in
    place or passed to a callee (where a list could grow)."""
    grown = {a.id for p in map(classify, walk(node.body)) if p is not None and
             (p.key in ("append", "pop") or is_user_function(p.key) or isinstance(p.key, CHECKPOINT))
             for a in p.args if isinstance(a, gast.Name)}
    return [p for p in params if not sites.get(p) and p not in grown]


def classes(node, params, sites):
    """``{name: parameter}`` for ``node``'s single-assignment names shaped like a parameter."""
    prims = [p for p in map(classify, walk(node.body)) if p is not None]
    cls = {p: p for p in roots(node, params, sites)}
    top = {id(s) for s in node.body}
    nonseq = {a.id for p in prims if p.key in _RAISE and id(p.node) in top for a in p.args if isinstance(a, gast.Name)}
    npy = set()  # certainly a NumPy array or scalar; nonseq: certainly not a list or tuple
    for p in prims:
        if p.target is None or sites.get(p.target) != 1 or p.kwargs or not elementwise(p.key):
            continue
        of = [_SCALAR if isinstance(a, gast.Constant) and type(a.value) in (int, float) else
              cls.get(a.id) if isinstance(a, gast.Name) else None for a in p.args]
        found = {c for c in of if c is not _SCALAR}
        if None in found or len(found) != 1:
            continue
        names = [a.id for a in p.args if isinstance(a, gast.Name)]
        safe = [isinstance(a, gast.Constant) or a.id in nonseq for a in p.args]
        if p.key == "Add" and not any(safe) or \
                p.key == "Mult" \
                        and not (all(safe) or any(n in npy for n in names) or len(set(names)) == 1 == len(names) - 1):
            continue  # a list or tuple operand would concatenate or repeat
        cls[p.target] = found.pop()
        nonseq.add(p.target)
        if not isinstance(p.key, str) or any(n in npy for n in names):
            npy.add(p.target)
    return {v: c for v, c in cls.items() if v != c}


def spreadable(node, cls, roots):
    """The names whose adjoint may stay a number that stands for itself spread over the value's
    shape (``expand_reduced(1.0, x)`` kept as ``1.0``): every step from them back to ``roots`` is
    elementwise, and so is every other step reading them, so each rule on the way broadcasts a
    number as NumPy would and every contribution is added with ``+`` (``getitem_vjp`` would
    take a number for a zero)."""
    prims = [p for p in map(classify, walk(node.body)) if p is not None]
    whole = lambda p: p.key in (np.sum, np.mean) and len(p.args) == 1 and not p.kwargs  # noqa: E731
    bad = {a.id for p in prims if not (elementwise(p.key) or whole(p)) for a in p.args if isinstance(a, gast.Name)}
    ok = set(roots) - bad
    for p in prims:
        if p.target in cls and p.target not in bad and elementwise(p.key) and \
                all(a.id in ok for a in p.args if isinstance(a, gast.Name)):
            ok.add(p.target)
    return ok


# -- concrete shapes, for a derivative specialised to its arguments' shapes ---------------------
_REDUCE = P.keys(P.REDUCE)
_BOTTOM = "bottom"  # assigned, but from nothing known yet: adds nothing to a join


def concrete(node, given):
    """``{name: (kind, shape)}`` for the names whose every value has one known shape, given the
    parameters' ``given`` ``(kind, shape)``; kind ``"array"`` is a NumPy array or scalar (it has
    ``.T``), ``"num"`` a Python int or float. Flow-insensitive: a name's shape is the join of what
    every assignment to it gives, iterated to a fixpoint (two different shapes give none).

        given Wh: (array, (64, 64)), h0: (array, (16, 64))
        h = h0; for i in t1: t4 = h @ Wh; h = np.tanh(t4)      h, t4 -> (array, (16, 64))
    """
    pairs = [(s, classify(s)) for s in walk(node.body)]
    if any(p is not None and (p.key in ("setitem", "append", "pop") or p.target is None or is_user_function(p.key) or
                              isinstance(p.key, CHECKPOINT)) for _, p in pairs):
        given = {p: g for p, g in given.items() if g[0] in ("array", "num")}  # a container could change
    steps = [s if isinstance(s, gast.For) else p for s, p in pairs if isinstance(s, gast.For) or
             p is not None and p.target is not None and p.key != "setitem"]  # writes into an array keep its shape
    env = dict.fromkeys(ids(node, gast.Store), None)  # stored other than below: unknown
    env.update({s.target.id if isinstance(s, gast.For) else s.target: _BOTTOM for s in steps})
    env.update(given)
    changed = True
    while changed:
        changed = False
        for s in steps:
            if isinstance(s, gast.For):
                it = _get(env, s.iter)
                v, r = s.target.id, it if it is _BOTTOM else ("num", ()) if it == ("range", None) else None
            else:
                v, r = s.target, _shape_of(s, env)
            if r is _BOTTOM or env[v] == r or env[v] is None:
                continue
            env[v] = r if env[v] is _BOTTOM else None
            changed = True
    return {v: r for v, r in env.items() if r not in (None, _BOTTOM) and r[0] in ("array", "num")}


def given_of(params, key):
    """``concrete``'s ``given`` from a ``runtime.shape_key`` of the parameters' arguments."""
    return {p: ("num", ()) if k == "num" else k if is_container_key(k) else ("array", k)
            for p, k in zip(params, key) if k is not None}


def _get(env, a):
    if isinstance(a, gast.Constant):
        return ("num", ()) if type(a.value) in (int, float) else None
    return env.get(a.id) if isinstance(a, gast.Name) else None


def _shape_of(p, env):
    """``(kind, shape)`` of ``p``'s result, ``_BOTTOM`` while an operand is, else None (unknown)."""
    args = [_get(env, a) for a in p.args]
    if any(a is None for a in args):
        return None
    if _BOTTOM in args:
        return _BOTTOM
    kinds, sh = [a[0] for a in args], [a[1] for a in args]
    key = p.key
    if key == "copy":
        return args[0]
    if key is len:
        return ("num", ())
    if key is range:
        return ("range", None)
    if "range" in kinds:
        return None
    try:
        if elementwise(key) and not p.kwargs and set(kinds) <= {"array", "num"}:
            kind = "array" if not isinstance(key, str) or "array" in kinds else "num"
            return kind, np.broadcast_shapes(*sh)
        if key in ("MatMult", np.matmul) and kinds == ["array", "array"] and not p.kwargs:
            return "array", _matmul(*sh)
        if key in _REDUCE and len(args) == 1 and kinds == ["array"] and set(p.kwargs) <= {"axis", "keepdims"}:
            kw = {k: v.value for k, v in p.kwargs.items() if isinstance(v, gast.Constant)}
            return ("array", _reduced(sh[0], **kw)) if len(kw) == len(p.kwargs) else None
        if key == "getitem" and kinds == ["array"] and sh[0]:
            i = _get(env, p.extra)
            if i is _BOTTOM:
                return _BOTTOM  # the index is not known yet: nothing to say yet
            if i == ("num", ()):
                return "array", sh[0][1:]  # an int index (a float one raises); bools are never "num"
        if key == "getitem" and kinds[0] in ("dict", "list", "tuple", "struct") and isinstance(p.extra, gast.Constant):
            k = p.extra.value
            if kinds[0] == "struct":  # a NamedTuple's field by position
                k = sh[0][k][0] if type(k) is int and -len(sh[0]) <= k < len(sh[0]) else None
            return _entry(dict(sh[0]).get(k) if type(k) in (str, int) else None)
        if field_read(key) and kinds[0] == "struct":
            return _entry(dict(sh[0]).get(field_read(key)))
        if key == "attr.T" and kinds == ["array"]:
            return "array", sh[0][::-1]
    except (ValueError, TypeError, IndexError):  # the step itself would raise
        return None
    return None


def _entry(e):
    """A container entry's ``shape_key`` as ``(kind, shape)`` (None: unknown)."""
    return None if e is None else ("num", ()) if e == "num" else ("array", e)


def _matmul(x, y):
    if not x or not y:
        raise ValueError
    x2, y2 = ((1,) + x if len(x) == 1 else x), (y + (1,) if len(y) == 1 else y)
    if x2[-1] != y2[-2]:
        raise ValueError
    return np.broadcast_shapes(x2[:-2], y2[:-2]) + x2[-2:-1] * (len(x) > 1) + y2[-1:] * (len(y) > 1)


def _reduced(shape, axis=None, keepdims=False):
    if axis is not None and not (type(axis) is int and -len(shape) <= axis < len(shape)) or type(keepdims) is not bool:
        raise ValueError  # NumPy raises too (an axis of a 0-d array included)
    axes = range(len(shape)) if axis is None else [axis % len(shape)]
    return tuple(1 if i in axes else s for i, s in enumerate(shape)) if keepdims else \
        tuple(s for i, s in enumerate(shape) if i not in axes)
