"""What the tape keeps: reverse mode's reading of the primal body.

Takes a lowered function, its active names and the generation (for fresh names); gives where each
name is assigned (``sites``; ``before``: a re-assignment; ``nested``: inside a compound statement),
the statements that run in a loop, the loops that need a trip counter (``while``, or a ``break``),
the shape classes and known shapes of values, which names certainly hold a number or an array, and,
once an adjoint sweep says what it reads, ``pushed``: per statement, the names whose old value the
primal pushes on the tape before it and the adjoint pops back right after that statement's adjoint.
``shape_only`` gives a value the adjoint reads only for its shape a stand-in, so the tape keeps no copy.

    for i in t0:              the adjoint reads y, and the loop overwrites it:
        y = y * a             pushed[id(y = y * a)] == ["y"], and the tape is named when first needed
"""
import gast

from . import shapes
from .annotations import getanno, setanno
from .context import CHECKPOINT, is_user_function
from .lower import classify, defined_at, walk
from .names import assign, call, ids, load, nodes
from .rules import registry as R


def loads(stmts):
    """Every name ``stmts`` read."""
    return set().union(*[ids(s, gast.Load) for s in stmts])


def targets(s):
    """The names statement ``s`` assigns (the base of a subscript it writes, a loop's variable)."""
    if isinstance(s, gast.Assign):
        t = s.targets[0]
        return [t.value.id] if isinstance(t, gast.Subscript) else [t.id]
    if isinstance(s, gast.For):
        return [s.target.id]
    return []


def mutated(body):
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


def shape_positions(n, shape_args):
    """The positions of call ``n``'s arguments read only for their shape (``shape_args``: helper -> positions)."""
    f = n.func.id if type(n.func) is gast.Name else getattr(n.func, "attr", None)
    return shape_args.get(f, ())


class TapePlan:
    """What the primal records for the adjoint sweep of one function (see the module docstring)."""

    def __init__(self, gen, func, params, active, given, shape_args, num_keys):
        """``given``: the parameters' (kind, shape) in a specialised derivative; ``shape_args`` and
        ``num_keys``: the primitive facts reverse mode reads (``reverse.SHAPE_ARGS``, ``NUM_KEYS``)."""
        self.gen, self.func, self.params, self.active, self.given = gen, func, params, active, given
        self.shape_args, self.num_keys = shape_args, num_keys
        self.locals = set(params) | ids(func.node, gast.Store)
        self.counters, self.res, self.pushed, self.shape_names = {}, {}, {}, {}
        self._name, self._spread = None, None
        self.scan()

    @property
    def name(self):
        """The tape's name where it keeps something, else None."""
        return self._name if self.pushed else None

    # -- where names are assigned --------------------------------------------------------------
    def scan(self):
        """Where each name is assigned, what is in a loop, and the loops that need a counter."""
        self.sites, self.in_loop, self.before, self.nested = {}, set(), {}, set()
        self._visit(self.func.node.body, False, False, set(self.params))
        self.defined = defined_at(self.func.node.body, self.params)
        self.cls = shapes.classes(self.func.node, self.params, self.sites)
        self.sized = shapes.concrete(self.func.node, self.given) if self.given else {}
        self.kinds = self._kinds()

    def _visit(self, stmts, loop, compound, seen):
        for s in stmts:
            for v in targets(s):
                self.sites[v] = self.sites.get(v, 0) + 1
                self.before[id(s)] = v in seen
                if compound:
                    self.nested.add(v)
                seen.add(v)
            if loop:
                self.in_loop.add(id(s))
            if isinstance(s, gast.If):
                self._visit(s.body, loop, True, seen)
                self._visit(s.orelse, loop, True, seen)
            elif isinstance(s, (gast.For, gast.While)):
                if isinstance(s, gast.While) or any(isinstance(x, gast.Break) for x in nodes(s)):
                    self.counters[id(s)] = self.gen.names.fresh("n")
                self._visit(s.body, True, True, seen)

    def _kinds(self):
        """name -> True when it certainly holds a number or array (its adjoints add with ``+``)."""
        kinds, uses = {}, {}
        for s in walk(self.func.node.body):
            p = classify(s)
            if p is None:
                continue
            num = p.key in self.num_keys or (not isinstance(p.key, str) and R.lookup(R.VJP, p.key) is not None
                                             and not R.is_structured(p.key))
            if p.target is not None:
                kinds[p.target] = kinds.get(p.target, True) and num
            for a in p.args:
                if isinstance(a, gast.Name):
                    uses[a.id] = uses.get(a.id, True) and num
        for v in self.params:  # a parameter used only in arithmetic is a number or an array
            if uses.get(v) and v not in kinds:
                kinds[v] = True
        return kinds

    def overwrites(self, s):
        """Does ``s`` run in a loop or re-assign a name (so an old value may be needed back)?"""
        return id(s) in self.in_loop or self.before.get(id(s))

    def res_name(self, s):
        """The name of the residuals of the user-function call ``s``."""
        if id(s) not in self.res:
            self.res[id(s)] = self.gen.names.fresh("res")
        return self.res[id(s)]

    # -- shapes ----------------------------------------------------------------------------------
    def shaped_alike(self, v, a):
        """Do ``v`` and ``a`` certainly have one shape (one shape class, or one known shape)?"""
        c, s = self.cls.get(v), self.sized.get(v)
        return c is not None and self.cls.get(a, a) == c or s is not None and s[1] == self.sized.get(a, (0, None))[1]

    def spreadable(self, spread_params):
        """``shapes.spreadable`` of this function (from its parameters where ``spread_params``)."""
        if self._spread is None:
            roots = shapes.roots(self.func.node, self.params, self.sites) if spread_params else ()
            self._spread = shapes.spreadable(self.func.node, self.cls, roots)
        return self._spread

    def shape_only(self, adj):
        """Let the adjoint ``adj`` read only the shape of values it needs for nothing else.

        ``unbroadcast(g, t3)`` needs ``t3``'s shape, not its data: after each assignment
        ``t3_shape = shape_of(t3)`` (a zero-strided stand-in), and the adjoint reads that,
        so a loop keeps no copy of ``t3``. Returns whether it inserted any (the body changed).
        """
        uses, shape_uses = {}, {}
        for n in nodes(gast.Module(body=adj, type_ignores=[])):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                uses[n.id] = uses.get(n.id, 0) + 1
            elif isinstance(n, gast.Call):
                for i in shape_positions(n, self.shape_args):
                    if i < len(n.args) and isinstance(n.args[i], gast.Name):
                        shape_uses[n.args[i].id] = shape_uses.get(n.args[i].id, 0) + 1
        overwritten = {v for s in walk(self.func.node.body) for v in targets(s) if self.overwrites(s)}
        written = mutated(self.func.node.body)
        only = {v for v, k in shape_uses.items()
                if k == uses[v] and v in overwritten - written and v not in self.params}
        if not only:
            return False
        self.shape_names = {v: self.gen.names.fresh(v + "_shape") for v in sorted(only)}
        self.gen.bind_rt("shape_of")
        self.func.node.body = self._stand_ins(self.func.node.body)
        self.locals |= set(self.shape_names.values())
        self.scan()
        return True

    def _stand_ins(self, stmts):
        out = []
        for s in stmts:
            if isinstance(s, (gast.If, gast.For, gast.While)):
                s.body = self._stand_ins(s.body)
                if isinstance(s, gast.If):
                    s.orelse = self._stand_ins(s.orelse)
            out.append(s)
            for v in targets(s) if isinstance(s, gast.Assign) else ():
                if v in self.shape_names:
                    stand_in = gast.copy_location(assign(self.shape_names[v], call("shape_of", load(v))), s)
                    setanno(stand_in, "shape_stand_in")  # saved and restored with the statement defining v
                    out.append(stand_in)
        return out

    # -- what is pushed --------------------------------------------------------------------------
    def restores(self, v):
        """Does the adjoint sweep put an older value back into ``v`` (or into its contents)?"""
        return any(v in names for names in self.pushed.values())

    def decide(self, reads):
        """``pushed`` for an adjoint sweep that reads ``reads``; the tape is named when it first keeps something."""
        self.pushed = {}
        for s in walk(self.func.node.body):
            need = self._loop_pushes(s, reads) if isinstance(s, (gast.For, gast.While)) else self._step_pushes(s, reads)
            if need:
                self.pushed[id(s)] = need
        if self.pushed and self._name is None:
            self._name = self.gen.names.fresh("tape")

    def _loop_pushes(self, s, reads):
        var = s.target.id if isinstance(s, gast.For) else None
        need = [var] if var in reads and self.sites.get(var, 0) > 1 else []
        if id(s) in self.counters and id(s) in self.in_loop:
            need.append(self.counters[id(s)])  # an inner loop's trip count, once per outer iteration
        return need

    def _step_pushes(self, s, reads):
        p = classify(s)
        if p is None or p.target is None or getanno(s, "shape_stand_in", False):
            return []
        if p.key == "setitem":
            return [p.target] if p.target in reads or p.target in self.active else []
        names = [p.target]
        shape = self.shape_names.get(p.target)
        if shape in reads and self.overwrites(s):
            names.append(shape)  # the stand-in is read by this statement's adjoint: restore it after that
        if p.target in self.active and (is_user_function(p.key)) and not isinstance(p.key, CHECKPOINT):
            names.append(self.res_name(s))
        res = self.res.get(id(s))
        return [v for v in names if (v in reads or v == shape) and v != res and self.overwrites(s)] + \
            ([res] if res in names and id(s) in self.in_loop else [])  # one residual per call site: saved per iteration
