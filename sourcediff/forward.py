"""Forward mode: each primal step is followed by the tangent steps of its active result.

Takes a lowered function, its active parameters and the tangent *directions*; gives a
new ``FunctionDef``. With several directions (``sd.grad(f, wrt=("a", "b"), mode="forward")``)
one sweep carries ``dv_da`` and ``dv_db`` beside each ``v``, seeded with 1; with one
direction (``jvp`` and callees) the tangent of ``v`` is ``dv`` and the seeds are parameters.
A tangent known to be zero has no line; control-flow joins give the missing side a zero.
A batched generation (``gen.batch``) has one direction whose tangents carry a leading batch
axis; ``rules/batched.py`` says how each primitive is differentiated then.

Before::

    def f(x, a, b):
        return np.sum((x + a) * (x + b))

After, in sd.grad(f, wrt=("a", "b"), mode="forward")::

    def f_grad(x, a, b):
        da_da = unit_seed(a)
        db_db = unit_seed(b)
        t0 = x + a
        dt0_da = broadcast_like(da_da, t0)
        t1 = x + b
        dt1_db = broadcast_like(db_db, t1)
        t2 = t0 * t1
        dt2_da = dt0_da * t1
        dt2_db = t0 * dt1_db
        t3 = np.sum(t2)
        dt3_da = np.sum(dt2_da, axis=None, keepdims=False)
        dt3_db = np.sum(dt2_db, axis=None, keepdims=False)
        seed_one(t3)
        return dt3_da, dt3_db
"""
import gast

from . import activity
from .lower import ATTR_KEYS, classify, defined_at, field_read
from .reverse import zero_of
from .names import assign, call, clone, const, ids, load
from .rules import batched as B, registry as R
from .context import (CHECKPOINT, USER_JVP, check_refused, is_user_function, missing_rule, no_derivative_of_arg, ours,
                      index_value as _index_value)

ZERO = 0.0


class Forward:
    def __init__(self, gen, func, active_params, dirs, ret):
        self.gen, self.func, self.dirs = gen, func, dirs
        self.active = activity.analyse(func.node, active_params, gen.diff_positions, ret)
        self.defined = defined_at(func.node.body, func.params)
        self.tnames = {}

    def t(self, v, d):
        key = (v, d)
        if key not in self.tnames:
            self.tnames[key] = self.gen.names.fresh("d" + v if d is None else "d%s_d%s" % (v, d))
        return self.tnames[key]

    def err(self, node):
        return lambda msg, hint=None: self.func.error(msg, node, hint)

    # -- blocks ------------------------------------------------------------------------------
    def block(self, stmts, live):
        out = []
        for s in stmts:
            out.extend(self.stmt(s, live))
        return out

    def zero(self, names, at):
        """Zero tangents for a join: shaped like the value where it is certainly defined there."""
        defined = self.defined.get(id(at), ())
        return [assign(self.t(v, d), self.zeros(v) if self.gen.batch and v in defined else zero_of(self.gen, v, defined))
                for v, d in sorted(names, key=str)]

    def zeros(self, v):
        """``zeros_like(v)``, or in a batched sweep 0.0 inside ``v``'s container structure."""
        name = "bzeros" if self.gen.batch else "zeros_like"
        self.gen.bind_rt(name)
        return call(name, load(v))

    def stmt(self, s, live):
        t = type(s)
        if t is gast.If:
            la, lb = set(live), set(live)
            a, b = self.block(s.body, la), self.block(s.orelse, lb)
            a += self.zero(lb - la, s)
            b += self.zero(la - lb, s)
            live.clear()
            live |= la | lb
            s.body, s.orelse = a or [gast.Pass()], b
            return [s]
        if t in (gast.For, gast.While):
            head = set(live)
            while True:
                end = set(head)
                body = self.block(_copy(s.body), end)
                if end <= head:
                    break
                head |= end
            exits = [k for k, x in enumerate(body) if isinstance(x, gast.If) and any(isinstance(b, gast.Break) for b in x.body)]
            at = exits[0] if exits else len(body)  # before `if brk: break`, which would skip them
            body[at:at] = self.zero(head - end, s)
            pre = self.zero(head - live, s)
            live |= head
            s.body = body
            return pre + [s]
        if t is gast.Return:
            return [s]
        p = classify(s)
        if p is None:
            return [s]
        return self.prim(p, s, live)

    # -- one primitive step ----------------------------------------------------------------------
    def prim(self, p, s, live):
        v = p.target
        if p.key == "append":
            lst, a = p.args[0].id, p.args[1]
            out = [s]
            for d in self.dirs:
                if lst in self.active:
                    pre = [] if (lst, d) in live else [assign(self.t(lst, d), self.zeros(lst))]
                    out = pre + out + [gast.Expr(value=call(gast.Attribute(value=load(self.t(lst, d)), attr="append", ctx=gast.Load()),
                                                            self.tan(a, d, live)))]
                    live.add((lst, d))
            return out
        if p.key == "pop" and v not in self.active:  # the tangent list loses its last entry too
            lst = p.args[0].id
            return [s] + [gast.Expr(value=call(gast.Attribute(value=load(self.t(lst, d)), attr="pop", ctx=gast.Load())))
                          for d in self.dirs if (lst, d) in live]
        if v is None or v not in self.active:
            if v is not None:
                live -= {(v, d) for d in self.dirs}
            return [s]
        k = p.key
        if is_user_function(k) or isinstance(k, CHECKPOINT):
            return self.user_call(p, s, live)
        out = [s]
        for d in self.dirs:
            line = self.tangent(p, d, live, s)
            if line is None:
                live.discard((v, d))
            else:
                out.extend(line)
                live.add((v, d))
        return out

    def tan(self, a, d, live):
        return load(self.t(a.id, d)) if isinstance(a, gast.Name) and (a.id, d) in live else const(ZERO)

    def is_live(self, a, d, live):
        return isinstance(a, gast.Name) and (a.id, d) in live

    def tangent(self, p, d, live, s):
        """Statements assigning the tangent of ``p.target`` in direction ``d`` (None if zero)."""
        k, v, args = p.key, p.target, p.args
        if not self.gen.diff_positions(p) and k != "list":
            return None
        dv = self.t(v, d)
        lv = [self.is_live(a, d, live) for a in args]
        if k == "copy":
            return [assign(dv, self.tan(args[0], d, live))] if lv[0] else None
        if k in ("tuple", "list", "dict"):
            if not any(lv) and k != "list":
                return None
            # an inactive element's tangent has its shape (np.concatenate needs it); batched rules fill it in
            elts = [self.tan(a, d, live) if self.is_live(a, d, live) or not isinstance(a, gast.Name) or self.gen.batch
                    else self.zeros(a.id) for a in args]
            node = gast.Dict(keys=p.extra, values=elts) if k == "dict" else (gast.Tuple if k == "tuple" else gast.List)(elts=elts, ctx=gast.Load())
            return [assign(dv, node)]
        if k == "getitem":
            if not lv[0]:
                return None
            return [assign(dv, call(self.rt("tindex"), self.tan(args[0], d, live), _index_value(p.extra)))]
        if field_read(k):
            if not lv[0]:
                return None
            return [assign(dv, call(self.rt("tgetattr"), self.tan(args[0], d, live), load(args[0].id),
                                    const(field_read(k)), const(self.func.at(s))))]
        if k == "setitem":
            if not (lv[0] or lv[1]):
                return None
            cur = load(dv) if (v, d) in live else const(None)
            return [assign(dv, call(self.rt("tsetitem"), cur, load(v), _index_value(p.extra), self.tan(args[1], d, live)))]
        if k == "pop":
            return [assign(dv, call(gast.Attribute(value=load(self.t(args[0].id, d)), attr="pop", ctx=gast.Load())))] if lv[0] else None
        user = USER_JVP.get(k) if not isinstance(k, str) else None
        if user is not None:
            live_args = [i for i, a in enumerate(args) if lv[i] and i < len(user) and user[i] is not None]
            if not live_args:
                return None
            if self.gen.batch:  # a user rule may be anything: run it once per direction
                return self.each([(load(self.t(args[i].id, d)), args[i]) for i in live_args], dv, v, lambda hs: (
                    [], _sum([call(self.gen.bind_user(user[i], "jvp"), h, load(v), *args) for i, h in zip(live_args, hs)])))
            return [assign(dv, _sum([call(self.gen.bind_user(user[i], "jvp"), self.tan(args[i], d, live), load(v), *args)
                                     for i in live_args]))]
        if isinstance(k, str) and k.startswith("attr."):
            k = ATTR_KEYS.get(k, k)
        way, rule = B.how(k) if self.gen.batch else (None, R.lookup(R.JVP, k))
        if rule is None:
            raise missing_rule(self.func, s, k)
        table = R.BJVP if way == "batched" else R.JVP
        n = R.n_diff_args(table, rule)
        want = [i for i in range(min(n, len(args))) if lv[i]]
        check_refused(self.func, s, k, [i for i in range(len(args)) if lv[i]])
        late = [i for i in range(n, len(args)) if lv[i]]
        if late and not ours(k):
            raise self.func.error(no_derivative_of_arg(k, late[0]), s)
        kw_live = [kk for kk, a in p.kwargs.items() if self.is_live(a, d, live)]
        if kw_live:
            raise self.func.error("pass `%s` positionally to differentiate through it" % kw_live[0], s)
        if not want:
            return None
        head = [load(self.t(a.id, d)) if i < len(args) and lv[i] else None for i, a in enumerate(args[:n])] + [None] * max(0, n - len(args))

        def apply(head):
            stmts, exprs = self.gen.inline(rule, table, head, args, p.kwargs, load(v), want, self.err(s))
            terms = [e for e in exprs if e is not None]
            if len(terms) > 1 and R.is_structured(k):  # container tangents: `+` would join the lists
                self.gen.bind_rt("add")
                return stmts, _sum(terms, lambda a, b: call("add", a, b))
            return stmts, _sum(terms) if terms else None
        if way == "each":
            return self.each([(h, args[i]) for i, h in enumerate(head) if h is not None], dv, v,
                             lambda hs: apply([next(hs) if h is not None else None for h in head]))
        pre = []
        if way == "elementwise":  # tangents padded to the result's rank broadcast like their operands
            self.gen.bind_rt("bpad")
            pads = {}
            for h in head:
                if h is not None and h.id not in pads:
                    pads[h.id] = self.gen.names.fresh(h.id + "_p")
                    pre.append(assign(pads[h.id], call("bpad", h, load(v))))
            head = [load(pads[h.id]) if h is not None else None for h in head]
        stmts, e = apply(head)
        if e is not None and way == "elementwise":
            self.gen.bind_rt("bfix")
            e = call("bfix", e, load(v))
        return pre + stmts + [assign(dv, e)] if e is not None else None

    def rt(self, name):
        """The runtime helper ``name`` (its batched twin ``b<name>`` in a batched sweep), bound."""
        name = "b" + name if self.gen.batch else name
        self.gen.bind_rt(name)
        return name

    def each(self, pairs, dv, v, body):
        """``dv`` from a plain rule run once per direction and stacked: ``pairs`` are the
        (tangent, operand) of the live arguments, ``body(names)`` gives (statements, expression)."""
        names = [self.gen.names.fresh(t.id + "_b") for t, _ in pairs]
        stmts, e = body(iter([load(h) for h in names]))
        if e is None:
            return None
        self.gen.bind_rt("bdirs")
        self.gen.bind_rt("bstack")
        targets = [gast.Name(id=h, ctx=gast.Store(), annotation=None, type_comment=None) for h in names]
        target = targets[0] if len(targets) == 1 else gast.Tuple(elts=targets, ctx=gast.Store())
        dirs = call("bdirs", *[gast.Tuple(elts=[t, clone(a)], ctx=gast.Load()) for t, a in pairs])
        before, inner, varies = [], [], set(names)  # statements reading no tangent run once, before
        for st in stmts:
            if ids(st, gast.Load) & varies:
                inner.append(st)
                varies |= ids(st, gast.Store)
            else:
                before.append(st)
        if not inner:
            comp = gast.comprehension(target=target, iter=dirs, ifs=[], is_async=0)
            return before + [assign(dv, call("bstack", gast.ListComp(elt=e, generators=[comp]), load(v)))]
        acc = self.gen.names.fresh(dv + "_each")
        loop = gast.For(target=target, iter=dirs, orelse=[], type_comment=None,
                        body=inner + [gast.Expr(value=call(gast.Attribute(value=load(acc), attr="append", ctx=gast.Load()), e))])
        return before + [assign(acc, gast.List(elts=[], ctx=gast.Load())), loop, assign(dv, call("bstack", load(acc), load(v)))]

    def user_call(self, p, s, live):
        v, args = p.target, p.args
        fn = p.key.fn if isinstance(p.key, CHECKPOINT) else p.key
        pos = self.gen.bind_call(fn, args, p.kwargs, self.func, s)
        out, first = [], True
        for d in self.dirs:
            act = [i for i, a in pos if self.is_live(a, d, live)]
            if not act:
                live.discard((v, d))
                continue
            name = self.gen.jvp_of(fn, tuple(act))
            tans = [self.tan(a, d, live) for i, a in pos if i in act]
            target = v if first else self.gen.names.temp()
            out.append(gast.Assign(targets=[gast.Tuple(elts=[gast.Name(id=target, ctx=gast.Store(), annotation=None, type_comment=None),
                                                            gast.Name(id=self.t(v, d), ctx=gast.Store(), annotation=None, type_comment=None)],
                                                      ctx=gast.Store())],
                                   value=call(name, *[a for _, a in pos], *tans), type_comment=None))
            live.add((v, d))
            first = False
        return out if out else [s]


def _copy(stmts):
    return clone(stmts)


def _sum(terms, plus=lambda a, b: gast.BinOp(left=a, op=gast.Add(), right=b)):
    e = terms[0]
    for t in terms[1:]:
        e = plus(e, t)
    return e
