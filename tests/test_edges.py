"""Edge values, decorated functions, complex values and edited sources (the "Trust" issue, classes 6-8).

References are central finite differences (``tests.helpers.check``) or derived by hand.
"""
import math

import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import check, num_second


# -- powers of a zero base: d/dy 0 ** y = 0 for y > 0 (0 ** y stays 0), not 0 * log(0) = nan ---------

def np_power_zero(y):
    return np.power(0.0, y) + y


def op_power_zero(y):
    return 0.0 ** y + y


def math_pow_zero(y):
    return math.pow(0.0, y) + y


def float_power_zero(y):
    return np.float_power(0.0, y) + y


def array_power_zero(y):
    return np.sum(np.array([0.0, 2.0, 0.0]) ** y * y)


@pytest.mark.parametrize("f", [np_power_zero, op_power_zero, math_pow_zero, float_power_zero])
def test_zero_base_power(f):
    assert check(f, 2.0) == 1.0  # the float fast path where there is one
    assert float(check(f, np.float64(2.0))) == 1.0  # the generic path


def test_zero_base_power_array():
    y = np.array([1.5, 2.0, 3.0])
    g = check(array_power_zero, y)  # d/dy_i b_i ** y_i y_i = b_i ** y_i (1 + y_i log b_i); 0 where b_i == 0
    np.testing.assert_allclose(g, [0.0, 4.0 * (1 + 2.0 * math.log(2.0)), 0.0])


def test_zero_base_power_hessian():
    # d2/dy2 (0 ** y + y ** 3) = 6 y where 0 ** y is flat (y > 0)
    assert sd.hessian(lambda y: 0.0 ** y + y ** 3)(2.0) == pytest.approx(12.0)
    assert sd.hessian(lambda y: np.power(0.0, y) + y ** 3)(np.float64(2.0)) == pytest.approx(12.0)
    f = lambda y: positive_base_power(1.7, y)  # noqa: E731  (a positive base keeps its log)
    assert sd.hessian(f)(0.8) == pytest.approx(num_second(f, 0.8), rel=1e-5)
    check(positive_base_power, np.array([0.5, 1.7]), np.array([1.2, -0.4]), wrt=(0, 1))


def positive_base_power(b, y):
    return np.sum(b ** y * np.power(b, 0.5 * y))


def test_negative_base_power_is_nan_not_an_exception():
    # (-2) ** y is defined only at integer y: no derivative in y (nan), in the float fast path as in numpy
    for y in (2.0, np.float64(2.0)):
        with np.errstate(invalid="ignore"):
            assert math.isnan(sd.grad(lambda y: (-2.0) ** y)(y))


# -- std of one element is identically 0 ---------------------------------------------------------

def std_of_one(x):
    return np.std(x[:1]) + np.sum(x)


def std_rows(x):
    return np.sum(np.std(x, axis=1) * x[:, 0])


def test_std_of_one_element():
    g = check(std_of_one, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])
    check(lambda x: np.std(x[:2]) * np.std(x, ddof=1), np.array([0.3, -1.2, 2.0]))  # more elements: unchanged


def test_std_over_an_axis_of_length_one():
    x = np.array([[1.0], [-2.0]])
    g = check(std_rows, x)
    np.testing.assert_array_equal(g, [[0.0], [0.0]])
