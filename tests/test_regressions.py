"""Programs that once gave a wrong derivative or crashed; each checked against central differences."""
import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import write_module


def index_and_sum(x):
    return np.sum(np.sin(x[:, None] + np.sum(x)))  # x's adjoint: a number (sum) plus a scatter (index)


def pop_a_literal(x):
    rows = [x * 1.0, x * 2.0]
    return np.sum(rows.pop() * x)  # the list still holds one row when its adjoint starts


def stack_then_pop(x):
    rows = []
    for i in range(3):
        rows.append(x[i] * x)
    return np.sum(np.sin(np.stack(rows)[0] + rows.pop()))


def _fd(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)]).reshape(x.shape)


@pytest.mark.parametrize("f", [index_and_sum, pop_a_literal, stack_then_pop])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_matches_finite_differences(f, mode):
    x = np.array([0.3, -0.5, 0.7])
    np.testing.assert_allclose(sd.grad(f, mode=mode)(x), _fd(f, x), rtol=1e-7, atol=1e-9)


def join_lists(x):
    return np.sum(np.array([x[0], x[1]] + [x[2]]) * x)


def repeat_list(x):
    return np.sum(sum([x[0], x[1]] * 2) * x)


def join_tuples(x, y):
    t = (x, y) + (x * 2.0,)
    return t[0] * t[2] + t[1]


@pytest.mark.parametrize("f", [join_lists, repeat_list])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_list_join_or_repeat_is_refused_not_wrong(f, mode):
    with pytest.raises(sd.SourcediffError, match="join(s|ed) or repeat"):
        sd.grad(f, mode=mode)(np.array([0.3, -0.5, 0.7]))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_tuple_join_is_refused_in_both_modes(mode):
    """Forward mode crashed (a TypeError inside broadcast_like) where reverse mode refused."""
    with pytest.raises(sd.SourcediffError, match="join(s|ed) or repeat"):
        sd.grad(join_tuples, wrt=(0, 1), mode=mode)(1.5, 2.0)




@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_local_assigned_only_after_return_is_unbound(tmp_path, mode):
    f = write_module(tmp_path, "after_return_%s" % mode, "def f(x):\n    return v\n    v = x\n").f
    with pytest.raises(UnboundLocalError):
        f(1.0)
    with pytest.raises(sd.SourcediffError, match="`v` is read before it is assigned"):  # refused, located
        sd.grad(f, mode=mode)(1.0)


def sum_of_list(xs):
    return np.sum(xs)


def sin_of_list(xs):
    return np.sum(np.sin(xs) * 2.0)


def _moved(xs, i, h):
    ys = list(xs)
    ys[i] += h
    return type(xs)(ys)


@pytest.mark.parametrize("f", [sum_of_list, sin_of_list])
@pytest.mark.parametrize("kind", [list, tuple])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_list_argument_of_a_numpy_function(f, kind, mode):
    # the adjoint of a list argument arrives as an array (or a spread number): it must not read as zero
    xs = kind([0.1, -0.2, 0.3])
    g = sd.grad(f, mode=mode)(xs)
    assert type(g) is kind
    ref = [(f(_moved(xs, i, 1e-6)) - f(_moved(xs, i, -1e-6))) / 2e-6 for i in range(3)]
    np.testing.assert_allclose(g, ref, rtol=1e-7, atol=1e-9)


def test_two_lambdas_on_one_line(tmp_path):
    mod = write_module(tmp_path, "lambdas_mod", "import math\n"
                       "f, g = (lambda x: x * x), (lambda x: math.sin(x) * 3.0)\n"
                       "h, k = (lambda x: x * x), (lambda y: y * y * y)\n")
    assert sd.grad(mod.f)(2.0) == 4.0 and sd.grad(mod.h)(2.0) == 4.0
    assert abs(sd.grad(mod.g)(0.5) - 3.0 * np.cos(0.5)) < 1e-12
    assert sd.grad(mod.k)(2.0) == 12.0


def nested_early_returns(x0, x1):
    if x0 * 0.0 > 1.0:
        return x0 * 3.0
    else:
        if x0 > 0.0:
            return x0 * x0  # the `return x1` below must not run after this one
        v = x0
    return x1 * v


@pytest.mark.parametrize("args", [(0.5, 2.0), (-0.5, 2.0)])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_nested_early_returns(args, mode):
    v, g = sd.value_and_grad(nested_early_returns, wrt=(0, 1), mode=mode)(*args)
    assert v == nested_early_returns(*args)
    x0, x1 = args
    assert g == ((2 * x0, 0.0) if x0 > 0 else (x1, x0))  # by hand


def negative_base(x0, x1):
    return h_constant(x0) ** 2 + x1 * h_constant(x1) ** 3


def h_constant(p):
    return -0.75


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_folded_negative_base_keeps_its_parentheses(mode):
    # soak program 2000820: the callee's -0.75 folded into `t ** 2` printed as `-0.75 ** 2` (= -0.5625)
    v, g = sd.value_and_grad(negative_base, wrt=(0, 1), mode=mode)(0.5, 2.0)
    assert v == negative_base(0.5, 2.0) == 0.5625 + 2.0 * -0.421875
    assert g == (0.0, -0.421875)  # by hand: d/dx1 of x1 * (-0.75) ** 3


# A list element whose value never reaches the result has the sparse adjoint 0.0; a rule that changes
# shapes (reshape, stack, np.array of a list, matmul) crashed on it (first order and in compositions).
def unused_reshaped_part(x):
    parts = [np.reshape(x, (-1,)), np.sum(x * x)]
    return parts[1]


def unused_stacked_part(x):
    parts = [np.stack([x, 2.0 * x]), np.sum(np.sin(x))]
    return parts[1] * 2.0


def unused_array_of_list(x):
    parts = [np.array([x[0], x[1]]), np.sum(x ** 3)]
    return parts[1]


def unused_matmul_part(x):
    d = {"a": x @ np.ones((4, 2)), "b": np.sum(np.cos(x))}
    return d["b"]


def constant_part_reshaped(x, a):
    parts = [x, a]
    return np.sum(np.reshape(parts[1], (-1,)) * np.reshape(x, (-1,)) ** 2)


SPARSE = [unused_reshaped_part, unused_stacked_part, unused_array_of_list, unused_matmul_part, constant_part_reshaped]


def _grad_fd(f, x, h=1e-5):
    g = sd.grad(f)
    return np.array([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(x.size)]).T


@pytest.mark.parametrize("f", SPARSE)
def test_sparse_part_meets_shape_changing_rules(f):
    x = np.array([0.3, -0.5, 0.7, 1.1])
    fx = (lambda x: f(x, np.full(4, 1.5))) if f is constant_part_reshaped else f
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(sd.grad(fx, mode=mode)(x), _fd(fx, x), rtol=1e-7, atol=1e-9)
    H, v = _grad_fd(fx, x), np.array([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(sd.hessian(fx)(x), H, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sd.jvp(sd.grad(fx))(x, v)[1], H @ v, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sd.vjp(sd.grad(fx))(x, v)[1], H.T @ v, rtol=1e-5, atol=1e-7)


def parts_in_a_loop(x, a):  # soak program 506959: jvp of grad met matmul_dx with a constant's zero tangent
    w = np.sin(np.stack([a[0, 0] + np.zeros(1), x + np.zeros(1)]))
    n = 0
    while n < 3:
        n += 1
        parts = [np.reshape(w, (-1,)) @ np.ones((2, 2)), np.cos(x * 0.5)]
        v = parts[1]
    return v * np.sum(w)


def test_jvp_of_grad_through_a_matmul_with_a_constant():
    x, a, h = 0.3, np.array([[0.7], [-0.2]]), 1e-5
    g = sd.grad(parts_in_a_loop)
    want = (g(x + h, a) - g(x - h, a)) / (2 * h)
    np.testing.assert_allclose(sd.jvp(sd.grad(parts_in_a_loop))(x, a, 1.0)[1], want, rtol=1e-6)
    np.testing.assert_allclose(sd.vjp(sd.grad(parts_in_a_loop))(x, a, 1.0)[1], want, rtol=1e-6)


def unread_rows_in_comprehensions(x, a):  # soak program 605370: vjp of grad met a zero array entry of a tape
    y = np.zeros((2, 3))
    for i in range(3):
        y[0, i] = np.tanh(np.exp(x))
    return np.mean([np.sum([y[1, 2] for j in range(3)]) for k in range(2)]) + np.sin(x) * np.sum(a)


def test_vjp_of_grad_through_a_zero_array_on_the_tape():
    x, a, h = 0.3, np.array([0.5, -1.5]), 1e-5
    g = sd.grad(unread_rows_in_comprehensions, wrt=(0, 1))
    v = (1.0, np.array([2.0, -1.0]))
    want = [(np.asarray(p) - np.asarray(m)) / (2 * h) for p, m in zip(g(x + h, a + h * v[1]), g(x - h, a - h * v[1]))]
    got = sd.vjp(g, wrt=(0, 1))(x, a, v)[1]  # the Hessian is symmetric: H.T v == H v
    for w_, g_ in zip(want, got):
        np.testing.assert_allclose(g_, w_, rtol=1e-6, atol=1e-9)


def early_return_in_a_loop(x, a, b):  # soak program 900090: jvp of grad met the zero of a reverse-mode join
    y = np.copy(b)
    n = 0
    while n < 3:
        n += 1
        if n > 1:
            if n % 2 == 0:
                return -np.sum(a ** 2)
        else:
            np.sin(b, out=y)
    return 1.5 / (1.5 + np.sum(y) * x)


def test_jvp_of_grad_through_a_zero_made_at_a_branch_end():
    args, h = [0.3, np.array([[0.5, 1.0]]), np.array([[0.5], [-1.5]])], 1e-5
    v = (1.0, np.array([[1.0, -2.0]]), np.array([[0.5], [2.0]]))
    g = sd.grad(early_return_in_a_loop, wrt=(0, 1, 2))
    ends = [g(*[a + s * h * d for a, d in zip(args, v)]) for s in (1, -1)]
    got = sd.jvp(g, wrt=(0, 1, 2))(*args, v)[1]
    for k in range(3):
        np.testing.assert_allclose(got[k], (np.asarray(ends[0][k]) - ends[1][k]) / (2 * h), rtol=1e-6, atol=1e-9)


def inner_loop_reuses_k(x):  # soak programs 23402, 92997: the inner loop, its body dead, was dropped with its `k = 0`
    for k in range(3):
        for k in range(1):
            pass  # the loop's only effect: k = 0
        x = np.tanh(x + 0.25 * k)
    return x


def rebinds_its_loop_variable(x):  # the reverse sweep rebound i to its first value: 12.0 where 24.0 was right
    s = 0.0
    for i in range(3):
        i = i * 2
        s = s + x * x * i
    return s


def rebinds_it_in_a_branch(x):
    for i in range(1, 4):
        x = x * i
        i = i + 1.5
        if i > 3:
            i = i * x
        x = np.sin(x + i)
    return x


def test_a_loop_variable_assigned_inside_its_loop():
    for f in (inner_loop_reuses_k, rebinds_it_in_a_branch):
        want = (f(0.5), (f(0.5 + 1e-6) - f(0.5 - 1e-6)) / 2e-6)
        dd = (sd.grad(f)(0.5 + 1e-6) - sd.grad(f)(0.5 - 1e-6)) / 2e-6
        for mode in ("forward", "reverse"):
            assert sd.value_and_grad(f, mode=mode)(0.5) == pytest.approx(want, rel=1e-7)
            assert sd.grad(sd.grad(f, mode=mode))(0.5) == pytest.approx(dd, rel=1e-6)
    for mode in ("forward", "reverse"):  # s = x * x * (0 + 2 + 4): 24.0 at x = 2
        assert sd.value_and_grad(rebinds_its_loop_variable, mode=mode)(2.0) == pytest.approx((24.0, 24.0))


W_GLOBAL = np.array([1.0, 2.0])


def times_a_global_array(x):  # the float fast path took W_GLOBAL for a number: grad returned [1, 2]
    return x * W_GLOBAL


def times_a_global_element(x):
    return np.sin(x) * W_GLOBAL[1]


def test_the_float_path_with_a_global_array():
    with pytest.raises(sd.SourcediffError, match="scalar output"):
        sd.grad(times_a_global_array)(0.5)
    for mode in ("reverse", "forward"):
        assert sd.grad(times_a_global_element, mode=mode)(0.5) == pytest.approx(np.cos(0.5) * 2.0)


SCALE = 3.0


def times_a_global_number(x):
    return np.sin(x) * SCALE


def test_the_float_path_checks_a_global_number_when_it_runs():
    global SCALE
    g = sd.grad(times_a_global_number)
    assert g(0.5) == pytest.approx(3.0 * np.cos(0.5)) and "type(SCALE) in (int, float)" in g.source
    try:
        SCALE = np.array([1.0, 2.0])  # rebound to an array: the guard sends the call to the generic version
        with pytest.raises(sd.SourcediffError, match="scalar output"):
            g(0.5)
    finally:
        SCALE = 3.0


def two_nested_defs_of_one_name(x, a):  # test_fuzz_frontend: the second `inner` was called with the first's arguments
    def inner(t):
        return t * t + x
    a = inner(a)

    def inner():
        return 1.0
    inner()
    return np.sum(a)


def test_a_nested_def_name_defined_twice_is_refused():
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError, match="defined or assigned more than once") as e:
            sd.grad(two_nested_defs_of_one_name, mode=mode)(0.5, np.ones(2))
        assert e.value.filename == __file__


def may_run_off_its_end(x, a):  # retval unbound (UnboundLocalError) where no return ran
    for i in range(1):
        if np.sum(np.sin(a)) > 0.0:
            break
        if i > 0:
            return np.sum(a)


def may_return_none(x):  # the float fast path returned (None, 0.0)
    if x > 0:
        return x * 2
    return None


def test_a_function_that_returns_none_is_refused():
    for mode in ("forward", "reverse"):
        for f, args in ((may_run_off_its_end, (0.0, np.zeros((2, 1)))), (may_return_none, (-1.0,))):
            with pytest.raises(sd.SourcediffError, match="returns NoneType") as e:
                sd.value_and_grad(f, mode=mode, wrt=tuple(range(len(args))))(*args)
            assert e.value.filename == __file__ and "def " in e.value.line
        assert sd.grad(may_return_none, mode=mode)(2.0) == 2.0
