"""Inline a rule from the tables into generated code.

Takes a rule function, the call's operands, and the adjoint (or tangents) and result
names; gives the rule's statements with parameters renamed to those operands and its
locals given fresh names, plus the returned expressions of the wanted arguments.

    @vjp(np.multiply, "Mult")                      inline(mult_vjp, g=dt2, ans=t2, args=[t0, t1], want=[1])
    def multiply(g, ans, x, y):           ->        ([], [unbroadcast(dt2 * t0, t1)])
        return unbroadcast(g * y, x), unbroadcast(g * x, y)

In scalar mode (every operand a Python float) ``unbroadcast(e, x)`` is just ``e`` and
``np.cos`` is ``math.cos``: plain float arithmetic, no dispatch. (Not where the user's code calls NumPy on
floats: there ``np.cos`` stays, as it gives ``nan`` where ``math.cos`` raises.)
"""
import math

import gast

from . import primitives as P
from .names import clone, ids, nodes
from .rules.registry import VJP
from .rules.variants import Variant, base_rule, rule_parts

_MATH = {n for n in dir(math) if not n.startswith("_")}
_NUMBER_IDENTITY = P.names(P.NUMBER_IDENTITY)  # unbroadcast(e, x) and broadcast_like(e, x) are e on numbers


def _instance(n, env, scalar, to_math):
    """A copy of the rule's node ``n`` with its names bound by ``env`` (name -> node or new name);
    in scalar mode without ``unbroadcast``/``broadcast_like`` (and with ``math`` for ``np`` where ``to_math``); a
    conditional on a literal (``x if keepdims else ...``) keeps one branch."""
    t = type(n)
    if t is gast.Name and n.id in env:
        new = env[n.id]
        return clone(new) if isinstance(new, gast.AST) else gast.Name(id=new, ctx=n.ctx, annotation=None,
                                                                      type_comment=None)
    copy = t.__new__(t)
    d = copy.__dict__
    for k, v in n.__dict__.items():
        if type(v) is list:
            d[k] = [_instance(x, env, scalar, to_math) if isinstance(x, gast.AST) else x for x in v]
        else:
            d[k] = _instance(v, env, scalar, to_math) if isinstance(v, gast.AST) else v
    if t is gast.Compare and type(copy.left) is gast.Constant and len(copy.ops) == 1 and \
            type(copy.ops[0]) in (gast.Eq, gast.NotEq) and type(copy.comparators[0]) is gast.Constant:
        same = copy.left.value == copy.comparators[0].value  # a literal option tested in a rule: ``order == "C"``
        return gast.Constant(value=same if type(copy.ops[0]) is gast.Eq else not same, kind=None)
    if t is gast.IfExp and type(copy.test) is gast.Constant:
        return copy.body if copy.test.value else copy.orelse
    if scalar:
        if t is gast.Call and type(copy.func) is gast.Name and copy.func.id in _NUMBER_IDENTITY and len(copy.args) == 2:
            return copy.args[0]
        if to_math and t is gast.Attribute and type(copy.value) is gast.Name and copy.value.id == "np" and \
                copy.attr in _MATH:
            copy.value = gast.Name(id="math", ctx=gast.Load(), annotation=None, type_comment=None)
    return copy


_NAMES = {}  # rule (or variant: its rule and what it drops) -> (its locals, sorted; the names it reads from outside)


def _names_of(rule):
    """The names ``rule``'s body stores (each inlined call gives them fresh names) and the free names its
    statements read (bound in the generated module), found once per rule and variant."""
    key = (rule.rule, rule.drops) if isinstance(rule, Variant) else rule
    got = _NAMES.get(key)
    if got is None:
        params, _, body, _ = rule_parts(rule)
        local = set().union(*[ids(s, gast.Store) for s in body])
        whole = rule_parts(base_rule(rule))  # a variant binds the helpers it leaves out too: the same bindings
        free = {n.id for n in nodes(gast.Module(body=list(whole[2]) + [gast.Expr(value=o) for o in whole[3]],
                                                type_ignores=[]))
                if isinstance(n, gast.Name) and n.id not in local and n.id not in params}
        got = _NAMES[key] = (sorted(local), free)
    return got


def inline(rule, table, gen, head, args, kwargs, ans, want, scalar=False, where=None, to_math=None):
    """(statements, [expression per wanted argument index]) of ``rule`` applied to a call.

    ``head`` is ``[g]`` for a reverse rule or the tangent names (None where zero) for a
    forward rule; ``args``/``kwargs`` are the call's atoms; ``want`` the argument indices. ``to_math`` (``scalar``
    unless given): ``np.cos`` becomes ``math.cos``.
    """
    params, defaults, body, outs = rule_parts(rule)  # a rule, or its variant for this call (rules/variants.py)
    nhead = 1 if table is VJP else params.index("ans")
    rest = params[nhead + 1:]
    if len(args) > len(rest):
        raise where("this call passes more arguments than sourcediff's rule for it takes (%s)" % rule.__name__)
    env = {}
    for p, h in zip(params[:nhead], head):
        env[p] = h if h is not None else gast.Constant(value=0.0, kind=None)
    env[params[nhead]] = ans
    for p, a in zip(rest, args):
        env[p] = a
    for k, v in kwargs.items():
        if k not in rest or k in env:
            raise where("keyword `%s` is not supported by sourcediff's rule for this function" % k)
        env[k] = v
    check = getattr(rule, "sd_check", None)
    if check is not None:
        literal = {p: v.value for p, v in env.items() if p in rest and isinstance(v, gast.Constant)}
        why = check(literal, set(env) & set(rest))
        if why:
            raise where(why, "choose an option the rule supports, or compute this part without sourcediff")
    for p in rest[len(args):]:
        if p not in env:
            if p not in defaults:
                raise where("missing argument `%s` for this call" % p)
            env[p] = clone(defaults[p])
    local, free = _names_of(rule)
    for n in local:
        env[n] = gen.names.temp()
    for n in free:
        gen.bind(n,
                 rule.__globals__.get(n, None) if n in rule.__globals__ else __builtins__[n]
                 if isinstance(__builtins__, dict) else getattr(__builtins__, n))
    to_math = scalar if to_math is None else to_math
    stmts = [_instance(s, env, scalar, to_math) for s in body]
    exprs = []
    for i in want:
        o = outs[i] if i < len(outs) else None
        exprs.append(None if o is None or isinstance(o, gast.Constant) and o.value is None
                     else _instance(o, env, scalar, to_math))
    return stmts, exprs
