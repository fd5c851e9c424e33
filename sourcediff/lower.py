"""Lower: flatten a desugared function into three-address primitive steps.

Takes a desugared ``FunctionDef``; gives one whose statements follow this grammar
(``a`` is an atom: a local name, a constant, or a reference to a global such as
``math.pi``; a statement never reads the name it assigns, but for the user's own ``v = v``)::

    v = a                     v = a op a          v = op a           v = a cmp a
    v = f(a, ..., k=a)        v = a[index]        v = a.attr         v = (a, ...) | [a, ...] | {a: a}
    v[index] = a              a.append(a)         raise ...          pass
    if v: ...  else: ...      for v in v: ...     while v: ...        return a
    break                     (only as the last statement of a loop body, inside ``if v:``)
    v = f"..."                (a string, kept as written: no derivative flows through it)

``index`` is atoms, slices of atoms, ``None`` and ``...``. Each call's callee is resolved
now: the ``callee`` annotation of ``node.value`` holds the object (``np.sin``, a user function, ``abs``).
User variables keep their names; temporaries are ``t0, t1, ...`` in order.

Before::

    def f(x, a, b):
        return (x + a) * (x + b)

After::

    def f(x, a, b):
        t0 = x + a
        t1 = x + b
        t2 = t0 * t1
        return t2
"""
import builtins
import functools
import inspect
import math

import gast
import numpy as np

from . import effects, primitives as P
from .annotations import getanno, hasanno, setanno
from .primitives import ATTRS, NONDIFF_ATTRS  # imported, not assigned: export copies primitives' own statements
from .names import assign, clone, const, load, store, ids
from .rules.helpers import diagonal_index, of_type
from .rules.numpy_rules import array_args
from .rules import registry as R


def keywords_in_place(fn, args, kws):
    """A rule-keyed method's keywords (``stats.norm.logpdf(x, loc=m, scale=s)``) moved to their positions, gaps
    filled with the rule's literal defaults, so the passes differentiate them: such a rule's parameters mirror
    the method's positional signature. Anything else (an unknown keyword, a non-literal gap) stays as it was."""
    rule = R.lookup(R.VJP, fn)
    if rule is None:
        return args, kws
    params, defaults = R.parsed(rule)[:2]
    names, given = params[2:], {k.arg: k.value for k in kws}
    if not set(given) <= set(names) or max(names.index(k) for k in given) < len(args):
        return args, kws
    out = list(args)
    for name in names[len(args):max(names.index(k) for k in given) + 1]:
        if name not in given and not isinstance(defaults.get(name), gast.Constant):
            return args, kws
        out.append(given[name] if name in given else const(defaults[name].value))
    return out, []


def has_rule(fn):
    """A bound method that is itself a rule key (``scipy.stats.norm.logpdf``: its rule knows the distribution)."""
    return any(R.lookup(t, fn) is not None for t in (R.VJP, R.JVP)) or R.refused(fn, ("*",)) is not None

# ndarray methods and attributes -> the NumPy function that differentiates them (declared in ``primitives``)
METHODS = P.methods()
VARIADIC_SHAPE = {m for f in P.keys(P.VARIADIC_SHAPE) for m in P.TABLE[f][P.METHOD]}  # x.reshape(2, 3)
ATTR_KEYS = {"attr." + a: f for a, f in ATTRS.items()}  # `x.T` differentiates like np.transpose(x)
BIN = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.FloorDiv, gast.Mod, gast.Pow, gast.MatMult,
       gast.BitAnd, gast.BitOr, gast.BitXor, gast.LShift, gast.RShift)


def field_read(key):
    """The attribute a step ``v = a.attr`` reads when it is none of an array's (``ATTRS``, ``NONDIFF_ATTRS``):
    a child of a structured value (NamedTuple, dataclass, registered container); else None."""
    if type(key) is str and key.startswith("attr.") and key[5:] not in ATTRS and key[5:] not in NONDIFF_ATTRS:
        return key[5:]
    return None


def einsum_subscripts(func, e):
    """The arguments of ``np.einsum(x, [0, 1], y, [1, 2], [0, 2])`` in the string form
    (``"ab,bc->ac", x, y``): the rules read subscripts from the first argument. The sublists
    must be literal lists of integers (or ``...``); anything else is refused."""
    def letters(sub):
        if not isinstance(sub, (gast.List, gast.Tuple)):
            raise func.error("np.einsum's sublist form needs literal lists of integers", e,
                             hint='write the subscripts as a string: np.einsum("ij->ji", x)')
        out = ""
        for c in sub.elts:
            v = c.value if isinstance(c, gast.Constant) else None
            if v is Ellipsis:
                out += "..."
            elif isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 52:
                out += "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[v]
            else:
                letters(c)
        return out
    args = e.args
    ops, subs = args[0:len(args) - len(args) % 2 or None:2], args[1::2]
    spec = ",".join(letters(x) for x in subs[:len(ops)])
    if len(args) % 2:
        spec += "->" + letters(args[-1])
    return [const(spec)] + list(ops)


def is_atom(e):
    return isinstance(e, (gast.Name, gast.Constant)) or \
        (isinstance(e, gast.Attribute) and getanno(e, "global_ref", False))


class Lower:
    def __init__(self, func, names):
        self.func, self.names = func, names
        node = func.node
        self.params = [a.id for a in node.args.args]
        self.locals = set(self.params) | ids(node, gast.Store)
        self.seqs = _sequences(node)
        self.out = None

    def emit(self, s, at):
        gast.copy_location(s, at)
        line = getanno(at, "line") or getattr(at, "lineno", None)
        if line is not None:
            setanno(s, "line", line)
        setanno(s, "primal")  # the user's own step: the optimizer may drop it, never rewrite it
        self.out.append(s)
        return s

    # -- statements ------------------------------------------------------------------------
    def block(self, stmts):
        saved, self.out = self.out, []
        for s in stmts:
            self.stmt(s)
        out, self.out = self.out, saved
        return out

    def stmt(self, s):
        t = type(s)
        if t is gast.Assign:
            tg = s.targets[0]
            if isinstance(tg, gast.Name):
                self.expr(s.value, s, target=tg.id)
            elif isinstance(tg, gast.Subscript):
                base = self.name_of(tg.value, s)
                idx = self.index(tg.slice, s)
                val = self.atom(s.value, s)
                self.emit(assign(gast.Subscript(value=load(base), slice=idx, ctx=gast.Store()), val), s)
            else:
                raise self.func.error("cannot assign to this target", tg, hint="assign to a name or a subscript")
        elif t is gast.If:
            test = self.atom(s.test, s, name=True)
            self.emit(gast.If(test=test, body=self.block(s.body) or [gast.Pass()], orelse=self.block(s.orelse)), s)
        elif t is gast.For:
            it = self.atom(s.iter, s, name=True)
            self.emit(gast.For(target=store(s.target.id), iter=it, body=self.block(s.body) or [gast.Pass()],
                               orelse=[], type_comment=None), s)
        elif t is gast.While:
            tname = self.names.temp()
            self.expr(s.test, s, target=tname)
            body = self.block(s.body)
            saved, self.out = self.out, body
            self.expr(s.test, s, target=tname)
            self.out = saved
            self.emit(gast.While(test=load(tname), body=body, orelse=[]), s)
        elif t is gast.Return:
            self.emit(gast.Return(value=self.atom(s.value, s) if s.value is not None else const(None)), s)
        elif t is gast.Expr:
            v = s.value
            if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) and v.func.attr == "append" \
                    and len(v.args) == 1 \
                    and isinstance(v.func.value, gast.Name) and v.func.value.id in self.locals:
                self.emit(gast.Expr(value=gast.Call(func=gast.Attribute(value=load(v.func.value.id), attr="append",
                                                                        ctx=gast.Load()),
                                                    args=[self.atom(v.args[0], s)], keywords=[])), s)
            elif isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) and v.func.attr == "pop" \
                    and not v.args \
                    and self.resolve(v.func) is None:
                self.expr(v, s, target=self.names.temp())  # a bare `l.pop()`: its value goes somewhere derivatives see
            elif isinstance(v, gast.Call):
                self.unknown_statement(v)
                self.expr(v, s, target=None)
            else:
                self.atom(v, s)
        elif t in (gast.Pass, gast.Break, gast.Raise):
            self.emit(s, s)
        elif t is gast.FunctionDef:  # a nested helper: a function of its own, called like a global one
            self.func.local_function(s)
        else:
            raise self.func.error("`%s` statements are not supported" % t.__name__, s)

    # -- expressions -------------------------------------------------------------------------
    def atom(self, e, at, name=False):
        """Lower ``e`` to an atom (a name when ``name``)."""
        if isinstance(e, gast.Name):
            return load(e.id)
        if isinstance(e, gast.Constant) and not name:
            return e
        g = self.global_ref(e)
        if g is not None and not name:
            return g
        rhs = None if isinstance(e, (gast.BoolOp, gast.IfExp, gast.ListComp)) or isinstance(e, gast.Compare) \
                and len(e.ops) > 1 \
            else self.rhs(e, at, None)
        t = self.names.temp()
        if rhs is None:
            self.expr(e, at, target=t)
        else:
            self.emit(assign(t, rhs), at)
        return load(t)

    def name_of(self, e, at):
        if isinstance(e, gast.Name) and e.id in self.locals:
            return e.id
        raise self.func.error("only local names can be written into", at, hint="copy the value into a local first")

    def global_ref(self, e):
        """An attribute chain rooted at a non-local name (``math.pi``, ``np.newaxis``) as an atom."""
        chain = e
        while isinstance(chain, gast.Attribute):
            chain = chain.value
        if isinstance(chain, gast.Name) and chain.id not in self.locals and isinstance(e, gast.Attribute):
            setanno(e, "global_ref")
            return e
        return None

    def resolve(self, e):
        """The object a callee expression names, or None for a local value."""
        if isinstance(e, gast.Name):
            return None if e.id in self.locals else self.func.resolve(e.id, None)
        if isinstance(e, gast.Attribute):
            base = self.resolve(e.value)
            return getattr(base, e.attr, None) if base is not None else None
        return None

    def expr(self, e, at, target):
        """Emit the steps of ``e``; the last one assigns ``target`` (a temp when the target is read)."""
        if target is not None and target in ids(e) \
                and not is_atom(e):
            t = self.names.temp()
            self.expr(e, at, t)
            return self.emit(assign(target, load(t)), at)
        rhs = self.rhs(e, at, target)
        if rhs is None:  # the value was assigned inside control flow already
            return None
        if target is None:  # a call lowered to a write (``np.copyto(y, x)``) leaves no call to emit
            return self.emit(gast.Expr(value=rhs), at) if isinstance(rhs, gast.Call) else None
        return self.emit(assign(target, rhs), at)

    def rhs(self, e, at, target):
        t = type(e)
        if is_atom(e) or self.global_ref(e) is not None and t is gast.Attribute:
            return e
        if t is gast.BinOp:
            if not isinstance(e.op, BIN):
                raise self.func.error("operator not supported", e)
            node = gast.BinOp(left=self.atom(e.left, at), op=e.op, right=self.atom(e.right, at))
            setanno(node, "augmented", getanno(e, "augmented", False))
            return node
        if t is gast.UnaryOp:
            return gast.UnaryOp(op=e.op, operand=self.atom(e.operand, at))
        if t is gast.Compare:
            if len(e.ops) == 1:
                return gast.Compare(left=self.atom(e.left, at), ops=e.ops,
                                    comparators=[self.atom(e.comparators[0], at)])
            parts, left = [], e.left
            for op, right in zip(e.ops, e.comparators):
                parts.append(gast.Compare(left=left, ops=[op], comparators=[right]))
                left = right
            return self.rhs(gast.BoolOp(op=gast.And(), values=parts), at, target)
        if t in (gast.BoolOp, gast.IfExp):
            target = target or self.names.temp()
            if t is gast.IfExp:
                test = self.atom(e.test, at, name=True)
                body = self.block_expr(e.body, at, target)
                orelse = self.block_expr(e.orelse, at, target)
                self.emit(gast.If(test=test, body=body, orelse=orelse), at)
                return None
            first, rest = e.values[0], e.values[1:]
            self.expr(first, at, target)
            if rest:
                more = gast.BoolOp(op=e.op, values=rest) if len(rest) > 1 else rest[0]
                body = self.block_expr(more, at, target)
                test = load(target)
                if isinstance(e.op, gast.Or):
                    t2 = self.names.temp()
                    self.emit(assign(t2, gast.UnaryOp(op=gast.Not(), operand=load(target))), at)
                    test = load(t2)
                self.emit(gast.If(test=test, body=body, orelse=[]), at)
            return None
        if t is gast.Call:
            return self.call(e, at)
        if t is gast.Subscript:
            if isinstance(self.resolve(e.value), effects.INDEX_TRICKS):
                return self.index_trick(self.resolve(e.value), e, at)
            return gast.Subscript(value=self.atom(e.value, at, name=True), slice=self.index(e.slice, at),
                                  ctx=gast.Load())
        if t is gast.Attribute:
            return gast.Attribute(value=self.atom(e.value, at, name=True), attr=e.attr, ctx=gast.Load())
        if t in (gast.Tuple, gast.List):
            return t(elts=[self.atom(x, at) for x in e.elts], ctx=gast.Load())
        if t is gast.Dict:
            return gast.Dict(keys=[self.atom(k, at) for k in e.keys], values=[self.atom(v, at) for v in e.values])
        if t is gast.ListComp:
            return self.listcomp(e, at, target)
        if t is gast.JoinedStr:
            return e
        raise self.func.error("`%s` expressions are not supported in differentiated code" % t.__name__, e)

    def index_trick(self, obj, e, at):
        """``np.r_[a, b]`` as ``np.concatenate((np.atleast_1d(a), np.atleast_1d(b)))``; any other use of
        ``np.r_``, ``np.c_``, ``np.mgrid``, ``np.ogrid`` as a call of ``effects.index_trick``, which has
        no rule (its values move with float items: refused when a differentiated value reaches it)."""
        items = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
        plain = [i for i in items if not isinstance(i, gast.Slice)
                 and not (isinstance(i, gast.Constant) and isinstance(i.value, str))]
        if obj is np.r_ and len(plain) == len(items):
            parts = [self.step(np.atleast_1d, [self.atom(i, at)], at) for i in items]
            node = gast.Call(func=gast.Attribute(value=load("np"), attr="concatenate", ctx=gast.Load()),
                             args=[self.atom(gast.Tuple(elts=parts, ctx=gast.Load()), at)], keywords=[])
            setanno(node, "callee", np.concatenate)
            return node
        args = [effects.bound(self.func, "index_object", obj)]
        for i in items:
            if isinstance(i, gast.Slice):
                i = gast.Call(func=load(self.func.bind_value("slice", slice)), args=[
                    getattr(i, k) if getattr(i, k) is not None else const(None) for k in ("lower", "upper", "step")],
                              keywords=[])
            args.append(self.atom(i, at))
        node = gast.Call(func=load(self.func.bind_value("index_trick", effects.index_trick)), args=args, keywords=[])
        setanno(node, "callee", effects.index_trick)
        return node

    def block_expr(self, e, at, target):
        saved, self.out = self.out, []
        self.expr(e, at, target)
        out, self.out = self.out, saved
        return out

    def listcomp(self, e, at, target):
        if len(e.generators) != 1 or e.generators[0].ifs or e.generators[0].is_async:
            raise self.func.error("only list comprehensions with one `for` and no `if` are supported", e,
                                  hint="write the loop out with `append`")
        from .desugar import Desugar
        gen = e.generators[0]
        target = target or self.names.temp()
        self.locals.add(target)
        self.emit(assign(target, gast.List(elts=[], ctx=gast.Load())), at)
        # the comprehension's variables are its own (Python 3 scopes them): fresh names keep them from the function's
        own = {n.id: self.names.fresh(n.id) for n in gast.walk(gen.target) if isinstance(n, gast.Name)}
        var, elt = clone(gen.target), clone(e.elt)
        for n in list(gast.walk(var)) + list(gast.walk(elt)):
            if isinstance(n, gast.Name) and n.id in own:
                n.id = own[n.id]
        app = gast.Expr(value=gast.Call(func=gast.Attribute(value=load(target), attr="append", ctx=gast.Load()),
                                        args=[elt], keywords=[]))
        loop = gast.copy_location(gast.For(target=var, iter=gen.iter, body=[gast.copy_location(app, at)], orelse=[],
                                           type_comment=None), at)
        for s in Desugar(self.func, self.names).stmt(loop):
            self.locals |= ids(s, gast.Store)
            self.stmt(s)
        return None

    def call(self, e, at):
        f = e.func
        if e.args and isinstance(e.args[0], gast.GeneratorExp) and self.resolve(f) in (builtins.sum, math.fsum):
            g = e.args[0]  # the sum takes every element: a list of them gives the same
            e.args[0] = gast.copy_location(gast.ListComp(elt=g.elt, generators=g.generators), g)
        if isinstance(f, gast.Attribute) and self.resolve(f) is None:  # a method on a local value
            return self.method(e, at)
        fn = self.resolve(f)
        if fn is None:
            raise self.func.error("cannot tell which function this calls (it is a local value)", e,
                                  hint="call a module-level function by name, or pass it through sd.defvjp")
        if effects.effect(fn) == effects.WRITES:
            return self.writer(fn, e, at)
        if effects.writes_receiver(fn) and fn.__name__ not in METHODS:
            raise self.func.error("`.%s()` may write into the value it is called on, which cannot be differentiated"
                                  % fn.__name__, e, hint="call it outside the differentiated function")
        if fn is np.einsum and e.args \
                and not (isinstance(e.args[0], gast.Constant) and isinstance(e.args[0].value, str)):
            e = self.einsum(f, e, at)
        e, out = self.split_out(fn, e, 0)
        args = [self.atom(a, at) for a in e.args]
        kws = [gast.keyword(arg=k.arg, value=self.atom(k.value, at)) for k in e.keywords]
        if inspect.ismethod(fn) and kws and has_rule(fn):
            args, kws = keywords_in_place(fn, args, kws)
        if inspect.ismethod(fn) and inspect.isfunction(fn.__func__) and isinstance(f, gast.Attribute) and \
                not has_rule(fn):
            recv = self.atom(f.value, at)  # obj.method(a) is Class.method(obj, a)
            fn, args = fn.__func__, [recv] + args
            f = load(self.func.bind_value(fn.__name__, fn))
        elif getattr(fn, "sd_generated", None) is not None:  # a derivative sourcediff returned: the code it runs
            gen = fn.sd_generated
            if isinstance(gen, str):
                raise self.func.error(gen, e, hint="call sd.grad, sd.jvp (one tangent) or sd.vjp of it instead")
            fn, f = gen, load(self.func.bind_value(gen.__name__, gen))
        elif isinstance(fn, functools.partial) and inspect.isfunction(fn.func):
            pre = [self.constant(v, "%s_arg%d" % (fn.func.__name__, i)) for i, v in enumerate(fn.args)]
            kws = [gast.keyword(arg=k, value=self.constant(v, "%s_%s" % (fn.func.__name__, k))) for k,
                   v in fn.keywords.items()
                   if k not in {x.arg for x in kws}] + kws
            fn, args = fn.func, pre + args
            f = load(self.func.bind_value(fn.__name__, fn))
        args += [load(v) for v in getattr(fn, "sd_free", ())]  # a nested def's enclosing variables
        for i in range(min(array_args(fn), len(e.args))):
            if isinstance(e.args[i], SEQ) or isinstance(e.args[i], gast.Name) and e.args[i].id in self.seqs:
                args[i] = self.as_array(args[i], at)
        node = gast.Call(func=f, args=args, keywords=kws)
        setanno(node, "callee", fn)
        return self.written(node, out, at)

    def unknown_statement(self, e):
        """Refuse a call, made for its effect, of a function that may write into a local value it is given."""
        if isinstance(e.func, gast.Attribute) and self.resolve(e.func) is None:
            return  # a method of a local value: the allow-list in ``method``
        fn = self.resolve(e.func)
        local = [a.id for a in e.args + [k.value for k in e.keywords] if isinstance(a, gast.Name)
                 and a.id in self.locals]
        if fn is not None and local and effects.effect(fn) == effects.UNKNOWN:
            raise self.func.error("`%s` has no derivative rule and may write into `%s`" % (
                getattr(fn, "__name__", "this function"), local[0]), e,
                hint="call it outside the differentiated function, or register rules with sd.defvjp/sd.defjvp")

    def einsum(self, f, e, at):
        """``np.einsum`` whose subscripts are not a literal string: the sublist form rewritten to the string
        form; subscripts in a variable checked to be a string when the call runs."""
        if any(isinstance(a, (gast.List, gast.Tuple)) for a in e.args[1::2]):
            return gast.Call(func=f, args=einsum_subscripts(self.func, e), keywords=e.keywords)
        err = self.func.error("np.einsum is differentiated with its subscripts as a string, and these are not one", e,
                              hint='write the subscripts as a string: np.einsum("ij->ji", x)')
        spec = self.step(of_type,
                         [self.atom(e.args[0], at), load("str"), effects.bound(self.func, "einsum_error", err)], at)
        return gast.Call(func=f, args=[spec] + e.args[1:], keywords=e.keywords)

    def method(self, e, at):
        """A method call on a local value: an allow-list (``METHODS``, ``effects.METHOD_WRITES``)."""
        f = e.func
        if f.attr in ("sort", "fill"):
            return self.write_receiver(e, at)
        e, out = self.split_out(METHODS.get(f.attr), e, 1)
        recv = self.atom(f.value, at, name=True)
        args = [self.atom(a, at) for a in e.args]
        kws = [gast.keyword(arg=k.arg, value=self.atom(k.value, at)) for k in e.keywords]
        if f.attr == "pop" and not args and not kws:
            return gast.Call(func=gast.Attribute(value=recv, attr="pop", ctx=gast.Load()), args=[], keywords=[])
        fn = METHODS.get(f.attr)
        if fn is None:
            raise self.func.error("method `.%s()` is not supported in differentiated code" % f.attr, e,
                                  hint="call the NumPy function instead (np.%s(x, ...))" % f.attr)
        if f.attr in VARIADIC_SHAPE and len(args) > 1:
            args = [self.atom(gast.Tuple(elts=args, ctx=gast.Load()), at)]
        node = gast.Call(func=gast.Attribute(value=load("np"), attr=fn.__name__, ctx=gast.Load()),
                         args=[recv] + args, keywords=kws)
        setanno(node, "callee", fn)
        return self.written(node, out, at)

    def split_out(self, fn, e, shift):
        """``e`` without its output array (``out=y``, or positional), and the local name it writes (or None).

        ``shift`` is 1 for a method (its receiver is the function's first argument)."""
        if not effects.numpy_callable(fn):  # a user function's `out=` is its own business
            return e, None
        pos = effects.out_position(fn)
        args, kws, outs = list(e.args), [k for k in e.keywords if k.arg != "out"], [k.value for k in e.keywords
                                                                                    if k.arg == "out"]
        if pos is not None and len(args) + shift > pos:
            if isinstance(fn, np.ufunc):
                outs, args = outs + args[pos - shift:], args[:pos - shift]
            else:
                names = list(inspect.signature(fn).parameters)
                outs.append(args[pos - shift])
                kws += [gast.keyword(arg=n, value=a) for n, a in zip(names[pos + 1:], args[pos - shift + 1:])]
                args = args[:pos - shift]
        if len(outs) == 1 and isinstance(outs[0], gast.Tuple) and len(outs[0].elts) == 1:
            outs = outs[0].elts
        outs = [o for o in outs if not (isinstance(o, gast.Constant) and o.value is None)]
        if not outs:
            return e, None
        if len(outs) > 1 or any(k.arg == "where" for k in kws):
            raise self.func.error("this call writes into more than one output array, or only where `where` holds", e,
                                  hint="assign its results instead: `y = f(...)`")
        if isinstance(outs[0], gast.Name) and outs[0].id in self.params:  # right only where it holds None
            err = self.func.error("this writes into the argument `%s`, which belongs to the caller" % outs[0].id, e,
                                  hint="assign the result instead: `y = f(...)`")
            guard = gast.Call(func=load(self.func.bind_value("of_type", of_type)), keywords=[], args=[
                outs[0], load(self.func.bind_value("NoneType",
                                                   type(None))), effects.bound(self.func, "out_error", err)])
            return gast.Call(func=e.func, args=args, keywords=kws + [gast.keyword(arg="out", value=guard)]), None
        dst = self.name_of(outs[0], e)
        return gast.Call(func=e.func, args=args, keywords=kws), dst

    def written(self, node, dst, at):
        """``node`` as the value of its call; with an output array ``dst``: ``t = node; dst[...] = t``."""
        if dst is None:
            return node
        t = self.names.temp()
        self.emit(assign(t, node), at)
        self.emit(assign(gast.Subscript(value=load(dst), slice=const(Ellipsis), ctx=gast.Store()), load(t)), at)
        return load(dst)

    def write_into(self, dst, idx, value, at):
        self.emit(assign(gast.Subscript(value=load(dst), slice=idx, ctx=gast.Store()), value), at)
        return const(None)

    def write_receiver(self, e, at):
        """``y.sort(...)`` as ``y[...] = np.sort(y, ...)`` (an array: a list is refused when it runs);
        ``y.fill(v)`` as ``y[...] = v``."""
        f = e.func
        dst = self.name_of(f.value, e)
        if f.attr == "fill":
            if len(e.args) != 1 or e.keywords:
                raise self.func.error("`.fill()` takes one value", e)
            return self.write_into(dst, const(Ellipsis), self.atom(e.args[0], at), at)
        bad = [k.arg for k in e.keywords if k.arg not in effects.SORT_KEYWORDS]
        if bad or len(e.args) > 2:
            raise self.func.error("`.sort()` with `%s` is not supported in differentiated code"
                                  % (bad[0] if bad else "order"), e,
                                  hint="sort into a new value with np.sort(y) "
                                       "(np.flip(np.sort(y)) for descending order)")
        err = self.func.error("`.sort()` is differentiated for NumPy arrays only, and `%s` is not one" % dst, e,
                              hint="sort into a new value: `%s = np.sort(%s)` or `sorted(...)` outside" % (dst, dst))
        ndarray = gast.Attribute(value=load("np"), attr="ndarray", ctx=gast.Load())
        setanno(ndarray, "global_ref")
        arr = self.step(of_type, [load(dst), ndarray, effects.bound(self.func, dst + "_sort_error", err)], at)
        t = self.step(np.sort, [arr] + [self.atom(a, at) for a in e.args], at,
                      [gast.keyword(arg=k.arg, value=self.atom(k.value, at)) for k in e.keywords])
        return self.write_into(dst, const(Ellipsis), t, at)

    def step(self, fn, args, at, kws=()):
        """Emit ``t = fn(*args)`` for a function of ours or NumPy's; returns ``t`` as an atom."""
        f = gast.Attribute(value=load("np"), attr=fn.__name__,
                           ctx=gast.Load()) if getattr(np, fn.__name__, None) is fn \
            else load(self.func.bind_value(fn.__name__, fn))
        node = gast.Call(func=f, args=args, keywords=list(kws))
        setanno(node, "callee", fn)
        t = self.names.temp()
        self.emit(assign(t, node), at)
        return load(t)

    def writer(self, fn, e, at):
        """A call of a function that writes into its argument: lowered as an in-place write, or refused."""
        how = effects.WRITERS[fn][1]
        name = getattr(fn, "__name__", "this function")
        if how == "copyto" and len(e.args) == 2 and not e.keywords:
            dst = self.name_of(e.args[0], e)
            return self.write_into(dst, const(Ellipsis), self.atom(e.args[1], at), at)
        if how == "fill_diagonal" and len(e.args) == 2 and not e.keywords:
            dst = self.name_of(e.args[0], e)
            idx = self.step(diagonal_index, [load(dst)], at)
            val = self.step(np.ravel, [self.atom(e.args[1], at)], at)  # fill_diagonal writes val flattened
            return self.write_into(dst, idx, val, at)
        raise self.func.error("`%s` writes into its argument, which cannot be differentiated%s" %
                              (name, "" if how is None else " with these arguments"), e,
                              hint="write with indexing instead "
                                   "(`y[idx] = v`, `y[...] = v`, `y = np.where(mask, v, y)`)")

    def as_array(self, a, at):
        """``np.asarray(a)`` as a step: what NumPy does to a list argument, where its rule reads arrays."""
        node = gast.Call(func=gast.Attribute(value=load("np"), attr="asarray", ctx=gast.Load()), args=[a], keywords=[])
        setanno(node, "callee", np.asarray)
        t = self.names.temp()
        self.emit(assign(t, node), at)
        return load(t)

    def constant(self, v, name):
        """A value known at transformation time as an atom: a literal, or a bound name."""
        if v is None or isinstance(v, (bool, int, float, str)):
            return const(v)
        return load(self.func.bind_value(name, v))

    def index(self, sl, at):
        t = type(sl)
        if t is gast.Slice:
            return gast.Slice(**{k: (self.atom(getattr(sl, k), at) if getattr(sl, k) is not None else None)
                                 for k in ("lower", "upper", "step")})
        if t is gast.Tuple:
            return gast.Tuple(elts=[self.index(x, at) for x in sl.elts], ctx=gast.Load())
        return self.atom(sl, at)


SEQ = (gast.List, gast.Tuple, gast.ListComp)


def _sequences(node):
    """The names some assignment may give a list or tuple: a display, a comprehension, or such a name."""
    pairs = [(s.targets[0].id, s.value) for s in gast.walk(node)
             if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)]
    out, grew = set(), True
    while grew:
        new = {t for t, v in pairs if isinstance(v, SEQ) or isinstance(v, gast.Name) and v.id in out}
        grew, out = bool(new - out), out | new
    return out


def lower(func, names):
    """Lower ``func.node`` (already desugared) in place; returns it."""
    lw = Lower(func, names)
    func.node.body = lw.block(func.node.body)
    func.params = lw.params
    return func.node


# -- reading the IR back --------------------------------------------------------------------
def defined_at(body, params):
    """For each compound statement, the names certainly assigned whenever it starts."""
    out = {}

    def block(stmts, defined):
        defined = set(defined)
        for s in stmts:
            if isinstance(s, (gast.If, gast.For, gast.While)):
                out[id(s)] = set(defined)
                if isinstance(s, gast.If):
                    defined |= block(s.body, defined) & block(s.orelse, defined)
                else:
                    block(s.body, defined | ({s.target.id} if isinstance(s, gast.For) else set()))
            elif isinstance(s, gast.Assign):
                defined |= ids(s.targets[0], gast.Store)
        return defined
    block(body, params)
    return out


def walk(body):
    """Every statement of a block, nested ones included, in program order."""
    for s in body:
        yield s
        if isinstance(s, (gast.If, gast.For, gast.While)):
            yield from walk(s.body)
            yield from walk(getattr(s, "orelse", []))


class Prim:
    """One primitive step: ``target = key(args, **kwargs)``; ``key`` indexes the rule tables."""
    __slots__ = ("target", "key", "args", "kwargs", "node", "extra")

    def __init__(self, target, key, args, kwargs=None, node=None, extra=None):
        self.target, self.key, self.args, self.kwargs, self.node, self.extra = target, key, args, kwargs \
                or {}, node, extra


def classify(s):
    """The ``Prim`` of an assignment or call statement (None for control flow)."""
    if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
        c = s.value
        if isinstance(c.func, gast.Attribute) and c.func.attr == "append" and not hasanno(c, "callee"):
            return Prim(None, "append", [c.func.value, c.args[0]], node=s)
        return Prim(None, getanno(c, "callee"), list(c.args), {k.arg: k.value for k in c.keywords}, s)
    if not isinstance(s, gast.Assign):
        return None
    tg, v = s.targets[0], s.value
    if isinstance(tg, gast.Subscript):
        return Prim(tg.value.id, "setitem", [tg.value, v], node=s, extra=tg.slice)
    tv = tg.id
    t = type(v)
    if is_atom(v):
        return Prim(tv, "copy", [v], node=s)
    if t is gast.BinOp:
        return Prim(tv, type(v.op).__name__, [v.left, v.right], node=s)
    if t is gast.UnaryOp:
        return Prim(tv, type(v.op).__name__, [v.operand], node=s)
    if t is gast.Compare:
        return Prim(tv, type(v.ops[0]).__name__, [v.left, v.comparators[0]], node=s)
    if t is gast.Call:
        if isinstance(v.func, gast.Attribute) and v.func.attr == "pop" and not hasanno(v, "callee"):
            return Prim(tv, "pop", [v.func.value], node=s)
        return Prim(tv, getanno(v, "callee"), list(v.args), {k.arg: k.value for k in v.keywords}, s)
    if t is gast.Subscript:
        return Prim(tv, "getitem", [v.value], node=s, extra=v.slice)
    if t is gast.Attribute:
        return Prim(tv, "attr." + v.attr, [v.value], node=s)
    if t in (gast.Tuple, gast.List):
        return Prim(tv, t.__name__.lower(), list(v.elts), node=s)
    if t is gast.Dict:
        return Prim(tv, "dict", list(v.values), node=s, extra=v.keys)
    return Prim(tv, "opaque", [], node=s)


def _self_copy(s):
    """``v = v``: the user's own no-op (``x0 = x0``), kept as written; it reads no value it overwrites."""
    return type(s.value) is gast.Name and type(s.targets[0]) is gast.Name and s.value.id == s.targets[0].id


def validate(node):
    """Check that a lowered function follows the grammar above; raises AssertionError."""
    def ok_index(i):
        if isinstance(i, gast.Slice):
            return all(x is None or is_atom(x) for x in (i.lower, i.upper, i.step))
        if isinstance(i, gast.Tuple):
            return all(ok_index(x) for x in i.elts)
        return is_atom(i)

    def check(stmts, in_loop):
        for k, s in enumerate(stmts):
            t = type(s)
            if t is gast.Assign and type(s.value) is gast.JoinedStr:
                continue  # ``v = f"..."``: a string, kept as written (no derivative flows through it)
            if t is gast.Assign:
                p = classify(s)
                assert p.key != "opaque", "not a primitive step: %s" % gast.dump(s)
                assert all(is_atom(a) for a in p.args), "operands must be atoms: %s" % gast.dump(s)
                if p.extra is not None and p.key in ("getitem", "setitem"):
                    assert ok_index(p.extra)
                if p.key != "setitem" and not _self_copy(s):
                    reads = set().union(*[ids(a) for a in p.args])
                    assert p.target not in reads, "a step reads the name it assigns: %s" % p.target
            elif t is gast.If:
                assert isinstance(s.test, gast.Name)
                check(s.body, in_loop)
                check(s.orelse, in_loop)
            elif t in (gast.For, gast.While):
                assert isinstance(s.iter if t is gast.For else s.test, gast.Name)
                check(s.body, True)
            elif t is gast.Return:
                assert is_atom(s.value)
            elif t is gast.Break:
                assert in_loop
            elif t is gast.Expr:
                assert isinstance(s.value, gast.Call) and all(is_atom(a) for a in s.value.args)
            else:
                assert t in (gast.Pass, gast.Raise), "unexpected statement %s" % t.__name__
    check(node.body, False)
    return True
