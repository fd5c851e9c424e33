"""Ownership: in-place writes only into values the function created itself.

Takes a lowered function; gives it back with simple aliases of written values merged
(``z = y`` where both are assigned once: ``z`` becomes ``y``), or raises a located
SourcediffError when a write (``v[i] = e``, ``v.append(e)``) could reach a value the
function does not own: a parameter, a global, a view (``y[1:3]``, ``y.T``,
``np.reshape(y, ...)``) or the result of a call that may return its argument.
Writes into fresh values (``np.zeros(...)``, ``x.copy()``, ``[]``, arithmetic results)
are differentiated exactly, in loops too. An alias ``z = y`` of a written value is merged
into it (both assigned once) or refused; ``y += e`` (lowered as ``y = y + e``) where another
name may hold ``y`` reads ``y`` through ``unshared``, which refuses an array or a list when
the derivative runs (``+=`` writes into those in place).

Before::

    def f(x):
        y = np.zeros(3)
        z = y
        z[0] = x
        return np.sum(y)

After::

    def f(x):
        y = np.zeros(3)
        y[0] = x
        t0 = np.sum(y)
        return t0
"""
import gast

from . import primitives as P
from .annotations import copyanno, getanno, setanno
from .effects import bound
from .lower import classify, walk
from .names import assign, call, load, nodes
from .rules import registry as R
from .rules.helpers import unshared



def _fresh(p):
    """Is step ``p``'s result a new value the function owns (``primitives``: fresh)?"""
    return P.has(p.key, P.FRESH)


class _Rename(gast.NodeTransformer):
    def __init__(self, old, new):
        self.old, self.new = old, new

    def visit_Name(self, node):
        if node.id == self.old:
            node.id = self.new
        return node


def check(func, names):
    """Merge simple aliases of written values; refuse writes into values not owned; guard ``y += e``
    where another name may hold ``y`` (``names`` gives the guards' temporaries)."""
    node = func.node
    params = set(func.params)
    _augmented(func, node, names)
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


def _keeps_no_reference(p, v):
    """Does step ``p`` read ``v`` without another name or container holding ``v`` afterwards?"""
    k = p.key
    if isinstance(k, str):
        return P.has(k, P.READS) or k.startswith("attr.") and k != "attr.T" or k == "setitem" and not any(
            isinstance(a, gast.Name) and a.id == v for a in p.args[1:])
    return P.has(k, P.READS) or R.is_nondiff(k)


def _augmented(func, node, names):
    """``y += e`` is lowered as ``y = y + e``, which is right for a number; on an array or a list it writes
    in place. Where another name may hold ``y``'s value when it runs (a copy, a container, a view or a
    call's argument made before it, or in a loop around it), ``y`` is read through ``unshared``, which
    refuses an array or a list when the derivative runs."""
    order, loops = _positions(node.body)
    prims = [(s, classify(s)) for s in walk(node.body)]
    aug = {p.target: s for s, p in prims if p is not None and getanno(s.value, "augmented", False)}
    holds = {}  # name -> statements after which another name may hold its value
    for s in walk(node.body):
        if isinstance(s, gast.For):
            holds.setdefault(s.iter.id, []).append(s)
    loads = {}
    for n in nodes(node):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            loads[n.id] = loads.get(n.id, 0) + 1
    for s, p in prims:
        if p is None or p.key == "copy" and isinstance(p.args[0], gast.Name) and loads.get(p.args[0].id) == 1:
            continue  # a temporary handed over (``t = y + e; y = t``): nothing else holds it
        if p.key == "copy" and isinstance(p.args[0], gast.Name) and p.target != p.args[0].id:
            holds.setdefault(p.target, []).append(s)
        for a in p.args + list(p.kwargs.values()):
            if isinstance(a, gast.Name) and (p.key == "copy" or not _keeps_no_reference(p, a.id)):
                holds.setdefault(a.id, []).append(s)
    guards = {}
    for t, s in aug.items():
        v = s.value.left.id if isinstance(s.value.left, gast.Name) else None
        if v is None or not any(order[id(u)] < order[id(s)] or loops[id(u)] & loops[id(s)] for u in holds.get(v, ())):
            continue
        err = func.error("`%s += ...` writes into the array or list that another name also holds" % v, s,
                         hint="write `%s = %s + ...` (a new value), or copy it first" % (v, v))
        g = names.temp()
        c = call(func.bind_value("unshared", unshared), load(v), bound(func, v + "_shared_error", err))
        setanno(c, "callee", unshared)
        guards[id(s)] = gast.copy_location(assign(g, c), s)
        setanno(copyanno(s, guards[id(s)], "line"), "primal")
        s.value.left = load(g)
    if guards:
        node.body = _guarded(node.body, guards)


def _positions(body):
    """Each statement's place in program order, and the loops around it (ids)."""
    order, loops = {}, {}

    def visit(stmts, around):
        for s in stmts:
            order[id(s)], loops[id(s)] = len(order), around
            if isinstance(s, (gast.If, gast.For, gast.While)):
                inner = around | {id(s)} if not isinstance(s, gast.If) else around
                visit(s.body, inner)
                visit(s.orelse, inner)
    visit(body, frozenset())
    return order, loops


def _guarded(stmts, guards):
    out = []
    for s in stmts:
        if id(s) in guards:
            out.append(guards[id(s)])
        if isinstance(s, (gast.If, gast.For, gast.While)):
            s.body = _guarded(s.body, guards)
            s.orelse = _guarded(s.orelse, guards)
        out.append(s)
    return out


def _alias_of_written(func, node, writes, sites, params):
    """Merge ``z = v`` where ``v`` is written into (``z = np.add(a, b, out=v)`` makes one) and both are
    assigned once: ``z`` sees every write into ``v``. True when merged; refused when either is reassigned."""
    for v in sorted(writes):
        for z, zs in sites.items():
            for s, p in zs:
                if p is None or p.key != "copy" or z == v \
                        or not (isinstance(p.args[0], gast.Name) and p.args[0].id == v):
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
    generated = func.filename.startswith("<sourcediff")
    for s, p in sites.get(v, []):
        if p is not None and (_fresh(p) or _placeholder(p)):
            continue
        if p is not None and generated and _travels(p, sites):
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


def _placeholder(p):
    """``v = 0.0`` or ``v = UNSET``: nothing anyone else holds (a write into it fails, never leaks)."""
    a = p.args[0] if p.key == "copy" else None
    return isinstance(a, gast.Constant) or isinstance(a, gast.Name) and a.id == "UNSET"


def _travels(p, sites, seen=None):
    """In generated code (a derivative differentiated again): a value that came back from a tape
    (``v = tape.pop()``), out of a residual tuple (``v = res[0]``, where ``res`` is only ever packed,
    popped, a placeholder, or itself such a value), or from a temporary made fresh (``y = t3`` with
    ``t3 = np.tanh(...)``, which the adjoint reads too). Generated code makes every such value itself
    (its tapes, and the user's values, owned there), and restores every write into one in reverse order."""
    if p.key == "pop":
        return True
    if p.key not in ("getitem", "copy") or not isinstance(p.args[0], gast.Name) or \
            p.key == "getitem" and not isinstance(p.extra, gast.Constant):
        return False
    r, seen = p.args[0].id, seen or set()
    if r in seen:
        return True  # a cycle through a loop: the other sites decide
    seen.add(r)
    packs = sites.get(r, [])
    return bool(packs) and all(q is not None and (q.key in ("tuple", "pop") or _fresh(q) or _placeholder(q) or
                                                  _travels(q, sites, seen)) for _, q in packs)


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
