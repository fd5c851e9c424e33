"""Real Python programs, end to end: every construct in forward and reverse mode,
checked against central finite differences (tests/helpers.py) and against each other.
"""
import functools
import math

import numpy as np
import pytest

import sourcediff as sd
from helpers import check, leaves, num_grad, num_second


SCALE = 1.7
COEFFS = (0.5, -1.25, 2.0)


# -- branches and boolean logic ---------------------------------------------------

def if_elif_else(x):
    if x > 2.0:
        y = x * x
    elif x > 0.0:
        y = 3.0 * x + math.sin(x)
    else:
        y = -x * math.exp(x)
    return y * 2.0


@pytest.mark.parametrize("x", [3.0, 1.1, -0.7])
def test_if_elif_else(x):
    check(if_elif_else, x)


def cond_expr(x, y):
    z = x * y if x > y else x + y * y
    return z + (math.cos(x) if y < 0.0 else y)


@pytest.mark.parametrize("x,y", [(2.0, 1.0), (0.5, 1.5), (0.3, -0.8)])
def test_conditional_expression(x, y):
    check(cond_expr, x, y, wrt=(0, 1))


def bool_logic(x, y):
    if x > 0.0 and y > 0.0:
        r = x * y
    elif x > 0.0 or y > 1.0:
        r = x - y * y
    else:
        r = x * x
    if not (x > 1.0):
        r = r * 3.0
    return r


@pytest.mark.parametrize("x,y", [(1.5, 2.0), (0.5, 0.25), (0.6, -1.0), (-0.4, 1.5), (-0.5, -0.3)])
def test_and_or_not(x, y):
    check(bool_logic, x, y, wrt=(0, 1))


def bool_values(x):
    flag = x > 1.0 and x < 3.0
    other = not flag
    if other or x > 10.0:
        return x ** 3
    return x * math.log(x)


@pytest.mark.parametrize("x", [2.0, 0.5, 4.0])
def test_boolean_values_in_variables(x):
    check(bool_values, x)


# -- for loops --------------------------------------------------------------------

def range_loop(x):
    s = 0.0
    for i in range(1, 5):
        s = s + x ** i / i
    return s


def test_for_range():
    check(range_loop, 0.8)


def range_from_arg(x, n):
    y = x
    for i in range(n):
        y = math.sin(y) + 0.5 * y
    return y


@pytest.mark.parametrize("n", [0, 1, 4])
def test_for_range_trip_count_from_int_argument(n):
    check(range_from_arg, 0.7, n)


def range_step(x, n):
    s = 0.0
    for i in range(n, 0, -2):
        s = s + x * i + x * x
    return s


def test_for_range_with_step():
    check(range_step, 1.3, 7)


def rows_loop(A, w):
    s = 0.0
    for row in A:
        s = s + np.sum(np.tanh(row * w))
    return s


def test_for_over_rows_of_2d_array():
    A = np.array([[0.1, 0.2, -0.3], [1.0, -0.5, 0.7]])
    w = np.array([0.3, -1.1, 0.9])
    check(rows_loop, A, w, wrt=(0, 1))


def list_loop(x):
    total = 0.0
    for c in [1.0, 2.0, 3.0]:
        total = total + c * x * x
    return total


def test_for_over_list():
    check(list_loop, 1.3)


def list_arg_loop(xs, a):
    total = 0.0
    for v in xs:
        total = total + v * a * v
    return total


def test_for_over_list_argument():
    check(list_arg_loop, [0.5, 1.5, -2.0], 0.7, wrt=(0, 1))


def zip_loop(xs, ys):
    s = 0.0
    for a, b in zip(xs, ys):
        s = s + a * b + a * a
    return s


def test_for_zip():
    check(zip_loop, [1.0, 2.0, 3.0], np.array([0.5, -0.1, 0.2]), wrt=(0, 1))


def enum_loop(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s + (i + 1.0) * v * v
    return s


def test_for_enumerate():
    check(enum_loop, np.array([0.3, -0.2, 1.4]))


def reversed_loop(x, w):
    acc = x
    for c in reversed(w):
        acc = acc * c + math.sin(acc)
    return acc


def test_for_reversed():
    check(reversed_loop, 0.4, [1.2, -0.3, 0.8], wrt=(0, 1))


def dict_items_loop(p, x):
    s = 0.0
    for k, v in p.items():
        s = s + v * x
    return s * s


def test_for_dict_items():
    check(dict_items_loop, {"a": 1.0, "b": 2.5}, 0.6, wrt=(0, 1))


def nested_loops(x, n):
    s = 0.0
    for i in range(n):
        for j in range(i + 1):
            s = s + x ** (i - j) * (j + 1.0)
    return s


def test_nested_loops():
    check(nested_loops, 1.2, 4)


def nested_array_loops(M):
    s = 0.0
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            s = s + M[i, j] * M[j, i] * (i + 1.0)
    return s


def test_nested_loops_indexing_2d():
    check(nested_array_loops, np.array([[1.0, 2.0], [0.5, -1.5]]))


# -- while, break, continue, return anywhere -------------------------------------------

def while_value(x):
    s = 0.0
    while x < 10.0:
        x = x * 1.5
        s = s + x
    return s


@pytest.mark.parametrize("x", [1.3, 4.0, 12.0])
def test_while_value_dependent(x):
    check(while_value, x)


def while_counter(x):
    i = 0
    y = x
    while i < 5 and y < 100.0:
        y = y * y + 1.0
        i += 1
    return y


@pytest.mark.parametrize("x", [0.5, 1.5])
def test_while_compound_condition(x):
    check(while_counter, x)


def loop_break(x):
    s = 0.0
    for i in range(10):
        s = s + x * i
        if s > 5.0:
            break
    return s * x


@pytest.mark.parametrize("x", [0.7, 0.05])
def test_break(x):
    check(loop_break, x)


def while_break(x):
    y = x
    while True:
        y = y * 1.3 + 0.1
        if y > 4.0:
            break
    return y * y


def test_while_true_break():
    check(while_break, 0.8)


def loop_continue(x):
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            continue
        s = s + x ** i
    return s


def test_continue():
    check(loop_continue, 1.1)


def return_in_loop(x):
    for i in range(10):
        x = x * 1.1
        if x > 3.0:
            return x * x
    return x


@pytest.mark.parametrize("x", [1.2, 0.1])
def test_return_inside_loop(x):
    check(return_in_loop, x)


def several_returns(x, y):
    if x > 1.0:
        if y > 0.0:
            return x * y
        return x - y
    for i in range(3):
        if x * i > 0.5:
            return x ** 2 + i * y
    return y * y * x


@pytest.mark.parametrize("x,y", [(2.0, 1.0), (2.0, -1.0), (0.3, 0.8), (-0.5, 0.8)])
def test_several_returns(x, y):
    check(several_returns, x, y, wrt=(0, 1))


def nested_return_break(x):
    s = x
    for i in range(4):
        for j in range(4):
            s = s * 1.1
            if s > 2.0:
                break
        if s > 3.0:
            return s * i
    return s




@pytest.mark.parametrize("x", [1.0, 0.2, 2.9])
def test_break_and_return_in_nested_loops(x):
    check(nested_return_break, x)


def inner_break(x):
    s = x
    for i in range(2):
        for j in range(2):
            s = s * 2.0
            if s > 3.0:
                break
    return s


def test_break_in_inner_loop_minimal():
    # s: 1 -> 2 -> 4 (break) -> 8 (break): f(x) = 8x near x = 1, so f'(1) = 8
    assert inner_break(1.0) == 8.0
    assert sd.grad(inner_break, mode="forward")(1.0) == 8.0
    assert sd.grad(inner_break)(1.0) == 8.0


# -- assignment forms -------------------------------------------------------------------

def aug_assign(x, y):
    z = x
    z += y
    z *= x
    z -= y * 0.5
    z /= (1.0 + y * y)
    z **= 2
    return z


def test_augmented_assignment():
    check(aug_assign, 1.3, 0.4, wrt=(0, 1))


def swap(x, y):
    a, b = x, y
    for i in range(3):
        a, b = b, a * b + 1.0
    return a * 2.0 + b


def test_tuple_unpacking_and_swap():
    check(swap, 0.6, 1.3, wrt=(0, 1))


def nested_unpack(x):
    (a, b), c = (x, x * x), math.sin(x)
    return a * b * c


def test_nested_tuple_unpacking():
    check(nested_unpack, 0.9)


# -- user functions -----------------------------------------------------------------------

def poly(x):
    return x ** 3 - 2 * x ** 2 + 3 * x - 5


def sq(x):
    return x * x


def loss(x):
    return sq(poly(x) - 4.0) + poly(sq(x))


def test_user_functions_nested_calls():
    check(loss, 1.3)


def calls_in_loop(x, n):
    for i in range(n):
        x = sq(x) * 0.5 + poly(x) * 0.01
    return x


def test_calls_inside_loop():
    check(calls_in_loop, 0.9, 3)


def power_rec(x, n):
    if n <= 0:
        return 1.0
    return x * power_rec(x, n - 1)


def fib_like(x, n):
    if n < 2:
        return x
    return fib_like(x, n - 1) * 0.5 + math.sin(fib_like(x, n - 2))


def test_recursion():
    check(power_rec, 1.3, 4)


def test_tree_recursion():
    check(fib_like, 0.7, 4)


def scaled(x, a=2.0, shift=0.5):
    return a * x * x + shift * x


def kw_caller(x, y):
    return scaled(x, shift=y) + scaled(y) + scaled(x, 3.0) + scaled(x, a=y, shift=1.0)


def test_keyword_and_default_arguments():
    check(kw_caller, 0.8, 1.7, wrt=(0, 1))


def h(x, c):
    return x ** c + c


def literal_caller(x):
    return h(x, 2.0) * h(x, 3.0)


def test_literal_arguments():
    check(literal_caller, 1.4)


def stats(x, y):
    return x + y, x * y


def tuple_caller(x, y):
    s, p = stats(x, y)
    t = stats(s, p)
    return t[0] * t[1] + s


def test_helpers_returning_tuples():
    check(tuple_caller, 0.7, 1.9, wrt=(0, 1))


def with_defaults(x, power=3, coef=1.5):
    return coef * x ** power


def test_own_default_arguments_used():
    check(with_defaults, 1.2)
    check(with_defaults, 1.2, 2, 0.5, wrt=(0, 2))


def test_called_with_keyword_argument():
    x, c = 1.2, 0.25
    g = sd.grad(with_defaults)(x, coef=c)
    gf = sd.grad(with_defaults, mode="forward")(x, coef=c)
    ref = num_grad(lambda x: with_defaults(x, coef=c), [x], 0)
    np.testing.assert_allclose(g, ref, rtol=1e-7)
    np.testing.assert_allclose(gf, g, rtol=1e-10, atol=1e-12)


# -- lambdas, closures, module constants ------------------------------------------------------

def test_lambda_passed_straight_to_grad():
    g = sd.grad(lambda x: x * math.sin(x) + 2.0 * x)
    gf = sd.grad(lambda x: x * math.sin(x) + 2.0 * x, mode="forward")
    x = 0.9
    want = math.sin(x) + x * math.cos(x) + 2.0
    assert g(x) == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(gf(x), g(x), rtol=1e-10, atol=1e-12)


def test_lambda_two_arguments():
    f = lambda x, y: x * x * y + y  # noqa: E731
    check(f, 1.5, -0.5, wrt=(0, 1))


def make_closure(k):
    def inner(x):
        return k * x * x + SCALE * x
    return inner


def test_closure_reads_enclosing_variable():
    f = make_closure(2.5)
    g = check(f, 1.1)
    assert g == pytest.approx(2 * 2.5 * 1.1 + SCALE, rel=1e-12)
    f2 = make_closure(-1.0)
    assert sd.grad(f2)(1.1) == pytest.approx(-2.2 + SCALE, rel=1e-12)


def make_array_closure(w):
    def inner(x):
        return np.sum(w * x ** 2)
    return inner


def test_closure_over_array():
    w = np.array([1.0, 2.0, 3.0])
    check(make_array_closure(w), np.array([0.5, -1.0, 2.0]))


def module_consts(x):
    a, b, c = COEFFS
    return SCALE * (a + b * x + c * x * x)


def test_module_level_constants():
    g = check(module_consts, 0.6)
    assert g == pytest.approx(SCALE * (COEFFS[1] + 2 * COEFFS[2] * 0.6), rel=1e-12)


# -- lists, tuples, dicts -----------------------------------------------------------------------

def append_loop(x):
    ys = []
    for i in range(4):
        ys.append(x * i + x * x)
    return ys[1] * ys[3] + ys[2] - ys[-1]


def test_list_append_in_loop():
    check(append_loop, 1.5)


def append_arrays(x):
    outs = []
    h = x
    for i in range(3):
        h = np.tanh(h * 1.5 + 0.1)
        outs.append(h)
    total = 0.0
    for o in outs:
        total = total + np.sum(o * o)
    return total


def test_list_of_arrays_built_in_loop():
    check(append_arrays, np.array([0.2, -0.4, 0.9]))


def tuple_index(x):
    t = (x, x * 2.0, math.cos(x))
    return t[0] * t[2] + t[1] * t[-1]


def test_tuple_indexing():
    check(tuple_index, 0.4)


def dict_program(x):
    d = {"a": x, "b": x * x}
    d["c"] = d["a"] + d["b"] * 3.0
    return d["c"] * d["a"]


def test_dict_build_and_read():
    check(dict_program, 0.7)


def dict_update(x):
    d = {"a": x, "b": x * x}
    d["a"] = d["a"] + d["b"] * 3.0
    return d["a"] * d["b"]


def test_dict_overwrite_existing_key():
    check(dict_update, 0.7)


def dict_arg(params, x):
    return params["w"] * x * x + params["b"] * params["w"]


def test_wrt_dict_argument():
    g = check(dict_arg, {"w": 1.5, "b": -0.5}, 2.0)
    assert isinstance(g, dict) and set(g) == {"w", "b"}


def mlp(params, x):
    h = np.tanh(x @ params["W"] + params["b"])
    return np.mean(h ** 2)


def test_wrt_dict_of_arrays():
    rng = np.random.default_rng(0)
    p = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    g = check(mlp, p, rng.normal(size=(4, 3)))
    assert g["W"].shape == (3, 2) and g["b"].shape == (2,)


def list_arg(ws, x):
    return ws[0] * x + ws[1] * ws[2] * x * x


def test_wrt_list_argument():
    g = check(list_arg, [1.0, 2.0, 0.5], 1.5)
    assert isinstance(g, list) and len(g) == 3


def tuple_arg(ws, x):
    a, b = ws
    return np.sum(a * x) * b


def test_wrt_tuple_argument():
    g = check(tuple_arg, (np.array([1.0, -2.0]), 0.5), np.array([0.3, 0.7]))
    assert isinstance(g, tuple) and len(g) == 2


def nested_container(p, x):
    return p["layers"][0] * x + p["layers"][1]["w"] * x * x


def test_wrt_nested_container():
    check(nested_container, {"layers": [1.5, {"w": -0.5}]}, 2.0)


# -- NumPy attributes, methods and in-place writes ----------------------------------------------------

def array_attrs(x):
    n = x.shape[0]
    y = x.reshape(n // 2, 2)
    z = y.T @ y
    return z.sum() / n + np.sum(x.reshape(2, -1).T[0] ** 3)


def test_T_shape_sum_reshape():
    check(array_attrs, np.array([0.3, -1.2, 0.8, 2.0]))


def setitem(x):
    y = np.zeros(3)
    y[0] = x[0] * 2.0
    y[1] = x[1] * x[0]
    y[2] = math.sin(x[2])
    y[1] += x[2] * y[0]
    return np.sum(y * y)


def test_setitem_and_iadd_item():
    check(setitem, np.array([1.0, 2.0, 3.0]))


def setitem_loop(x):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] * x[i - 1]
        if i > 0:
            y[i] += y[i - 1] * 0.5
    return np.sum(y ** 2)


def test_setitem_inside_loop():
    check(setitem_loop, np.array([0.5, -1.0, 1.5, 2.0]))


def overwrite_input_copy(x):
    y = x.copy()
    for i in range(3):
        y[i] = y[i] * y[i] + x[i]
    return np.sum(y)


def test_overwrite_copy_of_input():
    check(overwrite_input_copy, np.array([0.2, -0.3, 1.1]))


def slice_assign(x):
    y = np.zeros(6)
    y[:3] = x * 2.0
    y[3:] = x ** 2
    y[1:4] += x
    return np.sum(y * np.arange(1.0, 7.0))


def test_slice_assignment_numpy():
    check(slice_assign, np.array([0.5, -1.0, 1.5]))


def slice_assign_loop(x):
    y = np.zeros((3, 2))
    for i in range(2):
        y[i, :] = x[i] * x[i:i + 2]
    y[2, :] = x[:2] * 0.5
    y[1:, 1] += x[1:] ** 2
    return np.sum(y ** 3)


def test_slice_assignment_in_loop():
    check(slice_assign_loop, np.array([0.5, -1.0, 1.5]))


def cond_expr_in_loop(x):
    s = 0.0
    for i in range(2):
        s = s + (x * 0.5 if i > 5 else x * 2.0)
    return s


def test_conditional_expression_inside_loop():
    # s = 2x + 2x = 4x
    assert sd.grad(cond_expr_in_loop, mode="forward")(1.0) == 4.0
    check(cond_expr_in_loop, 1.0)


def cond_slice_loop(x):
    y = np.zeros((3, 2))
    for i in range(3):
        y[i, :] = x[i] * x[i:i + 2] if i < 2 else x[:2] * 0.5
    return np.sum(y ** 3)


def test_conditional_slice_assignment_in_loop():
    check(cond_slice_loop, np.array([0.5, -1.0, 1.5]))


def list_writes(x):
    ys = [0.0, 0.0, 0.0, 0.0]
    for i in range(4):
        ys[i] = x * (i + 1)
    ys[1] += ys[0] * x
    ys[2:4] = [ys[2] * x, ys[3] * ys[3]]
    return ys[0] + ys[1] * ys[2] + ys[3]


def test_list_item_and_slice_assignment():
    check(list_writes, 0.8)


# -- stop_gradient, checkpoint, custom rules ---------------------------------------------------

def stopped(x):
    c = sd.stop_gradient(x * x)
    return c * x + x


def test_stop_gradient():
    x = 1.5
    g = sd.grad(stopped)(x)
    gf = sd.grad(stopped, mode="forward")(x)
    # d/dx [c * x + x] with c = x*x held constant
    assert g == pytest.approx(x * x + 1.0, rel=1e-12)
    np.testing.assert_allclose(gf, g, rtol=1e-10, atol=1e-12)
    # and it differs from the unstopped derivative 3x^2 + 1
    assert abs(g - (3 * x * x + 1.0)) > 1.0


def stopped_array(x):
    m = sd.stop_gradient(np.mean(x))
    return np.sum((x - m) ** 2)


def test_stop_gradient_array():
    x = np.array([1.0, 2.0, 4.0])
    g = sd.grad(stopped_array)(x)
    gf = sd.grad(stopped_array, mode="forward")(x)
    np.testing.assert_allclose(g, 2 * (x - np.mean(x)), rtol=1e-12)
    np.testing.assert_allclose(gf, g, rtol=1e-10, atol=1e-12)


def block(x, w):
    for i in range(3):
        x = np.tanh(x * w + 0.1)
    return x


ckpt_block = sd.checkpoint(block)


def with_ckpt(x, w):
    return np.sum(ckpt_block(x, w) ** 2) + w * w


def without_ckpt(x, w):
    return np.sum(block(x, w) ** 2) + w * w


def test_checkpoint_value_and_gradient_match_uncheckpointed():
    x, w = np.array([0.3, -0.5, 0.8]), 1.2
    np.testing.assert_array_equal(ckpt_block(x, w), block(x, w))
    g1 = check(with_ckpt, x, w, wrt=(0, 1))
    g2 = sd.grad(without_ckpt, wrt=(0, 1))(x, w)
    np.testing.assert_allclose(g1[0], g2[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g1[1], g2[1], rtol=1e-12, atol=1e-14)
    v1, _ = sd.value_and_grad(with_ckpt)(x, w)
    assert v1 == without_ckpt(x, w)


def scalar_block(x):
    return math.sin(x) * x + x ** 3


ckpt_scalar = sd.checkpoint(scalar_block)


def ckpt_in_loop(x):
    for i in range(3):
        x = ckpt_scalar(x) * 0.3
    return x


def test_checkpoint_in_loop():
    check(ckpt_in_loop, 0.7)


def opaque_cube(x):
    # float(...) and repr round-trips make this opaque to source transformation on purpose
    return float(repr(float(x) ** 3))


sd.defvjp(opaque_cube, lambda g, ans, x: g * 3.0 * x * x)
sd.defjvp(opaque_cube, lambda dx, ans, x: dx * 3.0 * x * x)


def uses_opaque(x):
    return opaque_cube(math.sin(x)) * x


def test_defvjp_defjvp_on_opaque_function():
    check(uses_opaque, 0.8)


def opaque_hypot(a, b):
    return float(np.hypot(float(a), float(b)))


sd.defvjp(opaque_hypot, lambda g, ans, a, b: g * a / ans, lambda g, ans, a, b: g * b / ans)
sd.defjvp(opaque_hypot, lambda da, ans, a, b: da * a / ans, lambda db, ans, a, b: db * b / ans)


def uses_hypot(x, y):
    return opaque_hypot(x * 2.0, y) + x * y


def test_custom_rules_two_arguments():
    check(uses_hypot, 0.6, -1.4, wrt=(0, 1))


# -- integer arguments, grad of grad ------------------------------------------------------------

def cubic(x):
    return x ** 3 + 2 * x * x - x


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_integer_argument_gives_float(mode):
    gi = sd.grad(cubic, mode=mode)(3)
    gf = sd.grad(cubic, mode=mode)(3.0)
    assert isinstance(gi, float), type(gi)
    assert gi == gf == 3 * 9 + 4 * 3 - 1


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_integer_argument_through_control_flow(mode):
    gi = sd.grad(if_elif_else, mode=mode)(3)
    assert isinstance(gi, float), type(gi)
    assert gi == sd.grad(if_elif_else, mode=mode)(3.0)


def branchy(x):
    if x > 1.0:
        y = x ** 4
    else:
        y = math.sin(x) * x
    for i in range(2):
        y = y + x * y * 0.1
    return y


def branchy_d1(x):
    # hand derivation: y0 then y <- y (1 + 0.1 x) twice => f = y0 (1 + 0.1x)^2
    y0, dy0 = (x ** 4, 4 * x ** 3) if x > 1.0 else (math.sin(x) * x, math.cos(x) * x + math.sin(x))
    return dy0 * (1 + 0.1 * x) ** 2 + y0 * 0.2 * (1 + 0.1 * x)


def branchy_d2(x):
    if x > 1.0:
        y0, dy0, ddy0 = x ** 4, 4 * x ** 3, 12 * x ** 2
    else:
        y0, dy0, ddy0 = math.sin(x) * x, math.cos(x) * x + math.sin(x), 2 * math.cos(x) - x * math.sin(x)
    u = 1 + 0.1 * x
    return ddy0 * u * u + 2 * dy0 * 0.2 * u + y0 * 0.02


@pytest.mark.parametrize("x", [1.5, 0.6])
def test_forward_over_reverse_grad_through_control_flow(x):
    assert sd.grad(branchy)(x) == pytest.approx(branchy_d1(x), rel=1e-12)
    assert sd.grad(branchy, mode="forward")(x) == pytest.approx(branchy_d1(x), rel=1e-12)
    gg = sd.grad(sd.grad(branchy), mode="forward")(x)
    assert gg == pytest.approx(branchy_d2(x), rel=1e-10)
    assert gg == pytest.approx(num_second(branchy, x), rel=1e-5)


@pytest.mark.parametrize("x", [1.5, 0.6])
def test_grad_of_grad_through_control_flow(x):
    gg = sd.grad(sd.grad(branchy))(x)
    assert gg == pytest.approx(branchy_d2(x), rel=1e-10)
    assert gg == pytest.approx(num_second(branchy, x), rel=1e-5)


@pytest.mark.parametrize("outer", ["forward", "reverse"])
def test_grad_of_forward_grad(outer):
    gg = sd.grad(sd.grad(branchy, mode="forward"), mode=outer)(1.5)
    assert gg == pytest.approx(branchy_d2(1.5), rel=1e-10)


@pytest.mark.parametrize("x", [1.5, 0.6])
def test_hessian_through_control_flow(x):
    H = sd.hessian(branchy)(x)
    assert float(np.squeeze(H)) == pytest.approx(branchy_d2(x), rel=1e-10)


def loop_xy(v):
    x, y = v[0], v[1]
    s = 0.0
    while s < 3.0:
        s = s + x * x + 0.5
        if s > 1.0:
            s = s + x * y
    return s * y


def test_hessian_of_array_function_with_loops():
    v = np.array([0.7, 0.4])
    H = sd.hessian(loop_xy)(v)
    assert H.shape == (2, 2)
    g = sd.grad(loop_xy)
    ref = np.stack([num_grad(lambda z: g(z)[k], [v], 0) for k in range(2)])
    np.testing.assert_allclose(H, ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12)
    check(loop_xy, v)


def rec4(x):
    return power_rec(x, 4)


def test_second_derivative_of_user_calls_and_recursion():
    # d2/dx2 of x^4 via recursion: 12 x^2
    assert sd.grad(sd.grad(rec4), mode="forward")(1.3) == pytest.approx(12 * 1.3 ** 2, rel=1e-12)
    assert float(np.squeeze(sd.hessian(rec4)(1.3))) == pytest.approx(12 * 1.3 ** 2, rel=1e-12)


# -- value_and_grad exactness -------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_value_and_grad_returns_exact_value(mode):
    for f, args in [(loss, (1.3,)), (while_value, (1.3,)), (mlp, ({"W": np.ones((3, 2)) * 0.1, "b": np.zeros(2)},
                                                                   np.arange(6.0).reshape(2, 3))),
                    (setitem_loop, (np.array([0.5, -1.0, 1.5, 2.0]),))]:
        v, g = sd.value_and_grad(f, mode=mode)(*args)
        want = f(*args)
        assert type(np.asarray(v).item()) is float
        assert v == want, (f.__name__, v, want)
        np.testing.assert_allclose(leaves(g), leaves(sd.grad(f)(*args)), rtol=1e-10, atol=1e-12)


# -- value_and_grad after loops / reassignment --------------------------------------------------

def reassigned(x):
    z = x
    z = z * x
    return z


def loop_sin(x):
    y = x
    for i in range(2):
        y = math.sin(y)
    return y


@pytest.mark.parametrize("f,args", [
    (reassigned, (1.3,)),
    (loop_sin, (0.7,)),
    (aug_assign, (1.3, 0.4)),
    (range_from_arg, (0.7, 4)),
    (while_counter, (0.5,)),
    (rows_loop, (np.array([[0.1, 0.2], [1.0, -0.5]]), np.array([0.3, -1.1]))),
    (append_arrays, (np.array([0.2, -0.4, 0.9]),)),
    (ckpt_in_loop, (0.7,)),
])
def test_reverse_value_and_grad_value_after_reassignment(f, args):
    v, g = sd.value_and_grad(f)(*args)
    assert np.array_equal(np.asarray(v), np.asarray(f(*args))), (v, f(*args))


# -- calls through nested defs, functools.partial, bound, static and class methods ---------------
def _scale(x, k=1.0):
    return x * k


_half = functools.partial(_scale, k=0.5)


class _Model:
    def __init__(self, w):
        self.w = w

    def loss(self, x):
        return np.sum((x * self.w) ** 2) + self.reg(x)

    def reg(self, x):
        return 0.1 * np.sum(x * x)

    @staticmethod
    def sq(x):
        return x * x

    @classmethod
    def cube(cls, x):
        return x ** 3


def nested_helper(x):
    def sq(y):
        return y * y + math.sin(y)
    return sq(x) * 2.0 + _half(x)


def test_bound_method_reads_self():
    m = _Model(np.array([1.0, 2.0]))
    x = np.array([0.5, -1.5])
    check(m.loss, x)
    np.testing.assert_allclose(sd.grad(m.loss)(x), 2 * x * m.w ** 2 + 0.2 * x, rtol=1e-12)  # by hand


def test_static_and_class_methods():
    check(_Model.sq, 1.3)
    assert sd.grad(_Model.cube)(1.3) == pytest.approx(3 * 1.3 ** 2, rel=1e-12)


def test_nested_def_and_partial():
    check(nested_helper, 0.7)
    x = 0.7
    assert sd.grad(nested_helper)(x) == pytest.approx(2 * (2 * x + math.cos(x)) + 0.5, rel=1e-12)


def nested_reads_enclosing(x, w):
    b = w * 2.0

    def layer(h):
        return np.tanh(h * w + b)  # w and b belong to the enclosing function
    y = layer(x)
    b = b + 1.0  # a later call sees the new b, as a closure would
    return np.sum(layer(y) * w)


def nested_scalar_closure(a):
    b = a * 2.0

    def sq(t):
        return t * t + b
    return sq(a) + sq(3.0)


def test_nested_def_reading_enclosing_variables():
    check(nested_reads_enclosing, np.array([0.1, 0.2, -0.3]), np.array([0.5, -0.4, 0.3]), wrt=(0, 1))
    check(nested_scalar_closure, 1.5)
    assert sd.grad(nested_scalar_closure)(1.5) == pytest.approx(2 * 1.5 + 2.0 + 2.0, rel=1e-12)  # by hand
