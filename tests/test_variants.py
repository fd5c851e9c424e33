"""Rule variants (sourcediff/rules/variants.py): chosen before inlining, derived from the one rule.

Every elementwise reverse rule reaches its operands' shapes only through ``unbroadcast(e, operand)``, so
the same-shape variant has none left (a rule reworded so that the variant no longer applies fails here,
instead of silently losing the optimisation); the variant computes what the rule computes where the
operand has the result's shape; the spread variant of a whole-array sum or mean is the rule's adjoint
before it is spread over the operand.
"""
import gast
import numpy as np
import pytest

from sourcediff import shapes  # importing sourcediff registers every rule
from sourcediff.names import nodes
from sourcediff.rules.registry import VJP, lookup, parsed
from sourcediff.rules.variants import identity_at, rule_parts


def _calls(e, name):
    return [n for n in nodes(e) if type(n) is gast.Call and type(n.func) is gast.Name and n.func.id == name]


def _elementwise_outputs():
    for key, rule in VJP.items():
        if shapes.elementwise(key):
            for i, o in enumerate(parsed(rule)[3]):
                if _calls(o, "unbroadcast"):
                    yield key, rule, i


def test_every_elementwise_rule_has_a_same_shape_variant():
    cases = list(_elementwise_outputs())
    assert len(cases) > 40
    left = ["%s[%d]" % (rule.__name__, i) for _, rule, i in cases
            if _calls(rule_parts(identity_at(rule, {("unbroadcast", i)}))[3][i], "unbroadcast")]
    assert not left, "the same-shape variant keeps an unbroadcast (reworded rule?): %s" % left


def test_a_variant_leaves_the_other_operands_alone():
    rule = lookup(VJP, np.multiply)
    outs = rule_parts(identity_at(rule, {("unbroadcast", 0)}))[3]
    assert gast.dump(outs[0]) == gast.dump(_calls(parsed(rule)[3][0], "unbroadcast")[0].args[0])
    assert gast.dump(outs[1]) == gast.dump(parsed(rule)[3][1])
    assert identity_at(rule, set()) is rule


def _run(variant, *args):
    """Evaluate a rule's variant as a Python function (its parts compiled back to a ``def``)."""
    params, defaults, body, outs = rule_parts(variant)
    ret = gast.Return(value=outs[0] if len(outs) == 1 else gast.Tuple(elts=outs, ctx=gast.Load()))
    args_node = gast.arguments(args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None)
                                     for p in params], posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                               kwarg=None, defaults=[defaults[p] for p in params if p in defaults])
    fdef = gast.FunctionDef(name="variant", args=args_node, body=list(body) + [ret], decorator_list=[], returns=None,
                            type_comment=None, type_params=[])
    tree = gast.gast_to_ast(gast.fix_missing_locations(gast.Module(body=[fdef], type_ignores=[])))
    env = dict(variant.__globals__)
    exec(compile(tree, "<variant>", "exec"), env)
    return env["variant"](*args)


@pytest.mark.parametrize("key", [np.multiply, np.subtract, np.divide, np.power, np.maximum, np.arctan2])
def test_same_shape_variant_computes_the_rule(key):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.5, 2.0, (3, 4)), rng.uniform(0.5, 2.0, (3, 4))
    g, ans = rng.normal(size=(3, 4)), key(x, y)
    rule = lookup(VJP, key)
    want = rule(g, ans, x, y)
    got = _run(identity_at(rule, {("unbroadcast", 0), ("unbroadcast", 1)}), g, ans, x, y)
    for w, e in zip(want, got):
        np.testing.assert_allclose(e, w, rtol=1e-12)


@pytest.mark.parametrize("key", [np.sum, np.mean])
def test_spread_variant_is_the_adjoint_before_spreading(key):
    a = np.arange(6.0).reshape(2, 3)
    rule = lookup(VJP, key)
    variant = identity_at(rule, {("expand_reduced", 0)})
    assert not _calls(rule_parts(variant)[3][0], "expand_reduced")
    spread = _run(variant, 1.5, key(a), a)
    assert np.ndim(spread) == 0
    np.testing.assert_allclose(np.broadcast_to(spread, a.shape), rule(1.5, key(a), a), rtol=1e-12)
