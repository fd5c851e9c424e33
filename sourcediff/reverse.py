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

from . import activity, primitives as P
from .adjoint import Adjoint
from .lower import classify, walk
from .names import assign, load
from .primal import Primal
from .tape import TapePlan, loads

SHAPE_ARGS = P.by_name(P.SHAPE_ARGS)
NUM_KEYS = P.keys(P.NUMBER)


class Reverse:
    """Reverse mode of one function: ``run`` gives its primal sweep (with the tape) and its adjoint sweep."""

    def __init__(self, gen, func, active_params, ret, given=None, spread_params=False):
        """``given``: the parameters' (kind, shape), when specialised; ``spread_params``: the derivative
        passes every parameter's adjoint through ``grad_like``, which spreads a number over the parameter."""
        self.gen, self.func = gen, func
        self.params = [a.id for a in func.node.args.args]
        self.active = activity.analyse(func.node, active_params, gen.diff_positions, ret)
        self.plan = TapePlan(gen, func, self.params, self.active, given, SHAPE_ARGS, NUM_KEYS)
        self.adjoint = Adjoint(gen, func, self.active, self.plan, spread_params)

    # -- what the pipeline reads -------------------------------------------------------------------
    def a(self, v):
        """The name of ``v``'s adjoint."""
        return self.adjoint.a(v)

    @property
    def tape(self):
        """The tape's name, None where the primal pushes nothing."""
        return self.plan.name

    @property
    def maybe_zero(self):
        """The names whose adjoint a join may have set to a zero."""
        return self.adjoint.maybe_zero

    @property
    def sites(self):
        return self.plan.sites

    @property
    def cls(self):
        return self.plan.cls

    def restores(self, v):
        """Does the adjoint sweep put an older value back into ``v`` (or into its contents)?"""
        return self.plan.restores(v)

    # -- putting it together -------------------------------------------------------------------------
    def run(self, ret, seed):
        """(primal statements, adjoint statements, final live set, names the adjoint reads)."""
        mark = self.gen.names.mark()
        first = self._sweep(ret, seed)
        adj, st = first
        seeded = bool(st) and seed is not None  # _sweep's adj[0] then sets the seed
        if self.plan.shape_only(adj[1 if seeded else 0:]):  # the body changed: sweep it again
            first = None
            self.gen.names.rewind(mark)
        adj, st = self._to_fixpoint(ret, seed, first, mark)
        return self._assemble(adj, st)

    def _sweep(self, ret, seed):
        """(the adjoint sweep of the whole body, the adjoints live at its end)."""
        st = {ret.id} if isinstance(ret, gast.Name) and ret.id in self.active else set()
        return ([assign(self.a(ret.id), seed)] if st and seed is not None else []) + \
            self.adjoint.sweep(self.func.node.body, st), st

    def _to_fixpoint(self, ret, seed, first, mark):
        """The adjoint sweep, made again until what it reads and what the tape keeps agree.

        What the adjoint reads decides what the tape keeps (an overwritten value it reads is pushed
        and popped back), and keeping is itself a read: popping into ``y`` inside ``if t5:`` makes the
        adjoint read ``t5``, which may need keeping in turn; a list the adjoint reads gets its values put
        back (``adjoint.reads_hint``). So: sweep, decide the pushes from what the sweep reads, and sweep
        again until neither changes (``first``: a sweep already made from no pushes). The tape is named
        by the first decision that keeps something, so every sweep after it writes its pops in full.

        Each round only adds reads (a push adds pops, which only add reads; the decision grows with the
        reads), so a round that changes nothing comes within one round per local name: usually the
        second or third. A chain of conditions each guarding the next one's assignment takes one round
        per link (tests/test_tape_fixpoint.py).
        """
        body = self.func.node.body
        lists = {p.args[0].id for p in map(classify, walk(body)) if p is not None and p.key in ("append", "pop")}
        for _ in range(len(self.plan.locals) + 2):
            used = (dict(self.plan.pushed), self.adjoint.reads_hint & lists)
            adj, st = first or self._sweep(ret, seed)
            first = None
            self.adjoint.reads_hint = loads(adj) & self.plan.locals
            self.plan.decide(self.adjoint.reads_hint)
            if (self.plan.pushed, self.adjoint.reads_hint & lists) == used:
                return adj, st  # generated from what it decides
            self.gen.names.rewind(mark)
        raise self.func.error("internal: the reverse sweep's tape found no fixed point (please report this function)",
                              self.func.node)

    def _assemble(self, adj, st):
        """(the primal statements with the tape's set-up, ``adj``, ``st``, the names ``adj`` reads of the primal)."""
        plan, body = self.plan, self.func.node.body
        reads = loads(adj) & (plan.locals | set(plan.res.values()) | set(plan.counters.values())) - \
            self.adjoint.recomputed
        top = {id(s) for s in body}
        nested = plan.nested | {r for sid, r in plan.res.items() if sid not in top} | \
            {n for sid, n in plan.counters.items() if sid not in top} | \
            {s.target.id for s in walk(body) if isinstance(s, gast.For)}  # a loop variable saved before its loop
        inits = sorted((reads | {v for vs in plan.pushed.values() for v in vs}) & nested - set(self.params))
        if inits:
            self.gen.bind_rt("UNSET")
        inits = [assign(v, load("UNSET")) for v in inits]
        prim = Primal(self.gen, self.func, self.active, plan).sweep(body)
        if self.tape:
            inits.insert(0, assign(self.tape, gast.List(elts=[], ctx=gast.Load())))
        return inits + prim, adj, st, reads
