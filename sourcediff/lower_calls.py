"""Calls in ``lower``: the lowering of calls, of methods of local values, of writes into arrays.

``Calls`` is a mixin of ``lower.Lower``. It takes from its host the function being lowered (``self.func``,
``self.names``, ``self.locals``, ``self.params``, ``self.seqs``: the names that may hold a list or tuple) and the
host's own lowering (``emit``, ``atom``, ``name_of``, ``resolve``). It gives the right-hand side of a call, a
method of a local value, or an index trick (``np.r_[...]``), as a resolved ``gast.Call`` (its ``callee``
annotation holds the object called), emitting the steps that compute its arguments first; a call that writes
into an array (``out=y``, ``np.copyto``, ``y.sort()``, ``y.fill(v)``) becomes an indexed write ``y[...] = t``.
"""
import functools
import inspect

import gast
import numpy as np

from . import effects, primitives as P
from .annotations import setanno
from .names import assign, const, load
from .neutral import neutral, neutral_call
from .rules.helpers import diagonal_index, of_type
from .rules.to_python import array_item, array_tolist
from .lower_vectorize import rewritten
from .rules.numpy_rules import array_args
from .rules import registry as R

# ndarray methods -> the NumPy function that differentiates them (declared in ``primitives``)
METHODS = P.methods()
VARIADIC_SHAPE = {m for f in P.keys(P.VARIADIC_SHAPE) for m in P.TABLE[f][P.METHOD]}  # x.reshape(2, 3)
SEQ = (gast.List, gast.Tuple, gast.ListComp)
DERIVATIVE_OPERATORS = {"grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian"}  # sd.grad(g)(x) inside


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


def made_now(lw, c):
    """What ``sd.grad(g, ...)`` (or another sourcediff operator) called inside the function gives, made when the
    derivative is built: every argument is a global name or a constant. None for anything else."""
    op = lw.resolve(c.func)
    if getattr(op, "__module__", None) != "sourcediff.api" or op.__name__ not in DERIVATIVE_OPERATORS:
        return None
    vals = []
    for a in c.args + [k.value for k in c.keywords]:
        if isinstance(a, gast.Constant):
            vals.append(a.value)
        elif isinstance(a, gast.Tuple) and all(isinstance(x, gast.Constant) for x in a.elts):
            vals.append(tuple(x.value for x in a.elts))
        elif lw.resolve(a) is not None:
            vals.append(lw.resolve(a))
        else:
            return None
    n = len(c.args)
    return op(*vals[:n], **dict(zip([k.arg for k in c.keywords], vals[n:])))


class Calls:
    """The lowering of calls: a mixin of ``lower.Lower`` (see the module's docstring)."""

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

    def call(self, e, at):
        if isinstance(e.func, gast.Call):  # sd.grad(g)(x): the derivative made now, then called as a global one
            made = made_now(self, e.func)
            if made is not None:
                e = gast.Call(func=load(self.func.bind_value(made.__name__, made)), args=e.args, keywords=e.keywords)
        f = e.func
        if (new := rewritten(self, e, at)) is not None:  # np.vectorize, np.fromiter, np.einsum of 3+ (lower_vectorize)
            return self.call(new, at)
        got = self.iterate(self.resolve(f), e, at)  # builtins consuming an iterable: lower_iter
        if got is not None:
            return got
        if isinstance(f, gast.Attribute) and self.resolve(f) is None:  # a method on a local value
            return self.method(e, at)
        fn = self.resolve(f)
        if fn is None:
            raise self.func.error("cannot tell which function this calls (it is a local value)", e,
                                  hint="call a module-level function by name, or pass it through sd.defvjp")
        if neutral(fn):  # printed, logged or warned: run as it is, a constant to every derivative
            e = gast.Call(func=load(self.func.bind_value("neutral_call", neutral_call)), args=[f] + e.args,
                          keywords=e.keywords)
            f, fn = e.func, neutral_call
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
        free = getattr(fn, "sd_free", ())
        if free and len(args) + len(kws) < fn.__code__.co_argcount:  # generated code passes them already
            args += [load(v) for v in free]  # a nested def's enclosing variables
        for i in range(min(array_args(fn), len(e.args))):
            if isinstance(e.args[i], SEQ) or isinstance(e.args[i], gast.Name) and e.args[i].id in self.seqs \
                    or self.makes_list(e.args[i]):
                args[i] = self.as_array(args[i], at)
        node = gast.Call(func=f, args=args, keywords=kws)
        setanno(node, "callee", fn)
        return self.written(node, out, at)

    def unknown_statement(self, e):
        """Refuse a call, made for its effect, of a function that may write into a local value it is given."""
        if isinstance(e.func, gast.Attribute) and self.resolve(e.func) is None:
            return  # a method of a local value: the allow-list in ``method``
        fn = self.resolve(e.func)
        if fn is not None and neutral(fn):
            return
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
        if f.attr in ("sort", "fill", "item", "tolist"):
            return self.write_receiver(e, at) if f.attr in ("sort", "fill") else to_python(self, e, at)
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


def to_python(calls, e, at):
    """``x.item(*index)`` as ``array_item(x, index)`` and ``x.tolist()`` as ``array_tolist(x)`` (``calls``: the
    lowering ``Calls``): helpers with rules (an element, or nested lists differentiated like a list's elements)."""
    if e.keywords or e.func.attr == "tolist" and e.args:
        raise calls.func.error("`.%s()` takes %s" % (e.func.attr, "no arguments" if e.func.attr == "tolist" else
                                                     "positional indices only"), e)
    recv = calls.atom(e.func.value, at, name=True)
    if e.func.attr == "tolist":
        return calls.step(array_tolist, [recv], at)
    index = calls.atom(gast.Tuple(elts=[calls.atom(a, at) for a in e.args], ctx=gast.Load()), at)
    return calls.step(array_item, [recv, index], at)
