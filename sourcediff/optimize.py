"""Optimize: drop dead code (and copies stored again before any read), forward copies and
constants, fold 0 and 1; repeat to a fixpoint; then write each temporary read once into that
read (``_nest``).

Takes a generated ``FunctionDef``; gives it back simplified, semantics unchanged.

Before::

    def f(x, a):
        return np.sum(np.sin(x) * a)

After, in sd.grad(f)::

    def f_grad(x, a):
        # grad of: return np.sum(np.sin(x) * a)
        dt1 = expand_reduced(1.0, np.sin(x) * a, None, False)
        dt0 = unbroadcast(dt1 * a, x)
        dx = dt0 * np.cos(x)
        return grad_like(dx, x)
"""
import operator
from collections import Counter

import gast

from . import primitives as P
from .annotations import getanno, is_comment
from .names import clone, const, ids, inner_nodes, load, name_nodes, nodes

_PURE_ATTRS = {m: False for m, how in P.by_name(P.METHOD_WRITES).items() if how == P.LIST_STEP}
_OPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul, gast.Div: operator.truediv,
        gast.Pow: operator.pow, gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod}


def _names(node, ctx):
    return [n.id for n in name_nodes(node) if isinstance(n.ctx, ctx)]


def _pure(e, pure_calls):
    for n in nodes(e):
        if isinstance(n, gast.Call):
            f = n.func
            if isinstance(f, gast.Attribute):
                if f.attr in _PURE_ATTRS or not (isinstance(f.value, gast.Name) and f.value.id in ("np", "math")) and \
                        not _is_global_chain(f):
                    return False
            elif not (isinstance(f, gast.Name) and f.id in pure_calls):
                return False
    return True


def _is_global_chain(f):
    while isinstance(f, gast.Attribute):
        f = f.value
    return isinstance(f, gast.Name) and f.id in ("np", "math", "numpy")


def _replace(n, env):
    """``n`` with each read of a name in ``env`` a new node for ``env[name]`` (a Constant or a
    Name); parents change in place, as under a NodeTransformer, at a fraction of its cost."""
    if type(n) is gast.Name:
        if type(n.ctx) is gast.Load and n.id in env:
            new = env[n.id]
            return gast.Constant(value=new.value, kind=None) if type(new) is gast.Constant else \
                gast.Name(id=new.id, ctx=gast.Load(), annotation=None, type_comment=None)
        return n
    d = n.__dict__
    for f in n._fields:
        v = d.get(f)
        if type(v) is list:
            for i, x in enumerate(v):
                if isinstance(x, gast.AST):
                    v[i] = _replace(x, env)
        elif isinstance(v, gast.AST):
            d[f] = _replace(v, env)
    return n


def _put(n, v, e):
    """Replace ``n``'s one read of ``v`` by the expression ``e``; True once done."""
    d = n.__dict__
    for f in n._fields:
        x = d.get(f)
        for i, c in enumerate(x if type(x) is list else [x]):
            if type(c) is gast.Name and c.id == v and type(c.ctx) is gast.Load:
                if type(x) is list:
                    x[i] = e
                else:
                    d[f] = e
                return True
            if isinstance(c, gast.AST) and _put(c, v, e):
                return True
    return False


def _is(e, v):
    return isinstance(e, gast.Constant) and type(e.value) in (int, float) and not isinstance(e.value, bool) \
            and e.value == v


class _Fold(gast.NodeTransformer):
    """Fold 0 and 1 in derivative code; the user's own steps keep their meaning (``y = x * 1.0``
    is a new array that may be written into, not another name for ``x``)."""

    def visit_Assign(self, node):
        return node if getanno(node, "primal", False) else self.generic_visit(node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return _fold_bin(node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        return _fold_un(node)


def _fold_bin(node):
    """``node`` (a BinOp) folded, or ``node`` itself; never changes ``node``."""
    l, r, op = node.left, node.right, type(node.op)
    if op in (gast.Mult, gast.Div, gast.Pow) and _is(r, 1) or op in (gast.Add, gast.Sub) and _is(r, 0):
        return _keep_float(l, r)
    if op is gast.Mult and _is(l, 1) or op is gast.Add and _is(l, 0):
        return _keep_float(r, l)
    if op is gast.Sub and _is(l, 0):
        return gast.UnaryOp(op=gast.USub(), operand=r)
    if op is gast.Mult and _is(l, -1):
        return gast.UnaryOp(op=gast.USub(), operand=r)
    if isinstance(l, gast.Constant) and isinstance(r, gast.Constant) and type(l.value) in (int, float) \
            and type(r.value) in (int, float):
        if op is gast.Pow and abs(r.value) > 64:
            return node  # keep 10 ** 10000 out of the compiler
        try:
            return const(_OPS[op](l.value, r.value))
        except Exception:  # 1 / 0, an overflow, an operator we do not fold: leave it to run time
            return node
    return node


def _fold_un(node):
    """``node`` (a UnaryOp) folded, or ``node`` itself; never changes ``node``."""
    if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp) \
            and isinstance(node.operand.op, gast.USub):
        return node.operand.operand
    if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.Constant) \
            and type(node.operand.value) in (int, float):
        return const(-node.operand.value)
    return node


def _keep_float(e, unit):
    """``e`` in place of ``e * 1.0``: a float unit keeps an int constant a float."""
    if isinstance(unit.value, float) and isinstance(e, gast.Constant) and type(e.value) is int:
        return const(float(e.value))
    return e


def _count(fn):
    """One walk: ``(stores, others, augs, fold)``: Counters of the names stored, otherwise used
    (read, or a parameter) and targeted by augmented assignments (read too), and where ``_Fold``
    would change anything (a fold starts at a node that folds as it is): the positions in ``fn.body``
    of the statements to fold, with None for a part of ``fn`` outside its body."""
    stores, others, augs, fold = Counter(), Counter(), Counter(), []
    for where, part in _parts(fn):
        found = False
        for n in inner_nodes(part):
            t = type(n)
            if t is gast.Name:
                (stores if type(n.ctx) is gast.Store else others)[n.id] += 1
            elif t is gast.AugAssign:
                augs[n.target.id] += 1
            elif not found and (t is gast.BinOp and _fold_bin(n) is not n or
                                t is gast.UnaryOp and _fold_un(n) is not n):
                found = True
                fold.append(where)
    return stores, others, augs, fold


def _parts(fn):
    """``(position in fn.body or None, node)`` for the nodes under ``fn``, in ``nodes``' order."""
    for f in fn._fields:
        v = getattr(fn, f, None)
        if f == "body":
            yield from enumerate(v)
        elif isinstance(v, list):
            yield from ((None, x) for x in v if isinstance(x, gast.AST))
        elif isinstance(v, gast.AST):
            yield None, v


def _fold(fn, where):
    """Run ``_Fold`` on the statements of ``fn.body`` at positions ``where`` (all of ``fn`` when one is None)."""
    if None in where:
        _Fold().visit(fn)
        return
    for i in where:
        fn.body[i] = _Fold().visit(fn.body[i])


def _assign_counts(fn):
    counts = Counter(_names(fn, gast.Store))
    for a in fn.args.args:
        counts[a.id] += 1
    return counts


def _propagate(fn, counts):
    """Put constants and once-assigned names in for the names assigned once from them (``counts``:
    ``_count``'s stores, parameters included). True if anything changed."""
    env = {}
    for s in fn.body:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and counts.get(s.targets[0].id) == 1:
            v, val = s.targets[0].id, s.value
            if isinstance(val, gast.Constant) and type(val.value) in (int, float) or \
                    isinstance(val, gast.Name) and counts.get(val.id, 0) <= 1:
                env[v] = env.get(val.id, val) if isinstance(val, gast.Name) else val
    if not env:
        return False
    fn.body = [s for s in fn.body
               if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and s.targets[0].id in env)]
    _replace(fn, env)
    return True


def _copies(stmts, env, info):
    """Read ``w`` for ``v`` after ``v = w`` until either is stored again (block by block, so it
    holds in loops too); drop ``x = x``. Dead copies then go in ``_dce``. ``info``: ``_scan``'s.
    True if anything changed."""
    changed, out = False, []
    for s in stmts:
        stored, loads, _ = info[id(s)]
        if type(s) in (gast.If, gast.For, gast.While):
            head = "iter" if type(s) is gast.For else "test"
            new, c = _subst(getattr(s, head), env)
            setattr(s, head, new)
            changed |= c
            inner = {v: w for v, w in env.items() if v not in stored and w not in stored}
            for attr in ("body", "orelse"):
                new, c = _copies(getattr(s, attr), dict(inner), info)
                setattr(s, attr, new)
                changed |= c
        elif env and not loads.isdisjoint(env) and _plain(s):
            changed |= _subst(s, env)[1]
        if type(s) is gast.Assign and type(s.targets[0]) is gast.Name and type(s.value) is gast.Name \
                and s.targets[0].id == s.value.id:
            changed = True
            continue
        if env:
            for v in [v for v, w in env.items() if v in stored or w in stored]:
                del env[v]
        if type(s) is gast.Assign and type(s.targets[0]) is gast.Name and type(s.value) is gast.Name:
            env[s.targets[0].id] = s.value.id
        out.append(s)
    return out, changed


def _dead_copies(stmts):
    """Drop ``v = w`` where the next statement of its block that mentions ``v`` stores it without
    reading it (``_copies`` forwarded every read); an ``if`` or loop on the way ends the search (a
    ``break`` in it may skip the store). True if anything went."""
    dead, pending, changed = set(), {}, False
    for s in stmts:
        if type(s) in (gast.If, gast.For, gast.While):
            for attr in ("body", "orelse"):
                changed |= _dead_copies(getattr(s, attr))
            pending.clear()
            continue
        reads = set(_names(s, gast.Load)) | ({s.target.id} if type(s) is gast.AugAssign else set())
        for v in reads:
            pending.pop(v, None)
        for v in _names(s, gast.Store):
            if v in pending:
                dead.add(id(pending.pop(v)))
        if type(s) is gast.Assign and type(s.targets[0]) is gast.Name and type(s.value) is gast.Name:
            pending[s.targets[0].id] = s
    if dead:
        stmts[:] = [s for s in stmts if id(s) not in dead]
    return changed or bool(dead)


def _coalesce(fn, writes, reads):
    """``w = e; v = w`` with ``w`` read nowhere else becomes ``v = e`` (``writes``, ``reads``:
    ``_count``'s stores and others, kept up to date). True if anything changed."""
    changed = [False]

    def block(stmts):
        out = []
        for s in stmts:
            for attr in ("body", "orelse"):
                if type(s) in (gast.If, gast.For, gast.While):
                    setattr(s, attr, block(getattr(s, attr)))
            prev = out[-1] if out else None
            if type(s) is gast.Assign and type(s.targets[0]) is gast.Name and type(s.value) is gast.Name and \
                    type(prev) is gast.Assign and type(prev.targets[0]) is gast.Name \
                            and prev.targets[0].id == s.value.id \
                    and reads[s.value.id] == 1 and writes[s.value.id] == 1 and not getanno(prev, "primal", False):
                prev.targets[0] = s.targets[0]
                reads[s.value.id] -= 1
                writes[s.value.id] -= 1
                changed[0] = True
                continue
            out.append(s)
        return out
    fn.body = block(fn.body)
    return changed[0]


def _negations(fn):
    """``v = -w`` whose one read multiplies a number constant: ``v * 2`` becomes ``w * -2`` and the
    negation's pass over an array is gone (exact: rounding is symmetric in sign). ``w`` is assigned
    once and read only there, the read of ``v`` is a later simple statement of the same block, and
    nothing between stores ``w``; the user's own steps are left as written. True if anything changed."""
    cands = []

    def scan(stmts):
        for s in stmts:
            if type(s) is gast.Assign and type(s.targets[0]) is gast.Name and type(s.value) is gast.UnaryOp and \
                    type(s.value.op) is gast.USub and type(s.value.operand) is gast.Name and \
                    not getanno(s, "primal", False):
                cands.append((stmts, s))
            if type(s) in (gast.If, gast.For, gast.While):
                scan(s.body)
                scan(s.orelse)
    scan(fn.body)
    if not cands:
        return False
    counts, loads = Counter(), Counter()
    for n in name_nodes(fn):
        if type(n.ctx) is gast.Store:
            counts[n.id] += 1
        elif type(n.ctx) is gast.Load:
            loads[n.id] += 1
    counts.update(a.id for a in fn.args.args)
    where, gone = {}, set()  # block -> {statement: position}; the statements taken out (removed at the end)
    for stmts, s in cands:
        v, w = s.targets[0].id, s.value.operand.id
        if counts.get(v) != 1 or counts.get(w) != 1 or loads[v] != 1 or loads[w] != 1:
            continue
        if id(stmts) not in where:
            where[id(stmts)] = {id(x): k for k, x in enumerate(stmts)}
        i = where[id(stmts)][id(s)]
        j = next((k for k in range(i + 1, len(stmts)) if id(stmts[k]) not in gone and v in ids(stmts[k], gast.Load)),
                 None)
        if j is None or type(stmts[j]) not in (gast.Assign, gast.AugAssign, gast.Return) or \
                getanno(stmts[j], "primal", False) \
                or any(w in ids(x, gast.Store) for x in stmts[i + 1:j] if id(x) not in gone):
            continue
        use = clone(stmts[j])
        for n in nodes(use):
            if type(n) is gast.BinOp and type(n.op) is gast.Mult:
                a, b = (n.left, n.right) if type(n.left) is gast.Name and n.left.id == v else (n.right, n.left)
                if type(a) is gast.Name and a.id == v and type(b) is gast.Constant and type(b.value) in (int, float):
                    n.left, n.right = load(w), const(-b.value)
                    stmts[j] = use
                    gone.add(id(s))
                    break
    for stmts, _ in cands:
        if gone and any(id(x) in gone for x in stmts):
            stmts[:] = [x for x in stmts if id(x) not in gone]
    return bool(gone)


def _scan(stmts, info):
    """``info[id(s)] = (names stored under s, names read in s, None)`` for every statement (the third entry
    was whether s has no lambda: ``_plain`` finds that for the few statements that need it)."""
    for s in stmts:
        if type(s) in (gast.If, gast.For, gast.While):
            _scan(s.body, info)
            _scan(s.orelse, info)
            stored = set().union(*[info[id(c)][0] for c in s.body + s.orelse])
            if type(s) is gast.For:
                stored |= ids(s.target, gast.Store)
            info[id(s)] = (stored, None, False)
            continue
        stored, loads = set(), set()
        for n in name_nodes(s):
            (stored if type(n.ctx) is gast.Store else loads).add(n.id)
        info[id(s)] = (stored, loads, None)  # no lambda in s: found when asked (_plain)
    return info


def _plain(s):
    """No lambda under statement ``s`` (its parameters would shadow what ``_copies`` puts in)."""
    return not any(type(n) is gast.Lambda for n in nodes(s))


def _subst(node, env):
    """``(node, changed)`` with ``env[v]`` read for ``v``, in new Name nodes (generated code shares nodes)."""
    if not any(type(n) is gast.Name and type(n.ctx) is gast.Load and n.id in env for n in nodes(node)):
        return node, False
    return _replace(node,
                    {v: gast.Name(id=w, ctx=gast.Load(), annotation=None, type_comment=None) for v,
                     w in env.items()}), True


def _dce(fn, pure_calls, loads):
    """Drop pure assignments nobody reads. Blocks are walked backwards against ``loads``, a count
    of the reads in the whole function, so a dead chain (``a = ...; b = a + 1``, b unread) goes in one pass."""
    changed = [False]

    def block(stmts):
        out = []
        for s in reversed(stmts):
            if isinstance(s, gast.Assign):
                tg = s.targets[0]
                names = [tg.id] if type(tg) is gast.Name and type(tg.ctx) is gast.Store else \
                    _names(tg, gast.Store) if not isinstance(tg, gast.Subscript) else [None]
                if None not in names and not any(loads[n] for n in names) and _pure(s.value, pure_calls):
                    loads.subtract(_names(s.value, gast.Load))
                    changed[0] = True
                    continue
            elif isinstance(s, gast.If):
                s.orelse, s.body = block(s.orelse), block(s.body)
                if _empty(s.body) and _empty(s.orelse):
                    changed[0] = True
                    continue
                if _empty(s.body):
                    s.body = [gast.Pass()]
            elif isinstance(s, (gast.For, gast.While)):
                s.body = block(s.body) or [gast.Pass()]
                if _empty(s.body) and isinstance(s, gast.For) and not loads[s.target.id]:  # its target read: kept
                    changed[0] = True
                    continue
            out.append(s)
        out.reverse()
        return _clean_comments(out)
    fn.body = block(fn.body)
    return changed[0]


def _empty(stmts):
    return all(isinstance(s, gast.Pass) or is_comment(s) for s in stmts)


def _clean_comments(stmts):
    out = []
    for i, s in enumerate(stmts):
        if is_comment(s) and (i + 1 == len(stmts) or is_comment(stmts[i + 1])):
            continue
        out.append(s)
    return out


def optimize(fn, pure_calls=()):
    """Simplify ``fn`` in place to a fixpoint; returns it."""
    pure_calls = set(pure_calls)
    params = [a.id for a in fn.args.args]
    for _ in range(50):
        counted = _count(fn)
        if counted[3]:
            _fold(fn, counted[3])  # folding changes no name's stores, nor its reads
        stores = counted[0] + Counter(params)
        changed = _propagate(fn, stores)
        fn.body, c = _copies(fn.body, {}, _scan(fn.body, {}))
        if c:
            _dead_copies(fn.body)  # copies whose reads _copies forwarded, stored again before any other
        stores, others, augs, _ = _count(fn) if changed or c else counted
        changed = _coalesce(fn, stores, others) or c or changed
        if _negations(fn):
            changed = True
            stores, others, augs, _ = _count(fn)
        others.subtract(params)  # a parameter is no read
        others.update(augs)
        changed = _dce(fn, pure_calls, others) or changed
        if not changed:
            _nest(fn, pure_calls, stores, others)  # counts of the last round: nothing has changed since
            break
    return fn


_MUTATORS = {P.name_of(f) for f in P.keys(P.WRITES) if not P.is_method(f)}


def _nest(fn, pure_calls, stores, loads):
    """Write a temporary that is read once, later in its block, into that read::

        t3 = t1 + t2                    h = np.tanh(t1 + t2)
        h = np.tanh(t3)

    so NumPy frees it as soon as it is used (and can compute the next step in its buffer). Only
    pure expressions move, only across assignments of pure values to other names (the read
    itself a pure assignment or return), so nothing they read can change on the way. ``stores``,
    ``loads``: ``_count``'s counts of the names stored and read (augmented targets included).
    Only compiler temporaries move (``fn``'s annotation ``temporaries``): a user's variable keeps its line."""
    temps = getanno(fn, "temporaries", frozenset())
    once = {v for v, k in loads.items() if k == 1 and stores[v] == 1 and v in temps}
    if not once:
        return
    reads, moves = {}, {}

    def read(u):
        if id(u) not in reads:
            reads[id(u)] = set(_names(u, gast.Load))
        return reads[id(u)]

    def movable(u):
        if id(u) not in moves:
            moves[id(u)] = isinstance(u, gast.Assign) and isinstance(u.targets[0], gast.Name) and \
                _pure(u.value, pure_calls) and not any(isinstance(n, gast.Call) and (
                    getattr(n.func, "attr", None) in _MUTATORS or any(k.arg == "out" for k in n.keywords))
                                                       for n in nodes(u.value))
        return moves[id(u)]

    def block(stmts):
        for s in stmts:
            for body in (getattr(s, "body", None), getattr(s, "orelse", None)):
                if isinstance(body, list):
                    block(body)
        i = 0
        while i < len(stmts):
            s = stmts[i]
            t = s.targets[0].id if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) else None
            if t not in once or not movable(s):
                i += 1
                continue
            for u in stmts[i + 1:]:
                if is_comment(u):
                    continue
                if t in read(u):
                    if isinstance(u, (gast.Assign, gast.Return)) and _pure(u.value, pure_calls):
                        _put(u, t, s.value)
                        reads[id(u)] = read(u) - {t} | read(s)
                        del stmts[i]
                        i -= 1
                    break
                if not movable(u) or u.targets[0].id in read(s):
                    break
            i += 1
    block(fn.body)
