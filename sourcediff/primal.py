"""The primal sweep of reverse mode: the function's own statements, recording what the adjoint needs.

Takes the lowered body and its ``TapePlan`` (with ``pushed`` decided); gives the body with
``tape.append(old value)`` before each statement that overwrites a value the adjoint reads back,
trip counters for the loops that need one, and each active call of a user function replaced by
its generated ``fwd``, which also returns the residuals its ``bwd`` reads.

    for i in t0:                ->      for i in t0:
        y = t1                              tape.append(y)
                                            y = t1
"""
import gast

from .context import CHECKPOINT, index_value, is_user_function
from .lower import classify
from .names import assign, call, const, load, store


class Primal:
    def __init__(self, gen, func, active, plan):
        self.gen, self.func, self.active, self.plan = gen, func, active, plan

    def sweep(self, stmts):
        """``stmts`` (changed in place where compound) with the tape's pushes and the loops' counters."""
        out = []
        for s in stmts:
            if type(s) is gast.If:
                s.body, s.orelse = self.sweep(s.body) or [gast.Pass()], self.sweep(s.orelse)
                out.append(s)
                continue
            pre = [gast.Expr(value=call(gast.Attribute(value=load(self.plan.name), attr="append", ctx=gast.Load()),
                                        self._old_value(s, v))) for v in self.plan.pushed.get(id(s), [])]
            if type(s) in (gast.For, gast.While):
                out.extend(pre + self._loop(s))
            else:
                out.extend(pre + [self._call(s)])
        return out

    def _loop(self, s):
        """The loop, its trip counter (where it has one) set to 0 before it and counted at each iteration."""
        n = self.plan.counters.get(id(s))
        s.body = self.sweep(s.body)
        if not n:
            return [s]
        s.body.insert(0, assign(n, gast.BinOp(left=load(n), op=gast.Add(), right=const(1))))
        return [assign(n, const(0)), s]

    def _call(self, s):
        """``s``, or where it is an active call of a user function, ``v, res = f_fwd(...)``."""
        p = classify(s)
        if p is None or p.target is None or p.target not in self.active or not is_user_function(p.key) or \
                isinstance(p.key, CHECKPOINT):
            return s
        pos = self.gen.bind_call(p.key, p.args, p.kwargs, self.func, s)
        act = tuple(i for i, a in pos if isinstance(a, gast.Name) and a.id in self.active)
        fwd, _ = self.gen.pair_of(p.key, act)
        targets = gast.Tuple(elts=[store(p.target), store(self.plan.res_name(s))], ctx=gast.Store())
        return gast.copy_location(gast.Assign(targets=[targets], value=call(fwd, *[a for _, a in pos]),
                                              type_comment=None), s)

    def _old_value(self, s, v):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript):
            self.gen.bind_rt("getitem_copy")
            return call("getitem_copy", load(v), index_value(s.targets[0].slice))
        return load(v)
