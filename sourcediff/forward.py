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
from .adjoint import zero_of
from .lower import ATTR_KEYS, classify, defined_at, field_read
from .names import assign, call, clone, const, ids, load, store
from .rules import batched as B, registry as R
from .context import (CHECKPOINT, USER_JVP, check_refused, is_user_function, missing_rule, no_derivative_of_arg, ours,
                      index_value as _index_value)

ZERO = 0.0
_STRUCTURAL = ("copy", "tuple", "list", "dict", "getitem", "setitem", "pop")


class Forward:
    def __init__(self, gen, func, active_params, dirs, ret):
        self.gen, self.func, self.dirs = gen, func, dirs
        self.active = activity.analyse(func.node, active_params, gen.diff_positions, ret)
        self.defined = defined_at(func.node.body, func.params)
        self.tnames = {}
        self.rules = _RuleTangents(self)

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
        """Zero tangents for a join at statement ``at`` (or a branch's end, ``(if, 0 or 1)``): shaped like
        the value where it is certainly defined there."""
        defined = self.defined.get((id(at[0]), at[1]) if isinstance(at, tuple) else id(at), ())
        return [assign(self.t(v, d), self.zeros(v) if self.gen.batch and v in defined else
                       zero_of(self.gen, v, defined)) for v, d in sorted(names, key=str)]

    def zeros(self, v):
        """``zeros_like(v)``, or in a batched sweep 0.0 inside ``v``'s container structure."""
        name = "bzeros" if self.gen.batch else "zeros_like"
        self.gen.bind_rt(name)
        return call(name, load(v))

    def stmt(self, s, live):
        t = type(s)
        if t is gast.If:
            return self._if(s, live)
        if t in (gast.For, gast.While):
            return self._loop(s, live)
        if t is gast.Return:
            return [s]
        p = classify(s)
        if p is None:
            return [s]
        return self.prim(p, s, live)

    def _if(self, s, live):
        la, lb = set(live), set(live)
        a, b = self.block(s.body, la), self.block(s.orelse, lb)
        a += self.zero(lb - la, (s, 0))  # at a branch's end: shaped like what the branch certainly assigned
        b += self.zero(la - lb, (s, 1))
        live.clear()
        live |= la | lb
        s.body, s.orelse = a or [gast.Pass()], b
        return [s]

    def _loop(self, s, live):
        head = set(live)
        while True:
            end = set(head)
            body = self.block(_copy(s.body), end)
            if end <= head:
                break
            head |= end
        exits = [k for k, x in enumerate(body)
                 if isinstance(x, gast.If) and any(isinstance(b, gast.Break) for b in x.body)]
        at = exits[0] if exits else len(body)  # before `if brk: break`, which would skip them
        body[at:at] = self.zero(head - end, s)
        pre = self.zero(head - live, s)
        live |= head
        s.body = body
        return pre + [s]

    # -- one primitive step ----------------------------------------------------------------------
    def prim(self, p, s, live):
        v = p.target
        if p.key == "append":
            return self._append(p, s, live)
        if p.key == "pop" and v not in self.active:  # the tangent list loses its last entry too
            lst = p.args[0].id
            return [s] + [gast.Expr(value=_method(self.t(lst, d), "pop")) for d in self.dirs if (lst, d) in live]
        if v is None or v not in self.active:
            if v is not None:
                live -= {(v, d) for d in self.dirs}
            return [s]
        if is_user_function(p.key) or isinstance(p.key, CHECKPOINT):
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

    def _append(self, p, s, live):
        lst, a = p.args[0].id, p.args[1]
        out = [s]
        for d in self.dirs:
            if lst in self.active:
                pre = [] if (lst, d) in live else [assign(self.t(lst, d), self.zeros(lst))]
                out = pre + out + [gast.Expr(value=_method(self.t(lst, d), "append", self.tan(a, d, live)))]
                live.add((lst, d))
        return out

    def tan(self, a, d, live):
        return load(self.t(a.id, d)) if isinstance(a, gast.Name) and (a.id, d) in live else const(ZERO)

    def is_live(self, a, d, live):
        return isinstance(a, gast.Name) and (a.id, d) in live

    def tangent(self, p, d, live, s):
        """Statements assigning the tangent of ``p.target`` in direction ``d`` (None if zero)."""
        if not self.gen.diff_positions(p) and p.key != "list":
            return None
        dv = self.t(p.target, d)
        lv = [self.is_live(a, d, live) for a in p.args]
        if isinstance(p.key, str) and (p.key in _STRUCTURAL or field_read(p.key)):
            return self._structural(p, d, live, s, dv, lv)
        user = USER_JVP.get(p.key) if not isinstance(p.key, str) else None
        if user is not None:
            check_refused(self.func, s, p.key, [i for i, x in enumerate(lv) if x])  # complex mode: not known right
            return self._user_rule(p, d, live, dv, lv, user)
        return self.rules.tangent(p, d, live, s, dv, lv)

    def _structural(self, p, d, live, s, dv, lv):
        """The tangent of a copy, container, index, field, ``setitem`` or ``pop`` step."""
        k, v, args = p.key, p.target, p.args
        if k == "copy":
            return [assign(dv, self.tan(args[0], d, live))] if lv[0] else None
        if k in ("tuple", "list", "dict"):
            return self._container(p, d, live, dv, lv)
        if k == "setitem":
            if not (lv[0] or lv[1]):
                return None
            cur = load(dv) if (v, d) in live else const(None)
            return [assign(dv, call(self.rt("tsetitem"), cur, load(v), _index_value(p.extra),
                                    self.tan(args[1], d, live)))]
        if not lv[0]:
            return None
        if k == "getitem":
            return [assign(dv, call(self.rt("tindex"), self.tan(args[0], d, live), _index_value(p.extra)))]
        if k == "pop":
            return [assign(dv, _method(self.t(args[0].id, d), "pop"))]
        return [assign(dv, call(self.rt("tgetattr"), self.tan(args[0], d, live), load(args[0].id),
                                const(field_read(k)), const(self.func.at(s))))]

    def _container(self, p, d, live, dv, lv):
        k = p.key
        if not any(lv) and k != "list":
            return None
        # an inactive element's tangent has its shape (np.concatenate needs it); batched rules fill it in
        elts = [self.tan(a, d, live) if self.is_live(a, d, live) or not isinstance(a, gast.Name) or self.gen.batch
                else self.zeros(a.id) for a in p.args]
        node = gast.Dict(keys=p.extra, values=elts) if k == "dict" else \
            (gast.Tuple if k == "tuple" else gast.List)(elts=elts, ctx=gast.Load())
        return [assign(dv, node)]

    def _user_rule(self, p, d, live, dv, lv, user):
        """A rule the user gave with ``sd.defjvp``: called, not inlined (once per direction when batched)."""
        v, args = p.target, p.args
        live_args = [i for i, a in enumerate(args) if lv[i] and i < len(user) and user[i] is not None]
        if not live_args:
            return None
        jvp = lambda i, h: call(self.gen.bind_user(user[i], "jvp"), h, load(v), *args)  # noqa: E731
        if self.gen.batch:  # a user rule may be anything: run it once per direction
            return self.rules.each([(load(self.t(args[i].id, d)), args[i]) for i in live_args], dv, v,
                                   lambda hs: ([], _sum([jvp(i, h) for i, h in zip(live_args, hs)])))
        return [assign(dv, _sum([jvp(i, self.tan(args[i], d, live)) for i in live_args]))]

    def rt(self, name):
        """The runtime helper ``name`` (its batched twin ``b<name>`` in a batched sweep), bound."""
        name = "b" + name if self.gen.batch else name
        self.gen.bind_rt(name)
        return name

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
            out.append(gast.Assign(targets=[gast.Tuple(elts=[store(target), store(self.t(v, d))], ctx=gast.Store())],
                                   value=call(name, *[a for _, a in pos], *tans), type_comment=None))
            live.add((v, d))
            first = False
        return out if out else [s]


class _RuleTangents:
    """A step's tangent from the forward rule tables (in a batched sweep, in the way ``batched.how`` picks)."""

    def __init__(self, fw):
        self.fw, self.gen, self.func = fw, fw.gen, fw.func

    def tangent(self, p, d, live, s, dv, lv):
        k, v, args = p.key, p.target, p.args
        if isinstance(k, str) and k.startswith("attr."):
            k = ATTR_KEYS.get(k, k)
        way, rule = B.how(k) if self.gen.batch else (None, R.lookup(R.JVP, k))
        if rule is None:
            raise missing_rule(self.func, s, k)
        table = R.BJVP if way == "batched" else R.JVP
        n = R.n_diff_args(table, rule)
        want = self._wanted(p, s, k, n, lv, d, live)
        if not want:
            return None
        head = [load(self.fw.t(a.id, d)) if i < len(args) and lv[i] else None for i, a in enumerate(args[:n])] + \
            [None] * max(0, n - len(args))

        def apply(head):
            return self._apply(p, s, k, rule, table, want, head)
        if way == "each":
            return self.each([(h, args[i]) for i, h in enumerate(head) if h is not None], dv, v,
                             lambda hs: apply([next(hs) if h is not None else None for h in head]))
        pre, head = self._padded(head, v) if way == "elementwise" else ([], head)
        stmts, e = apply(head)
        if e is not None and way == "elementwise":
            self.gen.bind_rt("bfix")
            e = call("bfix", e, load(v))
        return pre + stmts + [assign(dv, e)] if e is not None else None

    def _wanted(self, p, s, k, n, lv, d, live):
        """The live operands the rule differentiates; a located refusal where a live one has no derivative."""
        args = p.args
        want = [i for i in range(min(n, len(args))) if lv[i]]
        check_refused(self.func, s, k, [i for i in range(len(args)) if lv[i]])
        late = [i for i in range(n, len(args)) if lv[i]]
        if late and not ours(k):
            raise self.func.error(no_derivative_of_arg(k, late[0]), s)
        kw_live = [kk for kk, a in p.kwargs.items() if self.fw.is_live(a, d, live)]
        if kw_live:
            raise self.func.error("pass `%s` positionally to differentiate through it" % kw_live[0], s)
        return want

    def _apply(self, p, s, k, rule, table, want, head):
        """(statements, the sum of the contributions) of the rule inlined with tangents ``head``."""
        stmts, exprs = self.gen.inline(rule, table, head, p.args, p.kwargs, load(p.target), want, self.fw.err(s))
        terms = [e for e in exprs if e is not None]
        if len(terms) > 1 and R.is_structured(k):  # container tangents: `+` would join the lists
            self.gen.bind_rt("add")
            return stmts, _sum(terms, lambda a, b: call("add", a, b))
        return stmts, _sum(terms) if terms else None

    def _padded(self, head, v):
        """Tangents padded to the result's rank, so they broadcast like their operands (batched, elementwise)."""
        self.gen.bind_rt("bpad")
        pads, pre = {}, []
        for h in head:
            if h is not None and h.id not in pads:
                pads[h.id] = self.gen.names.fresh(h.id + "_p")
                pre.append(assign(pads[h.id], call("bpad", h, load(v))))
        return pre, [load(pads[h.id]) if h is not None else None for h in head]

    def each(self, pairs, dv, v, body):
        """``dv`` from a plain rule run once per direction and stacked: ``pairs`` are the
        (tangent, operand) of the live arguments, ``body(names)`` gives (statements, expression)."""
        names = [self.gen.names.fresh(t.id + "_b") for t, _ in pairs]
        stmts, e = body(iter([load(h) for h in names]))
        if e is None:
            return None
        self.gen.bind_rt("bdirs")
        self.gen.bind_rt("bstack")
        targets = [store(h) for h in names]
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
                        body=inner + [gast.Expr(value=_method(acc, "append", e))])
        return before + [assign(acc, gast.List(elts=[], ctx=gast.Load())), loop,
                         assign(dv, call("bstack", load(acc), load(v)))]


def _method(obj, name, *args):
    """``obj.name(*args)``."""
    return call(gast.Attribute(value=load(obj), attr=name, ctx=gast.Load()), *args)


def _copy(stmts):
    return clone(stmts)


def _sum(terms, plus=lambda a, b: gast.BinOp(left=a, op=gast.Add(), right=b)):
    e = terms[0]
    for t in terms[1:]:
        e = plus(e, t)
    return e
