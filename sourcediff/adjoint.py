"""The adjoint sweep: the statements of a lowered body differentiated in reverse order.

Takes the lowered function, its active names and its ``TapePlan`` (what the tape keeps); gives
the adjoint statements of a block and, through ``st``, the names whose adjoint is live (assigned)
at its end. Adjoints are ``dv``; the first contribution assigns, later ones accumulate; an adjoint
known to be zero has no line; a join gives the side that lacks one a zero. After each step's
adjoint come the pops that put back what the primal pushed before it. One primitive step's own
adjoint is ``adjoint_steps.py``'s.

    t2 = t0 * t1             ->       # grad of: y = x * w           (the user's line)
                                      dt0 = unbroadcast(dt2 * t1, t0)
                                      dt1 = unbroadcast(dt2 * t0, t1)
"""
import gast

from .adjoint_steps import Steps
from .annotations import getanno, setanno
from .codegen import comment
from .lower import classify
from .names import assign, call, clone, const, load, nodes, store
from .tape import shape_positions

_COMPOUND = (gast.If, gast.For, gast.While)


def zero_of(gen, v, defined):
    """``0.0`` on the float path or where ``v`` may be unassigned, else ``zeros_like(v)``."""
    if gen.scalar or v not in defined:
        return const(0.0)
    gen.bind_rt("zeros_like")
    return call("zeros_like", load(v))


def _method(obj, name, *args):
    return call(gast.Attribute(value=load(obj), attr=name, ctx=gast.Load()), *args)


class Adjoint:
    """The adjoint statements of one function's body (see the module docstring)."""

    def __init__(self, gen, func, active, plan, spread_params):
        self.gen, self.func, self.active, self.plan = gen, func, active, plan
        self.anames, self.maybe_zero, self.recomputed = {}, set(), set()
        self.reads_hint = set()  # what the previous sweep read: the lists whose values are put back
        self.steps = Steps(self, spread_params)

    def a(self, v):
        """The name of ``v``'s adjoint."""
        if v not in self.anames:
            self.anames[v] = self.gen.names.fresh("d" + v)
        return self.anames[v]

    def is_active(self, a):
        return isinstance(a, gast.Name) and a.id in self.active

    # -- accumulation --------------------------------------------------------------------------
    def acc(self, x, expr, st, out):
        """Add ``expr`` to the adjoint of ``x`` (assign it where none is live in ``st``)."""
        if not (isinstance(x, gast.Name) and x.id in self.active):
            return
        dx = self.a(x.id)
        neg = isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub)  # dx += -e: dx -= e
        op, term = (gast.Sub(), expr.operand) if neg else (gast.Add(), expr)
        if x.id not in st:
            out.append(assign(dx, expr))
        elif self.gen.scalar:
            out.append(gast.AugAssign(target=store(dx), op=op, value=term))
        elif self.plan.kinds.get(x.id):
            out.append(assign(dx, gast.BinOp(left=load(dx), op=op, right=term)))
            setanno(out[-1], "accumulator")  # inplace.py may make it `dx += expr`
        else:
            self.gen.bind_rt("add")
            out.append(assign(dx, call("add", load(dx), expr)))
        st.add(x.id)

    def zeros(self, names, at):
        """Zero adjoints for a join: shaped like the value where it is certainly defined there."""
        self.maybe_zero |= names
        return [assign(self.a(v), zero_of(self.gen, v, self.plan.defined.get(id(at), ()))) for v in sorted(names)]

    # -- blocks ----------------------------------------------------------------------------------
    def sweep(self, stmts, st):
        """The adjoint of the function's body ``stmts``, its shape-only reads made to read a stand-in."""
        out = self.block(stmts, st)
        plan = self.plan
        if not (plan.cls or plan.sized or plan.shape_names):
            return out
        for n in nodes(gast.Module(body=out, type_ignores=[])):
            if type(n) is gast.Call and (plan.cls or plan.sized):
                self._read_shape(n)
            elif type(n) is gast.Name and plan.shape_names and type(n.ctx) is gast.Load and n.id in plan.shape_names:
                n.id = plan.shape_names[n.id]  # ... or the shape stand-in of a value kept for nothing else
        return out

    def _read_shape(self, n):
        """A shape-only argument of call ``n`` reads the parameter of its shape class, or its known shape."""
        plan = self.plan
        for i in shape_positions(n, plan.shape_args):
            a = n.args[i] if i < len(n.args) else None
            if type(a) is gast.Name and a.id in plan.cls:
                n.args[i] = load(plan.cls[a.id])
            elif type(a) is gast.Name and a.id not in plan.params and plan.sized.get(a.id, ("num", ()))[1]:
                n.args[i] = self.stand_in(plan.sized[a.id])

    def stand_in(self, sized):
        """A parameter certainly shaped ``sized`` (kind, shape), else ``stand_in(shape)``: what a
        specialised derivative reads for a value's shape (not a 0-d one: ``unbroadcast`` gives a
        number of the type of what it reads)."""
        for p in self.plan.params:
            if self.plan.sized.get(p) == sized:
                return load(p)
        self.gen.bind_rt("stand_in")
        return call("stand_in", gast.Tuple(elts=[const(d) for d in sized[1]], ctx=gast.Load()))

    def block(self, stmts, st):
        """The adjoint of a block: its statements' adjoints in reverse order, each step's under a comment
        quoting the user's line it comes from."""
        out, line = [], None
        for s in reversed(stmts):
            code = self.stmt(s, st)
            ln = getanno(s, "line")
            if len(code) > len(self.plan.pushed.get(id(s), ())) and ln is not None and ln != line and \
                    not isinstance(s, _COMPOUND):
                text = self.func.line_of(s)
                if text:
                    out.append(comment("grad of: " + text))
                line = ln
            out.extend(code)
        return out

    def stmt(self, s, st):
        t = type(s)
        if t is gast.If:
            return self._if(s, st)
        if t in (gast.For, gast.While):
            return self._loop(s, st)
        p = classify(s)
        if p is None:
            return []
        if p.key == "append":
            return self._append(p, st)
        return self._step(s, p, st) + self.pops(s)

    def _if(self, s, st):
        sa, sb = set(st), set(st)
        a, b = self.block(s.body, sa), self.block(s.orelse, sb)
        a += self.zeros(sb - sa, s)
        b += self.zeros(sa - sb, s)
        st.clear()
        st |= sa | sb
        if not a and not b:
            return []
        return [gast.If(test=load(s.test.id), body=a or [gast.Pass()], orelse=b)]

    def _loop(self, s, st):
        head = set(st)
        while True:  # the adjoints live at the body's start are live at its end, the next time round
            end = set(head)
            body = self.block(s.body, end)
            if end <= head:
                break
            head |= end
        body += self.zeros(head - end, s)
        pre = self.zeros(head - st, s)
        st |= head
        n = self.plan.counters.get(id(s))
        pops = self.pops(s)
        if not body:
            return pops
        if type(s) is gast.While:
            it, tgt = call("range", load(n)), store(self.gen.names.fresh("k"))
        else:
            rng = gast.Subscript(value=load(s.iter.id), slice=gast.Slice(lower=None, upper=load(n), step=None),
                                 ctx=gast.Load()) if n else load(s.iter.id)
            it, tgt = call("reversed", rng), store(s.target.id)
        return pre + [gast.For(target=tgt, iter=it, body=body, orelse=[], type_comment=None)] + pops

    def _append(self, p, st):
        lst, a = p.args[0].id, p.args[1]
        out = []
        if lst in self.active and lst in st:
            tmp = self.gen.names.temp()
            self.gen.bind_rt("adj_pop")
            kept = [load(lst)] if lst in self.reads_hint else []  # put back in step: its last entry is `a`
            out.append(gast.Assign(targets=[gast.Tuple(elts=[store(tmp), store(self.a(lst))], ctx=gast.Store())],
                                   value=call("adj_pop", load(self.a(lst)), *kept), type_comment=None))
            self.acc(a, load(tmp), st, out)
        if lst in self.reads_hint:
            out.append(gast.Expr(value=_method(lst, "pop")))
        return out

    def _step(self, s, p, st):
        out, v = [], p.target
        if v is not None and v in self.active and v in st:
            if self.gen.diff_positions(p) or p.key == "setitem":
                self.steps.step(p, s, st, out)
            else:
                st.discard(v)
        elif p.key == "pop" and p.args[0].id in self.active and p.args[0].id in st:
            lst = p.args[0].id  # the popped value has no adjoint: a zero keeps the list's adjoint aligned with it
            self.gen.bind_rt("adj_append")
            out.append(assign(self.a(lst), call("adj_append", load(self.a(lst)), const(0.0), load(lst))))
        if p.key == "pop" and p.args[0].id in self.reads_hint:  # put the value back: the list is read later
            out.append(gast.Expr(value=_method(p.args[0].id, "append", load(v))))
        return out

    def pops(self, s):
        """What the primal pushed before ``s``, popped back in reverse order."""
        out = []
        for v in reversed(self.plan.pushed.get(id(s), [])):
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript):
                tgt = gast.Subscript(value=load(v), slice=clone(s.targets[0].slice), ctx=gast.Store())
                out.append(gast.Assign(targets=[tgt], value=_method(self.plan.name, "pop"), type_comment=None))
            else:
                out.append(assign(v, _method(self.plan.name, "pop")))
        return out
