"""The rule combinators write exactly the rules a hand-written VJP/JVP pair would be.

Generated code inlines a rule from its parsed form (``registry.parsed``), so a combinator's rule must
parse to the same tree as the pair it replaces; and it must stay a runnable function of its module.
"""
import gast
import numpy as np
import pytest

from sourcediff.rules import registry as R
from sourcediff.rules.combinators import elementwise, linear, self_adjoint
from sourcediff.runtime import unbroadcast  # noqa: F401  (the rules below name it)


def _cube(x):
    return x ** 3


def _scaled_sum(x, y, axis=None):
    return np.sum(x + 2.0 * y, axis=axis)


def _hand_vjp(g, ans, x): return g * 3.0 * x * x
def _hand_jvp(dx, ans, x): return dx * 3.0 * x * x
def _hand2_vjp(g, ans, x, y): return unbroadcast(g * y, x), None
def _hand2_jvp(dx, dy, ans, x, y): return dx * y, None
def _hand3_jvp(dx, dy, ans, x, y, axis=None): return _scaled_sum(dx, y, axis=axis), _scaled_sum(x, dy, axis=axis)


def _tree(rule):
    params, defaults, body, outs = R.parsed(rule)
    return params, {k: gast.dump(v) for k, v in defaults.items()}, [gast.dump(s) for s in body + outs]


@pytest.fixture
def keys():
    """Throwaway keys, unregistered again after the test."""
    made = []
    yield made
    for table in (R.VJP, R.JVP):
        for k in made:
            table.pop(R._key(k), None)


def test_elementwise_is_the_hand_written_pair(keys):
    keys.append(_cube)
    v, j = elementwise(_cube, lambda d, ans, x: d * 3.0 * x * x)
    assert _tree(v) == _tree(_hand_vjp) and _tree(j) == _tree(_hand_jvp)
    assert R.lookup(R.VJP, _cube) is v and R.lookup(R.JVP, _cube) is j
    assert (v.__name__, j.__name__, v.__module__) == ("_cube_vjp", "_cube_jvp", __name__)
    assert v(2.0, 8.0, 2.0) == 24.0 and j(0.5, 8.0, 2.0) == 6.0  # runnable


def test_broadcasting_and_none(keys):
    keys.append(np.multiply.outer)
    v, j = elementwise(np.multiply.outer, lambda d, ans, x, y: (d * y, None), broadcasting=True, name="t")
    assert _tree(v) == _tree(_hand2_vjp) and _tree(j) == _tree(_hand2_jvp)


def test_two_lambdas_on_one_line(keys):
    keys.extend([np.add.outer, np.subtract.outer])
    a, b = elementwise(np.add.outer, lambda d, ans, x: d * 2.0), elementwise(np.subtract.outer, lambda d, ans, x: -d)
    assert gast.dump(R.parsed(a[0])[3][0]) != gast.dump(R.parsed(b[0])[3][0])
    assert a[0](1.0, None, 0.0) == 2.0 and b[0](1.0, None, 0.0) == -1.0


def test_def_with_statements_and_template(keys):
    keys.append(np.divide.outer)

    @elementwise(np.divide.outer, broadcasting=True, name="divide", subs={"f": "np.cos", "p": "x"})
    def deriv(d, ans, p, y, *, f):
        c = f(p)
        return d * c, d * y

    v, j = R.lookup(R.VJP, np.divide.outer), R.lookup(R.JVP, np.divide.outer)
    assert v.sd_source.splitlines() == ["def divide_vjp(g, ans, x, y):", "    c = np.cos(x)",
                                        "    return (unbroadcast(g * c, x), unbroadcast(g * y, y))"]
    assert j.sd_source.splitlines()[0] == "def divide_jvp(dx, dy, ans, x, y):"
    assert deriv.__name__ == "deriv"  # the decorator gives the derivative back


def test_linear_derives_the_jvp(keys):
    keys.append(_scaled_sum)

    @linear(_scaled_sum, kwargs=("axis",), fn="_scaled_sum")
    def scaled_sum_vjp(g, ans, x, y, axis=None):
        return g, 2.0 * g

    assert _tree(R.lookup(R.JVP, _scaled_sum)) == _tree(_hand3_jvp)
    assert R.lookup(R.VJP, _scaled_sum) is scaled_sum_vjp


def _flip(m):
    return np.flipud(m)


def test_self_adjoint(keys):
    keys.append(_flip)
    v, j = self_adjoint(_flip, lambda d, ans, m: np.flipud(d))
    assert R.parsed(v)[0] == ["g", "ans", "m"] and R.parsed(j)[0] == ["dm", "ans", "m"]


def test_missing_keys_define_nothing():
    assert elementwise((None,), lambda d, ans, x: d) is None


def _uses_cube(x):
    return np.sum(_cube(x) * 2.0)


def test_one_line_makes_a_differentiable_function(keys):
    """A function with a combinator rule differentiates in both modes (reference: d/dx 2 x^3 = 6 x^2)."""
    import sourcediff as sd
    keys.append(_cube)
    elementwise(_cube, lambda d, ans, x: d * 3.0 * x * x)
    x = np.array([0.5, -1.0, 2.0])
    assert np.allclose(sd.grad(_uses_cube)(x), 6.0 * x * x)
    assert np.allclose(sd.jvp(_uses_cube)(x, np.ones(3)), (2.0 * np.sum(x ** 3), np.sum(6.0 * x * x)))


def test_math_twin_uses_math(keys):
    """``math_twin`` writes the float rule of the math function with ``math`` where the NumPy rule has ``np``."""
    import math
    keys.extend([np.fabs.__call__, math.fabs.__call__])
    elementwise(np.fabs.__call__, lambda d, ans, x: d * np.cos(x), name="t", math_twin=math.fabs.__call__)
    v = R.lookup(R.VJP, math.fabs.__call__)
    assert v.sd_source.splitlines()[1] == "    return g * math.cos(x)"
    assert R.lookup(R.JVP, np.fabs.__call__).sd_source.splitlines()[1] == "    return dx * np.cos(x)"
