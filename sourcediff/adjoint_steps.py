"""The adjoint of one primitive step ``v = f(a, b, ...)`` whose result's adjoint ``dv`` is live.

Takes the step, the adjoint sweep it belongs to (``adjoint.Adjoint``: adjoint names, accumulation)
and the live set; appends the statements that add the step's contribution to each active operand's
adjoint. Structural steps (copies, containers, indexing, fields, ``setitem``, ``pop``) call runtime
helpers; a user function calls its generated ``bwd``; anything else inlines its reverse rule, in the
variant picked for the call before inlining (``rules/variants.py``, ``helpers.matmul2d``, ``x * x``
as a power), and is refused, located, where no rule or no derivative exists.

    t2 = np.sin(t1)         ->       dt1 = dt2 * np.cos(t1)
"""
import gast
import numpy as np

from .context import (CHECKPOINT, USER_VJP, check_refused, index_value, is_user_function, missing_rule,
                      no_derivative_of_arg, ours)
from .lower import ATTR_KEYS, field_read
from .names import assign, call, clone, const, load, store
from .rules import helpers, registry as R, variants
from . import shapes

_CONTAINERS = ("tuple", "list", "dict")


class Steps:
    """One primitive step's adjoint, for the sweep ``adj``."""

    def __init__(self, adj, spread_params):
        self.adj, self.spread_params = adj, spread_params
        self.gen, self.func, self.plan = adj.gen, adj.func, adj.plan

    def step(self, p, s, st, out):
        """Append to ``out`` the adjoint of step ``p`` (statement ``s``); ``st``: the live adjoints."""
        k, v, args = p.key, p.target, p.args
        g = load(self.adj.a(v))
        if k == "setitem":
            return self._setitem(p, st, out, g)
        st.discard(v)
        if k == "copy":
            self.adj.acc(args[0], g, st, out)
        elif k in _CONTAINERS:
            self.gen.bind_rt("tindex")
            keys = p.extra if k == "dict" else [const(i) for i in range(len(args))]
            for a, key in zip(args, keys):  # the part's value for its shape, where it may be an array
                like = [] if self.gen.scalar or not isinstance(a, gast.Name) else [load(a.id)]
                self.adj.acc(a, call("tindex", g, clone(key), *like), st, out)
        elif k == "getitem":
            self._into(args[0], "getitem_vjp", st, out, lambda cur: [cur, load(args[0].id), index_value(p.extra), g])
        elif field_read(k):
            self._into(args[0], "getattr_vjp", st, out, lambda cur: [cur, load(args[0].id), const(field_read(k)), g,
                                                                     const(self.func.at(s))])
        elif k == "pop":
            self._into(args[0], "adj_append", st, out, lambda cur: [cur, g, load(args[0].id)], always=True)
        elif is_user_function(k) or isinstance(k, CHECKPOINT):
            self._user_call(p, s, st, out, g)
        elif not isinstance(k, str) and k in USER_VJP:
            check_refused(self.func, s, k, [i for i, a in enumerate(args) if self.adj.is_active(a)])  # complex mode
            self._user_rule(p, st, out, g)
        else:
            self._rule(p, s, st, out, g)

    def _setitem(self, p, st, out, g):
        tmp = self.gen.names.temp()
        self.gen.bind_rt("setitem_vjp")
        a = p.args[1]
        shape = [load(a.id)] if isinstance(a, gast.Name) and a.id in self.adj.active else []  # the value may broadcast
        out.append(gast.Assign(targets=[gast.Tuple(elts=[store(tmp), store(self.adj.a(p.target))], ctx=gast.Store())],
                               value=call("setitem_vjp", g, index_value(p.extra), *shape), type_comment=None))
        self.adj.acc(a, load(tmp), st, out)

    def _into(self, x, helper, st, out, args, always=False):
        """``dx = helper(dx or None, ...)``: a helper that adds a part into the adjoint of a whole ``x``."""
        if not (always or isinstance(x, gast.Name) and x.id in self.adj.active):
            return
        self.gen.bind_rt(helper)
        cur = load(self.adj.a(x.id)) if x.id in st else const(None)
        out.append(assign(self.adj.a(x.id), call(helper, *args(cur))))
        st.add(x.id)

    def _user_rule(self, p, st, out, g):
        """A rule the user gave with ``sd.defvjp``: called, not inlined."""
        rules = USER_VJP[p.key]
        for i, a in enumerate(p.args):
            if i < len(rules) and rules[i] is not None and isinstance(a, gast.Name) and a.id in self.adj.active:
                self.adj.acc(a, call(self.gen.bind_user(rules[i], "vjp"), g, load(p.target), *p.args), st, out)

    def _user_call(self, p, s, st, out, g):
        """A user function's adjoint: its generated ``bwd`` of the residuals its ``fwd`` kept (a checkpoint
        runs ``fwd`` again here instead)."""
        ck = isinstance(p.key, CHECKPOINT)
        fn = p.key.fn if ck else p.key
        pos = self.gen.bind_call(fn, p.args, p.kwargs, self.func, s)
        act = tuple(i for i, a in pos if isinstance(a, gast.Name) and a.id in self.adj.active)
        fwd, bwd = self.gen.pair_of(fn, act)
        res = self.plan.res_name(s)
        if ck:
            self.adj.recomputed.add(res)  # made by the adjoint sweep itself: not a residual of the primal
            tgt = gast.Tuple(elts=[store(self.gen.names.temp()), store(res)], ctx=gast.Store())
            out.append(gast.Assign(targets=[tgt], value=call(fwd, *[a for _, a in pos]), type_comment=None))
        outs = [self.gen.names.temp() for _ in act]
        tgt = gast.Tuple(elts=[store(o) for o in outs], ctx=gast.Store()) if len(outs) != 1 else store(outs[0])
        out.append(gast.Assign(targets=[tgt], value=call(bwd, load(res), g), type_comment=None))
        for i, o in zip(act, outs):
            self.adj.acc(dict(pos)[i], load(o), st, out)

    # -- a rule from the tables --------------------------------------------------------------------
    def _rule(self, p, s, st, out, g):
        key, args = self._choose(p)
        rule = R.lookup(R.VJP, key)
        if rule is None:
            raise missing_rule(self.func, s, p.key)
        want = self._wanted(p, s, key, args, rule)
        if not want:
            return
        rule = variants.identity_at(rule, self._identities(p, key, args, want))
        where = lambda msg, hint=None: self.func.error(msg, s, hint)  # noqa: E731
        stmts, exprs = self.gen.inline(rule, R.VJP, [g], args, p.kwargs, load(p.target), want, where)
        out.extend(stmts)
        for i, e in zip(want, exprs):
            if e is not None:
                self.adj.acc(args[i], e, st, out)

    def _choose(self, p):
        """(the key whose rule differentiates the step, its operands): a variant of the primitive where one fits."""
        key, args, sized = ATTR_KEYS.get(p.key, p.key), p.args, self.plan.sized
        if key in ("MatMult", np.matmul) and p.target not in self.adj.maybe_zero and not p.kwargs and all(
                sized.get(getattr(a, "id", None), (0, ()))[0] == "array" and len(sized[a.id][1]) == 2 for a in args):
            key = helpers.matmul2d  # two 2-D arrays: the rule without matmul's rank cases
        if key in ("Mult", np.multiply) and len(args) == 2 and isinstance(args[0], gast.Name) and \
                isinstance(args[1], gast.Name) and args[0].id == args[1].id and not p.kwargs:
            key, args = "Pow", [args[0], const(2)]  # x * x: one contribution 2 * x * g, not two
        return key, args

    def _wanted(self, p, s, key, args, rule):
        """The active operands the rule differentiates; a located refusal where an active one has no derivative."""
        active = self.adj.is_active
        n = R.n_diff_args(R.VJP, rule)
        want = [i for i in range(min(n, len(args))) if active(args[i])]
        check_refused(self.func, s, key, [i for i, a in enumerate(args) if active(a)])
        late = [i for i in range(n, len(args)) if active(args[i])]
        if late and not ours(p.key):
            raise self.func.error(no_derivative_of_arg(p.key, late[0]), s)
        for kw, a in p.kwargs.items():
            if active(a):
                raise self.func.error("pass `%s` positionally to differentiate through it" % kw, s)
        return want

    def _identities(self, p, key, args, want):
        """The rule's helper calls that are the identity at this step (``rules/variants.py``): ``unbroadcast``
        onto an operand of an elementwise step shaped like its result; ``expand_reduced`` in a whole-array sum
        of a spreadable value (its adjoint stays a number: every rule below broadcasts it)."""
        v = p.target
        same = shapes.elementwise(key) and v not in self.adj.maybe_zero
        out = {("unbroadcast", i) for i in want if same and self.plan.shaped_alike(v, args[i].id)}
        if key in (np.sum, np.mean) and len(args) == 1 and not p.kwargs and isinstance(args[0], gast.Name) \
                and args[0].id in self.plan.spreadable(self.spread_params):
            out.add(("expand_reduced", 0))
        return out
