"""Closures: a lambda given a name inside the differentiated function becomes a nested ``def``.

Takes a parsed ``Func``; gives it with each top-level statement ``name = lambda params: body``, where
``name`` is assigned nowhere else and is no parameter, replaced by ``def name(params): return body``.
A nested ``def`` is then what the fence and lowering know: the enclosing variables it reads are passed
to every call, as the closure would see them when called (fence.py, lower.py). Any other lambda is
left for the fence (refused unless ``map``/``filter``/``key=`` applies it: lower_iter.py).

Before::

    def f(x, k):
        scale = lambda v: k * v * v
        return scale(x) + scale(2.0)

After::

    def f(x, k):

        def scale(v):
            return k * v * v
        return scale(x) + scale(2.0)
"""
import gast

from .annotations import setanno
from .names import call, clone, ids, load


def applied(func, names, f, n, at):
    """(parameter names, body) of calling ``f`` on ``n`` values where ``map``/``filter``/``key=`` would: a lambda's
    own parameters and body, or fresh names and the call ``f(v1, ..., vn)`` of the function ``f`` names."""
    if isinstance(f, gast.Lambda):
        a = f.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs or len(a.args) != n:
            raise func.error("this lambda takes other parameters than the %d value%s it is called with here"
                             % (n, "" if n == 1 else "s"), f, hint="give it exactly that many parameters")
        return [p.id for p in a.args], clone(f.body)
    params = [names.fresh("item") for _ in range(n)]
    body = call(clone(f), *[load(v) for v in params])
    for x in gast.walk(body):
        if getattr(x, "lineno", None) is None and isinstance(x, (gast.expr, gast.stmt)):
            gast.copy_location(x, at)
    return params, body


def closures(func, names):
    """Rewrite ``func.node``'s named lambdas in place (see the module docstring)."""
    node = func.node
    params = {a.id for a in node.args.args}
    stores = [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]
    body = []
    for s in node.body:
        tg = s.targets[0] if isinstance(s, gast.Assign) and len(s.targets) == 1 else None
        if isinstance(tg, gast.Name) and isinstance(s.value, gast.Lambda) and tg.id not in params \
                and stores.count(tg.id) == 1 and tg.id not in ids(s.value):
            lam = s.value
            ret = gast.copy_location(gast.Return(value=lam.body), lam.body)
            s = gast.copy_location(gast.FunctionDef(name=tg.id, args=lam.args, body=[ret], decorator_list=[],
                                                    returns=None, type_comment=None, type_params=[]), lam)
            setanno(s, "lambda")  # no `def` in the file: frontend.Func takes this tree (local_function)
        body.append(s)
    node.body = body
    return node
