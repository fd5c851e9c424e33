"""Comprehensions, generator expressions, lambdas applied by ``map``/``filter``/``key=``, and the builtins
consuming iterables (``max min any all sorted list dict math.prod``): each in both modes, ``value_and_grad``,
the forward Jacobian and the Hessian, against central differences (``lower_iter.py``)."""
import math

import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import check, num_grad, num_jacobian

X = np.array([0.3, -0.7, 1.1, 0.45])
XS = [0.3, -0.7, 1.1, 0.45]


def full(f, x, hessian=True):
    """``check`` (both modes, value_and_grad) plus the forward Jacobian and the Hessian of array ``x``."""
    check(f, x)
    ref = num_grad(f, [x], 0)
    np.testing.assert_allclose(sd.jacobian(f, mode="forward")(x), ref, rtol=1e-7, atol=1e-9)
    if hessian:
        want = num_jacobian(lambda v: num_grad(f, [v], 0), [x], 0)
        np.testing.assert_allclose(sd.hessian(f)(x), want, rtol=1e-4, atol=1e-5)


# -- max / min ----------------------------------------------------------------------------------------------
def max_of_generator(x):
    return max(v * v for v in x) + min(np.sin(v) for v in x)


def max_with_key(x):
    return max(x, key=lambda v: (v - 0.5) ** 2) * min(x, key=abs)


def max_of_several(x):
    a, b, c = x[0] * 2.0, x[1] ** 2, np.cos(x[2])
    return max(a, b, c) - min(a, b, c, key=lambda v: -v) + max([], default=x[3])


def max_first_of_ties(x):
    ys = [x[0], x[0] * 1.0, x[1]]  # equal keys: Python keeps the first, whose derivative is x[0]'s alone
    return max(ys, key=lambda v: round(v)) + 2.0 * min(ys, key=lambda v: 0.0)


@pytest.mark.parametrize("f", [max_of_generator, max_with_key, max_of_several, max_first_of_ties],
                         ids=lambda f: f.__name__)
def test_max_min(f):
    full(f, X)


def max_of_empty(x):
    return max(v for v in x if v > 10.0)


def test_max_of_nothing_raises_as_python_does():
    with pytest.raises(ValueError, match="empty sequence"):
        sd.grad(max_of_empty)(X)


# -- any / all ----------------------------------------------------------------------------------------------
def any_all(x):
    s = 0.0
    if any(v > 1.0 for v in x):
        s = s + np.sum(x * x)
    if all(u + w > -2.0 for u in x for w in x if w < 0.0):
        s = s + x[0] * x[1]
    if not all(v < 0.0 for v in x):
        s = s + np.sin(x[2])
    return s


def all_stops_at_the_first_false(x):
    s = x[0] * 3.0
    if all(math.sqrt(v) > 0.7 for v in [x[0], x[1], -1.0]):  # sqrt(-1.0) is never reached
        s = s * 2.0
    return s


@pytest.mark.parametrize("f", [any_all, all_stops_at_the_first_false], ids=lambda f: f.__name__)
def test_any_all(f):
    full(f, X if f is any_all else np.abs(X))


# -- comprehensions -------------------------------------------------------------------------------------------
def filtered_products(x):
    return sum([u * w for u in x for w in x[:2] if w > u if u > -1.0])


def nested_iterable(x):
    rows = [[x[i] * x[j] for j in range(i + 1)] for i in range(3)]
    return sum(r[-1] * len(r) for r in rows) + sum(v for r in rows for v in r if v > 0.1)


def dict_comprehension(x):
    d = {i: x[i] ** 2 for i in range(3) if i != 1}
    total = 0.0
    for k in d:  # the keys 0 and 2, not d[0], d[1]
        total = total + k * d[k]
    e = dict(a=x[0], b=np.exp(x[1]))
    return total + e["a"] * e["b"] + sum({k: v * 2.0 for k, v in e.items()}.values())


def lists(x):
    a = list(v * 3.0 for v in x)
    b = list(zip(x, a))
    t = tuple(v * v for v in x if v > 0.0)
    u, w = tuple(a[:2])
    return sum(p * q for p, q in b) + list(x)[1] + len(list()) + t[0] * t[-1] + u * w + len(tuple())


@pytest.mark.parametrize("f", [filtered_products, nested_iterable, dict_comprehension, lists],
                         ids=lambda f: f.__name__)
def test_comprehensions(f):
    full(f, X)


def test_comprehensions_of_list_arguments():
    check(filtered_products, XS)
    check(lists, XS)


# -- sorted, map, filter --------------------------------------------------------------------------------------
def sorted_weighted(x):
    s = sorted(x)
    t = sorted(x, key=lambda v: v * v, reverse=True)
    return sum(w * v for w, v in zip([1.0, 2.0, 3.0, 4.0], s)) + t[0] * t[1]


def sorted_is_stable(x):
    ys = [x[1], x[0], x[1] * 1.0]
    s = sorted(ys, key=lambda v: round(v * 0.0))  # all keys equal: the order stays
    return s[0] * 1.0 + s[1] * 10.0 + s[2] * 100.0


def square(v):
    return v * v


def mapped(x):
    k = 1.5
    a = sum(map(lambda v: k * np.sin(v), x))
    b = sum(map(square, x)) + math.fsum(map(math.cos, [x[0], x[1]]))
    c = sum(map(lambda u, w: u * w, x, x[::-1]))
    d = sum(filter(lambda v: v > 0.0, x)) + sum(filter(None, [x[0], 0.0, x[2]]))
    return a + b + c + d + max(map(abs, x))


@pytest.mark.parametrize("f", [sorted_weighted, sorted_is_stable, mapped], ids=lambda f: f.__name__)
def test_sorted_map_filter(f):
    full(f, X)


# -- math.prod ----------------------------------------------------------------------------------------------
def products(x):
    return math.prod(v + 2.0 for v in x) + math.prod([x[0], x[1]], start=x[2]) + math.prod([])


def test_prod():
    full(products, X)


# -- what stays refused, at build time and located -------------------------------------------------------------
def map_kept(x):
    m = map(np.sin, x)
    return sum(m)


def lambda_elsewhere(x):
    f = [lambda v: v * 2.0]
    return x[0] * len(f)


def lambda_wrong_arity(x):
    return max(x, key=lambda u, w: u)


def shadowed_sorted(x):
    sorted = list
    return sum(sorted(x, key=lambda v: v))


@pytest.mark.parametrize("f, message", [
    (map_kept, "only where a builtin consumes it"),
    (lambda_elsewhere, "lambdas inside a differentiated function"),
    (lambda_wrong_arity, "this lambda takes other parameters"),
    (shadowed_sorted, "cannot tell which function this calls"),
], ids=lambda v: getattr(v, "__name__", "msg"))
def test_refused_with_location(f, message):
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
            sd.grad(f, mode=mode)
        assert "test_python_iter.py:" in str(err.value)


# -- lambdas and nested functions used as values; `for` over a generator, map or filter --------------------------
def named_lambda(x):
    k = x[0]
    scale = lambda v: k * v * v
    k = k + 1.0  # a closure reads k when called: late binding
    return scale(x[1]) + scale(2.0)


def nested_def_as_key(x):
    k = x[0]

    def w(v):
        return (v - k) ** 2
    return sorted(x, key=w)[-1] + sum(map(w, x)) + max(x, key=lambda v: w(v) + v)


def lazy_loops(x):
    s = 0.0
    for v in (u * u for u in x if u > 0):
        s = s * 0.5 + v
    for u, w in map(lambda a, b: (a * b, a), x, x[::-1]):
        if u > 0.3:
            continue
        s = s + u * w
    for v in filter(lambda a: a < 1.0, x):
        s = s + np.sin(v)
    return s


def generator_reads_as_it_runs(x):
    s = 1.0
    for v in (s * u for u in x):  # each element reads s as the loop has left it
        s = s + v
    return s


@pytest.mark.parametrize("f", [named_lambda, nested_def_as_key, lazy_loops, generator_reads_as_it_runs],
                         ids=lambda f: f.__name__)
def test_closures_and_lazy_loops(f):
    full(f, X)
    check(f, XS)


def apply(g, v):
    return g(v)


def nested_def_passed_on(x):
    k = x[0]

    def w(v):
        return v * k
    return apply(w, x[1])


def lambda_named_twice(x):
    f = lambda v: v
    f = lambda v: v * 2.0
    return f(x[0])


def loop_over_two_for_generator(x):
    s = 0.0
    for v in (a * b for a in x for b in x):
        s = s + v
    return s


@pytest.mark.parametrize("f, message", [
    (nested_def_passed_on, "can only be called here"),
    (lambda_named_twice, "lambdas inside a differentiated function"),
    (loop_over_two_for_generator, "more than one `for`"),
], ids=lambda v: getattr(v, "__name__", "msg"))
def test_closures_refused_with_location(f, message):
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError, match=message) as err:
            sd.grad(f, mode=mode)
        assert "test_python_iter.py:" in str(err.value)


# -- math.hypot of n values, math.dist ---------------------------------------------------------------------
def norms(x):
    return math.hypot(x[0], 2.0 * x[1], x[2]) + math.dist([x[0], x[1]], [1.0, x[2]]) + math.hypot(x[1]) \
        + math.hypot() + math.dist((x[2],), (x[0],))


def test_hypot_and_dist():
    full(norms, X)
    check(norms, XS)


def dist_of_unequal(x):
    return math.dist([x[0], x[1]], [x[2]])


def test_dist_of_unequal_points_raises_as_python_does():
    with pytest.raises(ValueError, match="same number of dimensions"):
        sd.grad(dist_of_unequal)(X)


# -- list(...), tuple(...), sorted(...) given to a NumPy function: the array NumPy makes of them -------------
def numpy_of_lists(x):
    return np.var(list(v * v for v in x)) + np.sum(sorted(x) * np.arange(4.0)) + np.mean(tuple(np.sin(v) for v in x))


def test_numpy_of_lists():
    full(numpy_of_lists, X)
