"""The state of one derivative generation: names, bindings, callee functions, rule lookup.

A ``Gen`` is shared by every function generated for one request (the differentiated
function and the pairs of the user functions it calls), so callees are generated once
and recursion finds the names it needs before the body exists. The pipeline makes it
(``pipeline.new_gen``) and hands it the two things it runs: the front-end passes
(``prepare``) and the AD pass of a callee (``pair_of``, ``jvp_of``). So this module never
imports the pipeline.
"""
import builtins
import copy
import functools
import inspect

import gast

from . import fence, primitives as P, user
from .names import clone
from .rules import registry as R

NONDIFF_ATTR_KEYS = P.keys(P.CONSTANT_ATTR)
STRUCT = P.by_name(P.STRUCT)


# what the user declares lives in ``user`` (below ``effects`` and ``lower``); the passes import it from here too
CHECKPOINT, USER_VJP, USER_JVP, is_user_function = user.CHECKPOINT, user.USER_VJP, user.USER_JVP, user.is_user_function

_FRONT = {}  # (function, code) -> its lowered form, shared by every generation in this process


@functools.lru_cache(maxsize=None)
def _helper_names():
    """Names generated code may bind helpers under (a function ``setitem`` must not get the
    name ``setitem_vjp`` that the runtime helper of that name is bound under)."""
    from .rules import helper_modules
    return frozenset(n for m in helper_modules() for n in vars(m))


def _globals_of(fn):
    fn = getattr(fn, "sd_generated", fn)
    return getattr(getattr(fn, "__func__", fn), "__globals__", None)


class Gen:
    """One generation: ``options`` (a ``pipeline.Options``), ``front_end(fn, foreign) -> (func, names)``
    (the front-end passes, run once per function and process) and ``build_callee(gen, key, func, names)``
    (the AD pass of a callee, ``key`` being ``(kind, fn, act)``)."""

    def __init__(self, options, front_end, build_callee):
        self.options, self._front_end, self._build_callee = options, front_end, build_callee
        self.bindings, self.defs, self.pairs, self.funcs = {}, [], {}, {}
        self.fn_names = set()
        self.sources = {}
        self.home = None  # the globals of the first function prepared: those generated code runs in

    optimize = property(lambda self: self.options.optimize)
    scalar = property(lambda self: self.options.scalar)  # the float fast path
    batch = property(lambda self: self.options.batch)  # tangents carry a batch axis

    # -- functions ---------------------------------------------------------------------------
    def prepare(self, fn):
        """``fn`` after the front-end passes (run once per process); a fresh copy each call."""
        func = self.peek(fn)
        fresh = copy.copy(func)
        fresh.node = clone(func.node)
        self.names = self.funcs[fn][1].copy()
        return fresh

    def peek(self, fn):
        """``fn`` after the front-end passes, shared: to read, never to change (``prepare`` gives a copy)."""
        if fn not in self.funcs:
            g = _globals_of(fn)
            self.home = self.home if self.home is not None else g  # the globals the derivative runs in
            foreign = g is not None and g is not self.home
            key = (fn, getattr(fn, "__code__", None), foreign)
            if key not in _FRONT:
                _FRONT[key] = self._front_end(fn, foreign)
            func, names = self.funcs[fn] = _FRONT[key]
            fence.refuse_complex_literal(func)
            self.sources[fn] = func.source
            for n, v in func.closure_names().items():
                self.bind(n, v)
        return self.funcs[fn][0]

    def fn_name(self, base):
        base += self.options.suffix
        name, k = base, 1
        while name in self.fn_names or name in self.bindings or name in _helper_names():
            name, k = "%s_%d" % (base, k), k + 1
        self.fn_names.add(name)
        return name

    def bind(self, name, obj):
        if name in self.bindings and self.bindings[name] is not obj:
            raise AssertionError("two helpers named %s" % name)
        self.bindings[name] = obj

    def bind_rt(self, name):
        """Bind a helper of ``sourcediff.runtime`` (or ``runtime_batched``) under its own name."""
        from . import runtime, runtime_batched
        self.bind(name, vars(runtime)[name] if name in vars(runtime) else vars(runtime_batched)[name])

    def bind_user(self, rule, kind):
        """The name generated code calls a user rule (``sd.defvjp``/``sd.defjvp``) by."""
        for n, obj in self.bindings.items():
            if obj is rule:
                return n
        name = self.fn_name("%s_%s" % (kind, getattr(rule, "__name__", "rule").replace("<lambda>", "rule")))
        self.bind(name, rule)
        return name

    def bind_call(self, fn, args, kwargs, func, node):
        """[(parameter index, atom)] for every parameter of user function ``fn`` at a call."""
        code = fn.__code__
        if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_kwonlyargcount:
            raise func.error("calls of %s, which takes *args, **kwargs or keyword-only parameters, are not supported "
                             "in differentiated code" % fn.__name__, node,
                             hint="give it plain parameters, or differentiate it directly (sd.grad(%s))" % fn.__name__)
        params = code.co_varnames[:code.co_argcount]
        defaults = fn.__defaults__ or ()
        first_default = len(params) - len(defaults)
        if len(args) > len(params) or set(kwargs) - set(params):
            raise func.error("this call does not match the parameters of %s" % fn.__name__, node)
        out = []
        for i, p in enumerate(params):
            if i < len(args):
                out.append((i, args[i]))
            elif p in kwargs:
                out.append((i, kwargs[p]))
            elif i >= first_default:
                val = defaults[i - first_default]
                if val is None or isinstance(val, (bool, int, float, str)):
                    out.append((i, gast.Constant(value=val, kind=None)))
                else:
                    name = "%s_%s_default" % (fn.__name__, p)
                    self.bind(name, val)
                    out.append((i, gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)))
            else:
                raise func.error("missing argument `%s` in this call of %s" % (p, fn.__name__), node)
        return out

    def pair_of(self, fn, act):
        """Names of the generated (fwd, bwd) pair of user function ``fn``, active parameters ``act``."""
        return self._callee(("pair", fn, act), fn,
                            lambda: (self.fn_name(fn.__name__ + "_fwd"), self.fn_name(fn.__name__ + "_bwd")))

    def jvp_of(self, fn, act):
        """Name of the generated forward function (batched in a batched generation) of user function ``fn``."""
        kind = "bjvp" if self.batch else "jvp"
        return self._callee((kind, fn, act), fn, lambda: self.fn_name("%s_%s" % (fn.__name__, kind)))

    def _callee(self, key, fn, names):
        """Generate a callee at its first request (its defs go before the caller's, as the output lists them)."""
        if key not in self.pairs:
            self.pairs[key] = names()  # named before its body exists, so recursion finds it
            saved = self.names
            self._build_callee(self, key, self.prepare(fn), self.pairs[key])
            self.names = saved
        return self.pairs[key]

    def inline(self, rule, table, head, args, kwargs, ans, want, where):
        """``inline.inline`` in this generation's mode (float fast path or generic)."""
        if self.scalar:
            import math
            self.bind("math", math)
        from .inline import inline
        return inline(rule, table, self, head, args, kwargs, ans, want, self.scalar, where,
                      to_math=self.scalar and not self.options.numpy)

    # -- rules -------------------------------------------------------------------------------
    def diff_positions(self, p):
        """Indices (and keyword names) of a step's differentiable operands."""
        k = p.key
        if isinstance(k, str):
            if k in STRUCT:
                pos = STRUCT[k]
                return list(range(len(p.args))) if pos is None else pos
            if k in NONDIFF_ATTR_KEYS and not R.has_complex_rule(k) or R.is_nondiff(k):
                return []  # not x.imag: constant for a real x, not for a complex one (its rule is complex mode's)
            if k.startswith("attr."):  # a structured value's field (lower.field_read); any other attribute is refused
                return [0]
            rule = R.lookup(R.VJP, k)
            return list(range(R.n_diff_args(R.VJP, rule))) if rule else list(range(len(p.args)))
        if k is None or R.is_nondiff(k) or k in (builtins.len, builtins.range, builtins.print):
            return []
        rule = R.lookup(R.VJP, k)
        if rule is not None:
            _, _, _, outs = R.parsed(rule)
            n = R.n_diff_args(R.VJP, rule)
            # an argument past the rule's differentiable ones counts too: the modes refuse it when it is active
            # (not for our own helpers, whose trailing arguments are read only for their shape or structure);
            # so does a refused argument (``rules.refuse``) and a differentiable parameter passed by keyword
            params = R.parsed(rule)[0][2:]
            last = n if ours(k) else max(n, len(p.args))
            return [i for i in range(last) if i >= n or R.refused(k, (i,)) or
                    not (isinstance(outs[i], gast.Constant) and outs[i].value is None)] + \
                [kw for kw in p.kwargs if kw in params[:n]]
        return list(range(len(p.args))) + list(p.kwargs)


# -- errors shared by the passes -------------------------------------------------------------
def missing_rule(func, node, key):
    name = getattr(key, "__name__", str(key))
    mod = getattr(key, "__module__", None) or ""
    full = getattr(key, "sd_what", None) or (("%s.%s" % (mod, name)) if mod and mod != "builtins" else name)
    if R.refused(key, ("*",)):
        return refusal(func, node, key, "*")
    return func.error("no derivative rule for `%s`, and it has no Python source to differentiate" % full, node,
                      hint="register rules with sd.defvjp(%s, ...) and sd.defjvp(%s, ...), or wrap its "
                           "arguments in sd.stop_gradient(...) if no derivative should flow through it" % (name, name))


def ours(key):
    """Is ``key`` one of sourcediff's own helpers (which generated derivative code calls)?"""
    return (getattr(key, "__module__", None) or "").startswith("sourcediff.")


def no_derivative_of_arg(key, i):
    """The message refusing a differentiated value passed as argument ``i``, which ``key``'s rule treats as constant."""
    return "argument %d of `%s` depends on a differentiated value, and its rule has no derivative for it" % (
        i + 1, getattr(key, "__name__", key))


def refusal(func, node, key, i):
    """The located error for a derivative through argument ``i`` of ``key`` that ``rules.refuse`` declared."""
    name = getattr(key, "__qualname__", None) or getattr(key, "__name__", str(key))
    what = "`%s`" % name if i == "*" else "argument %d of `%s`" % (i + 1, name)
    return func.error("cannot differentiate through %s: %s" % (what, R.refused(key, (i,))), node,
                      hint="wrap that argument in sd.stop_gradient(...) if no derivative should flow through it")


def check_refused(func, node, key, want):
    """Raise the located refusal when a wanted (active) argument of ``key`` is declared underivable,
    or (complex mode) when ``key``'s rule is not declared right for complex values."""
    for i in want:
        if R.refused(key, (i,)):
            raise refusal(func, node, key, i)
    if want and R.in_complex() and not R.is_complex_ok(key):
        name = getattr(key, "__qualname__", None) or getattr(key, "__name__", str(key))
        raise func.error("`%s` is not differentiated for complex numbers (its rule is known right for real values "
                         "only)" % name, node, hint="split the complex values into real and imaginary parts here")


def index_value(idx):
    """An index node as an expression value: slices become ``slice(...)`` calls."""
    if isinstance(idx, gast.Slice):
        return gast.Call(func=gast.Name(id="slice", ctx=gast.Load(), annotation=None, type_comment=None),
                         args=[clone(getattr(idx, k)) if getattr(idx, k) is not None
                               else gast.Constant(value=None, kind=None)
                               for k in ("lower", "upper", "step")], keywords=[])
    if isinstance(idx, gast.Tuple):
        return gast.Tuple(elts=[index_value(x) for x in idx.elts], ctx=gast.Load())
    return clone(idx)
