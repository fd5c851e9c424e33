"""The compiler in one place: the passes in order, and how generated functions are assembled.

The passes run from the lists below (``FRONT_END``, ``AD``, ``FUNCTION_PASSES``,
``MODULE_PASSES``); adding a pass is one entry there. Each module's docstring has a
Before/After example that ``tests/test_passes.py`` runs.

    f --frontend--> gast FunctionDef (+ globals, closures)        frontend.Func
      --closures--> a lambda given a name is a nested def          closures.closures
      --fence-----> refuse unsupported syntax                      fence.check
      --desugar---> core forms, structured jumps                   desugar.desugar
      --lower-----> three-address IR (validated: SOURCEDIFF_VALIDATE=1) lower.lower, lower.validate
      --ownership-> writes only into owned values, aliases merged  ownership.check
      --forward---> primal + tangent steps       (mode="forward")  forward.Forward (activity.analyse inside)
      --reverse---> primal sweep + adjoint sweep (mode="reverse")  reverse.Reverse (activity, shapes inside)
                    a call of a user function: its pair (or jvp) generated first, same passes
      --optimize--> no zero lines, dead code or copies             optimize.optimize
      --inplace---> owned adjoint accumulators updated with +=     inplace.inplace
      --splice----> callees called once at top level pasted in     splice.splice
      --guard-----> the float fast path hands other calls on       (below)
      --codegen---> Python source                                  codegen.to_source

``SOURCEDIFF_DUMP=lower,reverse,optimize`` (pass names, comma-separated, or ``all``) prints the
code after each named pass to stderr. The front end runs once per function and process, so
its passes print at the first derivative of a function only.
"""
import dataclasses
import os
import sys
import types
from typing import Callable, NamedTuple, Optional, Tuple

import gast

from . import closures, codegen, desugar, fence, lower, optimize as opt, ownership, primitives as P
from .annotations import getanno, setanno
from .inplace import inplace
from .shapes import given_of
from .splice import splice
from .context import Gen
from .forward import Forward
from .frontend import Func, deep_recursion, temporaries_of
from .lower import classify, validate, walk
from .names import Names, assign, call, const, ids, inner_nodes, load, names_in, nodes
from .reverse import Reverse
from .user import CHECKPOINT, is_user_function
from .rules import registry as R


@dataclasses.dataclass(frozen=True)
class Options:
    """How one derivative is generated."""
    optimize: bool = True  # the optimize, inplace and splice passes
    scalar: bool = False  # the float fast path: plain float arithmetic, ``math`` for ``np``
    numpy: bool = False  # a float fast path of code calling NumPy on floats: ``np`` kept, gradients made floats
    batch: bool = False  # forward mode with a batch of tangents (``sd.jvp`` of stacked directions)
    tuple_wrt: bool = False  # the gradient is a tuple (``wrt`` was a tuple)
    suffix: str = ""  # appended to every generated function's name (``_generic`` beside a fast path)
    guard: Optional[Tuple] = None  # (float parameters, generic function): the fast path's first line
    shapes: Optional[Tuple] = None  # one ``runtime.shape_key`` entry per parameter: specialised to them
    backend: str = "python"  # what runs the generated Python: itself, or Numba compiling it (``backend_numba``)

    def __post_init__(self):
        if self.backend not in ("python", "numba"):
            from .errors import SourcediffError
            raise SourcediffError("backend must be 'python' or 'numba', not %r" % (self.backend,),
                                  hint="pass backend='python' (the default) or backend='numba'")


@dataclasses.dataclass(frozen=True)
class Pass:
    """A named pass and when it runs (``on(options)``)."""
    name: str
    run: Callable
    on: Callable = lambda options: True


def _dump(name, *code):
    """Print ``code`` (nodes or source text) after pass ``name`` to stderr when ``SOURCEDIFF_DUMP`` names it."""
    wanted = os.environ.get("SOURCEDIFF_DUMP", "")
    if wanted and (name in wanted.split(",") or wanted == "all"):
        text = "".join(c if isinstance(c, str) else codegen.to_source(c) for c in code)
        sys.stderr.write("# ---- after %s ----\n%s" % (name, text))


def _validating():
    return os.environ.get("SOURCEDIFF_VALIDATE", "").strip().lower() not in ("", "0", "false", "no", "off")


# -- front end: (func, names) -> None, once per function and process ------------------------
FRONT_END = [
    Pass("closures", closures.closures),
    Pass("fence", lambda func, names: fence.check(func)),
    Pass("desugar", desugar.desugar),
    Pass("lower", lower.lower),
    Pass("validate", lambda func, names: validate(func.node), lambda options: _validating()),
    Pass("ownership", ownership.check),
]


def run_front_end(fn, foreign):
    """``fn`` parsed (its module's globals reached when ``foreign``) and through ``FRONT_END``: (func, names)."""
    func = Func(fn)
    if foreign:
        func.reach_globals()
    names = Names(names_in(func.node))  # every name the source uses: fresh names avoid them
    names.temps += sorted(temporaries_of(fn))  # generated code (a derivative of a derivative): its own
    for p in FRONT_END:
        if p.on(None):
            p.run(func, names)
            _dump(p.name, func.node)
    return func, names


def new_gen(options=Options()):
    """The state of one generation, running this module's passes."""
    return Gen(options, run_front_end, _build_callee)


PURE = P.names(P.PURE_CALL)


def _split_return(func):
    body = func.node.body
    assert isinstance(body[-1], gast.Return), "lowered functions end in their only return"
    func.node.body = body[:-1]
    ret = body[-1].value
    if isinstance(ret, gast.Constant) and ret.value is None:
        raise func.error("%s returns no value, so there is nothing to differentiate" % func.name, func.node,
                         hint="return the value to differentiate")
    return ret


def _def(name, params, body, func=None):
    args = gast.arguments(args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None) for p in params],
                          posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    if func is not None and func.node.args.defaults and list(params) == list(func.params):
        args.defaults = func.node.args.defaults  # a seed or tangent after them would take a default instead
    return gast.FunctionDef(name=name, args=args, body=body or [gast.Pass()], decorator_list=[], returns=None,
                            type_comment=None, type_params=[])


def _tuple(elts):
    return elts[0] if len(elts) == 1 else gast.Tuple(elts=list(elts), ctx=gast.Load())


def _pure(gen):
    return PURE | {n for n,
                   o in gen.bindings.items() if getattr(o, "__module__", "").startswith(("numpy", "sourcediff.rules"))}


# -- back end: each generated function, then the module of them ---------------------------------
FUNCTION_PASSES = [
    Pass("optimize", lambda gen, fdef: opt.optimize(fdef, _pure(gen)), lambda o: o.optimize),
    # not in complex mode: a real value's adjoint array may meet a complex contribution (its real part is taken last)
    Pass("inplace", lambda gen, fdef: inplace(fdef), lambda o: o.optimize and not o.scalar and not R.in_complex()),
]


def _finish(gen, fdef, ad):
    """``fdef`` as the AD pass ``ad`` made it, through ``FUNCTION_PASSES``, added to the generation."""
    setanno(fdef, "temporaries", frozenset(gen.names.temps))  # what the optimizer may write into its one read
    _dump(ad, fdef)
    for p in FUNCTION_PASSES:
        if p.on(gen.options):
            p.run(gen, fdef)
            _dump(p.name, fdef)
    gen.defs.append(fdef)
    return fdef


def _splice(gen, defs):
    """Paste in callees called once at top level; optimize the functions that changed again."""
    defs, changed = splice(defs, [v for k, v in gen.pairs.items() if k[0] == "pair"])
    for d in defs:
        if d.name in changed:
            opt.optimize(d, _pure(gen))
    return defs


def _guard(gen, defs):
    """The float fast path's first line: a call whose float parameters are not all floats goes to the generic
    version."""
    floats, generic, numbers = gen.options.guard
    main = defs[0]
    tests = [gast.Compare(left=call("type", load(p)), ops=[gast.Is()], comparators=[load("float")]) for p in floats]
    tests += [gast.Compare(left=call("type", load(g)), ops=[gast.In()],
                           comparators=[gast.Tuple(elts=[load("int"), load("float")], ctx=gast.Load())])
              for g in numbers]
    test = gast.BoolOp(op=gast.And(), values=tests) if len(tests) > 1 else tests[0]
    back = gast.Return(value=call(generic, *[load(a.id) for a in main.args.args]))
    main.body.insert(0, gast.If(test=gast.UnaryOp(op=gast.Not(), operand=test), body=[back], orelse=[]))
    kept = set(floats) - ids(main, gast.Store)  # still the float arguments the guard checked
    for n in nodes(main.body[-1]):  # float(x) of such a parameter is x (NumPy's fast path: _grads)
        for field in ("elts", "args"):
            got = getattr(n, field, None)
            if type(got) is list:
                setattr(n, field, [_float_of(e, kept) for e in got])
    return defs


def _float_of(e, kept):
    """``e``, or ``x`` where ``e`` is ``float(x)`` of a name in ``kept``."""
    if type(e) is gast.Call and getattr(e.func, "id", None) == "float" and len(e.args) == 1 and \
            type(e.args[0]) is gast.Name and e.args[0].id in kept:
        return e.args[0]
    return e


MODULE_PASSES = [  # (gen, defs, main first) -> defs
    Pass("splice", _splice, lambda o: o.optimize),
    Pass("guard", _guard, lambda o: o.guard is not None),
]


def _grads(gen, rv, st, params, wrap, args):
    """The gradient expressions; ``args`` names the argument objects (a reassigned parameter
    no longer holds its argument at the end)."""
    out = []
    for p in params:
        if p in st:
            g = load(rv.a(p))
            if (wrap or p in rv.maybe_zero) and not gen.scalar:
                gen.bind_rt("grad_like")
                g = call("grad_like", g, load(args.get(p, p)))
            elif gen.options.numpy:
                g = call("float", g)  # a NumPy float, as grad_like gives it for a float argument
            out.append(g)
        else:
            gen.bind_rt("zeros_like")
            out.append(call("zeros_like", load(args.get(p, p))))
    return out


def _keep_args(gen, rv, params):
    """``p_arg = p`` at entry for the parameters the body reassigns and does not restore."""
    args = {p: gen.names.fresh(p + "_arg") for p in params if p in rv.sites and not rv.restores(p)}
    return args, [assign(a, load(p)) for p, a in args.items()]


# -- reverse mode -----------------------------------------------------------------------------
def build_reverse(gen, func, wrt, kind, name):
    """``grad`` / ``value_and_grad`` / ``vjp`` of ``func`` w.r.t. parameter indices ``wrt``."""
    params = func.params
    ret = _split_return(func)
    shapes = gen.options.shapes
    rv = Reverse(gen, func, [params[i] for i in wrt], ret, given=shapes and given_of(params, shapes),
                 spread_params=True)  # every gradient goes through grad_like
    extra = []
    if kind == "vjp":
        seed = load(gen.names.fresh("seed"))
        extra = [seed.id]
    elif gen.scalar:
        seed = const(1.0)
    elif _full_sum(func, ret) and not R.in_complex():  # complex mode: seed_one refuses a complex result
        seed = const(1.0)  # what seed_one would give, without keeping the sum for it
    else:
        gen.bind_rt("seed_one")
        seed = call("seed_one", ret)
    prim, adj, st, _ = rv.run(ret, seed)
    if kind != "grad" and isinstance(ret, gast.Name) and rv.restores(ret.id):
        gen.bind_rt("snapshot")  # the adjoint sweep restores overwritten values: keep the result first
        value = gen.names.fresh("value")
        prim.append(assign(value, call("snapshot", ret)))
        ret = load(value)
    args, keep = _keep_args(gen, rv, [params[i] for i in wrt])
    prim = keep + prim
    grads = _grads(gen, rv, st, [params[i] for i in wrt], wrap=not gen.scalar, args=args)
    g = gast.Tuple(elts=grads, ctx=gast.Load()) if gen.options.tuple_wrt else grads[0]
    out = gast.Tuple(elts=[ret, g], ctx=gast.Load()) if kind in ("value_and_grad", "vjp") else g
    return _finish(gen, _def(name, params + extra, prim + adj + [gast.Return(value=out)], func), "reverse")


def _full_sum(func, ret):
    """Is ``ret`` certainly a number: assigned once, by ``np.sum(a)`` or ``np.mean(a)`` over every
    axis, or by negating such a value or combining it with a number constant (``-np.mean(a)``)?"""
    import numpy as np
    defs = [p for p in map(classify, walk(func.node.body)) if p is not None and p.target == getattr(ret, "id", None)]
    if len(defs) != 1 or defs[0].kwargs:
        return False
    p = defs[0]
    if p.key in (np.sum, np.mean):
        return len(p.args) == 1
    num = [isinstance(a, gast.Constant) and type(a.value) in (int, float) for a in p.args]
    names = [a for a, n in zip(p.args, num) if not n]
    return (p.key in ("USub", "UAdd") or p.key in ("Add", "Sub", "Mult", "Div") and any(num)) and \
        len(names) == 1 and isinstance(names[0], gast.Name) and _full_sum(func, names[0])


def build_pair(gen, func, act, fwd, bwd):
    """A user function's split sweeps: ``fwd`` returns (value, residuals), ``bwd`` the adjoints."""
    params = func.params
    ret = _split_return(func)
    rv = Reverse(gen, func, [params[i] for i in act], ret)
    dret = rv.a(ret.id) if isinstance(ret, gast.Name) else gen.names.fresh("dret")
    prim, adj, st, reads = rv.run(ret, None)
    zero = [params[i] for i in act if params[i] not in st and not gen.scalar]  # zeros shaped like these
    args, keep = _keep_args(gen, rv, zero)
    prim = keep + prim
    res = ([rv.tape] if rv.tape else []) + sorted((reads | {args.get(p, p) for p in zero}) - {dret})
    resn = gen.names.fresh("res")
    out = gast.Tuple(elts=[ret, gast.Tuple(elts=[load(r) for r in res], ctx=gast.Load())], ctx=gast.Load())
    _finish(gen, _def(fwd, params, prim + [gast.Return(value=out)]), "reverse")
    unpack = [gast.Assign(targets=[gast.Tuple(elts=[gast.Name(id=r, ctx=gast.Store(), annotation=None,
                                                              type_comment=None) for r in res], ctx=gast.Store())],
                          value=load(resn), type_comment=None)] if res else []
    if zero:
        gen.bind_rt("zeros_like")
    grads = [load(rv.a(p)) if p in st else call("zeros_like", load(args.get(p, p))) if p in zero else const(0.0)
             for p in (params[i] for i in act)]
    _finish(gen, _def(bwd, [resn, dret], unpack + adj + [gast.Return(value=_tuple(grads))]), "reverse")


# -- forward mode -----------------------------------------------------------------------------
def build_forward(gen, func, wrt, kind, name):
    """Seeded forward ``grad`` (one direction per ``wrt`` parameter) of ``func``."""
    params = func.params
    ret = _split_return(func)
    act = [params[i] for i in wrt]
    fw = Forward(gen, func, act, act, ret)
    live = {(p, p) for p in act if p in fw.active}
    if not gen.scalar:
        gen.bind_rt("unit_seed")
    seeds = [assign(fw.t(p, p), const(1.0) if gen.scalar else call("unit_seed", load(p))) for p in act
             if p in fw.active]
    if not gen.scalar:
        gen.bind_rt("seed_one")
    body = seeds + fw.block(func.node.body, live)
    tans = [load(fw.t(ret.id, p)) if isinstance(ret, gast.Name) and (ret.id, p) in live else const(0.0) for p in act]
    g = gast.Tuple(elts=tans, ctx=gast.Load()) if gen.options.tuple_wrt else tans[0]
    out = gast.Tuple(elts=[ret, g], ctx=gast.Load()) if kind == "value_and_grad" else g
    check = [] if gen.scalar else [gast.Expr(value=call("seed_one", ret))]  # refuse a non-scalar output
    return _finish(gen, _def(name, params, body + check + [gast.Return(value=out)], func), "forward")


def build_jvp(gen, func, act, name):
    """Forward mode: ``name(*params, *tangents) -> (value, tangent)``; one direction, or with
    ``gen.batch`` a batch of them (every tangent has a leading batch axis, see ``rules/batched.py``)."""
    params = func.params
    ret = _split_return(func)
    ap = [params[i] for i in act]
    fw = Forward(gen, func, ap, [None], ret)
    tparams = [fw.t(p, None) for p in ap]
    live = {(p, None) for p in ap}
    body = fw.block(func.node.body, live)
    tan = load(fw.t(ret.id, None)) if isinstance(ret, gast.Name) and (ret.id, None) in live else const(0.0)
    out = gast.Tuple(elts=[ret, tan], ctx=gast.Load())
    return _finish(gen, _def(name, params + tparams, body + [gast.Return(value=out)]), "forward")


def _forward(gen, func, wrt, kind, name):
    """Forward mode: ``jvp``/``bjvp`` (tangents as parameters) or a seeded ``grad``."""
    if kind in ("jvp", "bjvp"):
        return build_jvp(gen, func, wrt, name)
    return build_forward(gen, func, wrt, kind, name)


AD = {"forward": _forward, "reverse": build_reverse}  # mode -> (gen, func, wrt, kind, name) -> the main function
CALLEES = {"pair": lambda gen, func, act, names: build_pair(gen, func, act, *names),  # kind -> its AD pass
           "jvp": build_jvp, "bjvp": build_jvp}


def _build_callee(gen, key, func, names):
    kind, _, act = key
    CALLEES[kind](gen, func, act, names)


# -- entry points -----------------------------------------------------------------------------
def lowered_source(fn):
    """``sd.lower``: the three-address form of ``fn`` as source text."""
    with deep_recursion():
        gen = new_gen()
        func = gen.prepare(fn)
        validate(func.node)
        return codegen.to_source(func.node)


class ScalarPath(NamedTuple):
    """Where a float fast path is built: the parameters it needs floats for, and whether the code calls NumPy's
    functions on floats (``_numpy_on_floats``), which the fast path then keeps."""
    floats: list
    numpy: bool
    numbers: tuple = ()  # globals read as numbers: the guard checks their type too


def scalar_params(fn, wrt):
    """The ``ScalarPath`` of ``fn``, or None when ``fn`` (or a function it calls) uses anything but Python scalar
    arithmetic, ``math`` and NumPy's elementwise functions on numbers (``np.sin``)."""
    from .activity import analyse
    gen = new_gen()
    seen, todo, top, numpy, numbers = set(), [fn], [], False, set()
    while todo:  # every step of every function reached must be scalar (most code fails fast here)
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        func = gen.peek(f)  # only read here
        local = ids(func.node, gast.Store) | set(func.params)
        for s in walk(func.node.body):
            p = classify(s)
            if p is None:
                continue
            for n in (n for a in p.args for n in nodes(a) if isinstance(n, gast.Name) and n.id not in local):
                value = getattr(f, "__globals__", {}).get(n.id)
                if type(value) in (int, float) and f is fn:
                    numbers.add(n.id)  # the guard checks it is still a number when the derivative runs
                elif not isinstance(value, types.ModuleType):
                    return None  # an array, a callee's global, a closure's value: known only when it runs
            k = p.key
            if any(isinstance(a, gast.Constant) and a.value is None for a in p.args):
                return None  # `return None` or running off the end: the generic path's check refuses a None result
            if isinstance(k, CHECKPOINT) or is_user_function(k):
                todo.append(k.fn if isinstance(k, CHECKPOINT) else k)
            elif _numpy_on_floats(p):
                numpy = True
            elif not (isinstance(k, str) and k in SCALAR_KEYS or _scalar_fn(k)) or not _real_pow(p):
                return None
            if f is fn:
                top.append(p)
    func = gen.prepare(fn)
    active = analyse(func.node, [func.params[i] for i in wrt], gen.diff_positions, func.node.body[-1].value)
    out = {n.id for p in top if p.target in active for i in gen.diff_positions(p) if isinstance(i, int)
           and i < len(p.args)
           for n in nodes(p.args[i]) if isinstance(n, gast.Name)} & set(func.params)
    if any(n.id in set(func.params) - out for p in top if not _ends_complex(p) for a in p.args for n in nodes(a)
           if isinstance(n, gast.Name)):
        return None  # a parameter not checked to be a float, carried into arithmetic: it might be complex
    floats = [p for p in func.params if p in out]
    return ScalarPath(floats, numpy, tuple(sorted(numbers))) if floats else None


def _numpy_on_floats(p):
    """Is step ``p`` a call of an elementwise NumPy ufunc with one output on its operands alone (no ``out=``,
    ``dtype=``)? On floats it gives a NumPy float, so every value its rule makes is a number too."""
    import numpy as np
    k = p.key
    return isinstance(k, np.ufunc) and k.nout == 1 and k.signature is None and not p.kwargs and len(p.args) == k.nin


def _real_pow(p):
    """Is step ``p``, if a power, real for real operands? ``x ** 0.5`` is complex for a negative float ``x``
    (the float fast path has no other way to a complex number); ``x ** 2`` is not."""
    import builtins
    if p.key not in ("Pow", builtins.pow):
        return True
    e = p.args[1] if len(p.args) == 2 else None
    return isinstance(e, gast.Constant) and type(e.value) is int


def _ends_complex(p):
    """Does step ``p`` give a real result (or an error) for a complex operand? Python arithmetic carries a
    complex number on; ``math``, ``float``, ``int``, comparisons... refuse it or give a real result."""
    import builtins
    import numpy as np
    return p.key not in ("copy", "Add", "Sub", "Mult", "Div", "Pow", "USub", "UAdd", "And", "Or", builtins.pow) and \
        not is_user_function(p.key) and not isinstance(p.key, CHECKPOINT) and not isinstance(p.key, np.ufunc)


SCALAR_KEYS = P.keys(P.SCALAR)


def _scalar_fn(k):
    import builtins
    import math
    return getattr(k, "__module__", None) == "math" or getattr(math, getattr(k, "__name__", ""), None) is k or \
        getattr(k, "sd_scalar", False) or \
        k in (builtins.abs, builtins.min, builtins.max, builtins.pow, builtins.float, builtins.int, builtins.round,
              builtins.range, builtins.len, builtins.print, builtins.bool)


def generate(fn, wrt, kind, mode, **options):
    """(source text, main function name, bindings, shaped) of one derivative of ``fn``; ``options``
    are ``Options`` fields (``shapes`` specialises it to arguments of those shapes). ``shaped`` says
    where the main function calls shape helpers, which a specialised version can leave out:
    ``"loop"`` (in a loop), ``"flat"`` (only outside loops) or ``""`` (nowhere)."""
    gen = new_gen(Options(batch=kind == "bjvp", **options))
    func = gen.prepare(fn)
    name = gen.fn_name("%s_%s" % (func.name, kind))
    AD[mode](gen, func, wrt, kind, name)
    defs = [gen.defs.pop()] + gen.defs
    for p in MODULE_PASSES:
        if p.on(gen.options):
            defs = p.run(gen, defs)
            _dump(p.name, *defs)
    main = defs[0]
    src = "\n\n".join(codegen.to_source(d).rstrip() for d in defs) + "\n"
    _dump("codegen", src)
    helper = lambda n: type(n) is gast.Call and getattr(n.func, "id", None) in SHAPE_HELPERS  # noqa: E731
    every = inner_nodes(main) if mode == "reverse" else []
    loops = [n for s in every if type(s) in (gast.For, gast.While) for n in inner_nodes(s)]
    shaped = "loop" if any(map(helper, loops)) else "flat" if any(map(helper, every)) else ""
    temps = {d.name: frozenset(getanno(d, "temporaries", frozenset())) for d in defs}
    return Generated(src, name, gen.bindings, shaped, temps)


class Generated(NamedTuple):
    """One derivative's module: its text, the main function's name, the objects the text's free names are bound
    to, where it calls shape helpers (``generate``), each def's compiler temporaries (which a derivative of
    the generated code treats as its own: ``run_front_end``) and, where the main function is a float fast path,
    its guard: (the parameters it sends on unless all are floats, the function it sends them to)."""
    source: str
    main: str
    bindings: dict
    shaped: str
    temporaries: dict
    guard: Optional[Tuple] = None


SHAPE_HELPERS = P.names(P.SHAPE_HELPER)  # what a specialised derivative can leave out

