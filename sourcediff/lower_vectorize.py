"""Calls lowering rewrites into forms it already differentiates (``lower_calls.Calls.call``):

* ``np.einsum("...", a, b, c, ...)`` of three to five operands (literal subscripts) is ``einsum_many``'s call
  (``rules/numpy_stats.py``), one rule of a fixed arity;
* ``np.fromiter(it, dtype)`` with a float ``dtype`` is ``np.array(list(it), dtype=dtype)`` (``count`` refused);
* ``np.vectorize(f)(x, y, ...)``, ``f`` a function or a lambda of as many parameters, is a comprehension over the
  elements of the broadcast arguments, each ``f``'s result checked to be a number (``of_type``: a tuple or an
  array from ``f`` is refused where it runs), reshaped to the arguments' broadcast shape::

      np.reshape(np.array([of_type(f(a, b), NUMBER, error) for a, b in zip(np.ravel(x + z), np.ravel(y + z))]),
                 np.shape(z))     # z = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(y)))

Every other form of them is refused at the user's line.
"""
import numbers

import gast
import numpy as np

from . import effects
from .names import load
from .rules.helpers import of_type
from .rules.numpy_stats import einsum_many

FLOAT_DTYPES = ("float", "float64", "f8", "d", "float32", "f4", "double")
NUMBER = (numbers.Number, np.generic)


def _np(attr, *args, **kws):
    return gast.Call(func=gast.Attribute(value=load("np"), attr=attr, ctx=gast.Load()), args=list(args),
                     keywords=[gast.keyword(arg=k, value=v) for k, v in kws.items()])


def _float_dtype(calls, node):
    """Does ``node`` name a float dtype (``float``, ``np.float64``, ``"f8"``, ...)?"""
    if isinstance(node, gast.Constant) and isinstance(node.value, str):
        return node.value in FLOAT_DTYPES
    obj = calls.resolve(node)
    return obj is float or obj in (np.float64, np.float32, np.double)


def fromiter(calls, e):
    """``np.fromiter(it, dtype)`` as ``np.array(list(it), dtype=dtype)``, or a located refusal."""
    kws = {k.arg: k.value for k in e.keywords}
    args = list(e.args) + ([kws.pop("dtype")] if "dtype" in kws and len(e.args) == 1 else [])
    if len(args) != 2 or kws or not _float_dtype(calls, args[1]):
        raise calls.func.error("np.fromiter is differentiated with an iterable and a float dtype only", e,
                               hint="np.fromiter(values, dtype=float), or np.array([...])")
    listed = gast.Call(func=load("list"), args=[args[0]], keywords=[])
    return gast.copy_location(_np("array", listed, dtype=args[1]), e)


def _lambda_call(calls, fn, args, e):
    """The body of the lambda ``fn`` with its parameters replaced by ``args`` (names)."""
    params = fn.args
    if params.vararg or params.kwarg or params.kwonlyargs or params.defaults or len(params.args) != len(args) \
            or any(isinstance(n, (gast.Lambda, gast.ListComp, gast.GeneratorExp, gast.DictComp, gast.SetComp))
                   for n in gast.walk(fn.body)):
        raise calls.func.error("np.vectorize of this lambda is not differentiated (one plain parameter per array, "
                               "no nested functions or comprehensions in its body)", e,
                               hint="write it as a def and vectorize that")
    names = dict(zip([p.id for p in params.args], args))

    class Sub(gast.NodeTransformer):
        def visit_Name(self, n):
            return load(names[n.id]) if n.id in names and isinstance(n.ctx, gast.Load) else n
    return Sub().visit(_copy(fn.body))


def _copy(node):
    import copy
    return copy.deepcopy(node)


def vectorize(calls, e, at):
    """``np.vectorize(f)(*arrays)`` as a comprehension over the broadcast elements, or a located refusal."""
    maker = e.func
    f = maker.args[0] if len(maker.args) == 1 and not maker.keywords else None
    if f is None or e.keywords or not e.args or any(isinstance(a, gast.Starred) for a in e.args):
        raise calls.func.error("np.vectorize is differentiated as np.vectorize(f)(x, ...): one function, no options, "
                               "the arrays passed one by one", e)
    if not isinstance(f, gast.Lambda) and not callable(calls.resolve(f)):
        raise calls.func.error("np.vectorize of a local value is not differentiated (which function it is cannot "
                               "be told)", e, hint="vectorize a module-level function or a lambda")
    arrays = [calls.atom(a, at) for a in e.args]
    names = [calls.names.temp() for _ in e.args]
    if isinstance(f, gast.Lambda):
        value = _lambda_call(calls, f, names, e)
    else:
        value = gast.Call(func=f, args=[load(n) for n in names], keywords=[])
    err = calls.func.error("np.vectorize's function returned something other than a number here, which is not "
                           "differentiated", e, hint="return one number per element")
    checked = gast.Call(func=load(calls.func.bind_value("of_type", of_type)), keywords=[], args=[
        value, load(calls.func.bind_value("vectorize_number", NUMBER)), effects.bound(calls.func, "vectorize_error",
                                                                                      err)])
    zeros = _np("zeros", _np("broadcast_shapes", *[_np("shape", _copy(a)) for a in arrays]))
    flat = [_np("ravel", gast.BinOp(left=_copy(a), op=gast.Add(), right=_copy(zeros))) for a in arrays]
    if len(names) == 1:
        target, it = gast.Name(id=names[0], ctx=gast.Store(), annotation=None, type_comment=None), flat[0]
    else:
        target = gast.Tuple(elts=[gast.Name(id=n, ctx=gast.Store(), annotation=None, type_comment=None)
                                  for n in names], ctx=gast.Store())
        it = gast.Call(func=load("zip"), args=flat, keywords=[])
    comp = gast.ListComp(elt=checked, generators=[gast.comprehension(target=target, iter=it, ifs=[], is_async=0)])
    out = _np("reshape", _np("array", comp), _np("shape", zeros))
    return gast.fix_missing_locations(gast.copy_location(out, e))


def many_operands(calls, e):
    """``np.einsum(s, a, b, c, ...)`` of three to five operands as a call of ``einsum_many``, or refused."""
    if len(e.args) > 6 or any(isinstance(a, gast.Starred) for a in e.args) or \
            any(k.arg != "optimize" for k in e.keywords):
        raise calls.func.error("np.einsum is differentiated for at most five operands, passed one by one (optimize= "
                               "the only keyword)", e, hint="split the product into two einsum calls")
    return gast.Call(func=load(calls.func.bind_value("einsum_many", einsum_many)), args=e.args, keywords=e.keywords)


def rewritten(calls, e, at):
    """The call ``e`` rewritten into a form lowering differentiates (see the module's docstring), or None."""
    if isinstance(e.func, gast.Call) and calls.resolve(e.func.func) is np.vectorize:
        return vectorize(calls, e, at)
    fn = calls.resolve(e.func)
    if fn is np.fromiter:
        return fromiter(calls, e)
    if fn is np.einsum and len(e.args) > 3 and isinstance(e.args[0], gast.Constant) and \
            isinstance(e.args[0].value, str):
        return many_operands(calls, e)
    return None
