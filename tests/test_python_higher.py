"""A sourcediff derivative made inside the differentiated function (``sd.grad(g)(x)``, lower_calls.made_now):
made when the derivative is built, then differentiated like one defined outside; both modes against central
differences."""
import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import check, num_second


def g(x, y):
    return x ** 3 * np.sin(y)


def inside(x):
    return sd.grad(g)(x, 0.5) * 2.0 + sd.grad(g, wrt=1)(x, x) + sd.value_and_grad(g, wrt="y")(0.3, x)[1]


def test_grad_made_inside():
    check(inside, 0.7)
    check(inside, np.array(0.7))
    np.testing.assert_allclose(sd.hessian(inside)(np.array(0.7)), num_second(inside, 0.7), rtol=1e-5)


def jacobian_inside(x):
    return sd.jacobian(g)(x, 0.5)


def test_an_operator_whose_result_is_not_differentiated_again_is_refused():
    with pytest.raises(sd.SourcediffError, match="cannot be differentiated again") as err:
        sd.grad(jacobian_inside)(0.7)
    assert "test_python_higher.py:" in str(err.value)
