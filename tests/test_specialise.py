"""Derivatives specialised to their arguments' shapes (``shapes.concrete``, ``api._specialising``).

A reverse derivative whose loops call shape helpers (``unbroadcast``, ``shape_of``,
``matmul_dx``/``matmul_dy``) sends its second call with a given set of argument shapes, and
every later one, to a version generated for those shapes. That version must give exactly the
generic version's numbers (it leaves out only shape work that does nothing), and both must
match central finite differences.
"""
import numpy as np
import pytest

import sourcediff as sd
from sourcediff import api, shapes
from sourcediff.pipeline import new_gen


def rnn(Wx, Wh, b, xs, h0):
    h = h0
    for x_t in xs:
        h = np.tanh(x_t @ Wx + h @ Wh + b)
    return np.sum(h ** 2)


def shrink(x, v):
    y = x
    for i in range(2):
        y = np.sum(y * v, axis=0)  # y: (2, 3, 4), then (3, 4), then (4,)
    return np.sum(np.sin(y))


def scaled(W, s, xs):
    h = xs[0]
    for k in range(1, len(xs)):
        h = np.tanh(h @ W * s + xs[k])
    return np.mean(h)


def fd(f, args, i, h=1e-6):
    x = np.array(args[i], dtype=float)
    g = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        for sign in (1, -1):
            xp = x.copy()
            xp[j] += sign * h
            a = list(args)
            a[i] = xp if isinstance(args[i], np.ndarray) else float(xp)
            g[j] += sign * f(*a) / (2 * h)
    return g if isinstance(args[i], np.ndarray) else float(g)


def rnn_args(rng, T=4, batch=3, n_in=2, hidden=5, b_shape=(5,)):
    return [rng.standard_normal((n_in, hidden)), 0.5 * rng.standard_normal((hidden, hidden)),
            rng.standard_normal(b_shape), rng.standard_normal((T, batch, n_in)), rng.standard_normal((batch, hidden))]


def both(f, args, wrt):
    """(generic result, specialised result, the derivative) of two calls with the same shapes."""
    g = sd.value_and_grad(f, wrt=wrt)
    first = g(*args)
    assert g.specialised == {}
    second = g(*args)
    assert len(g.specialised) == 1 and next(iter(g.specialised.values())) is not g.sd_generated
    return first, second, g


def assert_same(a, b):
    va, ga = a
    vb, gb = b
    assert type(va) is type(vb) and va == vb
    for x, y in zip(ga, gb):
        assert type(x) is type(y) and np.shape(x) == np.shape(y) and np.array_equal(x, y)


@pytest.mark.parametrize("b_shape", [(5,), (1, 5), (3, 5)])
def test_rnn_specialised_equals_generic_and_finite_differences(b_shape):
    args = rnn_args(np.random.default_rng(0), b_shape=b_shape)
    first, second, g = both(rnn, args, (0, 1, 2))
    assert_same(first, second)
    for i in range(3):
        np.testing.assert_allclose(second[1][i], fd(rnn, args, i), rtol=1e-6, atol=1e-8)
    src = next(iter(g.specialised.values())).source
    assert "shape_of" not in src and "matmul_d" not in src and "dt6 @ Wh.T" in src
    assert src.count("unbroadcast(") == (0 if b_shape == (3, 5) else 1)  # b's sum stays where b was broadcast


def test_rnn_specialised_source():
    args = rnn_args(np.random.default_rng(1))
    g = sd.grad(rnn, wrt=(0, 1, 2))
    g(*args), g(*args)
    src = next(iter(g.specialised.values())).source
    adjoint = src[src.index("for idx in reversed"):]
    assert adjoint.splitlines()[1:9] == [
        "        # grad of: h = np.tanh(x_t @ Wx + h @ Wh + b)",
        "        h = tape.pop()",
        "        dt6 = dh * (1.0 - t2 * t2)",
        "        t2 = tape.pop()",
        "        db += unbroadcast(dt6, b)",
        "        dh = dt6 @ Wh.T",
        "        dWh += h.T @ dt6",
        "        dWx += x_t.T @ dt6"]
    assert "shape_of" in g.source and "matmul_dx" in g.source  # the generic version, which .source shows


def test_shapes_that_change_in_the_loop_keep_their_unbroadcasts():
    args = [np.random.default_rng(2).standard_normal((2, 3, 4)), np.random.default_rng(3).standard_normal(4)]
    first, second, g = both(shrink, args, (0, 1))
    assert_same(first, second)
    for i in range(2):
        np.testing.assert_allclose(second[1][i], fd(shrink, args, i), rtol=1e-6, atol=1e-8)
    assert "unbroadcast(" in next(iter(g.specialised.values())).source


def test_float_argument_and_int_index():
    rng = np.random.default_rng(4)
    args = [0.5 * rng.standard_normal((3, 3)), 0.7, rng.standard_normal((4, 2, 3))]
    first, second, g = both(scaled, args, (0, 1, 2))
    assert_same(first, second)
    assert isinstance(second[1][1], float)
    for i in range(3):
        np.testing.assert_allclose(second[1][i], fd(scaled, args, i), rtol=1e-6, atol=1e-8)


def test_one_version_per_shape_key_and_at_most_max():
    g = sd.grad(rnn, wrt=(0, 1, 2))
    rng = np.random.default_rng(5)
    for batch in range(1, api.SPECIALISE_MAX + 3):
        args = rnn_args(rng, batch=batch)
        want = g(*args)
        got = g(*args)
        for x, y in zip(want, got):
            assert np.array_equal(x, y)
    versions = list(g.specialised.values())
    assert len(versions) == api.SPECIALISE_MAX  # past the limit the generic version runs
    assert all(v is not g.sd_generated for v in versions)


class Sub(np.ndarray):
    pass


def test_keywords_subclasses_and_vjp_take_the_generic_version():
    args = rnn_args(np.random.default_rng(6))
    g = sd.grad(rnn, wrt=(0, 1, 2))
    for _ in range(3):
        g(*args[:4], h0=args[4])
    assert g.specialised == {}
    subs = [a.view(Sub) for a in args]
    g(*subs), g(*subs)
    assert list(g.specialised.values()) == [g.sd_generated]  # nothing known about other types: nothing to specialise
    v = sd.vjp(rnn, wrt=(0, 1))
    want = v(*args, 1.0)
    got = v(*args, 1.0)
    assert want[0] == got[0] and all(np.array_equal(a, b) for a, b in zip(want[1], got[1]))


def flat(x, y):
    return np.sum(np.tanh(x @ y + x[0]))


def test_loop_free_code_specialises_from_a_size_on():
    rng = np.random.default_rng(7)
    small = [rng.standard_normal((3, 4)), rng.standard_normal((4, 4))]
    g = sd.grad(flat, wrt=(0, 1))
    for _ in range(3):
        g(*small)
    assert g.specialised == {}  # small arguments at the first call: the generic version from then on
    big = [rng.standard_normal((130, 90)), 0.1 * rng.standard_normal((90, 90))]
    assert 130 * 90 + 90 * 90 >= api.SPECIALISE_SIZE
    first, second, g = both(flat, big, (0, 1))
    assert_same(first, second)
    src = next(iter(g.specialised.values())).source
    assert "matmul_d" not in src and "x.T @ " in src
    assert src.count("unbroadcast(") == 1  # x[0]'s adjoint sums the rows


def test_scalar_and_shape_free_code_is_not_wrapped():
    def f(x):
        return np.sum(np.sin(x) * x)
    assert "unbroadcast" not in sd.grad(f).source and not hasattr(sd.grad(f), "specialised")
    assert not hasattr(sd.grad(lambda a: a * 2.0), "specialised")


def test_dict_parameters():
    def loss(params, x):
        h = np.tanh(x @ params["W"] + params["b"])
        return np.sum(h * h) * params["s"]
    rng = np.random.default_rng(8)
    params = {"W": rng.standard_normal((150, 120)), "b": rng.standard_normal(120), "s": 0.5}
    x = rng.standard_normal((40, 150))
    g = sd.value_and_grad(loss)
    first, second = g(params, x), g(params, x)
    assert first[0] == second[0] and first[1].keys() == second[1].keys()
    assert all(type(first[1][k]) is type(second[1][k]) and np.array_equal(first[1][k], second[1][k]) for k in params)
    src = next(iter(g.specialised.values())).source
    assert "matmul_d" not in src and "stand_in((120,))" in src


def test_concrete_shapes():
    def g(xs, W, c):
        h = xs[0]
        k = len(xs)
        for i in range(1, k):
            h = h @ W + c
            u = np.sum(h, axis=1, keepdims=True)
            v = h - u.T
            r = v[0] if i > 5 else v  # sometimes a row: r has no one shape
        return np.sum(r) + np.sum(h)
    func = new_gen().prepare(g)
    got = shapes.concrete(func.node, {"xs": ("array", (6, 3, 3)), "W": ("array", (3, 3)), "c": ("num", ())})
    assert got["k"] == ("num", ()) and got["i"] == ("num", ())
    assert got["h"] == got["v"] == ("array", (3, 3)) and got["u"] == ("array", (3, 1))
    assert "r" not in got and not any(v[1] == (3,) for v in got.values())


def test_specialised_versions_are_cached_on_disk(tmp_path, monkeypatch):
    from sourcediff import build, cache, pipeline
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SOURCEDIFF_CACHE", raising=False)
    calls = []
    real = pipeline.generate
    monkeypatch.setattr(pipeline, "generate", lambda *a, **k: calls.append(k.get("shapes")) or real(*a, **k))
    key = ((2, 5), (5, 5), (5,), (4, 3, 2), (3, 5))
    cache.clear_memory()
    generic = build.derivative(rnn, (0, 1, 2), "grad", "reverse", True, True)
    first = build.derivative(rnn, (0, 1, 2), "grad", "reverse", True, True, key)
    cache.clear_memory()
    again = build.derivative(rnn, (0, 1, 2), "grad", "reverse", True, True, key)
    assert calls == [None, key]  # the third build read the disk
    assert again.source == first.source != generic.source and generic.sd_shaped and not again.sd_shaped


def test_concrete_shapes_of_a_step_that_would_raise():
    def g(x):
        return np.sum(x, axis=0)  # x is 0-d: NumPy raises, so the step has no shape
    func = new_gen().prepare(g)
    assert "x" in shapes.concrete(func.node, {"x": ("array", ())})
    assert not [v for v in shapes.concrete(func.node, {"x": ("array", ())}) if v != "x"]
