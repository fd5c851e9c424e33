"""The runtime helpers' fast paths (unbroadcast's remembered plans, expand_reduced's small copies,
reduced_count from the axis) agree with the plain NumPy they stand for, and the static seed of a
negated or scaled whole-array mean keeps gradients right."""
import numpy as np
import pytest

import sourcediff as sd
from sourcediff import runtime
from sourcediff.rules.helpers import expand_reduced, reduced_count
from tests.helpers import write_module

BROADCASTS = [((4, 3), (3,)), ((4, 3), (1, 3)), ((4, 3), (4, 1)), ((2, 4, 3), (4, 1)), ((2, 4, 3), (1, 1)),
              ((2, 1, 3), (1, 3)), ((5,), ()), ((2, 3), (2, 3)), ((3,), (2, 3))]


@pytest.mark.parametrize("gs,xs", BROADCASTS)
def test_unbroadcast_sums_what_broadcasting_spread(gs, xs):
    g = np.arange(np.prod(gs), dtype=float).reshape(gs) + 1.0
    x = np.zeros(xs)
    for _ in range(2):  # the second call reads the remembered plan
        out = runtime.unbroadcast(g, x)
        if len(gs) < len(xs):
            want = np.broadcast_to(g, xs)
        else:
            lead = len(gs) - len(xs)
            want = g.sum(axis=tuple(range(lead)))
            want = want.sum(axis=tuple(i for i, (a, b) in enumerate(zip(want.shape, xs)) if b == 1), keepdims=True) \
                if xs else want
        assert np.shape(out) == xs
        np.testing.assert_allclose(out, np.reshape(want, xs))


def test_unbroadcast_refuses_a_shape_no_broadcast_made():
    with pytest.raises(sd.SourcediffError, match="does not fit"):
        runtime.unbroadcast(np.ones((4, 3)), np.ones((2, 3)))
    with pytest.raises(sd.SourcediffError, match="does not fit"):  # also once a good pair is remembered
        runtime.unbroadcast(np.ones((4, 3)), np.ones((3,)))
        runtime.unbroadcast(np.ones((4, 3)), np.ones((2,)))


def test_unbroadcast_plans_stay_bounded():
    for n in range(1, 700):
        runtime.unbroadcast(np.ones((n, 2)), np.ones(2))
    assert len(runtime._PLANS) <= 513


@pytest.mark.parametrize("shape,axis,keepdims", [((3, 4), 1, False), ((3, 4), 0, True), ((3, 4), None, False),
                                                 ((3, 4), (0, 1), False), ((3, 4), -1, True), ((100, 100), 1, False),
                                                 ((100, 100), None, False)])
def test_expand_reduced_small_and_large(shape, axis, keepdims):
    x = np.ones(shape)
    g = np.sum(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), axis=axis, keepdims=keepdims)
    out = expand_reduced(g, x, axis, keepdims)
    want = np.broadcast_to(g if keepdims or axis is None else np.expand_dims(g, axis), shape)
    assert out.shape == shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, want)
    assert (out.base is not None) == (np.prod(shape) > 4096)  # large: a view, small: its own copy


@pytest.mark.parametrize("shape,axis,count", [((3, 4), None, 12), ((3, 4), 0, 3), ((3, 4), -1, 4),
                                              ((2, 3, 4), (0, -1), 8), ((2, 3, 4), [1], 3), ((), None, 1),
                                              ((0, 3), 0, 0)])
def test_reduced_count(shape, axis, count):
    assert reduced_count(np.ones(shape), axis) == count


def _fd(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h)
                     for e in np.eye(x.size).reshape((x.size,) + x.shape)]).reshape(x.shape)


@pytest.mark.parametrize("ret", ["-np.mean(y)", "2.0 * np.sum(y)", "-(np.mean(y) / 3) + 1.0", "np.mean(y) - 0.5"])
def test_static_seed_of_a_scaled_whole_mean(tmp_path, ret):
    src = "import numpy as np\ndef f(x):\n    y = np.sum(np.sin(x) * x, axis=1)\n    return %s\n" % ret
    f = write_module(tmp_path, "seed_mod", src).f
    g = sd.grad(f)
    assert "seed_one" not in g.source
    x = np.linspace(-1.0, 2.0, 6).reshape(2, 3)
    np.testing.assert_allclose(g(x), _fd(f, x), rtol=1e-7, atol=1e-9)
    v, _ = sd.value_and_grad(f)(x)
    assert v == f(x)


def test_a_seed_that_may_be_an_array_is_checked(tmp_path):
    src = "import numpy as np\ndef f(x, c):\n    return c * np.mean(x)\n"  # c may be an array: no static seed
    f = write_module(tmp_path, "seed_mod2", src).f
    assert "seed_one" in sd.grad(f).source
    with pytest.raises(sd.SourcediffError, match="scalar output"):
        sd.grad(f)(np.ones(3), np.ones(2))


@pytest.mark.parametrize("axis,keepdims", [(1, True), (1, False), (0, False), (None, False), ((0, 1), True)])
def test_max_shares_the_adjoint_among_ties(axis, keepdims):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]])
    m = np.max(x, axis=axis, keepdims=True)
    w = np.arange(1.0, 1.0 + np.size(m)).reshape(np.shape(np.max(x, axis=axis, keepdims=keepdims)))

    def f(x):
        return np.sum(np.max(x, axis=axis, keepdims=keepdims) * w)
    ties = x == m
    want = np.reshape(w, m.shape) * ties / np.sum(ties, axis=axis, keepdims=True)
    np.testing.assert_allclose(sd.grad(f)(x), want)
    np.testing.assert_allclose(sd.grad(f, mode="forward")(x), want)
