"""Reads of a local before any assignment to it, on the path every call runs.

``first_unbound(node)`` takes a function definition and gives the first ``Name`` load of one of its
locals that comes, on the statements every call runs (the function's own top-level statements, outside
branches, loops, conditional expressions and short-circuit operands), before every assignment to that
name; or None. Calling the function always raises ``UnboundLocalError`` there. The derivative must not
drop that statement as dead code and return a value: ``fence`` refuses it instead.

    def f(x):                    first_unbound -> the `y` in `msg = str(y)`
        msg = str(y)
        y = x * 2.0
        return y
"""
import gast

_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef, gast.ListComp, gast.SetComp,
           gast.DictComp, gast.GeneratorExp)
_BRANCHES = (gast.If, gast.For, gast.AsyncFor, gast.While, gast.With, gast.AsyncWith, gast.Try)


def _stores(node):
    """The names a function's own scope assigns (not its nested functions', lambdas' or comprehensions')."""
    out, todo = set(), list(node.body)
    while todo:
        n = todo.pop()
        if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
            out.add(n.id)
        if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            out.add(n.name)
            continue
        if isinstance(n, (gast.Global, gast.Nonlocal)):
            out -= set(n.names)
        if not isinstance(n, _SCOPES):
            todo.extend(gast.iter_child_nodes(n))
    return out


def _params(args):
    names = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    return {a.id for a in names}


def first_unbound(node):
    """The first read of a local before it is assigned, on the statements every call runs (None: none)."""
    local, bound = _stores(node) - _params(node.args), set(_params(node.args))
    for s in node.body:
        if isinstance(s, _BRANCHES):
            hit = _in_expr(getattr(s, "test", None) or getattr(s, "iter", None), local, bound)
            if hit is not None:
                return hit
            bound |= _stores(gast.Module(body=[s], type_ignores=[]))  # assigned (perhaps) from here on
            continue
        if isinstance(s, (gast.Assign, gast.AugAssign, gast.AnnAssign)):  # the value runs before the store
            hit = _in_expr(s.value, local, bound)
            if hit is None and isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
                hit = s.target if s.target.id in local and s.target.id not in bound else None
            for t in (s.targets if isinstance(s, gast.Assign) else [s.target]):
                if hit is None and not isinstance(t, gast.Name):
                    hit = _in_expr(t, local, bound)  # `d[k] = v` reads d and k
        else:
            hit = _in_expr(s, local, bound)
        if hit is not None:
            return hit
        bound |= _stores(gast.Module(body=[s], type_ignores=[]))
    return None


def _in_expr(e, local, bound):
    """The first load in ``e`` (on the part of it that always runs) of a name in ``local`` not in ``bound``."""
    if e is None or isinstance(e, _SCOPES):
        return None
    if isinstance(e, gast.Name):
        return e if isinstance(e.ctx, gast.Load) and e.id in local and e.id not in bound else None
    if isinstance(e, gast.NamedExpr):  # `(y := v)`: y is bound for what follows
        hit = _in_expr(e.value, local, bound)
        bound.add(e.target.id)
        return hit
    if isinstance(e, gast.IfExp):
        return _in_expr(e.test, local, bound)
    if isinstance(e, gast.BoolOp):
        return _in_expr(e.values[0], local, bound)
    for c in gast.iter_child_nodes(e):
        hit = _in_expr(c, local, bound)
        if hit is not None:
            return hit
    return None
