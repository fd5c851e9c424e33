"""Dask arrays in, lazy derivatives out.

``sd.grad(loss)(w, X, y)`` with ``X`` and ``y`` Dask arrays chunked by rows (``w`` a small NumPy array)
builds a Dask graph and computes nothing (the tests run it under a scheduler that fails on any
compute); the graph carries no NumPy array of the data's size (``X`` is generated chunk by chunk, so
every such array would be one that a runtime helper made); computed, the gradient matches the hand
derivation and the NumPy gradient to 1e-12. Both modes, ``value_and_grad`` (and its ``compute=True``),
``jvp`` and ``vjp``; a function returning a 0-d Dask array returns a number.
"""
import pickle

import numpy as np
import pytest

import sourcediff as sd

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

N, D, CHUNK = 20000, 4, 5000
RTOL = 1e-12


def lsq(w, X, y):
    r = X @ w - y
    return np.sum(r ** 2) / 2.0


def logistic(w, X, y):  # the example: it returned "grad needs a function that returns a number, got Array"
    z = X @ w
    return np.sum(np.log(1.0 + np.exp(-y * z))) / y.shape[0]


def logistic_mean(w, X, y):
    return np.mean(np.log1p(np.exp(-y * (X @ w))))


def ridge_bias(w, b, X, y):
    r = X @ w + b - y
    return np.mean(r ** 2) + 0.1 * np.sum(w ** 2)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def hand(f, w, X, y, b=0.0):
    """The gradients derived by hand (NumPy on the host): w's, and b's for ridge_bias."""
    n = X.shape[0]
    if f is lsq:
        return X.T @ (X @ w - y)
    if f in (logistic, logistic_mean):
        return -X.T @ (y * sigmoid(-y * (X @ w))) / n
    r = X @ w + b - y
    return 2.0 * X.T @ r / n + 0.2 * w, 2.0 * np.sum(r) / n


@pytest.fixture(scope="module")
def data():
    """X, y as Dask arrays made chunk by chunk (no NumPy array of their size exists), and their values."""
    rng = da.random.default_rng(7)
    X = rng.normal(size=(N, D), chunks=(CHUNK, D))
    y = da.sign(rng.normal(size=N, chunks=CHUNK))
    Xn, yn = dask.compute(X, y, scheduler="sync")
    return X, y, Xn, yn


W = np.array([0.3, -0.7, 0.2, 0.5])


class Computed(AssertionError):
    pass


def no_compute(dsk, keys, **kw):
    raise Computed("a Dask array was computed while the derivative was built")


def lazily(fn, *args):
    """``fn(*args)`` with every Dask compute failing."""
    with dask.config.set(scheduler=no_compute):
        return fn(*args)


def now(v):
    return dask.compute(v, scheduler="sync")[0]


def assert_small_graph(*vs):
    """No NumPy array of the data's size rides in the graph: its pickle is far smaller than X."""
    for v in vs:
        size = len(pickle.dumps(dict(v.__dask_graph__())))
        assert size < N * D * 8 / 4, "the graph of a result carries %d bytes (X is %d)" % (size, N * D * 8)


def test_no_compute_fails():
    """The scheduler the tests run under does refuse a compute."""
    with pytest.raises(Computed):
        lazily(lambda: da.ones(3).sum().compute())


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("f", [lsq, logistic, logistic_mean], ids=lambda f: f.__name__)
def test_grad_is_lazy_and_right(data, f, mode):
    X, y, Xn, yn = data
    g = lazily(sd.grad(f, mode=mode), W, X, y)
    assert isinstance(g, da.Array) and g.shape == W.shape and g.dtype == np.float64
    assert_small_graph(g)
    got = now(g)
    np.testing.assert_allclose(got, hand(f, W, Xn, yn), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(got, sd.grad(f, mode=mode)(W, Xn, yn), rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_value_and_grad_two_arguments(data, mode):
    X, y, Xn, yn = data
    v, (gw, gb) = lazily(sd.value_and_grad(ridge_bias, wrt=(0, 1), mode=mode), W, 0.25, X, y)
    assert all(isinstance(a, da.Array) for a in (v, gw, gb)) and v.shape == gb.shape == ()
    assert_small_graph(v, gw, gb)
    want_w, want_b = hand(ridge_bias, W, Xn, yn, 0.25)
    v, gw, gb = now((v, gw, gb))
    assert v == pytest.approx(ridge_bias(W, 0.25, Xn, yn), rel=RTOL)
    np.testing.assert_allclose(gw, want_w, rtol=RTOL)
    assert gb == pytest.approx(want_b, rel=1e-10, abs=1e-14)


def test_value_and_grad_compute_option(data):
    """compute=True: NumPy numbers back, from one dask.compute of the value and the gradient together."""
    X, y, Xn, yn = data
    calls = []

    def counting(dsk, keys, **kw):
        calls.append(len(keys))
        return dask.get(dsk, keys, **kw)
    with dask.config.set(scheduler=counting):
        v, g = sd.value_and_grad(logistic, compute=True)(W, X, y)
    assert len(calls) == 1, "value_and_grad(compute=True) computed %d times" % len(calls)
    assert isinstance(g, np.ndarray) and not isinstance(v, da.Array)
    assert float(v) == pytest.approx(logistic(W, Xn, yn), rel=RTOL)
    np.testing.assert_allclose(g, hand(logistic, W, Xn, yn), rtol=RTOL)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_with_respect_to_the_data(data, mode):
    """The gradient of a Dask argument is a Dask array in the argument's chunks."""
    X, y, Xn, yn = data
    Xs, ys, Xsn, ysn = X[:40], y[:40], Xn[:40], yn[:40]  # forward mode sweeps once per element of X
    gX, gy = lazily(sd.grad(lsq, wrt=(1, 2), mode=mode), W, Xs, ys)
    assert isinstance(gX, da.Array) and gX.shape == Xs.shape
    r = Xsn @ W - ysn
    np.testing.assert_allclose(now(gX), np.outer(r, W), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(now(gy), -r, rtol=RTOL, atol=1e-15)
    if mode == "reverse":
        gX, gy = lazily(sd.grad(lsq, wrt=(1, 2)), W, X, y)
        assert gX.chunks == X.chunks and gy.chunks == y.chunks
        assert_small_graph(gX, gy)


def test_jvp_and_vjp_are_lazy(data):
    X, y, Xn, yn = data
    dw = np.array([1.0, 0.5, -0.25, 2.0])
    v, t = lazily(sd.jvp(logistic), W, X, y, dw)
    assert isinstance(v, da.Array) and isinstance(t, da.Array)
    assert now(t) == pytest.approx(hand(logistic, W, Xn, yn) @ dw, rel=1e-11)
    v, ct = lazily(sd.vjp(logistic), W, X, y, 2.0)
    assert isinstance(ct, da.Array)
    np.testing.assert_allclose(now(ct), 2.0 * hand(logistic, W, Xn, yn), rtol=RTOL)
    z, ct = lazily(sd.vjp(lambda w, X: np.tanh(X @ w)), W, X, y)  # a vector output, a Dask seed
    np.testing.assert_allclose(now(ct), Xn.T @ (yn * (1.0 - np.tanh(Xn @ W) ** 2)), rtol=1e-11)


def scaled_sum(a, X):
    return np.sum(np.sin(a * X))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_zero_d_dask_result_is_a_number(data, mode):
    """A function of a float whose value is a 0-d Dask array is differentiated (forward mode: seed_one)."""
    X, _, Xn, _ = data
    g = lazily(sd.grad(scaled_sum, mode=mode), 0.3, X)
    assert isinstance(g, da.Array) and g.shape == ()
    assert float(now(g)) == pytest.approx(np.sum(Xn * np.cos(0.3 * Xn)), rel=1e-11)


def test_vector_output_refused(data):
    X, y, _, _ = data
    with pytest.raises(sd.SourcediffError, match="scalar output") as e:
        sd.grad(lambda w, X: X @ w, mode="forward")(W, X)
    assert "test_dask.py" in str(e.value)


def masked_square(w, X):
    z = X @ w
    return np.sum(z[z > 0] ** 2)


def where_square(w, X):
    z = X @ w
    return np.sum(np.where(z > 0, z, 0.0) ** 2)


def test_lazy_mask_adjoint_refused_at_the_users_line(data):
    """x[m] with a lazy mask m has no lazy adjoint (the positions are unknown until computed): refused, located."""
    X, _, Xn, _ = data
    with pytest.raises(sd.SourcediffError, match="scatter-add") as e:
        sd.grad(masked_square)(W, X)
    assert "test_dask.py:%d" % masked_square.__code__.co_firstlineno in str(e.value)
    g = lazily(sd.grad(where_square), W, X)  # the hint's way round it
    z = Xn @ W
    np.testing.assert_allclose(now(g), 2.0 * Xn.T @ np.maximum(z, 0.0), rtol=RTOL)


def test_fancy_index_on_dask(data):
    X, _, Xn, _ = data
    rows = np.array([3, 0, 17])

    def f(w, X):
        return np.sum(X[rows] @ w ** 2)
    g = lazily(sd.grad(f, wrt=(0, 1)), W, X)
    np.testing.assert_allclose(now(g[0]), 2.0 * W * np.sum(Xn[rows], axis=0), rtol=RTOL)
    want = np.zeros_like(Xn)
    want[rows] = W ** 2
    np.testing.assert_allclose(now(g[1]), want, rtol=RTOL)


def test_repeated_fancy_index_refused_or_right(data):
    """A repeated integer index needs a scatter-add Dask lacks: refused, never a last-write-wins sum."""
    X, _, _, _ = data
    rows = np.array([3, 3, 1])
    with pytest.raises(sd.SourcediffError, match="scatter-add"):
        sd.grad(lambda w, X: np.sum(X[rows] @ w), wrt=1)(W, X)


def reshaped_lsq(w, X, y):
    r = np.reshape(X @ w, (-1, 1)) - np.reshape(y, (-1, 1))
    return np.sum(np.ravel(r) ** 2) / 2.0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_reshape_and_ravel_stay_lazy(data, mode):
    """Reverse mode passed ``order='C'`` to np.reshape, which Dask's reshape does not take (a TypeError)."""
    X, y, Xn, yn = data
    g = lazily(sd.grad(reshaped_lsq, mode=mode), W, X, y)
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(now(g), hand(lsq, W, Xn, yn), rtol=RTOL, atol=1e-15)


def take_sort_diagonal(x):
    return np.sum(np.take(x, [0, 2]) ** 2) + np.sum(np.sort(x) * np.arange(4.0)) + np.sum(np.diagonal(np.outer(x, x)))


@pytest.mark.filterwarnings("ignore:The `numpy.(arg)?sort` function is not implemented by Dask")
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_take_sort_and_diagonal_of_a_dask_array(mode):
    """Forward mode wrote ``np.take(dx, i, axis=None)``, which Dask's take refuses (a TypeError); reverse mode
    scattered a Dask adjoint into a NumPy array with ``np.add.at`` (a TypeError). Dask sorts eagerly itself,
    and the scatter-adds compute their adjoint first: right, not lazy."""
    x = np.array([1.0, -2.0, 3.0, 0.5])
    want = 2 * x * np.array([1.0, 0, 1, 0]) + np.arange(4.0)[np.argsort(np.argsort(x))] + 2 * x
    g = sd.grad(take_sort_diagonal, mode=mode)(da.from_array(x, chunks=2))
    np.testing.assert_allclose(np.asarray(g), want, rtol=RTOL)
