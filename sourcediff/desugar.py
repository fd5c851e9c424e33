"""Desugar: rewrite Python's convenience forms into the few core forms lowering knows.

Takes a fenced ``FunctionDef``; gives one where
* ``x += e`` is ``x = x + e``, ``a = b = e`` and ``a, b = e`` are single-target assignments,
  ``assert c, m`` is ``if not c: raise AssertionError(m)``;
* every ``for`` runs over ``range(...)`` (lists, arrays, ``zip``, ``enumerate``, ``dict.items()``
  and ``reversed`` become index loops with subscript reads; ``for k in d`` over an argument the loop
  reads as ``d[k]`` reads ``keys[idx] if d is a dict else d[idx]``, decided when it runs);
* ``break``, ``continue`` and ``return`` appear only in structured form: a ``return`` is an
  assignment to ``retval`` with the single ``return retval`` at the end; code after a jump
  that may have happened is guarded by a flag; the only ``break`` left is ``if brk: break``
  at the very end of a loop body. Where a branch always jumps, the code after the ``if``
  moves into the other branch instead of being guarded.

Before::

    def f(xs, s):
        for x in xs:
            if x < 0:
                continue
            s += x
        return s

After::

    def f(xs, s):
        returned = False
        for idx in range(len(xs)):
            cont = False
            x = xs[idx]
            if x < 0:
                cont = True
            else:
                s = s + x
        retval = s
        returned = True
        return retval
"""
import builtins

import gast

from . import neutral
from .annotations import setanno
from .closures import applied
from .names import assign, call, clone, const, load, nodes, store, ids
from .runtime import dict_keys, keys_of


class _Loop:
    def __init__(self, names):
        self.names, self.brk, self.cont = names, None, None

    def flag(self, kind):
        if getattr(self, kind) is None:
            setattr(self, kind, self.names.fresh(kind))
        return getattr(self, kind)


class Desugar:
    def __init__(self, func, names):
        self.func, self.names = func, names
        self.retval = self.returned = None
        self.dicts = _dicts(func.node)
        self.stored = ids(func.node, gast.Store)

    # -- statements one by one ---------------------------------------------------------
    def stmts(self, body):
        out = []
        for s in body:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        t = type(s)
        if t is gast.AugAssign:
            tgt = s.target
            read = gast.Subscript(value=tgt.value, slice=tgt.slice,
                                  ctx=gast.Load()) if isinstance(tgt, gast.Subscript) \
                else load(tgt.id) if isinstance(tgt, gast.Name) else tgt
            op = gast.copy_location(gast.BinOp(left=read, op=s.op, right=s.value), s)
            setanno(op, "augmented", isinstance(tgt, gast.Name))  # in place on an array: see ownership.py
            return self.stmt(gast.copy_location(assign(tgt, op), s))
        if t is gast.AnnAssign:
            return self.stmt(gast.copy_location(assign(s.target, s.value), s)) if s.value is not None else []
        if t is gast.Assign:
            return self.assign(s)
        if t is gast.Assert:
            msg = [s.msg] if s.msg is not None else []
            r = gast.Raise(exc=call("AssertionError", *msg), cause=None)
            return [gast.copy_location(gast.If(test=gast.UnaryOp(op=gast.Not(), operand=s.test),
                                               body=[gast.copy_location(r, s)], orelse=[]), s)]
        if t is gast.If:
            s.body, s.orelse = self.stmts(s.body), self.stmts(s.orelse)
            return [s]
        if t is gast.While:
            s.body = self.stmts(s.body)
            return [s]
        if t is gast.For:
            return self.for_(s)
        if t is gast.With:  # a value-neutral context manager (the fence refused any other): its body
            return self.stmts(neutral.body(self.func, s))
        if t is gast.Expr and isinstance(s.value, gast.Constant):
            return []  # docstrings and bare constants
        return [s]

    def assign(self, s):
        value, targets = s.value, s.targets
        if len(targets) > 1:
            tmp = self.names.fresh("tup")
            return [gast.copy_location(assign(tmp, value), s)] + \
                [x for tg in targets for x in self.stmt(gast.copy_location(assign(tg, load(tmp)), s))]
        tg = targets[0]
        if isinstance(tg, (gast.Tuple, gast.List)):
            names_rhs = ids(value)
            names_lhs = ids(tg)
            if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(tg.elts) \
                    and not names_rhs & names_lhs:
                return [x for e, v in zip(tg.elts, value.elts) for x in self.stmt(gast.copy_location(assign(e, v), s))]
            if not isinstance(value, gast.Name):
                tmp = self.names.fresh("tup")
                return [gast.copy_location(assign(tmp, value),
                                           s)] + self.assign(gast.copy_location(assign(tg, load(tmp)), s))
            out = []
            for k, e in enumerate(tg.elts):
                item = gast.Subscript(value=load(value.id), slice=const(k), ctx=gast.Load())
                out += self.stmt(gast.copy_location(assign(e, gast.copy_location(item, s)), s))
            return out
        return [s]

    def for_(self, s):
        s = self._lazy(s) or s
        it, tgt = s.iter, s.target
        body = self.stmts(s.body)
        if self._callee(it) == "range" and isinstance(tgt, gast.Name):
            s.body = body
            return [_own_variable(s, self.names)]
        pre, idx = [], self.names.fresh("idx")
        n, kind, item = _keys_or_items(self, it, idx, pre, s) if _dict_like(self, it, tgt, s) else \
            self._view(it, idx, pre, s)
        binds = [x for b in self._bind(tgt, kind, item) for x in self.stmt(gast.copy_location(b, s))]
        loop = gast.For(target=store(idx), iter=call("range", n), body=binds + body, orelse=[], type_comment=None)
        return pre + [gast.copy_location(loop, s)]

    def _lazy(self, s):
        """``for t in`` a generator expression, ``map(...)`` or ``filter(...)``: the loop over the iterable under
        it, each element computed (and filtered) when the loop reaches it, as the iterator would."""
        it = s.iter
        fn = self.func.resolve(it.func.id, None) if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) \
            and it.func.id not in self.stored and not it.keywords else None
        if isinstance(it, gast.GeneratorExp):
            if len(it.generators) != 1 or it.generators[0].is_async:
                raise self.func.error("a `for` over a generator expression with more than one `for` is not supported",
                                      it, hint="loop over a list comprehension instead")
            g = it.generators[0]
            var, src, ifs, elt = g.target, g.iter, g.ifs, it.elt
        elif fn is builtins.map and len(it.args) >= 2:
            params, elt = applied(self.func, self.names, it.args[0], len(it.args) - 1, it)
            var = store(params[0]) if len(params) == 1 else gast.Tuple(elts=[store(p) for p in params],
                                                                       ctx=gast.Store())
            src = it.args[1] if len(params) == 1 else call(self.func.bind_value("zip", builtins.zip), *it.args[1:])
            ifs = []
        elif fn is builtins.filter and len(it.args) == 2:
            f, src = it.args
            if isinstance(f, gast.Constant) and f.value is None:
                v = self.names.fresh("item")
                params, test = [v], load(v)
            else:
                params, test = applied(self.func, self.names, f, 1, it)
            var, ifs, elt = store(params[0]), [test], load(params[0])
        else:
            return None
        own = {n.id: self.names.fresh(n.id) for n in gast.walk(var) if isinstance(n, gast.Name)}
        var, ifs, elt = _renamed(var, own), [_renamed(t, own) for t in ifs], _renamed(elt, own)
        body = [gast.copy_location(assign(s.target, elt), s)] + s.body
        for test in reversed(ifs):
            body = [gast.copy_location(gast.If(test=test, body=body, orelse=[]), s)]
        return gast.copy_location(gast.For(target=var, iter=src, body=body, orelse=[], type_comment=None), s)

    def _view(self, it, idx, pre, at):
        """(length, kind, item) of the iterable ``it`` read at position (the variable) ``idx``: ``item``
        is the element's expression, or for ``zip``/``enumerate``/``.items()`` (``kind``) the list of its
        parts' (kind, item); every sequence is evaluated once, before the loop, into ``pre``."""
        def seq(e):
            if isinstance(e, gast.Name):
                return e.id
            name = self.names.fresh("seq")
            pre.append(gast.copy_location(assign(name, e), at))
            return name

        def read(name, i=None):
            return gast.Subscript(value=load(name), slice=i or load(idx), ctx=gast.Load())

        fname, args = self._callee(it), getattr(it, "args", [])
        kw = {k.arg: k.value for k in getattr(it, "keywords", [])}
        if fname == "enumerate" and 1 <= len(args) + len(kw) <= 2 and set(kw) <= {"start"} and args:
            n, kind, item = self._view(args[0], idx, pre, at)
            start = args[1] if len(args) > 1 else kw.get("start")
            i = gast.BinOp(left=load(idx), op=gast.Add(), right=start) if start else load(idx)
            return n, "tuple", [(None, i), (kind, item)]
        if fname == "zip" and args and not kw:
            parts = [self._view(a, idx, pre, at) for a in args]
            n = call("min", *[p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
            return n, "tuple", [(kind, item) for _, kind, item in parts]
        if fname == "reversed" and len(args) == 1 and not kw:
            xs = seq(args[0])
            last = gast.BinOp(left=call("len", load(xs)), op=gast.Sub(), right=const(1))
            return call("len", load(xs)), None, read(xs, gast.BinOp(left=last, op=gast.Sub(), right=load(idx)))
        method = isinstance(it, gast.Call) and isinstance(it.func, gast.Attribute) and it.func.attr
        if isinstance(it, gast.Name) and it.id in self.dicts:  # `for k in d` runs over the keys
            it = gast.Call(func=gast.Attribute(value=it, attr="keys", ctx=gast.Load()), args=[], keywords=[])
            method = "keys"
        if method in ("items", "keys", "values") and not args and not kw:
            d, keys = seq(it.func.value), self.names.fresh("keys")
            pre.append(gast.copy_location(assign(keys, call(self.func.bind_value("keys_of", keys_of), load(d))), at))
            a = it.func.attr
            if a == "items":
                return call("len", load(keys)), "tuple", [(None, read(keys)), (None, read(d, read(keys)))]
            return call("len", load(keys)), None, read(keys) if a == "keys" else read(d, read(keys))
        xs = seq(it)
        return call("len", load(xs)), None, read(xs)

    def _bind(self, tgt, kind, item):
        """Assignments of one element (``kind``, ``item`` from ``_view``) to the loop target ``tgt``,
        unpacking a tuple target part by part where the element is a tuple of parts."""
        if kind != "tuple":
            return [assign(tgt, item)]
        if isinstance(tgt, (gast.Tuple, gast.List)) and len(tgt.elts) == len(item) and \
                not any(isinstance(e, gast.Starred) for e in tgt.elts):
            return [b for e, (k, i) in zip(tgt.elts, item) for b in self._bind(e, k, i)]
        return [assign(tgt, self._value(kind, item))]

    def _value(self, kind, item):
        return gast.Tuple(elts=[self._value(k, i) for k, i in item], ctx=gast.Load()) if kind == "tuple" else item

    def _callee(self, e):
        if isinstance(e, gast.Call) and isinstance(e.func, gast.Name):
            obj = self.func.resolve(e.func.id, None)
            for b in ("range", "enumerate", "zip", "reversed"):
                if obj is getattr(builtins, b):
                    return b
        return None

    # -- structured jumps ---------------------------------------------------------------
    def flow(self, stmts, loop):
        """(new statements, kinds that always jump, kinds that may jump)."""
        out = []
        for i, s in enumerate(stmts):
            t = type(s)
            if t is gast.Return:
                self.retval = self.retval or self.names.fresh("retval")
                out.append(gast.copy_location(assign(self.retval, s.value if s.value is not None else const(None)), s))
                self.returned = self.returned or self.names.fresh("returned")
                out.append(gast.copy_location(assign(self.returned, const(True)), s))
                return out, {"ret"}, {"ret"}
            if t in (gast.Break, gast.Continue):
                kind = "brk" if t is gast.Break else "cont"
                out.append(gast.copy_location(assign(loop.flag(kind), const(True)), s))
                return out, {kind}, {kind}
            if t is gast.If:
                body0, orelse0 = clone(s.body), clone(s.orelse)  # flow rewrites nested jumps in place
                a, aa, am = self.flow(s.body, loop)
                b, ba, bm = self.flow(s.orelse, loop)
                rest = stmts[i + 1:]
                if rest and aa and not ba:  # the rest runs only after the else branch: it moves there
                    b, ba, bm = self.flow(orelse0 + rest, loop)
                    rest = []
                elif rest and ba and not aa:
                    a, aa, am = self.flow(body0 + rest, loop)
                    rest = []
                s.body, s.orelse = a or [gast.Pass()], b
                out.append(s)
                always, may = aa & ba, am | bm
                if always or not rest:
                    return out, always, may
                if may:
                    r, _, rm = self.flow(rest, loop)
                    out.append(self._guard(may, loop, r, s))
                    return out, set(), may | rm
                continue
            if t in (gast.For, gast.While):
                inner = _Loop(self.names)
                body, _, bm = self.flow(s.body, inner)
                if inner.cont:
                    body.insert(0, assign(inner.cont, const(False)))
                if "ret" in bm:
                    body.append(gast.If(test=load(self.returned), body=[gast.Break()], orelse=[]))
                if inner.brk:
                    body.append(gast.If(test=load(inner.brk), body=[gast.Break()], orelse=[]))
                    out.append(gast.copy_location(assign(inner.brk, const(False)), s))
                s.body = body
                out.append(s)
                if "ret" in bm:
                    r, _, rm = self.flow(stmts[i + 1:], loop)
                    if r:
                        out.append(self._guard({"ret"}, loop, r, s))
                    return out, set(), {"ret"} | rm
                continue
            out.append(s)
        return out, set(), set()

    def _guard(self, kinds, loop, body, at):
        flags = [self.returned if k == "ret" else getattr(loop, k) for k in sorted(kinds)]
        test = load(flags[0]) if len(flags) == 1 else gast.BoolOp(op=gast.Or(), values=[load(f) for f in flags])
        return gast.copy_location(gast.If(test=gast.UnaryOp(op=gast.Not(), operand=test), body=body, orelse=[]), at)


def _own_variable(s, names):
    """Range loop ``s``, or where its body assigns its variable, the loop over a fresh variable bound to it
    first: the reverse sweep, which rebinds the loop's variable, then puts back what the body left (the tape)."""
    v = s.target.id
    if v in ids(gast.Module(body=s.body, type_ignores=[]), gast.Store):
        own = names.fresh(v)
        s.body = [gast.copy_location(assign(v, load(own)), s)] + s.body
        s.target = store(own)
    return s


def _renamed(node, own):
    """A copy of ``node`` with the names in ``own`` renamed."""
    node = clone(node)
    for n in gast.walk(node):
        if isinstance(n, gast.Name) and n.id in own:
            n.id = own[n.id]
    return node


def _dict_like(d, it, tgt, s):
    """``for k in d`` over an argument ``d`` the loop reads as ``d[k]``: a dict or a sequence, known when
    the derivative runs."""
    params = {a.id for a in d.func.node.args.args}
    return isinstance(it, gast.Name) and isinstance(tgt, gast.Name) and it.id in params - d.stored and \
        any(isinstance(n, gast.Subscript) and isinstance(n.value, gast.Name) and n.value.id == it.id and
            isinstance(n.slice, gast.Name) and n.slice.id == tgt.id for b in s.body for n in nodes(b))


def _keys_or_items(d, it, idx, pre, at):
    """``_view`` of a dict-like argument: its keys where it is a dict, else its items."""
    keys = d.names.fresh("keys")
    pre.append(gast.copy_location(assign(keys, call(d.func.bind_value("dict_keys", dict_keys), load(it.id))), at))
    read = lambda v: gast.Subscript(value=load(v), slice=load(idx), ctx=gast.Load())  # noqa: E731
    test = gast.Compare(left=load(keys), ops=[gast.Is()], comparators=[const(None)])
    return call("len", load(it.id)), None, gast.IfExp(test=test, body=read(it.id), orelse=read(keys))


def _dicts(node):
    """The local names every assignment gives a dict display."""
    values = {}
    for s in nodes(node):
        for t in s.targets if isinstance(s, gast.Assign) else [s.target] if isinstance(s, (gast.AugAssign, gast.For)) \
                else []:
            for n in nodes(t):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):  # not a write into d[k]
                    values.setdefault(n.id, []).append(s.value if isinstance(s, gast.Assign) and t is n else None)
    return {v for v, vs in values.items() if all(isinstance(e, (gast.Dict, gast.DictComp)) or isinstance(e, gast.Call)
                                                 and getattr(e.func, "id", None) == "dict" for e in vs)}


def desugar(func, names):
    """Desugar ``func.node`` in place (see the module docstring)."""
    d = Desugar(func, names)
    node = func.node
    local = ids(node, gast.Store) - {a.id for a in node.args.args}
    body = d.stmts(node.body)
    last = body[-1] if body else None
    simple = isinstance(last, gast.Return) and not any(isinstance(n, (gast.Return, gast.Break, gast.Continue))
                                                      for s in body[:-1] for n in nodes(s))
    if not simple:
        body, always, _ = d.flow(body, None)
        if d.returned:
            body.insert(0, assign(d.returned, const(False)))
        if d.retval and "ret" not in always:  # it may run off its end: it returns None there, as Python does
            body.insert(0, assign(d.retval, const(None)))
        body.append(gast.Return(value=load(d.retval) if d.retval else const(None)))
    node.body = body
    gone = local - ids(node, gast.Store)  # assigned only after a `return`: reading one is an UnboundLocalError
    if gone:
        from .runtime import unbound
        _Unbound(gone, func.bind_value("unbound", unbound)).visit(node)
    return node


class _Unbound(gast.NodeTransformer):
    def __init__(self, names, fn):
        self.names, self.fn = names, fn

    def visit_Name(self, n):
        if isinstance(n.ctx, gast.Load) and n.id in self.names:
            return gast.copy_location(call(self.fn, const(n.id)), n)
        return n
