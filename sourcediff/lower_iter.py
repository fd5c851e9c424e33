"""Iteration in ``lower``: comprehensions, generator expressions and the builtins that consume iterables.

``Iters`` is a mixin of ``lower.Lower`` (it uses the host's ``emit``, ``stmt``, ``atom``, ``resolve``,
``func``, ``names``, ``locals``). Everything here is rewritten into the loops, list appends, dict writes and
``if``s that lowering already knows, at the place the expression is evaluated, so both modes (and every
derivative built on them) differentiate it as the loop it is:

* a list comprehension (any number of ``for``s and ``if``s) is a loop appending to a new list; a dict
  comprehension a loop writing ``d[k] = v`` into a new dict;
* a generator expression, ``map(f, xs, ...)`` and ``filter(f, xs)`` are the list comprehension they
  would produce where a builtin consumes them at once (``sum``, ``math.fsum``, ``math.prod``, ``max``,
  ``min``, ``sorted``, ``list``, ``any``, ``all``, another comprehension's iterable); ``f`` may be a
  lambda (its body is the comprehension's element) or a function called by name; elsewhere they are
  refused (an iterator can be consumed once, a list every time);
* ``max``/``min`` of an iterable (or of three or more values, or with ``key=``/``default=``) is the
  loop CPython runs: the first item, replaced by a later one whose key is strictly greater (smaller);
  ``any``/``all`` a loop that stops at the first item deciding it; ``sorted(xs, key=, reverse=)``
  the items read in the order ``runtime.sort_order`` gives (the same stable order, a constant);
  ``math.prod(xs, start=)`` the product in CPython's order; ``list(xs)`` a comprehension, ``tuple(xs)``
  one given to the ``tuple`` rule (rules/scalar.py); ``dict(a=...)`` a dict display. (A ``for`` over a
  generator expression, ``map`` or ``filter`` is the loop over what is under it: desugar.py.)

Before::                                  After (lowered, in outline)::
    def f(xs):                                items = []
        return max(x * x for x in xs)         for idx in range(len(xs)):
                                                  x = xs[idx]
                                                  t0 = x * x
                                                  items.append(t0)
                                              ... best = items[0]
                                              for i in range(1, len(items)): if items[i] > best: best = items[i]
"""
import builtins
import math

import gast

from .annotations import setanno
from .closures import applied
from .names import assign, call, clone, const, load, store, ids
from .rules.helpers import hypot_seq
from .runtime import sort_order

# the builtins that take an iterable and consume it at once: a generator, map or filter given them is a list
EAGER = {builtins.sum, math.fsum, builtins.max, builtins.min, builtins.sorted, builtins.list, builtins.any,
         builtins.all, builtins.tuple, builtins.dict, getattr(math, "prod", None)} - {None}
LAZY = (builtins.map, builtins.filter)


def _locate(node, at):
    """Give every node under ``node`` without a location ``at``'s (so errors and comments point at the user's line)."""
    for n in gast.walk(node):
        if isinstance(n, (gast.expr, gast.stmt)) and getattr(n, "lineno", None) is None:
            gast.copy_location(n, at)
    return node


def template(src, at, **subs):
    """The statements of ``src`` with each name in ``subs`` replaced: by a name (a ``str``) or a copy of an
    expression node; every node gets ``at``'s location."""
    body = gast.parse(src).body

    class Sub(gast.NodeTransformer):
        def visit_Name(self, n):
            v = subs.get(n.id)
            if v is None:
                return n
            if isinstance(v, str):
                n.id = v
                return n
            return clone(v)
    return [_locate(Sub().visit(s), at) for s in body]


class Iters:
    """Comprehensions and the builtins consuming iterables (see the module docstring)."""

    # -- entry points from the host -------------------------------------------------------------------
    def iterate(self, fn, e, at):
        """The right-hand side of ``e`` (a call of ``fn``) when it consumes an iterable here, or None: then the
        call is lowered as any other (its lazy first argument, if any, made a list for ``sum``/``fsum``)."""
        if fn in LAZY:
            raise self.func.error("`%s(...)` is differentiated only where a builtin consumes it at once (sum, max, "
                                  "min, sorted, list, any, all, a `for`)" % fn.__name__, e,
                                  hint="wrap it in list(...)")
        if fn is math.hypot and not (len(e.args) == 2 and not e.keywords) or fn is getattr(math, "dist", None):
            return norm(self, fn, e, at)
        if fn not in EAGER:
            return None
        kws = {k.arg: k.value for k in e.keywords}
        if fn in (builtins.sum, math.fsum):
            if e.args and (self.eager(e.args[0]) is not None or self.dict_view(e.args[0])):
                e.args[0] = self.listed(e.args[0], at)
            return None
        if fn in (builtins.max, builtins.min):
            if len(e.args) == 2 and not kws:
                return None  # two values: the rule
            return self.extreme(fn, e, kws, at)
        if fn in (builtins.any, builtins.all):
            return self.any_all(fn is builtins.any, self.one_iterable(e, kws, (), at), at)
        if fn is builtins.sorted:
            return self.sorted_(e, kws, at)
        if fn is builtins.list:
            if not e.args and not kws:
                return gast.List(elts=[], ctx=gast.Load())
            return self.items(self.one_iterable(e, kws, (), at), at)
        if fn is builtins.dict:
            if e.args:
                raise self.func.error("`dict(...)` is differentiated with keyword arguments only", e,
                                      hint="write a dict display or a dict comprehension")
            return self.rhs(gast.Dict(keys=[const(k) for k in kws], values=list(kws.values())), at, None)
        if fn is builtins.tuple:
            if not e.args and not kws:
                return gast.Tuple(elts=[], ctx=gast.Load())
            items = self.items(self.one_iterable(e, kws, (), at), at)
            node = gast.Call(func=load(self.func.bind_value("tuple", builtins.tuple)), args=[items], keywords=[])
            setanno(node, "callee", builtins.tuple)
            return node
        return self.prod(e, kws, at)

    def makes_list(self, e):
        """Does ``e`` call ``list``, ``tuple`` or ``sorted`` (a list or tuple that NumPy makes an array of)?"""
        return isinstance(e, gast.Call) and self.resolve(e.func) in (builtins.list, builtins.tuple, builtins.sorted)

    def eager(self, e):
        """``e`` as a list comprehension when it is a generator expression, ``map(...)``, ``filter(...)`` or a
        list comprehension; else None."""
        if isinstance(e, gast.ListComp):
            return e
        if isinstance(e, gast.GeneratorExp):
            return gast.copy_location(gast.ListComp(elt=e.elt, generators=e.generators), e)
        fn = self.resolve(e.func) if isinstance(e, gast.Call) else None
        if fn is builtins.map and len(e.args) >= 2 and not e.keywords:
            return self.mapped(e.args[0], e.args[1:], e)
        if fn is builtins.filter and len(e.args) == 2 and not e.keywords:
            f, xs = e.args
            v = self.names.fresh("item")
            test = load(v) if isinstance(f, gast.Constant) and f.value is None else None
            if test is None:
                params, test = self.applied(f, 1, e)
                v = params[0]
            gen = gast.comprehension(target=store(v), iter=xs, ifs=[test], is_async=0)
            return gast.copy_location(gast.ListComp(elt=load(v), generators=[gen]), e)
        return None

    def dict_view(self, e):
        """Is ``e`` ``d.keys()``, ``d.values()`` or ``d.items()`` of a local ``d`` (which a ``for`` reads)?"""
        return isinstance(e, gast.Call) and isinstance(e.func, gast.Attribute) and not e.args and not e.keywords \
            and e.func.attr in ("keys", "values", "items") and self.resolve(e.func) is None

    # -- pieces ---------------------------------------------------------------------------------------
    def applied(self, f, n, at):
        return applied(self.func, self.names, f, n, at)

    def mapped(self, f, iters, at):
        """``[f(v1, ...) for v1, ... in zip(*iters)]`` (one iterable: no ``zip``) as a list comprehension."""
        params, body = self.applied(f, len(iters), at)
        if len(iters) == 1:
            target, it = store(params[0]), iters[0]
        else:
            target = gast.Tuple(elts=[store(p) for p in params], ctx=gast.Store())
            it = call(self.func.bind_value("zip", builtins.zip), *iters)
        gen = gast.comprehension(target=target, iter=it, ifs=[], is_async=0)
        return _locate(gast.ListComp(elt=body, generators=[gen]), at)

    def one_iterable(self, e, kws, allowed, at):
        """The single iterable argument of ``e`` as a list comprehension over it."""
        if len(e.args) != 1 or set(kws) - set(allowed):
            raise self.func.error("this call is differentiated with one iterable argument%s" % (
                " and the keywords %s" % ", ".join(allowed) if allowed else ""), e)
        return self.listed(e.args[0], at)

    def listed(self, x, at):
        """``x`` as a list comprehension: itself when lazy or a comprehension, else ``[v for v in x]``."""
        got = self.eager(x)
        if got is not None:
            return got
        v = self.names.fresh("item")
        gen = gast.comprehension(target=store(v), iter=x, ifs=[], is_async=0)
        return _locate(gast.ListComp(elt=load(v), generators=[gen]), x)

    def items(self, comp, at, base="items"):
        """Lower the list comprehension ``comp`` into a new local list; its name."""
        name = self.names.fresh(base)
        self.locals.add(name)
        self.listcomp(comp, at, name)
        return load(name)

    def run(self, stmts, flow=False):
        """Desugar (and with ``flow`` give breaks their structured form) and lower generated statements."""
        from .desugar import Desugar
        d = Desugar(self.func, self.names)
        out = [x for s in stmts for x in d.stmt(s)]
        if flow:
            out = d.flow(out, None)[0]
        for s in out:
            self.locals |= ids(s, gast.Store)
            self.stmt(s)

    # -- comprehensions -------------------------------------------------------------------------------
    def comp_loops(self, elt, generators, action, at):
        """The nested loops of a comprehension (its variables renamed: Python 3 scopes them), ``action(elt)``
        (statements) innermost, under the ``if`` filters."""
        if any(g.is_async for g in generators):
            raise self.func.error("async comprehensions cannot be differentiated", at)
        own = {}
        for g in generators:
            for n in gast.walk(g.target):
                if isinstance(n, gast.Name) and n.id not in own:
                    own[n.id] = self.names.fresh(n.id)

        def renamed(node):
            node = clone(node)
            for n in gast.walk(node):
                if isinstance(n, gast.Name) and n.id in own:
                    n.id = own[n.id]
            return node
        body = action(renamed(elt))
        for k in reversed(range(len(generators))):
            g = generators[k]
            for test in reversed(g.ifs):
                body = [_locate(gast.If(test=renamed(test), body=body, orelse=[]), at)]
            it = g.iter if k == 0 else renamed(g.iter)  # the first iterable is evaluated in the enclosing scope
            body = [gast.copy_location(gast.For(target=renamed(g.target), iter=it, body=body, orelse=[],
                                                type_comment=None), at)]
        return body

    def listcomp(self, e, at, target):
        target = target or self.names.temp()
        self.locals.add(target)
        self.emit(assign(target, gast.List(elts=[], ctx=gast.Load())), at)
        generators = [gast.comprehension(target=g.target, iter=self.eager(g.iter) or g.iter, ifs=g.ifs,
                                         is_async=g.is_async) for g in e.generators]

        def append(elt):
            return [gast.copy_location(gast.Expr(value=gast.Call(func=gast.Attribute(
                value=load(target), attr="append", ctx=gast.Load()), args=[elt], keywords=[])), at)]
        self.run(self.comp_loops(e.elt, generators, append, at))
        return None

    def dictcomp(self, e, at, target):
        target = target or self.names.temp()
        self.locals.add(target)
        self.emit(assign(target, gast.Dict(keys=[], values=[])), at)
        pair = gast.Tuple(elts=[e.key, e.value], ctx=gast.Load())

        def write(kv):
            sub = gast.Subscript(value=load(target), slice=kv.elts[0], ctx=gast.Store())
            return [gast.copy_location(assign(sub, kv.elts[1]), at)]
        self.run(self.comp_loops(pair, [gast.comprehension(target=g.target, iter=self.eager(g.iter) or g.iter,
                                                           ifs=g.ifs, is_async=g.is_async) for g in e.generators],
                                 write, at))
        return None

    # -- consumers ------------------------------------------------------------------------------------
    def any_all(self, is_any, comp, at):
        """``any``/``all`` of the comprehension ``comp``: a loop stopping at the first item that decides it."""
        res = self.names.fresh("found" if is_any else "every")
        self.locals.add(res)
        self.emit(assign(res, const(not is_any)), at)
        decided = load(res) if is_any else gast.UnaryOp(op=gast.Not(), operand=load(res))

        def stop(elt):
            test = elt if is_any else gast.UnaryOp(op=gast.Not(), operand=elt)
            return [_locate(gast.If(test=test, body=[assign(res, const(is_any)), gast.Break()], orelse=[]), at)]
        loops = self.comp_loops(comp.elt, comp.generators, stop, at)
        self.run(_exit_all(loops, decided, at), flow=True)
        return load(res)

    def keys_of(self, kws, items, at):
        """The keys ``max``/``min``/``sorted`` compare: ``items`` itself, or the list of ``key(item)``."""
        key = kws.get("key")
        if key is None or isinstance(key, gast.Constant) and key.value is None:
            return items
        return self.items(self.mapped(key, [items], at), at, "keys")

    def extreme(self, fn, e, kws, at):
        """``max``/``min`` of an iterable or of several values, with ``key=`` and ``default=``: CPython's loop."""
        if set(kws) - {"key", "default"} or not e.args or len(e.args) > 1 and "default" in kws:
            raise self.func.error("this call of `%s` is not supported in differentiated code" % fn.__name__, e)
        comp = self.listed(e.args[0], at) if len(e.args) == 1 else None
        items = self.items(comp, at) if comp is not None else \
            self.atom(gast.List(elts=list(e.args), ctx=gast.Load()), at, name=True)
        keys = self.keys_of(kws, items, at)
        best, bkey = self.names.fresh("best"), self.names.fresh("best_key") if keys is not items else None
        cmp = "<" if fn is builtins.min else ">"
        src = "BEST = ITEMS[0]\n%sfor i in range(1, len(ITEMS)):\n    if KEYS[i] %s %s:\n        BEST = ITEMS[i]\n%s" \
            % ("BKEY = KEYS[0]\n" if bkey else "", cmp, "BKEY" if bkey else "BEST",
               "        BKEY = KEYS[i]\n" if bkey else "")
        loop = template(src, at, BEST=best, BKEY=bkey or "BKEY", ITEMS=items.id, KEYS=keys.id,
                        i=self.names.fresh("i"))
        if "default" in kws:
            dflt = self.atom(kws["default"], at)
            empty = [assign(best, dflt)]
        else:
            empty = [gast.Raise(exc=call("ValueError", const("%s() arg is an empty sequence" % fn.__name__)),
                                cause=None)]
        test = gast.Compare(left=call("len", items), ops=[gast.Eq()], comparators=[const(0)])
        self.run([_locate(gast.If(test=test, body=empty, orelse=loop), at)])
        return load(best)

    def sorted_(self, e, kws, at):
        """``sorted(xs, key=k, reverse=r)``: the items read in ``sort_order``'s (stable, constant) order."""
        items = self.items(self.one_iterable(e, kws, ("key", "reverse"), at), at)
        keys = self.keys_of(kws, items, at)
        order = self.names.fresh("order")
        fn = self.func.bind_value("sort_order", sort_order)
        rev = kws.get("reverse", const(False))
        self.run(template("ORDER = SORT(KEYS, REV)", at, ORDER=order, SORT=fn, KEYS=keys.id, REV=rev))
        i = self.names.fresh("i")
        comp = gast.ListComp(elt=gast.Subscript(value=items, slice=load(i), ctx=gast.Load()),
                             generators=[gast.comprehension(target=store(i), iter=load(order), ifs=[], is_async=0)])
        return self.items(_locate(comp, at), at, "ordered")

    def prod(self, e, kws, at):
        """``math.prod(xs, start=1)``: ``start`` times the items, left to right (CPython's order)."""
        items = self.items(self.one_iterable(e, kws, ("start",), at), at)
        acc = self.names.fresh("product")
        start = self.atom(kws.get("start", const(1)), at)
        self.run(template("ACC = START\nfor v in ITEMS:\n    ACC = ACC * v", at, ACC=acc, START=start,
                          ITEMS=items.id, v=self.names.fresh("v")))
        return load(acc)


def _exit_all(stmts, decided, at, nested=False):
    """Nested loops whose innermost ``break`` leaves them all: after each inner loop, ``if decided: break``."""
    out = []
    for s in stmts:
        out.append(s)
        if isinstance(s, gast.If):
            s.body = _exit_all(s.body, decided, at, nested)
        elif isinstance(s, gast.For):
            s.body = _exit_all(s.body, decided, at, True)
            if nested:
                out.append(_locate(gast.If(test=clone(decided), body=[gast.Break()], orelse=[]), at))
    return out


def norm(lw, fn, e, at):
    """``math.hypot`` of other than two values: ``hypot_seq`` of their tuple (its rule, rules/helpers.py);
    ``math.dist(p, q)``: ``hypot_seq`` of the differences, as CPython computes it, lengths checked."""
    if e.keywords or fn is not math.hypot and len(e.args) != 2:
        raise lw.func.error("this call of `%s` is not supported in differentiated code" % fn.__name__, e)
    hyp = lw.func.bind_value("hypot_seq", hypot_seq)
    if fn is math.hypot:
        items = lw.atom(gast.Tuple(elts=list(e.args), ctx=gast.Load()), at)
    else:
        p, q = (lw.atom(a, at) for a in e.args)
        u, w = lw.names.fresh("u"), lw.names.fresh("w")
        lw.run(template('if len(P) != len(Q):\n    raise ValueError("both points must have the same number of '
                        'dimensions")', at, P=p, Q=q))
        comp = gast.ListComp(elt=gast.BinOp(left=load(u), op=gast.Sub(), right=load(w)), generators=[
            gast.comprehension(target=gast.Tuple(elts=[store(u), store(w)], ctx=gast.Store()),
                               iter=call(lw.func.bind_value("zip", builtins.zip), p, q), ifs=[], is_async=0)])
        items = lw.items(_locate(comp, at), at, "diffs")
    node = gast.Call(func=load(hyp), args=[items], keywords=[])
    setanno(node, "callee", hypot_seq)
    return node
