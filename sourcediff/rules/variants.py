"""Variants of a rule for one call, chosen before the rule is inlined.

Takes a rule and what the compiler knows at a call (which operands a helper call in the rule is
the identity on); gives an object ``inline`` takes in the rule's place: the same rule with those
helper calls left out. One definition per primitive stays the only place its derivative is
written; the variant is derived from it, never matched in the inlined output afterwards.

* ``unbroadcast`` on an operand shaped like the result (an elementwise step between values of one
  shape): nothing was broadcast, so ``unbroadcast(e, x)`` is ``e``.
* ``expand_reduced`` on an operand whose adjoint may stay a number standing for itself spread over
  the operand (``shapes.spreadable``, a whole-array ``np.sum``/``np.mean``): ``expand_reduced(e, a, ...)``
  is ``e``, and every rule below broadcasts that number as NumPy would.

    multiply_vjp: return unbroadcast(g * y, x), unbroadcast(g * x, y)
    identity_at(multiply_vjp, {("unbroadcast", 0)}).parsed() outputs:  g * y, unbroadcast(g * x, y)
"""
import functools

import gast

from ..names import clone
from .registry import parsed

IDENTITY_HELPERS = ("unbroadcast", "expand_reduced")  # helpers whose first argument is what they reshape


class Variant:
    """``rule`` with the calls ``helper(e, p, ...)`` replaced by ``e`` for each (helper, operand parameter p)."""

    def __init__(self, rule, drops):
        self.rule, self.drops = rule, drops
        self.__name__, self.__globals__ = rule.__name__, rule.__globals__
        self.sd_check = getattr(rule, "sd_check", None)

    def parsed(self):
        """(params, defaults, body, outs), as ``registry.parsed`` gives them for the rule itself."""
        return _parsed(self.rule, self.drops)


@functools.lru_cache(maxsize=None)
def _parsed(rule, drops):
    params, defaults, body, outs = parsed(rule)
    drop = _Drop(drops)
    return params, defaults, [drop.visit(clone(s)) for s in body], [drop.visit(clone(o)) for o in outs]


class _Drop(gast.NodeTransformer):
    def __init__(self, drops):
        self.drops = drops

    def visit_Call(self, node):
        self.generic_visit(node)
        f, a = node.func, node.args
        if type(f) is gast.Name and len(a) > 1 and type(a[1]) is gast.Name and (f.id, a[1].id) in self.drops:
            return a[0]
        return node


def identity_at(rule, helpers_at):
    """The variant of VJP ``rule`` where helper ``h`` is the identity on argument ``i``, for each ``(h, i)``
    in ``helpers_at`` (``i`` counts the call's positional arguments); ``rule`` itself when there are none."""
    if not helpers_at:
        return rule
    operands = parsed(rule)[0][2:]  # after (g, ans)
    assert all(h in IDENTITY_HELPERS for h, _ in helpers_at), helpers_at
    return Variant(rule, frozenset((h, operands[i]) for h, i in helpers_at if i < len(operands)))


def rule_parts(rule):
    """``registry.parsed`` of a rule or of a ``Variant``."""
    return rule.parsed() if isinstance(rule, Variant) else parsed(rule)


def base_rule(rule):
    """The rule a ``Variant`` is derived from (a rule is its own)."""
    return rule.rule if isinstance(rule, Variant) else rule
