"""Fence: refuse, with a located SourcediffError, syntax sourcediff cannot differentiate.

Takes a ``Func``; gives nothing (raises on the first refused construct).

Before::

    def f(x):
        yield x

Refused::

    `yield` (generators) cannot be differentiated
        yield x
        ^
    hint: return a value (or a list of values) instead
"""
import gast

from . import neutral, unbound
from .annotations import setanno
from .names import bfs
from .rules import registry as R

_REFUSED = {
    gast.Yield: ("`yield` (generators) cannot be differentiated", "return a value (or a list of values) instead"),
    gast.YieldFrom: ("`yield from` cannot be differentiated", "return a value instead"),
    gast.Await: ("`await` cannot be differentiated", "differentiate a synchronous function"),
    gast.AsyncFunctionDef: ("async functions cannot be differentiated", "write a plain `def`"),
    gast.AsyncFor: ("`async for` cannot be differentiated", "use a plain `for` loop"),
    gast.AsyncWith: ("`async with` cannot be differentiated", "move it outside the differentiated function"),
    gast.Try: ("`try` statements cannot be differentiated",
               "move the error handling outside the differentiated function"),
    gast.With: ("`with` statements cannot be differentiated, but for value-neutral context managers (np.errstate "
                "with no 'raise' or 'call' setting, np.printoptions, warnings.catch_warnings() with no `as`, "
                "contextlib.nullcontext())",
                "move the context manager outside the differentiated function"),
    gast.Global: ("`global` writes cannot be differentiated", "return the value instead of assigning a global"),
    gast.Nonlocal: ("`nonlocal` writes cannot be differentiated",
                    "return the value instead of assigning an enclosing variable"),
    gast.ClassDef: ("classes defined inside a differentiated function are not supported",
                    "define the class at module level"),
    gast.Delete: ("`del` is not supported in differentiated code", "leave the name unused instead"),
    gast.Import: ("imports inside a differentiated function are not supported", "import at module level"),
    gast.ImportFrom: ("imports inside a differentiated function are not supported", "import at module level"),
    gast.NamedExpr: ("assignment expressions (`:=`) are not supported", "assign on a separate line"),
    gast.Set: ("sets are not supported in differentiated code", "use a list or tuple"),
    gast.SetComp: ("set comprehensions are not supported", "use a list comprehension"),
    gast.Starred: ("starred expressions (`*args`) are not supported", "pass the arguments one by one"),
}
if hasattr(gast, "Match"):
    _REFUSED[gast.Match] = ("`match` statements are not supported", "use `if`/`elif`")
if hasattr(gast, "TryStar"):
    _REFUSED[gast.TryStar] = _REFUSED[gast.Try]

_CALLS = {"exec": "exec", "eval": "eval", "compile": "compile", "globals": "globals", "locals": "locals",
          "vars": "vars",
          "setattr": "setattr", "delattr": "delattr", "open": "open", "input": "input"}


def check(func):
    """Raise a located SourcediffError on the first construct sourcediff refuses."""
    node = func.node
    a = node.args
    if a.vararg or a.kwarg or a.kwonlyargs:
        raise func.error("*args, **kwargs and keyword-only parameters are not supported in differentiated functions",
                         node, hint="give every parameter a name before any `*`")
    applied = _applied(node)
    for n in bfs(node):  # gast.walk's order: the first construct refused is the one named
        if n is not node and isinstance(n, gast.FunctionDef):
            _check_nested(func, node, n, applied)
        if isinstance(n, gast.Lambda) and n is not node and id(n) not in applied:
            raise func.error("lambdas inside a differentiated function are not supported", n,
                             hint="define the function at module level (or pass the lambda itself to sd.grad)")
        hit = _REFUSED.get(type(n))
        if hit and isinstance(n, gast.With) and all(neutral.context(func, item) for item in n.items):
            hit = None  # a value-neutral context manager: its body (desugar.py)
        if hit:
            raise func.error(hit[0], n, hint=hit[1])
        if isinstance(n, (gast.For, gast.While)) and n.orelse:
            raise func.error("`for`/`while` with an `else:` clause is not supported", n,
                             hint="use a flag variable and an `if` after the loop")
        if isinstance(n, gast.Call):
            if isinstance(n.func, gast.Name) and n.func.id in _CALLS:
                raise func.error("`%s` cannot be differentiated" % n.func.id, n,
                                 hint="compute the value directly in Python code")
            if any(k.arg is None for k in n.keywords):
                raise func.error("`**kwargs` in calls is not supported", n, hint="pass keyword arguments by name")
        if isinstance(n, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
            for t in (n.targets if isinstance(n, gast.Assign) else [n.target]):
                for sub in gast.walk(t):
                    if isinstance(sub, gast.Attribute) and isinstance(sub.ctx, gast.Store):
                        raise func.error("assigning to an attribute (mutating an object the function does not own) "
                                         "cannot be differentiated", sub, hint="return the new value instead")
        if isinstance(n, gast.Constant) and isinstance(n.value, complex) and getattr(func, "complex_at", None) is None:
            func.complex_at = n  # refused where it is built outside complex mode (``refuse_complex_literal``)
    read = unbound.first_unbound(node)
    if read is not None:  # the function always raises there; a derivative dropping it as dead code would not
        raise func.error("`%s` is read before it is assigned (calling %s raises UnboundLocalError here)"
                         % (read.id, node.name), read, hint="assign it before this line")


def refuse_complex_literal(func):
    """Refuse ``func``'s complex literal where its derivative is built outside complex mode (the front end
    runs once per process and function; the mode is the build's)."""
    at = getattr(func, "complex_at", None)
    if at is not None and not R.in_complex():
        raise func.error("complex numbers are not supported here (this derivative is not built in complex mode)",
                         at, hint="split into real and imaginary parts")


_APPLIERS = {"map": "args", "filter": "args", "sorted": "key", "max": "key", "min": "key"}


def _applied(node):
    """The ids of the expressions given straight to ``map``/``filter`` (first argument) or as ``sorted``/``max``/
    ``min``'s ``key=``: lowering calls them where the builtin would (``lower_iter``), so a lambda or a nested
    ``def`` may be given there; if the name is no such builtin, lowering refuses a lambda."""
    out = set()
    for n in gast.walk(node):
        if isinstance(n, gast.Call) and isinstance(n.func, gast.Name) and n.func.id in _APPLIERS:
            given = n.args[:1] if _APPLIERS[n.func.id] == "args" else [k.value for k in n.keywords if k.arg == "key"]
            out |= {id(v) for v in given}
        if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) and n.func.attr == "vectorize" and n.args:
            out.add(id(n.args[0]))  # np.vectorize(lambda t: ...)(x): inlined into a comprehension (lower_vectorize)
    return out


def _check_nested(func, outer, inner, applied=()):
    """A nested ``def``: plain, at the top of the body. The enclosing function's variables it reads
    (its ``free`` annotation) become extra parameters that every call passes (lowering), so it may only
    be called, not passed around as a value."""
    if inner.decorator_list or inner.args.defaults or inner not in outer.body:
        raise func.error("only plain nested `def`s at the top of the function body (no decorators or defaults) "
                         "are supported", inner, hint="define the helper at module level and call it")
    stores = {n.id for n in gast.walk(outer) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    if sum(isinstance(s, gast.FunctionDef) and s.name == inner.name for s in outer.body) > 1 or inner.name in stores:
        raise func.error("the nested function name `%s` is defined or assigned more than once" % inner.name, inner,
                         hint="give each nested function its own name")
    outer_locals = {a.id for a in outer.args.args} | stores
    own = {a.id for a in inner.args.args} | {n.id for n in gast.walk(inner) if isinstance(n, gast.Name)
                                             and isinstance(n.ctx, gast.Store)}
    free = tuple(sorted({n.id for n in gast.walk(inner) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
                        & outer_locals - own))
    setanno(inner, "free", free)
    if free:
        calls = {id(n.func) for n in gast.walk(outer) if isinstance(n, gast.Call)} | set(applied)
        for n in gast.walk(outer):
            if isinstance(n, gast.Name) and n.id == inner.name and id(n) not in calls:
                raise func.error("the nested function `%s` reads `%s` from the enclosing function, so it can only be "
                                 "called here, not used as a value" % (inner.name, free[0]), n,
                                 hint="call it directly, or pass `%s` as an argument" % free[0])
