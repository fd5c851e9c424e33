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
"""
import gast
import numpy as np

from .context import CHECKPOINT, is_user_function
from .lower import classify, walk

OPS = {"Add", "Sub", "Mult", "Div", "Pow", "USub", "UAdd"}
_RAISE = {"Sub", "Div", "Pow", "USub", "UAdd"}  # a list or tuple operand raises: it is certainly not one
_SCALAR = object()


def elementwise(key):
    """Is ``key`` a primitive whose result has the broadcast shape of its operands?"""
    return key in OPS if isinstance(key, str) else \
        isinstance(key, np.ufunc) and key.nout == 1 and key.signature is None  # np.matmul is a ufunc with a signature


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
                p.key == "Mult" and not (all(safe) or any(n in npy for n in names) or len(set(names)) == 1 == len(names) - 1):
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
