"""Shape classes: values that certainly have the shape of a parameter.

Takes a lowered function and its assignment counts; gives ``{name: parameter}`` for the names
assigned once from one parameter by shape-keeping elementwise steps (operators, one-output
NumPy ufuncs, number constants). The reverse sweep uses it twice: a read of such a value's
*shape* reads the parameter instead (so a value needed only for its shape is never kept,
and often never computed), and an ``unbroadcast`` between two values of one class is dropped; ``spreadable`` says where
the adjoint of a whole-array sum may stay a number instead of an array of ones.

    def f(x):                 t0 = np.sin(x)      t0 -> x
        y = np.sin(x) * x     t1 = t0 * x         t1 -> x
        return np.sum(y)      t2 = np.sum(t1)     (a reduction starts no class)

Only never-reassigned parameters root a class (their shape is fixed for the whole call), and
``+``/``*`` join a class only where no operand can be a list or tuple (``[a] * 2`` repeats,
``a + b`` concatenates): one operand must certainly be a NumPy value or a float constant, or
it is ``x * x``.
"""
import gast
import numpy as np

from .context import CHECKPOINT, is_user_function
from .lower import classify, walk

OPS = {"Add", "Sub", "Mult", "Div", "Pow", "USub", "UAdd"}
_SCALAR = object()


def elementwise(key):
    """Is ``key`` a primitive whose result has the broadcast shape of its operands?"""
    return key in OPS if isinstance(key, str) else isinstance(key, np.ufunc) and key.nout == 1


def classes(node, params, sites):
    """``{name: parameter}`` for ``node``'s single-assignment names shaped like a parameter."""
    prims = [p for p in map(classify, walk(node.body)) if p is not None]
    grown = {a.id for p in prims if p.key in ("append", "pop") or is_user_function(p.key) or isinstance(p.key, CHECKPOINT) for a in p.args if isinstance(a, gast.Name)}
    cls = {p: p for p in params if not sites.get(p) and p not in grown}  # a list can grow in place or in a callee
    npy = set()  # names that certainly hold a NumPy array or scalar
    for p in prims:
        if p.target is None or sites.get(p.target) != 1 or p.kwargs or not elementwise(p.key):
            continue
        of = [_SCALAR if isinstance(a, gast.Constant) and type(a.value) in (int, float) else
              cls.get(a.id) if isinstance(a, gast.Name) else None for a in p.args]
        found = {c for c in of if c is not _SCALAR}
        if None in found or len(found) != 1:
            continue
        ufunc = not isinstance(p.key, str)
        if p.key in ("Add", "Mult") and not (any(isinstance(a, gast.Name) and a.id in npy for a in p.args) or
                                             any(isinstance(a, gast.Constant) and type(a.value) is float for a in p.args) or
                                             p.key == "Mult" and len({getattr(a, "id", None) for a in p.args}) == 1):
            continue
        cls[p.target] = found.pop()
        if ufunc or any(isinstance(a, gast.Name) and a.id in npy for a in p.args):
            npy.add(p.target)
    return {v: c for v, c in cls.items() if v != c}


def spreadable(node, cls, roots):
    """The classed names whose adjoint may stay a number that stands for itself spread over the
    value's shape (``expand_reduced(1.0, x)`` kept as ``1.0``): every step from them back to
    ``roots`` is elementwise, so each rule on the way broadcasts a number as NumPy would."""
    ok = set(roots)
    for p in map(classify, walk(node.body)):
        if p is not None and p.target in cls and elementwise(p.key) and \
                all(a.id in ok for a in p.args if isinstance(a, gast.Name)):
            ok.add(p.target)
    return ok
