"""Forward rules for the runtime helpers that generated reverse code calls.

``sd.hessian`` runs forward mode over the generated reverse code, so each helper the
adjoint sweep calls needs a tangent rule (they are all linear in their adjoint inputs)
or a ``nondiff`` declaration.
"""
import numpy as np

from ..runtime import (add, adj_append, adj_pop, dict_keys, getattr_vjp, getitem_copy, getitem_vjp, grad_like, keys_of,
                       seed_one, setitem_vjp, shape_of, snapshot, sort_order, tgetattr, tindex, tsetitem, unbound,
                       unbroadcast, unit_seed, zeros_like)
from ..neutral import neutral_call
from .registry import jvp, nondiff, structured, vjp

nondiff(seed_one, zeros_like, shape_of, unit_seed, unbound, keys_of, dict_keys, sort_order, neutral_call)
# their values may be lists, tuples or dicts of adjoints: contributions add with `add`, never `+` (which joins lists)
structured(add, adj_append, adj_pop, getattr_vjp, getitem_copy, getitem_vjp, grad_like, setitem_vjp, snapshot, tgetattr,
           tindex, tsetitem)


@jvp(grad_like)
def grad_like_jvp(dg, ans, g, x):
    return grad_like(dg, x)


@jvp(tindex)
def tindex_jvp(dt, ans, t, idx, like=None):  # batched mode runs it per direction: zeros of ans's shape are right
    return tindex(dt, idx, ans)


@jvp(getitem_vjp)
def getitem_vjp_jvp(dacc, dx, didx, dg, ans, acc, x, idx, g):
    return dacc, None, None, getitem_vjp(None, x, idx, dg)


@jvp(setitem_vjp)
def setitem_vjp_jvp(dg, ans, g, idx, a=None):
    return setitem_vjp(dg, idx, a)


@jvp(getitem_copy)
def getitem_copy_jvp(dx, ans, x, idx):
    return getitem_copy(dx, idx)


@jvp(add)
def add_jvp(da, db, ans, a, b):
    return da, db


@vjp(add)
def add_vjp(g, ans, a, b):
    return g, g


@jvp(snapshot)
def snapshot_jvp(dx, ans, x):
    return snapshot(dx)


@vjp(snapshot)
def snapshot_vjp(g, ans, x):
    return g


# reverse rules, so the generated reverse code can itself be differentiated in reverse mode
@vjp(grad_like)
def grad_like_vjp(h, ans, g, x):  # a number g spread over an array x: h sums back to it (unbroadcast)
    return unbroadcast(h, g) if isinstance(g, (float, np.ndarray, np.generic)) else h


@vjp(tindex)
def tindex_vjp(h, ans, t, idx, like=None):
    return getitem_vjp(None, t, idx, h)


@vjp(getitem_vjp)
def getitem_vjp_vjp(h, ans, acc, x, idx, g):
    return h, None, None, tindex(h, idx, g)


@vjp(getitem_copy)
def getitem_copy_vjp(h, ans, x, idx):
    return getitem_vjp(None, x, idx, h)


# a structured parameter's field: as getitem_vjp and tindex, by the field's name (tgetattr is btgetattr too)
@vjp(getattr_vjp)
def getattr_vjp_vjp(h, ans, acc, x, name, g, where=None):
    return h, None, None, tgetattr(h, x, name, where)


@jvp(getattr_vjp)
def getattr_vjp_jvp(dacc, dx, dname, dg, ans, acc, x, name, g, where=None):
    return dacc, None, None, getattr_vjp(None, x, name, dg, where)


@vjp(tgetattr)
def tgetattr_vjp(h, ans, t, x, name, where=None):
    return getattr_vjp(None, x, name, h, where)


@jvp(tgetattr)
def tgetattr_jvp(dt, ans, t, x, name, where=None):
    return tgetattr(dt, x, name, where)


# the list adjoints of `append` and `pop` (each result a new list, see runtime.adj_pop)
@jvp(adj_pop)
def adj_pop_jvp(ddlst, ans, dlst, lst=None):  # batched mode runs it per direction
    return adj_pop(ddlst, lst)


@vjp(adj_pop)
def adj_pop_vjp(h, ans, dlst, lst=None):
    return adj_append(tindex(h, 1), tindex(h, 0), tindex(ans, 1))


@jvp(adj_append)
def adj_append_jvp(ddlst, dg, ans, dlst, g, lst):
    return adj_append(ddlst, 0.0, lst), adj_append(None, dg, lst)


@vjp(adj_append)
def adj_append_vjp(h, ans, dlst, g, lst):
    last, rest = adj_pop(h)
    return rest, last


@vjp(setitem_vjp)
def setitem_vjp_vjp(h, ans, g, idx, a=None):
    return tsetitem(tindex(h, 1), g, idx, tindex(h, 0))


@jvp(tsetitem)
def tsetitem_jvp(dt, dx, didx, dv, ans, t, x, idx, v):
    return tsetitem(dt, x, idx, 0.0), None, None, tsetitem(None, x, idx, dv)


@vjp(tsetitem)
def tsetitem_vjp(h, ans, t, x, idx, v):
    part, rest = setitem_vjp(h, idx)
    return rest, None, None, part
