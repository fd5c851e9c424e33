"""Derivatives run on arrays of other libraries as they are: nothing converts user data with np.asarray.

A representative set of programs (broadcasting, reductions, matmul, indexing, writes, loops that
keep a tape, derivatives specialised to shapes, and the programs of test_neutrality) is
differentiated on two array types that are not NumPy's: ``Duck`` (tests/duck_array.py: only NumPy's
dispatch protocols, and ``np.asarray`` of it raises) and Dask arrays (run under a scheduler that
fails on any compute, so nothing is computed while the derivative is built). Every gradient must be
of that type and equal the NumPy gradient, which central differences check too.
"""
import numpy as np
import pytest

import sourcediff as sd
from sourcediff import api, inspection
from tests.duck_array import Duck, host
from tests.test_neutrality import ARGS as NEUTRALITY_ARGS

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

W3 = np.array([0.5, -1.0, 2.0])
ROWS = np.array([0, 2, 3])


def broadcasting(w, X):
    return np.sum(np.sin(X * w + 1.0) * W3) + np.sum((X - np.mean(X, axis=0)) ** 2 * w)


def reductions(w, X):
    return np.sum(np.mean(X, axis=0) * w) + np.sum(np.max(X * w, axis=1)) + np.std(X @ w) + np.prod(X[0] + w)


def matmul(w, X):
    return np.sum(np.tanh(X @ w) ** 2) + w @ (X.T @ X) @ w


def indexing(w, X):
    return np.sum(X[1:3] @ w) + np.sum(X[:, 0] * X[:, 1]) + np.sum(X[2] * w) + np.sum(X[ROWS] @ w ** 2)


def masked(w, X):
    z = X @ w
    return np.sum(z[np.arange(8) % 3 == 0] ** 2) + np.sum(np.where(z > 0, z, 0.1 * z))


def joins(w, X):
    z = np.concatenate([X @ w, X[:, 0] * w[1]])
    return np.sum(z ** 2) + np.sum(np.stack([X[:, 1], X @ w], axis=1) * W3[:2])


def writes(w, X):
    y = X @ w
    y[0] = y[1] * 2.0
    y[2:4] = np.exp(y[2:4])
    return np.sum(y ** 2)


def taped_loop(w, X):
    h = X @ w
    for i in range(3):
        h = np.tanh(h * w[i]) + h
    return np.sum(h ** 2)


def while_loop(w, X):
    s, k = 0.0, 0
    while k < 3:
        s = s + np.sum(np.exp(X[:, k] * w[k]))
        k += 1
    return s


PROGRAMS = [broadcasting, reductions, matmul, indexing, masked, joins, writes, taped_loop, while_loop]
IDS = [f.__name__ for f in PROGRAMS]
RNG = np.random.default_rng(3)
XN, WN = RNG.normal(size=(8, 3)) * 0.5, RNG.normal(size=3)


class Computed(AssertionError):
    pass


def no_compute(dsk, keys, **kw):
    raise Computed("a Dask array was computed while the derivative was built")


def as_duck(a):
    return Duck(a)


def as_dask(a):
    return da.from_array(a, chunks=tuple(max(1, s // 2) for s in a.shape))


KINDS = {"duck": (as_duck, Duck), "dask": (as_dask, da.Array)}


def run(kind, fn, *args):
    """``fn(*args)``; for Dask with computing refused, then the results computed."""
    if kind != "dask":
        return host(fn(*args))
    with dask.config.set(scheduler=no_compute):
        out = fn(*args)
    check_types(out, da.Array)
    return dask.compute(out, scheduler="sync")[0]


def check_types(out, cls):
    for v in (out if isinstance(out, tuple) else (out,)):
        if isinstance(v, tuple):
            check_types(v, cls)
            continue
        assert isinstance(v, cls), "a %s where a %s was expected" % (type(v).__name__, cls.__name__)


def assert_close(got, want):
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(np.asarray(g, dtype=float), w, rtol=1e-12, atol=1e-13)


def test_duck_refuses_asarray():
    """The Duck type catches a conversion (the check the tests below rely on)."""
    with pytest.raises(TypeError):
        np.asarray(Duck(np.ones(3)))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("f", PROGRAMS, ids=IDS)
def test_grad_on_other_arrays(f, kind, mode):
    conv, cls = KINDS[kind]
    want = sd.grad(f, wrt=(0, 1), mode=mode)(WN, XN)
    fd = [inspection.numerical_grad(f, (WN, XN), i).reshape(a.shape) for i, a in enumerate((WN, XN))]
    for a, b in zip(want, fd):  # the NumPy gradient itself, against central differences
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    grad = sd.grad(f, wrt=(0, 1), mode=mode)
    if kind == "duck":
        out = grad(WN, conv(XN))
        check_types(out, cls)
        got = host(out)
    else:
        got = run(kind, grad, WN, conv(XN))
    assert_close(got, want)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("f", PROGRAMS, ids=IDS)
def test_value_and_grad_of_foreign_parameter(f, kind):
    conv, cls = KINDS[kind]
    v, g = sd.value_and_grad(f, wrt=(0, 1))(WN, XN)
    got = run(kind, lambda *a: sd.value_and_grad(f, wrt=(0, 1))(*a), conv(WN), conv(XN))
    assert float(np.asarray(got[0])) == pytest.approx(v, rel=1e-12)
    assert_close(got[1], g)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("f", [taped_loop, while_loop], ids=lambda f: f.__name__)
def test_specialised_versions(f, kind):
    """Called again with the same shapes, the reverse derivative specialises to them (shape stand-ins,
    tape sizes): still of the caller's type and right."""
    conv, cls = KINDS[kind]
    want = sd.grad(f, wrt=(0, 1))(WN, XN)
    grad = sd.grad(f, wrt=(0, 1))
    for _ in range(api.SPECIALISE_AT + 1):
        got = run(kind, grad, WN, conv(XN)) if kind == "dask" else host(grad(WN, conv(XN)))
        assert_close(got, want)
    assert grad.specialised, "no specialised version was built"


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("f", PROGRAMS, ids=IDS)
def test_jvp_vjp(f, kind):
    conv, cls = KINDS[kind]
    dw = np.array([1.0, -0.5, 0.25])
    v, t = sd.jvp(f)(WN, XN, dw)
    got = run(kind, sd.jvp(f), WN, conv(XN), dw)
    assert float(np.asarray(got[1])) == pytest.approx(t, rel=1e-11, abs=1e-13)
    v, ct = sd.vjp(f, wrt=(0, 1))(WN, XN, 1.5)
    got = run(kind, lambda *a: sd.vjp(f, wrt=(0, 1))(*a)[1], WN, conv(XN), 1.5)
    assert_close(got, ct)


# owned_writes writes a value computed from its argument into np.zeros(3): a NumPy array, which converts it
NEUTRAL = [pytest.param(f, id=f.__name__) for f in NEUTRALITY_ARGS if f.__name__ != "owned_writes"]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("f", NEUTRAL)
def test_neutrality_programs_on_duck(f, mode):
    """test_neutrality's programs (sort, clip, concatenate, cumsum, reshape, owned writes) with Duck arguments."""
    args = NEUTRALITY_ARGS[f](np.random.default_rng(len(f.__name__)))
    wrt = tuple(range(len(args)))
    want = sd.grad(f, wrt=wrt, mode=mode)(*args)
    out = sd.grad(f, wrt=wrt, mode=mode)(*[Duck(a) for a in args])
    check_types(out, Duck)
    assert_close(host(out), want)
