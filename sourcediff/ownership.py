"""Ownership: in-place writes only into values the function created itself.

Takes a lowered function; gives it back with simple aliases of written values merged
(``z = y`` where both are assigned once: ``z`` becomes ``y``), or raises a located
SourcediffError when a write (``v[i] = e``, ``v.append(e)``) could reach a value the
function does not own: a parameter, a global, a view (``y[1:3]``, ``y.T``,
``np.reshape(y, ...)``) or the result of a call that may return its argument.
Writes into fresh values (``np.zeros(...)``, ``x.copy()``, ``[]``, arithmetic results)
are differentiated exactly, in loops too.

Before::                     After::
    y = np.zeros(3)              y = np.zeros(3)
    z = y                        y[0] = x
    z[0] = x                     t0 = np.sum(y)
    t0 = np.sum(y)
"""
import builtins

import gast
import numpy as np

from .lower import classify, walk
from .names import nodes

FRESH = {np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.array,
         np.copy, np.arange, np.linspace, np.eye, np.identity, np.concatenate, np.stack, np.hstack, np.vstack,
         np.outer, np.matmul, np.dot, np.tile, np.repeat, np.cumsum, np.cumprod, np.diag, builtins.list, builtins.dict}
FRESH_KEYS = {"list", "dict", "Add", "Sub", "Mult", "Div", "Pow", "Mod", "FloorDiv", "MatMult", "USub", "UAdd"}


def _fresh(p):
    k = p.key
    if isinstance(k, str):
        return k in FRESH_KEYS
    return k in FRESH or isinstance(k, np.ufunc)


class _Rename(gast.NodeTransformer):
    def __init__(self, old, new):
        self.old, self.new = old, new

    def visit_Name(self, node):
        if node.id == self.old:
            node.id = self.new
        return node


def check(func):
    """Merge simple aliases of written values; refuse writes into values not owned."""
    node = func.node
    params = set(func.params)
    while True:
        prims = [(s, p) for s, p in ((s, classify(s)) for s in walk(node.body)) if p is not None]
        writes = {}
        for s, p in prims:
            if p.key in ("setitem", "append"):
                writes.setdefault(p.args[0].id, []).append(s)
        if not writes:
            return
        sites, loads = {}, {}
        for s, p in prims:
            if p.target is not None and p.key != "setitem":
                sites.setdefault(p.target, []).append((s, p))
        for s in walk(node.body):
            if isinstance(s, gast.For):
                sites.setdefault(s.target.id, []).append((s, None))
        for n in nodes(node):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                loads[n.id] = loads.get(n.id, 0) + 1
        if _alias_of_written(func, node, writes, sites, params):
            continue
        if not any(_owned(func, v, at, sites, loads, params, node) for v, at in writes.items()):
            return


def _alias_of_written(func, node, writes, sites, params):
    """Merge ``z = v`` where ``v`` is written into (``z = np.add(a, b, out=v)`` makes one) and both are
    assigned once: ``z`` sees every write into ``v``. True when merged; refused when either is reassigned."""
    for v in sorted(writes):
        for z, zs in sites.items():
            for s, p in zs:
                if p is None or p.key != "copy" or z == v or not (isinstance(p.args[0], gast.Name) and p.args[0].id == v):
                    continue
                if len(zs) == 1 and len(sites.get(v, ())) == 1 and z not in params and v not in params:
                    node.body = _drop(node.body, s)
                    _Rename(z, v).visit(node)
                    return True
                raise func.error("`%s` is another name for `%s`, which is written into, and one of them is reassigned"
                                 % (z, v), s, hint="make an explicit copy: `%s = %s.copy()`" % (z, v))
    return False


def _owned(func, v, at, sites, loads, params, node):
    """Check the written name ``v``; True when an alias was merged (check again)."""
    if v in params:
        top = [k for k, s in enumerate(node.body) if any(s is x for x, _ in sites.get(v, ()))]
        first_write = min(k for k, s in enumerate(node.body) for w in at if any(w is x for x in walk([s])))
        if not top or top[0] >= first_write:
            raise func.error("this writes into the argument `%s`, which belongs to the caller" % v, at[0],
                             hint="copy it first: `%s = %s.copy()`" % (v, v))
    for s, p in sites.get(v, []):
        if p is not None and (_fresh(p) or p.key == "copy" and (isinstance(p.args[0], gast.Constant) and p.args[0].value is None
                                                                or isinstance(p.args[0], gast.Name) and p.args[0].id == "UNSET")):
            continue
        if p is not None and p.key == "copy" and isinstance(p.args[0], gast.Name) and p.args[0].id not in params:
            o = p.args[0].id
            osites = sites.get(o, [])
            if loads.get(o) == 1 and osites and all(q is not None and _fresh(q) for _, q in osites):
                continue  # a fresh temporary handed over: ownership moves to v
            if len(sites.get(v, [])) == 1 and len(osites) == 1 and v not in params and osites[0][1] is not None \
                    and _fresh(osites[0][1]):
                node.body = _drop(node.body, s)
                _Rename(v, o).visit(node)
                return True
            raise func.error("`%s` is written into here, but it is another name for `%s`, which is reassigned "
                             "or not owned by this function" % (v, o), at[0],
                             hint="make an explicit copy: `%s = %s.copy()`" % (v, o))
        raise func.error("`%s` is written into here, but it may share memory with a value this function does not "
                         "own (a view, an argument or a call's result)" % v, at[0],
                         hint="copy it first: `%s = %s.copy()` (or build it with np.zeros/np.empty)" % (v, v))
    return False


def _drop(stmts, target):
    out = []
    for s in stmts:
        if s is target:
            continue
        if isinstance(s, (gast.If, gast.For, gast.While)):
            s.body = _drop(s.body, target)
            if hasattr(s, "orelse"):
                s.orelse = _drop(s.orelse, target)
        out.append(s)
    return out
