"""Generated NumPy derivative code is neutral towards the caller's arrays.

* the generated source (``sd.source``) never wraps an input in ``np.asarray(``
  / ``np.array(`` / ``np.asanyarray(`` (that would drop array subclasses and
  duck arrays);
* no differential operator modifies its input arrays (compared with copies
  taken before the call), in either mode -- including programs that write
  into arrays they own;
* float32 inputs give float32 gradients (and values that match float64 ones
  to float32 precision).
"""
import re

import numpy as np
import pytest

import sourcediff as sd

W3 = np.array([0.5, -1.0, 2.0])
M32 = np.array([[0.3, -0.2], [1.1, 0.4], [-0.6, 0.9]])


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE", "0")


def elementwise(x):
    return np.sum(np.sin(x) * np.exp(x) * W3)


def matmul_reduce(x, y):
    return np.sum(np.tanh(x @ y)) + np.sum(x ** 2)


def reductions(x):
    return np.mean(x, axis=0) @ np.max(x, axis=1) + np.std(x)


def shapes(x):
    return np.sum(np.transpose(np.reshape(x, (3, 2))) @ M32 * 1.5)


def sorted_and_clipped(x):
    return np.sum(np.sort(x) * W3) + np.sum(np.clip(x, -0.5, 0.5) ** 2)


def stacked(x, y):
    z = np.concatenate([x, y * 2.0])
    return np.sum(np.cumsum(z) ** 2)


def owned_writes(x):
    y = x.copy()
    for i in range(3):
        y[i] = y[i] * x[(i + 1) % 3]
    z = np.zeros(3)
    z[1:] += x[:2] ** 2
    return np.sum(y * z) + np.sum(y)


def aug_assign_param(x):
    x = x * 2.0
    x += 1.0
    x *= x
    return np.sum(x)


def indexing(x):
    return np.sum(x[np.array([0, 0, 2])] * W3) + np.sum(x[x > 0])


ARGS = {
    elementwise: lambda r: (r.normal(size=3),),
    matmul_reduce: lambda r: (r.normal(size=(2, 3)), r.normal(size=(3, 2))),
    reductions: lambda r: (r.normal(size=(3, 3)),),
    shapes: lambda r: (r.normal(size=(2, 3)),),
    sorted_and_clipped: lambda r: (r.normal(size=3),),
    stacked: lambda r: (r.normal(size=3), r.normal(size=2)),
    owned_writes: lambda r: (r.normal(size=3),),
    aug_assign_param: lambda r: (r.normal(size=3),),
    indexing: lambda r: (r.normal(size=3),),
}
FUNCS = list(ARGS)
IDS = [f.__name__ for f in FUNCS]


def n_params(f):
    return f.__code__.co_argcount


def wrap_pattern(params):
    return re.compile(r"np\.(asarray|asanyarray|array|ascontiguousarray)\(\s*(%s)\s*[,)]" % "|".join(params))


@pytest.mark.parametrize("f", FUNCS, ids=IDS)
@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
def test_no_asarray_on_inputs(f, mode, optimize):
    params = f.__code__.co_varnames[:n_params(f)]
    wrt = tuple(range(n_params(f)))
    src = sd.source(f, wrt=wrt, mode=mode, optimize=optimize)
    hit = wrap_pattern(params).search(src)
    assert hit is None, "the %s derivative wraps an input: %r\n%s" % (mode, hit.group(0), src)
    assert "np.asarray(" not in src, "the %s derivative calls np.asarray:\n%s" % (mode, src)


def test_asarray_pattern_can_fail():
    """The check above does see a wrapped input."""
    assert wrap_pattern(["x"]).search("    t0 = np.asarray(x)\n")
    assert wrap_pattern(["x", "y"]).search("t = np.array( y, dtype=float)")
    assert not wrap_pattern(["x"]).search("t = np.asarray(xs)")


def snapshot(args):
    return [a.copy() for a in args]


def assert_unchanged(args, before, what):
    for k, (a, b) in enumerate(zip(args, before)):
        np.testing.assert_array_equal(a, b, err_msg="%s modified input %d" % (what, k))


@pytest.mark.parametrize("f", FUNCS, ids=IDS)
def test_inputs_not_modified(f):
    args = ARGS[f](np.random.default_rng(len(f.__name__)))
    before = snapshot(args)
    wrt = tuple(range(len(args)))
    y = f(*args)
    assert_unchanged(args, before, "the function itself")
    for mode in ("forward", "reverse"):
        sd.grad(f, wrt=wrt, mode=mode)(*args)
        assert_unchanged(args, before, "sd.grad(mode=%r)" % mode)
        sd.value_and_grad(f, wrt=wrt, mode=mode)(*args)
        assert_unchanged(args, before, "sd.value_and_grad(mode=%r)" % mode)
        sd.jacobian(f, wrt=wrt, mode=mode)(*args)
        assert_unchanged(args, before, "sd.jacobian(mode=%r)" % mode)
    sd.vjp(f, wrt=wrt)(*args, np.ones_like(y))
    assert_unchanged(args, before, "sd.vjp")
    sd.jvp(f, wrt=wrt)(*args, tuple(np.ones_like(a) for a in args))
    assert_unchanged(args, before, "sd.jvp")
    assert sd.check_grads(f, *args, wrt=wrt)
    assert_unchanged(args, before, "sd.check_grads")






@pytest.mark.parametrize("f", [pytest.param(f, id=f.__name__) for f in FUNCS])
def test_hessian_inputs_not_modified(f):
    args = ARGS[f](np.random.default_rng(len(f.__name__)))
    before = snapshot(args)
    Hm = sd.hessian(f)(*args)
    assert_unchanged(args, before, "sd.hessian")
    assert np.shape(Hm) == args[0].shape * 2


# A fresh array made by an identity operation (x * 1.0, x + 0.0) is written into.
def write_into_times_one(x):
    y = x * 1.0
    y[0] = x[1] ** 2
    return np.sum(y * W3)


def write_into_plus_zero(x):
    y = x + 0.0
    y[2] = 5.0
    return np.sum(y * x)


def _alias_params(optimize):
    out = []
    for f, name in ((write_into_times_one, "times-one"), (write_into_plus_zero, "plus-zero")):
        for mode in ("forward", "reverse"):
            out.append(pytest.param(f, mode, id="%s-%s" % (name, mode)))
    return out


@pytest.mark.parametrize("f,mode", _alias_params(True))
def test_identity_copy_then_write_leaves_input_alone(f, mode):
    x = np.array([0.5, -1.5, 2.0])
    before = x.copy()
    try:
        sd.grad(f, mode=mode)(x)
    finally:
        np.testing.assert_array_equal(x, before, err_msg="sd.grad modified its input")
    assert sd.check_grads(f, x, modes=(mode,))


@pytest.mark.parametrize("f,mode", _alias_params(False))
def test_identity_copy_then_write_unoptimized(f, mode):
    """The same programs without the optimizer: correct (by hand) and neutral."""
    x = np.array([0.5, -1.5, 2.0])
    before = x.copy()
    g = sd.grad(f, mode=mode, optimize=False)(x)
    np.testing.assert_array_equal(x, before)
    want = {write_into_times_one: np.array([0.0, 2 * x[1] * W3[0] + W3[1], W3[2]]),
            write_into_plus_zero: np.array([2 * x[0], 2 * x[1], 5.0])}[f]
    np.testing.assert_allclose(g, want, rtol=1e-12)


# --- float32 ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("f", FUNCS, ids=IDS)
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_float32_gradients(f, mode):
    args64 = ARGS[f](np.random.default_rng(1 + len(f.__name__)))
    args32 = tuple(a.astype(np.float32) for a in args64)
    wrt = tuple(range(len(args32)))
    g32 = sd.grad(f, wrt=wrt, mode=mode)(*args32)
    g64 = sd.grad(f, wrt=wrt, mode=mode)(*(a.astype(np.float64) for a in args32))
    for k, (a, b, x) in enumerate(zip(g32, g64, args32)):
        assert isinstance(a, np.ndarray) and a.dtype == np.float32, \
            "%s mode: float32 input %d gets a %s gradient" % (mode, k, getattr(a, "dtype", type(a).__name__))
        assert a.shape == x.shape
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)
    v, g = sd.value_and_grad(f, wrt=wrt, mode=mode)(*args32)
    assert all(np.asarray(gi).dtype == np.float32 for gi in g)


def test_float32_mixed_with_float64():
    """Each gradient follows its own argument's dtype."""
    x32, y64 = np.array([0.5, -1.0, 2.0], np.float32), np.array([0.3, 0.1])
    for mode in ("forward", "reverse"):
        gx, gy = sd.grad(stacked, wrt=(0, 1), mode=mode)(x32, y64)
        assert gx.dtype == np.float32 and gy.dtype == np.float64




@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_float32_jacobian(mode):
    x = np.array([0.5, -1.0, 2.0], np.float32)
    J = sd.jacobian(lambda z: np.sin(z) * 2.0, mode=mode)(x)
    assert J.shape == (3, 3)
    assert J.dtype == np.float32, "jacobian dtype %s" % J.dtype


def test_float32_hessian():
    x = np.array([0.5, -1.0, 2.0], np.float32)
    Hm = sd.hessian(elementwise)(x)
    assert Hm.dtype == np.float32, "hessian dtype %s" % Hm.dtype
