"""Reverse mode: a primal sweep that records what the adjoint needs, then the adjoint sweep.

Takes a lowered function and its active parameters; gives the primal statements (with
tape pushes), the adjoint statements, and what the adjoint reads, from which the
pipeline assembles one ``grad`` function or a callee's ``fwd``/``bwd`` pair.

Overwritten values are handled by *restoring*: where a step overwrites a name that the
adjoint reads (in a loop, or a re-assignment), the primal pushes the old value first and
the adjoint pops it back right after that step's adjoint. Nothing else is recorded:
loop trip counts come from the ``range`` itself (a counter only with ``break`` or
``while``), branch conditions are names the adjoint reads like any other.
Adjoints are ``dv``; the first contribution assigns, later ones accumulate; an adjoint
known to be zero has no line.

Before::

    def f(x, a):
        for i in range(3):
            x = x * a
        return np.sum(x)

After, in sd.grad(f, wrt="a")::

    def f_grad(x, a):
        tape = []
        t0 = range(3)
        for i in t0:
            t1 = x * a
            tape.append(x)
            x = t1
        t2 = np.sum(x)
        dt2 = 1.0
        # grad of: return np.sum(x)
        dx = expand_reduced(dt2, x, None, False)
        da = zeros_like(a)
        for i in reversed(t0):
            # grad of: x = x * a
            dt1 = dx
            x = tape.pop()
            dx = unbroadcast(dt1 * a, x)
            da = da + unbroadcast(dt1 * x, a)
        return grad_like(da, a)
"""

import gast
import numpy as np

from . import activity, shapes
from .codegen import comment
from .context import (CHECKPOINT, USER_VJP, check_refused, index_value, is_user_function, missing_rule,
                      no_derivative_of_arg, ours)
from .lower import ATTR_KEYS, classify, defined_at, field_read, walk
from .names import assign, call, clone, const, load, store, ids, nodes
from .rules import helpers, registry as R

SHAPE_ARGS = {"unbroadcast": (1,), "setitem_vjp": (2,),
              "broadcast_like": (1,), "expand_reduced": (1,), "keepdims_shape": (0,),
              "reduced_count": (0,), "shape": (0,), "ndim": (0,), "size": (0,)}
NUM_KEYS = {"Add", "Sub", "Mult", "Div", "Pow", "Mod", "MatMult", "USub", "UAdd", "FloorDiv"}


def _loads(stmts):
    return set().union(*[ids(s, gast.Load) for s in stmts])


def _targets(s):
    if isinstance(s, gast.Assign):
        t = s.targets[0]
        return [t.value.id] if isinstance(t, gast.Subscript) else [t.id]
    if isinstance(s, gast.For):
        return [s.target.id]
    return []


def _mutated(body):
    """The names whose value ``body`` changes in place: a subscript's base it writes, the object of a
    method it calls (``t4.append(x)``, ``t4.pop()``, ...: any method, to be safe). ``shape_of`` of a
    list is the list itself, so such a value gets no shape stand-in."""
    out = set()
    for n in nodes(gast.Module(body=body, type_ignores=[])):
        if type(n) is gast.Subscript and type(n.ctx) is gast.Store and type(n.value) is gast.Name:
            out.add(n.value.id)
        elif type(n) is gast.Call and type(n.func) is gast.Attribute and type(n.func.value) is gast.Name:
            out.add(n.func.value.id)
    return out


class Reverse:
    def __init__(self, gen, func, active_params, ret, given=None):
        self.gen, self.func, self.given = gen, func, given  # given: parameters' (kind, shape), when specialised
        node = func.node
        self.params = [a.id for a in node.args.args]
        self.active = activity.analyse(node, active_params, gen.diff_positions, ret)
        self.locals = set(self.params) | ids(node, gast.Store)
        self.anames, self.res, self.counters, self.recomputed = {}, {}, {}, set()
        self.pushed = {}          # id(statement) -> names it pushes
        self.maybe_zero = set()
        self.tape = None
        self.spread_params, self._spread = False, None  # build_reverse: grad_like spreads a number over a parameter
        self._scan()

    def _scan(self):
        """Where each name is assigned, what is in a loop, and the loops that need a counter."""
        self.sites, self.in_loop, self.before, self.nested = {}, set(), {}, set()
        seen = set(self.params)

        def visit(stmts, loop, compound):
            for s in stmts:
                for v in _targets(s):
                    self.sites[v] = self.sites.get(v, 0) + 1
                    self.before[id(s)] = v in seen
                    if compound:
                        self.nested.add(v)
                    seen.add(v)
                if loop:
                    self.in_loop.add(id(s))
                if isinstance(s, gast.If):
                    visit(s.body, loop, True)
                    visit(s.orelse, loop, True)
                elif isinstance(s, (gast.For, gast.While)):
                    if isinstance(s, gast.While) or any(isinstance(x, gast.Break) for x in nodes(s)):
                        self.counters[id(s)] = self.gen.names.fresh("n")
                    visit(s.body, True, True)
        visit(self.func.node.body, False, False)
        self.defined = defined_at(self.func.node.body, self.params)
        self.cls = shapes.classes(self.func.node, self.params, self.sites)
        self.sized = shapes.concrete(self.func.node, self.given) if self.given else {}
        self.kinds = {}  # name -> True when it certainly holds a number or array (adjoints add with +)
        uses = {}
        for s in walk(self.func.node.body):
            p = classify(s)
            if p is None:
                continue
            num = p.key in NUM_KEYS or (not isinstance(p.key, str) and R.lookup(R.VJP, p.key) is not None
                                        and not R.is_structured(p.key))
            if p.target is not None:
                self.kinds[p.target] = self.kinds.get(p.target, True) and num
            for a in p.args:
                if isinstance(a, gast.Name):
                    uses[a.id] = uses.get(a.id, True) and num
        for v in self.params:  # a parameter used only in arithmetic is a number or an array
            if uses.get(v) and v not in self.kinds:
                self.kinds[v] = True

    def a(self, v):
        if v not in self.anames:
            self.anames[v] = self.gen.names.fresh("d" + v)
        return self.anames[v]

    # -- accumulation --------------------------------------------------------------------------
    def is_active(self, a):
        return isinstance(a, gast.Name) and a.id in self.active

    def acc(self, x, expr, st, out):
        if not (isinstance(x, gast.Name) and x.id in self.active):
            return
        dx = self.a(x.id)
        neg = isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub)  # dx += -e: dx -= e
        op, term = (gast.Sub(), expr.operand) if neg else (gast.Add(), expr)
        if x.id not in st:
            out.append(assign(dx, expr))
        elif self.gen.scalar:
            out.append(gast.AugAssign(target=store(dx), op=op, value=term))
        elif self.kinds.get(x.id):
            out.append(assign(dx, gast.BinOp(left=load(dx), op=op, right=term)))
            out[-1].sd_acc = True  # inplace.py may make it `dx += expr`
        else:
            self.gen.bind_rt("add")
            out.append(assign(dx, call("add", load(dx), expr)))
        st.add(x.id)

    def zeros(self, names, at):
        """Zero adjoints for a join: shaped like the value where it is certainly defined there."""
        self.maybe_zero |= names
        return [assign(self.a(v), zero_of(self.gen, v, self.defined.get(id(at), ()))) for v in sorted(names)]

    # -- the adjoint sweep ------------------------------------------------------------------------
    def adjoint(self, stmts, st):
        out = self._adjoint(stmts, st)
        rename = getattr(self, "shape_names", None)
        if not (self.cls or self.sized or rename):
            return out
        for n in nodes(gast.Module(body=out, type_ignores=[])):
            if type(n) is gast.Call and (self.cls or self.sized):  # a shape-only argument reads the parameter of its shape class
                f = n.func.id if type(n.func) is gast.Name else getattr(n.func, "attr", None)
                for i in SHAPE_ARGS.get(f, ()):
                    a = n.args[i] if i < len(n.args) else None
                    if type(a) is gast.Name and a.id in self.cls:
                        n.args[i] = load(self.cls[a.id])
                    elif type(a) is gast.Name and a.id not in self.params and self.sized.get(a.id, ("num", ()))[1]:
                        n.args[i] = self.stand_in(self.sized[a.id])  # ... or of its known shape
            elif type(n) is gast.Name and rename and type(n.ctx) is gast.Load and n.id in rename:
                n.id = rename[n.id]  # ... or the shape stand-in of a value kept for nothing else
        return out

    def _adjoint(self, stmts, st):
        out, line = [], None
        for s in reversed(stmts):
            code = self.adj_stmt(s, st)
            ln = getattr(s, "sd_line", None)
            if len(code) > len(self.pushed.get(id(s), ())) and ln is not None and ln != line and not isinstance(s, (gast.If, gast.For, gast.While)):
                text = self.func.line_of(s)
                if text:
                    out.append(comment("grad of: " + text))
                line = ln
            out.extend(code)
        return out

    def adj_stmt(self, s, st):
        t = type(s)
        if t is gast.If:
            sa, sb = set(st), set(st)
            a, b = self._adjoint(s.body, sa), self._adjoint(s.orelse, sb)
            a += self.zeros(sb - sa, s)
            b += self.zeros(sa - sb, s)
            st.clear()
            st |= sa | sb
            if not a and not b:
                return []
            return [gast.If(test=load(s.test.id), body=a or [gast.Pass()], orelse=b)]
        if t in (gast.For, gast.While):
            head = set(st)
            while True:
                end = set(head)
                body = self._adjoint(s.body, end)
                if end <= head:
                    break
                head |= end
            body += self.zeros(head - end, s)
            pre = self.zeros(head - st, s)
            st |= head
            n = self.counters.get(id(s))
            pops = self.pop_names(s)
            if not body:
                return pops
            if t is gast.While:
                it = call("range", load(n))
                tgt = store(self.gen.names.fresh("k"))
            else:
                rng = gast.Subscript(value=load(s.iter.id), slice=gast.Slice(lower=None, upper=load(n), step=None), ctx=gast.Load()) if n else load(s.iter.id)
                it, tgt = call("reversed", rng), store(s.target.id)
            return pre + [gast.For(target=tgt, iter=it, body=body, orelse=[], type_comment=None)] + pops
        p = classify(s)
        if p is None:
            return []
        out = []
        if p.key == "append":
            lst, a = p.args[0].id, p.args[1]
            if lst in self.active and lst in st:
                tmp = self.gen.names.temp()
                self.gen.bind_rt("adj_pop")
                out.append(gast.Assign(targets=[gast.Tuple(elts=[store(tmp), store(self.a(lst))], ctx=gast.Store())],
                                       value=call("adj_pop", load(self.a(lst))), type_comment=None))
                self.acc(a, load(tmp), st, out)
            if lst in self.reads_hint:
                out.append(gast.Expr(value=call(gast.Attribute(value=load(lst), attr="pop", ctx=gast.Load()))))
            return out
        v = p.target
        if v is not None and v in self.active and v in st:
            if self.gen.diff_positions(p) or p.key == "setitem":
                self.adj_prim(p, s, st, out)
            else:
                st.discard(v)
        elif p.key == "pop" and p.args[0].id in self.active and p.args[0].id in st:
            lst = p.args[0].id  # the popped value has no adjoint: a zero keeps the list's adjoint aligned with it
            self.gen.bind_rt("adj_append")
            out.append(assign(self.a(lst), call("adj_append", load(self.a(lst)), const(0.0), load(lst))))
        if p.key == "pop" and p.args[0].id in self.reads_hint:  # put the value back: the list is read later
            out.append(gast.Expr(value=call(gast.Attribute(value=load(p.args[0].id), attr="append", ctx=gast.Load()), load(v))))
        return out + self.pop_names(s)

    def pop_names(self, s):
        names = self.pushed.get(id(s), [])
        out = []
        for v in reversed(names):
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript):
                tgt = gast.Subscript(value=load(v), slice=clone(s.targets[0].slice), ctx=gast.Store())
                out.append(gast.Assign(targets=[tgt], value=call(gast.Attribute(value=load(self.tape), attr="pop", ctx=gast.Load())), type_comment=None))
            else:
                out.append(assign(v, call(gast.Attribute(value=load(self.tape), attr="pop", ctx=gast.Load()))))
        return out

    def adj_prim(self, p, s, st, out):
        k, v, args = p.key, p.target, p.args
        g = load(self.a(v))
        where = lambda msg, hint=None: self.func.error(msg, s, hint)  # noqa: E731
        if k == "setitem":
            tmp = self.gen.names.temp()
            self.gen.bind_rt("setitem_vjp")
            a = args[1]
            shape = [load(a.id)] if isinstance(a, gast.Name) and a.id in self.active else []  # the value may broadcast
            out.append(gast.Assign(targets=[gast.Tuple(elts=[store(tmp), store(self.a(v))], ctx=gast.Store())],
                                   value=call("setitem_vjp", g, index_value(p.extra), *shape), type_comment=None))
            self.acc(args[1], load(tmp), st, out)
            return
        st.discard(v)
        if k == "copy":
            self.acc(args[0], g, st, out)
        elif k in ("tuple", "list", "dict"):
            self.gen.bind_rt("tindex")
            keys = p.extra if k == "dict" else [const(i) for i in range(len(args))]
            for a, key in zip(args, keys):
                self.acc(a, call("tindex", g, clone(key)), st, out)
        elif k == "getitem":
            x = args[0]
            if isinstance(x, gast.Name) and x.id in self.active:
                self.gen.bind_rt("getitem_vjp")
                cur = load(self.a(x.id)) if x.id in st else const(None)
                out.append(assign(self.a(x.id), call("getitem_vjp", cur, load(x.id), index_value(p.extra), g)))
                st.add(x.id)
        elif field_read(k):
            x = args[0]
            if isinstance(x, gast.Name) and x.id in self.active:
                self.gen.bind_rt("getattr_vjp")
                cur = load(self.a(x.id)) if x.id in st else const(None)
                out.append(assign(self.a(x.id), call("getattr_vjp", cur, load(x.id), const(field_read(k)), g,
                                                     const(self.func.at(s)))))
                st.add(x.id)
        elif k == "pop":
            x = args[0]
            self.gen.bind_rt("adj_append")
            cur = load(self.a(x.id)) if x.id in st else const(None)
            out.append(assign(self.a(x.id), call("adj_append", cur, g, load(x.id))))
            st.add(x.id)
        elif is_user_function(k) or isinstance(k, CHECKPOINT):
            self.adj_call(p, s, st, out, g)
        elif not isinstance(k, str) and k in USER_VJP:
            rules = USER_VJP[k]
            for i, a in enumerate(args):
                if i < len(rules) and rules[i] is not None and isinstance(a, gast.Name) and a.id in self.active:
                    self.acc(a, call(self.gen.bind_user(rules[i], "vjp"), g, load(v), *args), st, out)
        else:
            key = ATTR_KEYS.get(k, k)
            if key in ("MatMult", np.matmul) and v not in self.maybe_zero and not p.kwargs and \
                    all(self.sized.get(getattr(a, "id", None), (0, ()))[0] == "array" and len(self.sized[a.id][1]) == 2 for a in args):
                key = helpers.matmul2d  # two 2-D arrays: the rule without matmul's rank cases
            if key in ("Mult", np.multiply) and len(args) == 2 and isinstance(args[0], gast.Name) and \
                    isinstance(args[1], gast.Name) and args[0].id == args[1].id and not p.kwargs:
                key, args = "Pow", [args[0], const(2)]  # x * x: one contribution 2 * x * g, not two
            rule = R.lookup(R.VJP, key)
            if rule is None:
                raise missing_rule(self.func, s, k)
            n = R.n_diff_args(R.VJP, rule)
            want = [i for i in range(min(n, len(args))) if isinstance(args[i], gast.Name) and args[i].id in self.active]
            check_refused(self.func, s, key, [i for i, a in enumerate(args)
                                              if isinstance(a, gast.Name) and a.id in self.active])
            late = [i for i in range(n, len(args)) if self.is_active(args[i])]
            if late and not ours(k):
                raise where(no_derivative_of_arg(k, late[0]))
            for kw, a in p.kwargs.items():
                if isinstance(a, gast.Name) and a.id in self.active:
                    raise where("pass `%s` positionally to differentiate through it" % kw)
            if not want:
                return
            stmts, exprs = self.gen.inline(rule, R.VJP, [g], args, p.kwargs, load(v), want, where)
            out.extend(stmts)
            same = shapes.elementwise(key) and v not in self.maybe_zero
            spread = key in (np.sum, np.mean) and len(args) == 1 and not p.kwargs and isinstance(args[0], gast.Name) \
                and args[0].id in self.spreadable()
            for i, e in zip(want, exprs):
                if same and self.shaped_alike(v, args[i].id):
                    e = _drop_unbroadcast(e)  # g is shaped like v, and so is args[i]: nothing was broadcast
                if spread:
                    e = _Unspread().visit(e)  # the sum's adjoint stays a number: every rule below broadcasts it
                if e is not None:
                    self.acc(args[i], e, st, out)

    def stand_in(self, sized):
        """A parameter certainly shaped ``sized`` (kind, shape), else ``stand_in(shape)``: what a
        specialised derivative reads for a value's shape (not a 0-d one: ``unbroadcast`` gives a
        number of the type of what it reads)."""
        for p in self.params:
            if self.sized.get(p) == sized:
                return load(p)
        shape = sized[1]
        self.gen.bind_rt("stand_in")
        return call("stand_in", gast.Tuple(elts=[const(d) for d in shape], ctx=gast.Load()))

    def shaped_alike(self, v, a):
        """Do ``v`` and ``a`` certainly have one shape (one shape class, or one known shape)?"""
        c, s = self.cls.get(v), self.sized.get(v)
        return c is not None and self.cls.get(a, a) == c or s is not None and s[1] == self.sized.get(a, (0, None))[1]

    def spreadable(self):
        if self._spread is None:
            self._spread = shapes.spreadable(self.func.node, self.cls, shapes.roots(self.func.node, self.params, self.sites)
                                             if self.spread_params else ())
        return self._spread

    def adj_call(self, p, s, st, out, g):
        ck = isinstance(p.key, CHECKPOINT)
        fn = p.key.fn if ck else p.key
        pos = self.gen.bind_call(fn, p.args, p.kwargs, self.func, s)
        act = tuple(i for i, a in pos if isinstance(a, gast.Name) and a.id in self.active)
        fwd, bwd = self.gen.pair_of(fn, act)
        res = self.res_name(s)
        if ck:
            self.recomputed.add(res)  # made by the adjoint sweep itself: not a residual of the primal
            out.append(gast.Assign(targets=[gast.Tuple(elts=[store(self.gen.names.temp()), store(res)], ctx=gast.Store())],
                                   value=call(fwd, *[a for _, a in pos]), type_comment=None))
        outs = [self.gen.names.temp() for _ in act]
        tgt = gast.Tuple(elts=[store(o) for o in outs], ctx=gast.Store()) if len(outs) != 1 else store(outs[0])
        out.append(gast.Assign(targets=[tgt], value=call(bwd, load(res), g), type_comment=None))
        for i, o in zip(act, outs):
            self.acc(dict(pos)[i], load(o), st, out)

    def res_name(self, s):
        if id(s) not in self.res:
            self.res[id(s)] = self.gen.names.fresh("res")
        return self.res[id(s)]

    # -- the primal sweep ------------------------------------------------------------------------
    def primal(self, stmts):
        out = []
        for s in stmts:
            t = type(s)
            if t is gast.If:
                s.body, s.orelse = self.primal(s.body) or [gast.Pass()], self.primal(s.orelse)
                out.append(s)
                continue
            pre = [gast.Expr(value=call(gast.Attribute(value=load(self.tape), attr="append", ctx=gast.Load()),
                                        self.old_value(s, v))) for v in self.pushed.get(id(s), [])]
            if t in (gast.For, gast.While):
                n = self.counters.get(id(s))
                body = self.primal(s.body)
                if n:
                    inc = assign(n, gast.BinOp(left=load(n), op=gast.Add(), right=const(1)))
                    body.insert(0, inc)
                    pre.append(assign(n, const(0)))
                s.body = body
                out.extend(pre + [s])
                continue
            p = classify(s)
            if p is not None and p.target is not None and p.target in self.active and \
                    (is_user_function(p.key) or isinstance(p.key, CHECKPOINT)) and not isinstance(p.key, CHECKPOINT):
                pos = self.gen.bind_call(p.key, p.args, p.kwargs, self.func, s)
                act = tuple(i for i, a in pos if isinstance(a, gast.Name) and a.id in self.active)
                fwd, _ = self.gen.pair_of(p.key, act)
                s = gast.copy_location(gast.Assign(targets=[gast.Tuple(elts=[store(p.target), store(self.res_name(s))], ctx=gast.Store())],
                                                   value=call(fwd, *[a for _, a in pos]), type_comment=None), s)
            out.extend(pre + [s])
        return out

    def old_value(self, s, v):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript):
            self.gen.bind_rt("getitem_copy")
            return call("getitem_copy", load(v), index_value(s.targets[0].slice))
        return load(v)

    # -- putting it together -----------------------------------------------------------------------
    def _sweep(self, ret, seed):
        """(the adjoint sweep of the whole body, the adjoints live at its end)."""
        st = {ret.id} if isinstance(ret, gast.Name) and ret.id in self.active else set()
        return ([assign(self.a(ret.id), seed)] if st and seed is not None else []) + self.adjoint(self.func.node.body, st), st

    def run(self, ret, seed):
        """(primal statements, adjoint statements, final live set, names the adjoint reads)."""
        self.reads_hint = set()
        mark = self.gen.names.mark()
        first = self.shape_only(ret, seed)  # its sweep is the first below when it changed nothing
        if first is None:
            self.gen.names.rewind(mark)
        body = self.func.node.body
        lists = {p.args[0].id for p in map(classify, walk(body)) if p is not None and p.key in ("append", "pop")}
        for _ in range(20):  # to a fixpoint: a restore is a read too (`if t5: y = tape.pop()` reads t5)
            used = (dict(self.pushed), self.reads_hint & lists)  # all a sweep reads of the hint: its lists
            adj, st = first or self._sweep(ret, seed)
            first = None
            self.reads_hint = _loads(adj) & self.locals
            self.decide_pushes(self.reads_hint)
            if (self.pushed, self.reads_hint & lists) == used:
                break  # adj was generated from what it decides: final but for the tape's name
            self.gen.names.rewind(mark)
        else:
            adj = None
        self.tape = self.tape or (self.gen.names.fresh("tape") if self.pushed else None)
        if adj is None:
            adj, st = self._sweep(ret, seed)
        for n in nodes(gast.Module(body=adj, type_ignores=[])) if self.tape else ():
            if type(n) is gast.Name and n.id is None:  # load(self.tape) while the tape had no name
                n.id = self.tape
        reads = _loads(adj) & (self.locals | set(self.res.values()) | set(self.counters.values())) - self.recomputed
        top = {id(s) for s in body}
        nested = self.nested | {r for sid, r in self.res.items() if sid not in top} | \
            {n for sid, n in self.counters.items() if sid not in top} | \
            {s.target.id for s in walk(body) if isinstance(s, gast.For)}  # a loop variable saved before its loop
        inits = sorted((reads | {v for vs in self.pushed.values() for v in vs}) & nested - set(self.params))
        if inits:
            self.gen.bind_rt("UNSET")
        inits = [assign(v, load("UNSET")) for v in inits]
        prim = self.primal(body)
        if self.tape:
            inits.insert(0, assign(self.tape, gast.List(elts=[], ctx=gast.Load())))
        return inits + prim, adj, st, reads

    def shape_only(self, ret, seed):
        """Let the adjoint read only the shape of values it needs for nothing else.

        ``unbroadcast(g, t3)`` needs ``t3``'s shape, not its data: after each assignment
        ``t3_shape = shape_of(t3)`` (a zero-strided stand-in), and the adjoint reads that,
        so a loop keeps no copy of ``t3``. Returns the sweep it looked at, ``(adj, st)``, when
        it inserted nothing (so ``run`` need not make it again), else None.
        """
        adj, st = self._sweep(ret, seed)
        seeded = bool(st) and seed is not None  # _sweep's adj[0] then sets the seed
        uses, shape_uses = {}, {}
        for n in nodes(gast.Module(body=adj[1 if seeded else 0:], type_ignores=[])):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                uses[n.id] = uses.get(n.id, 0) + 1
            elif isinstance(n, gast.Call):
                f = n.func.id if isinstance(n.func, gast.Name) else getattr(n.func, "attr", None)
                for i in SHAPE_ARGS.get(f, ()):
                    if i < len(n.args) and isinstance(n.args[i], gast.Name):
                        shape_uses[n.args[i].id] = shape_uses.get(n.args[i].id, 0) + 1
        overwritten = {v for s in walk(self.func.node.body) for v in _targets(s) if id(s) in self.in_loop or self.before.get(id(s))}
        written = _mutated(self.func.node.body)
        only = {v for v, k in shape_uses.items() if k == uses[v] and v in overwritten - written and v not in self.params}
        if not only:
            return adj, st
        self.shape_names = {v: self.gen.names.fresh(v + "_shape") for v in sorted(only)}
        self.gen.bind_rt("shape_of")

        def insert(stmts):
            out = []
            for s in stmts:
                if isinstance(s, (gast.If, gast.For, gast.While)):
                    s.body = insert(s.body)
                    if isinstance(s, gast.If):
                        s.orelse = insert(s.orelse)
                out.append(s)
                for v in _targets(s) if isinstance(s, gast.Assign) else ():
                    if v in self.shape_names:
                        stand_in = gast.copy_location(assign(self.shape_names[v], call("shape_of", load(v))), s)
                        stand_in.sd_shape_of = True  # saved and restored with the statement defining v
                        out.append(stand_in)
            return out
        self.func.node.body = insert(self.func.node.body)
        self.locals |= set(self.shape_names.values())
        self._scan()

    def restores(self, v):
        """Does the adjoint sweep put an older value back into ``v`` (or into its contents)?"""
        return any(v in names for names in self.pushed.values())

    def decide_pushes(self, reads):
        self.pushed = {}
        for s in walk(self.func.node.body):
            if isinstance(s, (gast.For, gast.While)):
                need = [s.target.id] if isinstance(s, gast.For) and s.target.id in reads and self.sites.get(s.target.id, 0) > 1 else []
                if id(s) in self.counters and id(s) in self.in_loop:
                    need.append(self.counters[id(s)])  # an inner loop's trip count, once per outer iteration
                if need:
                    self.pushed[id(s)] = need
                continue
            p = classify(s)
            if p is None or p.target is None or getattr(s, "sd_counter", False) or getattr(s, "sd_shape_of", False):
                continue
            names = [p.target]
            shape = getattr(self, "shape_names", {}).get(p.target)
            if shape in reads and (id(s) in self.in_loop or self.before.get(id(s))):
                names.append(shape)  # the stand-in is read by this statement's adjoint: restore it after that
            if p.target in self.active and (is_user_function(p.key)) and not isinstance(p.key, CHECKPOINT):
                names.append(self.res_name(s))
            res = self.res.get(id(s))
            need = [v for v in names if (v in reads or v == shape) and v != res and (id(s) in self.in_loop or self.before.get(id(s)))] + \
                ([res] if res in names and id(s) in self.in_loop else [])  # one residual per call site: saved per iteration
            if p.key == "setitem":
                need = [p.target] if p.target in reads or p.target in self.active else []
            if need:
                self.pushed[id(s)] = need


def zero_of(gen, v, defined):
    """``0.0`` on the float path or where ``v`` may be unassigned, else ``zeros_like(v)``."""
    if gen.scalar or v not in defined:
        return const(0.0)
    gen.bind_rt("zeros_like")
    return call("zeros_like", load(v))


def _drop_unbroadcast(e):
    """``e`` without its outer ``unbroadcast`` (under a negation too: ``-unbroadcast(g, y)``)."""
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
        e.operand = _drop_unbroadcast(e.operand)
    elif isinstance(e, gast.Call) and getattr(e.func, "id", None) == "unbroadcast":
        return e.args[0]
    return e


class _Unspread(gast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        if getattr(node.func, "id", None) == "expand_reduced" and len(node.args) == 4 and \
                all(isinstance(a, gast.Constant) for a in node.args[2:]) and [a.value for a in node.args[2:]] == [None, False]:
            return node.args[0]
        return node
