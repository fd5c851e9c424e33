"""Everyday programs that once crashed inside generated code; each checked in both modes (and the
forward Jacobian and Hessian where the crash was there) against central differences."""
import math

import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import check, num_grad, num_jacobian, write_module

X = np.array([0.3, 0.7, 1.1])


# -- default and keyword arguments: forward mode passed the tangents where the defaults belong ------
def scaled_sum(x, a=2.0, b=np.array([1.0, -1.0, 0.5])):
    return np.sum(np.sin(x * a) * b)


def test_default_arguments_in_every_operator():
    check(scaled_sum, X)
    check(scaled_sum, X, kwargs={"a": 1.5})
    ref = num_grad(scaled_sum, [X], 0)
    np.testing.assert_allclose(sd.jacobian(scaled_sum, mode="forward")(X), ref, rtol=1e-7)
    hess = num_jacobian(sd.grad(scaled_sum), [X], 0)
    np.testing.assert_allclose(sd.hessian(scaled_sum)(X), hess, rtol=1e-6, atol=1e-8)
    val, tan = sd.jvp(scaled_sum)(X, np.ones(3))
    assert val == scaled_sum(X)
    np.testing.assert_allclose(tan, np.sum(ref), rtol=1e-7)


def times_a(x, a=2.0):
    return x * a


def test_vjp_of_a_function_with_defaults_keeps_them_for_the_parameters():
    """The generated vjp took the default as the seed's: ``vjp(f)(x, seed)`` passed the seed as ``a``."""
    val, ct = sd.vjp(times_a)(X, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(val, X * 2.0)
    np.testing.assert_allclose(ct, [2.0, 4.0, 6.0])
    val, ct = sd.vjp(times_a)(X, np.ones(3), a=3.0)
    np.testing.assert_array_equal(val, X * 3.0)
    np.testing.assert_allclose(ct, [3.0, 3.0, 3.0])


class Model:
    def loss(self, x, scale=0.5):
        return np.sum(np.cos(x) * scale)


def test_default_arguments_of_a_bound_method_forward():
    m = Model()
    np.testing.assert_allclose(sd.grad(m.loss, mode="forward")(X), -0.5 * np.sin(X), rtol=1e-12)
    np.testing.assert_allclose(sd.jacobian(m.loss, mode="forward")(X), -0.5 * np.sin(X), rtol=1e-12)


# -- loops over enumerate(zip(...)) and friends -------------------------------------------------------
def enumerate_zip(x):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, x * 2)):
        s = s + a * b * i
    return s


def enumerate_start(x):
    s = 0.0
    for i, a in enumerate(x, start=1):  # the keyword start was dropped: i ran from 0
        s = s + a * i
    return s


def zip_of_enumerate(x):
    s = 0.0
    for (i, a), b in zip(enumerate(x, 2), reversed(x)):
        s = s + a * b * i
    return s


def enumerate_items(x):
    s = 0.0
    d = {"a": x[0], "b": x[1]}
    for i, (k, v) in enumerate(d.items()):
        s = s + v * (i + 1.0) * x[2]
    return s


def whole_tuples(x):
    s = 0.0
    for p in zip(x, x * x):
        s = s + p[0] * p[1]
    for q in enumerate(zip(x, x)):
        s = s + q[1][0] * q[1][1] * q[0]
    return s


@pytest.mark.parametrize("f", [enumerate_zip, enumerate_start, zip_of_enumerate, enumerate_items, whole_tuples])
def test_nested_zip_and_enumerate_loops(f):
    check(f, X)


# -- lists of active values handed to NumPy functions -------------------------------------------------
def sum_of_comprehension(x):
    return np.sum([x[i] * x[i] for i in range(3)])


def var_of_list(x):
    return np.var([x, x + 2.0])


def prod_of_comprehension(x):
    return np.prod([x[i] + 1.0 for i in range(3)])


def maximum_of_list(x):
    return np.sum(np.maximum([x[0], x[1]], 0.5))


def std_of_appended(x):
    ys = []
    for i in range(3):
        ys.append(x[i] * x[i])
    return np.sum(ys) * np.std(ys)


def named_list_reused(x):
    ys = [x[i] ** 2 for i in range(3)]
    return np.sum(ys) + ys[0] * np.dot(ys, ys)


def var_over_rows(x):
    return np.sum(np.var([x, x * 2.0], axis=0))


def arcsin_of_list(x):
    return np.sum(np.arcsin([x[0] * 0.5, x[1] * x[2] * 0.5]))


@pytest.mark.parametrize("f", [sum_of_comprehension, var_of_list, prod_of_comprehension, maximum_of_list,
                               std_of_appended, named_list_reused, var_over_rows, arcsin_of_list])
def test_lists_passed_to_numpy_functions(f):
    check(f, X)
    np.testing.assert_allclose(sd.jacobian(f, mode="forward")(X), num_grad(f, [X], 0), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("f", [sum_of_comprehension, maximum_of_list])
def test_hessian_of_lists_passed_to_numpy_functions(f):
    np.testing.assert_allclose(sd.hessian(f)(X), num_jacobian(sd.grad(f), [X], 0), rtol=1e-6, atol=1e-7)


# -- values broadcast into the slots a write fills ----------------------------------------------------
def scalar_into_rows(x):
    h = np.zeros((3, 3))
    for i in range(3):
        h[i] = x[i]
    return np.sum(h * h)


def scalar_into_columns(x):
    h = np.ones((3, 3))
    for i in range(3):
        h[:, i] = x[i] * 2.0
    return np.sum(np.sin(h) * h)


def rows_and_part_rows(x):
    h = np.zeros((3, 2, 3))
    h[0] = x
    h[1] = x[1]
    h[2, 1:] = x[0] * x[2]
    return np.sum(h ** 3)


def scalar_into_fancy_index(x):
    h = np.zeros(3)
    h[[0, 2]] = x[1]
    return np.sum(h * x)


@pytest.mark.parametrize("f", [scalar_into_rows, scalar_into_columns, rows_and_part_rows, scalar_into_fancy_index])
def test_a_value_broadcast_by_an_indexed_write(f):
    check(f, X)
    np.testing.assert_allclose(sd.hessian(f)(X), num_jacobian(sd.grad(f), [X], 0), rtol=1e-6, atol=1e-7)


# -- long generated expressions (SymPy's lambdify writes these) -----------------------------------------
def _long_sum(tmp_path, n):
    terms = " + ".join("x[%d] * x[%d]" % (i % 3, (i + 1) % 3) for i in range(n))
    return write_module(tmp_path, "long_sum_%d" % n, "def f(x):\n    return %s\n" % terms).f


def test_a_sum_of_400_products_in_both_modes(tmp_path):
    f = _long_sum(tmp_path, 400)
    # each product x[k] * x[k+1] appears 400/3 times (133 or 134): the derivative by hand
    counts = np.bincount(np.arange(400) % 3, minlength=3).astype(float)  # pair (k, k+1) has counts[k]
    want = np.array([counts[0] * X[1] + counts[2] * X[2], counts[0] * X[0] + counts[1] * X[2],
                     counts[1] * X[1] + counts[2] * X[0]])
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(sd.grad(f, mode=mode)(X), want, rtol=1e-12)


def test_a_product_of_300_factors_nested_in_calls(tmp_path):
    body = " * ".join("(1.0 + np.sin(0.01 * x[%d]))" % (i % 3) for i in range(300))
    f = write_module(tmp_path, "long_product", "import numpy as np\n\ndef f(x):\n    return %s\n" % body).f
    check(f, X, rtol=1e-6)


def test_a_sum_nested_deeper_than_the_passes_walk_is_refused_where_it_is(tmp_path):
    f = _long_sum(tmp_path, 1500)
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError, match=r"long_sum_1500.py:2:\d+: this expression is nested more than"):
            sd.grad(f, mode=mode)


# -- rules that raised NotImplementedError when the derivative ran ------------------------------------
W = np.arange(6.0).reshape(2, 3) / 7


def einsum_ellipsis(x):
    return np.sum(np.einsum("...i,...i->...", x * W, W + x) ** 2)


def einsum_implicit_ellipsis(x):
    return np.sum(np.einsum("...i,i", W * x, x) ** 2)


def einsum_ellipsis_broadcast(x):
    return np.sum(np.einsum("...i,...i", x[None, :] * 1.0, W * x) ** 2)


def kron_vector_and_matrix(x):
    return np.sum(np.kron(x, np.ones((2, 2))) * np.arange(12.0).reshape(2, 6))


def kron_number_and_matrix(x):
    return np.sum(np.kron(x[0], np.outer(x, x)) ** 2)


@pytest.mark.parametrize("f", [einsum_ellipsis, einsum_implicit_ellipsis, einsum_ellipsis_broadcast,
                               kron_vector_and_matrix, kron_number_and_matrix])
def test_einsum_ellipsis_and_kron_of_different_ranks(f):
    check(f, X)


def half_norm(x):
    return np.linalg.norm(x, 0.5)


def pad_maximum(x):
    return np.sum(np.pad(x, 2, "maximum"))  # forward mode padded the tangent with its own maximum


def diff_prepend(x):
    return np.sum(np.diff(x, prepend=0.0) ** 2)


def einsum_trace(x):
    return np.einsum("ii", np.outer(x, x))


@pytest.mark.parametrize("f", [half_norm, pad_maximum, diff_prepend, einsum_trace])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_options_without_a_rule_are_refused_when_the_derivative_is_built(f, mode):
    with pytest.raises(sd.SourcediffError, match=r"test_crashes.py:\d+:\d+: .*no derivative rule") as e:
        sd.grad(f, mode=mode)
    assert "return" in str(e.value)  # the user's line


# -- a generator expression summed ------------------------------------------------------------------
def sum_of_generator(x, weights=(1.0, 2.0, 3.0)):
    return sum(w * xi ** 2 for w, xi in zip(weights, x)) + math.fsum(np.sin(v) for v in x)


def test_sum_of_a_generator_expression():
    check(sum_of_generator, X)


# -- default arguments left out: shape specialisation still applies -----------------------------------------
def spread(x, y=np.ones((4, 3))):
    return np.sum(np.sin(x * y) * x)


def test_a_call_leaving_out_defaults_is_specialised(monkeypatch):
    monkeypatch.setattr(sd.api, "SPECIALISE_SIZE", 0)  # small loop-free code specialises too
    g = sd.grad(spread)
    first = g(X)
    second = g(X)  # the second call with these shapes runs the specialised version
    assert g.specialised, "no specialised version was built"
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(second, num_grad(spread, [X], 0), rtol=1e-7)


# -- known gap: a list argument handed straight to a NumPy function whose rule does arithmetic on it ---------
def var_of_list_argument(xs):
    return np.var(xs)


@pytest.mark.xfail(strict=True, reason="a list parameter reaches np.var's forward rule as a list (2.0 * list): "
                                       "lowering converts only lists the function builds itself")
def test_list_argument_to_numpy_function_forward():
    np.testing.assert_allclose(sd.grad(var_of_list_argument, mode="forward")([0.3, 0.7, 1.1]),
                               num_grad(var_of_list_argument, [[0.3, 0.7, 1.1]], 0), rtol=1e-7)


# -- the forward Jacobian of a gradient: its generated code runs in the user's module ---------------------
def through_global(x):
    return np.sum(np.sin(W @ x) ** 2)


def test_forward_jacobian_of_a_gradient_reads_the_users_globals():
    want = num_jacobian(sd.grad(through_global), [X], 0)
    np.testing.assert_allclose(sd.jacobian(sd.grad(through_global), mode="forward")(X), want, rtol=1e-6, atol=1e-8)


# -- a loop over a dict the function builds runs over its keys ------------------------------------------------
def enumerate_local_dict(x):
    d = {"a": x[0], "b": x[1]}
    s = 0.0
    for i, k in enumerate(d):
        s = s + d[k] * (i + 1)
    return s


def int_keys_used_as_numbers(x):
    d = {0: x[1], 1: x[0] * x[2]}
    s = 0.0
    for k in d:  # d[idx] read the values as keys: a KeyError, or with these keys a wrong value
        s = s + d[k] * (k + 2.0)
    return s


def zip_dict_written_later(x):
    d = {"a": x[0]}
    d["b"] = x[1] * x[2]
    s = 0.0
    for k, v in zip(d, [1.0, 2.0]):
        s = s + d[k] * v
    return s


@pytest.mark.parametrize("f", [enumerate_local_dict, int_keys_used_as_numbers, zip_dict_written_later])
def test_loops_over_a_local_dict(f):
    check(f, X)


# -- a comprehension's variable is its own: the function's variable of that name keeps its value -----------------
def comprehension_shadows(x):
    j = 5
    v = np.sum([x[j] * x[j] for j in range(3)])
    return v * j  # j is 5 here (the lowered loop left 2 in it: a wrong derivative)


def test_a_comprehension_variable_does_not_leak():
    check(comprehension_shadows, X)
