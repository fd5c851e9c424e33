"""Splice: paste a leaf callee's split sweeps into their call sites.

Takes the generated ``FunctionDef``s of one derivative and the names of the user-function pairs
(``p_fwd``/``p_bwd``); gives the list back with every call of a pair that calls no other pair
replaced by the callee's statements (names suffixed with the callee's name), innermost callees
first, and the pairs nobody calls any more dropped. On scalar code the Python calls and
residual tuples are a large part of a gradient's time. Recursive callees keep their pair.

Before::

    def p(x):
        return np.sin(x) * x


    def f(x):
        return np.sum(p(x) - 42.0)

After, in sd.grad(f)::

    def f_grad(x):
        t0_p = np.sin(x)
        t0 = t0_p * x
        # grad of: return np.sum(p(x) - 42.0)
        dt1 = expand_reduced(1.0, t0 - 42.0, None, False)
        dt0 = unbroadcast(dt1, t0)
        # grad of: return np.sin(x) * x
        dt0_p = dt0 * x
        dx_p = dt0 * t0_p
        dx_p += dt0_p * np.cos(x)
        return grad_like(dx_p, x)

The residuals still travel in a tuple (``res = (t0_p, x_p)`` ... ``t0_p, x_p = res``) where the
two halves land in different functions or in a loop, whose tape keeps one tuple per iteration;
where both sit in one function's top level, the tuple goes too. The callee's temporaries (annotation
``temporaries``), renamed, are the caller's temporaries too.
"""
import gast

from .annotations import getanno, setanno
from .names import clone, ids, nodes, store


class _Rename(gast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        if node.id in self.names:
            node.id = self.names[node.id]
        return node


def _call_to(s, names):
    """``(target, callee name, args)`` of ``target = f(...)`` with ``f`` in ``names``."""
    if type(s) is gast.Assign and type(s.value) is gast.Call and type(s.value.func) is gast.Name \
            and s.value.func.id in names:
        return s.targets[0], s.value.func.id, s.value.args
    return None


def _pair_ok(fwd, bwd):
    """The shapes build_pair gives: one ``return value, (residuals)`` and ``bwd(res, dret)``."""
    r = fwd.body[-1] if fwd.body else None
    return type(r) is gast.Return and type(r.value) is gast.Tuple and len(r.value.elts) == 2 and \
        len(bwd.args.args) == 2 and bwd.body and type(bwd.body[-1]) is gast.Return and \
        sum(type(n) is gast.Return for n in nodes(fwd)) == 1 and sum(type(n) is gast.Return for n in nodes(bwd)) == 1


def _own(fn):
    """The names local to a generated function: its parameters and everything it stores."""
    return {a.id for a in fn.args.args} | ids(fn, gast.Store)


def _assign(target, value):
    return gast.Assign(targets=[store(target) if isinstance(target, str) else target], value=value, type_comment=None)


class _Site:
    """One call site's renaming (shared by its forward and backward halves through ``res``)."""

    def __init__(self, fwd, bwd, res, used):
        base = fwd.name.rsplit("_fwd", 1)[0]
        self.ren = {}
        for n in sorted(_own(fwd) | _own(bwd)):
            new, k = "%s_%s" % (n, base), 1
            while new in used:
                new, k = "%s_%s_%d" % (n, base, k), k + 1
            used.add(new)
            self.ren[n] = new
        self.ren[bwd.args.args[0].id] = res

    def body(self, fn):
        return _Rename(self.ren).visit(gast.Module(body=clone(fn.body), type_ignores=[])).body

    def temporaries(self, caller, fn):
        """Add ``fn``'s temporaries, under their new names, to ``caller``'s."""
        mine = getanno(caller, "temporaries", frozenset())
        setanno(caller, "temporaries", mine | {self.ren[n] for n in getanno(fn, "temporaries", ()) if n in self.ren})


def _splice_calls(caller, fwd, bwd, used, sites):
    """Replace every call of ``fwd``/``bwd`` in ``caller``; True if there was one."""
    hit = [False]

    def block(stmts):
        out = []
        for s in stmts:
            if type(s) in (gast.If, gast.For, gast.While):
                s.body = block(s.body)
                s.orelse = block(s.orelse)
            c = _call_to(s, {fwd.name, bwd.name})
            if c and c[1] == fwd.name and type(c[0]) is gast.Tuple and len(c[0].elts) == 2 \
                    and type(c[0].elts[1]) is gast.Name:
                v, res = c[0].elts
                site = sites.setdefault(res.id, _Site(fwd, bwd, res.id, used))
                body = site.body(fwd)
                site.temporaries(caller, fwd)
                value, resid = body.pop().value.elts
                out += [_assign(site.ren[p.id], a) for p, a in zip(fwd.args.args, c[2])] + body + \
                    [_assign(v, value), _assign(res.id, resid)]
            elif c and c[1] == bwd.name and len(c[2]) == 2 and type(c[2][0]) is gast.Name:
                site = sites.setdefault(c[2][0].id, _Site(fwd, bwd, c[2][0].id, used))
                body = site.body(bwd)
                site.temporaries(caller, bwd)
                out += [_assign(site.ren[bwd.args.args[1].id], c[2][1])] + body[:-1] + _unpack(c[0], body[-1].value)
            else:
                out.append(s)
                continue
            hit[0] = True
        return out
    caller.body = block(caller.body)
    return hit[0]


def _unpack(target, value):
    """``a, b = e1, e2`` as two assignments (so copies can be propagated) unless one side reads the other."""
    if type(target) is gast.Tuple and type(value) is gast.Tuple and len(target.elts) == len(value.elts) and \
            not ids(target, gast.Store) & ids(value):
        return [_assign(t, v) for t, v in zip(target.elts, value.elts)]
    return [_assign(target, value)]


def _tidy(fn):
    """Drop a residual tuple packed and unpacked once at top level (the optimizer, which runs
    next, takes care of plain copies such as ``t3 = dx_p``)."""
    count = {}
    for n in nodes(fn):
        if type(n) is gast.Name:
            count[n.id] = count.get(n.id, 0) + 1
    body = fn.body
    packs = {s.targets[0].id: k for k,
             s in enumerate(body) if type(s) is gast.Assign and type(s.targets[0]) is gast.Name
             and type(s.value) is gast.Tuple}
    drop = set()
    for k, s in enumerate(body):
        if type(s) is gast.Assign and type(s.value) is gast.Name and s.value.id in packs and count[s.value.id] == 2 \
                and \
                packs[s.value.id] < k and type(s.targets[0]) is gast.Tuple and \
                [getattr(e, "id", None) for e in s.targets[0].elts] == [getattr(e, "id", None)
                                                                        for e in body[packs[s.value.id]].value.elts]:
            # `r = (a, b)` ... `a, b = r` with nothing else reading r: a and b are still there
            drop |= {k, packs[s.value.id]}
    fn.body = [s for k, s in enumerate(body) if k not in drop]
    return fn


def splice(defs, pairs):
    """``(defs, names of changed defs)``: ``defs`` (main first) with leaf pairs spliced in."""
    by_name = {d.name: d for d in defs}
    pairs = [(by_name[f], by_name[b]) for f,
             b in pairs if f in by_name and b in by_name and _pair_ok(by_name[f], by_name[b])]
    if not pairs:
        return list(defs), set()  # nothing to splice: every def stays
    pair_names = {d.name for fb in pairs for d in fb}
    changed, done = set(), set()
    while True:
        leaves = [(f, b) for f, b in pairs if f.name not in done and
                  not any(type(n) is gast.Name and n.id in pair_names for d in (f, b)
                          for n in nodes(gast.Module(body=d.body, type_ignores=[])))]
        if not leaves:
            break
        for f, b in leaves:
            done.add(f.name)
            pair_names -= {f.name, b.name}
            for caller in defs:
                if caller not in (f, b) and _splice_calls(caller, f, b, ids(caller) | ids(f) | ids(b), {}):
                    changed.add(caller.name)
    for d in defs:
        if d.name in changed:
            _tidy(d)
    loads = {d.name: {n.id for n in nodes(d) if type(n) is gast.Name} for d in defs}
    keep = [d for d in defs if d is defs[0] or d.name not in by_name or
            not any(d.name in (f.name, b.name) for f, b in pairs)
            or any(d.name in loads[o.name] for o in defs if o is not d)]
    return keep, changed
