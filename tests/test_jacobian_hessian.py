"""``sd.jacobian`` and ``sd.hessian`` on array functions.

* Jacobians of array-to-array functions (elementwise, matmul with a fixed
  matrix, softmax, cumsum, ...) in both modes: shape ``O + I``, agreement with
  central finite differences of the function, forward and reverse agree to 1e-10.
* Hessians of scalar functions of arrays (``sum(x**3)``, a quadratic form whose
  Hessian is ``A + A.T`` by hand, log-sum-exp, ...) against central finite
  differences of a gradient computed independently (by finite differences too,
  or by hand); every Hessian is symmetric with shape ``I + I``.
"""
import numpy as np
import pytest

import sourcediff as sd

H = 1e-6
M34 = np.array([[0.5, -1.0, 0.25, 2.0], [1.5, 0.3, -0.7, 0.1], [-0.2, 0.8, 1.1, -1.3]])
A33 = np.array([[2.0, -1.0, 0.5], [0.3, 1.5, -0.4], [1.2, 0.7, -2.0]])


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE", "0")


def fd_jacobian(f, x, h=H):
    """Central finite differences: shape O + I."""
    x = np.asarray(x, float)
    y = np.asarray(f(x), float)
    J = np.zeros(y.shape + x.shape)
    for j in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[j] = h
        J[(...,) + j] = (np.asarray(f(x + e), float) - np.asarray(f(x - e), float)) / (2 * h)
    return J


# --- array -> array functions -----------------------------------------------------------------------

def elementwise(x):
    return np.sin(x) * x ** 2 + np.exp(-x)


def matmul_fixed(x):
    return x @ M34


def matmul_fixed_left(x):
    return np.tanh(M34.T @ x)


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def softmax_rows(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def cumsum(x):
    return np.cumsum(x * x)


def cumsum_2d(x):
    return np.cumsum(x, axis=1) * x


def outer_self(x):
    return np.outer(x, np.sin(x))


def normalize(x):
    return x / np.sqrt(np.sum(x ** 2))


def reduce_rows(x):
    return np.sum(x ** 2, axis=1)


def loop_write(x):
    y = np.zeros(len(x) - 1)
    for i in range(len(x) - 1):
        y[i] = x[i] * np.sin(x[i + 1])
    return y


JAC_CASES = [(elementwise, (4,)), (elementwise, (2, 3)), (matmul_fixed, (3,)), (matmul_fixed, (2, 3)),
             (matmul_fixed_left, (3,)), (softmax, (4,)), (softmax_rows, (2, 3)), (cumsum, (5,)), (cumsum_2d, (2, 3)),
             (outer_self, (3,)), (normalize, (4,)), (reduce_rows, (3, 2)), (loop_write, (4,))]


@pytest.mark.parametrize("f,shape", JAC_CASES,
                         ids=["%s-%s" % (f.__name__, "x".join(map(str, s))) for f, s in JAC_CASES])
def test_jacobian(f, shape):
    x = np.random.default_rng(len(f.__name__) * 7 + len(shape)).normal(size=shape)
    out_shape = np.shape(f(x))
    want = fd_jacobian(f, x)
    got = {}
    for mode in ("forward", "reverse"):
        J = sd.jacobian(f, mode=mode)(x)
        assert isinstance(J, np.ndarray) and J.shape == out_shape + x.shape, \
            "%s mode: Jacobian shape %s, want O + I = %s" % (mode, np.shape(J), out_shape + x.shape)
        np.testing.assert_allclose(J, want, rtol=1e-5, atol=1e-6, err_msg="%s mode vs finite differences" % mode)
        got[mode] = J
    np.testing.assert_allclose(got["forward"], got["reverse"], rtol=1e-10, atol=1e-10)


def test_jacobian_of_matmul_is_the_matrix():
    """d(x @ M)/dx for a vector x is M.T exactly (by hand)."""
    x = np.array([0.3, -1.0, 2.0])
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(sd.jacobian(matmul_fixed, mode=mode)(x), M34.T, rtol=0, atol=1e-14)


def test_jacobian_of_softmax_by_hand():
    """d softmax_i / d x_j = s_i (delta_ij - s_j)."""
    x = np.array([0.5, -1.0, 2.0, 0.1])
    s = softmax(x)
    want = np.diag(s) - np.outer(s, s)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(sd.jacobian(softmax, mode=mode)(x), want, rtol=1e-12, atol=1e-14)


def scale_two(x, y):
    return x * np.sum(y)


def test_jacobian_wrt_tuple():
    x, y = np.array([1.0, -2.0, 0.5]), np.array([[0.3, 0.7], [1.1, -0.4]])
    for mode in ("forward", "reverse"):
        Jx, Jy = sd.jacobian(scale_two, wrt=(0, 1), mode=mode)(x, y)
        assert Jx.shape == (3, 3) and Jy.shape == (3, 2, 2)
        np.testing.assert_allclose(Jx, np.eye(3) * y.sum(), atol=1e-14)
        np.testing.assert_allclose(Jy, np.broadcast_to(x[:, None, None], (3, 2, 2)), atol=1e-14)


# --- Hessians ---------------------------------------------------------------------------------------

def cube_sum(x):
    return np.sum(x ** 3)


def quad_form(x):
    return x @ A33 @ x


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def logsumexp_2d(x):
    return np.log(np.sum(np.exp(x)))


def mixed(x):
    return np.sum(np.sin(x) * np.cumsum(x)) + np.prod(x) ** 2


def norm_sq_tanh(x):
    return np.sum(np.tanh(x @ M34) ** 2)


def loopy(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + x[i] * x[i + 1] ** 2
    return s


def fd_gradient(f, x, h=1e-5):
    x = np.asarray(x, float)
    g = np.zeros_like(x)
    for j in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[j] = h
        g[j] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def fd_hessian(f, x, h=1e-4):
    """Central differences of a central-difference gradient: no AD anywhere."""
    return fd_jacobian(lambda z: fd_gradient(f, z), x, h)


HESS_CASES = [(cube_sum, (3,)), (cube_sum, (2, 2)), (quad_form, (3,)), (logsumexp, (4,)), (logsumexp_2d, (2, 2)),
              (mixed, (3,)), (norm_sq_tanh, (3,)), (loopy, (4,))]


@pytest.mark.parametrize("f,shape", HESS_CASES,
                         ids=["%s-%s" % (f.__name__, "x".join(map(str, s))) for f, s in HESS_CASES])
def test_hessian(f, shape):
    x = np.random.default_rng(len(f.__name__) + 3 * len(shape)).uniform(-1, 1, size=shape)
    Hm = sd.hessian(f)(x)
    assert isinstance(Hm, np.ndarray) and Hm.shape == shape + shape
    want = fd_hessian(f, x)
    np.testing.assert_allclose(Hm, want, rtol=1e-4, atol=1e-5)
    n = x.size
    M = Hm.reshape(n, n)
    np.testing.assert_allclose(M, M.T, rtol=1e-10, atol=1e-10, err_msg="the Hessian is not symmetric")


@pytest.mark.parametrize("f,shape", HESS_CASES[:4], ids=[f.__name__ for f, _ in HESS_CASES[:4]])
def test_hessian_vs_fd_of_sd_gradient(f, shape):
    """Forward-over-reverse agrees with finite differences of the reverse gradient, and with forward-over-forward."""
    x = np.random.default_rng(9).uniform(-1, 1, size=shape)
    for mode in ("reverse", "forward"):
        g = sd.grad(f, mode=mode)
        np.testing.assert_allclose(sd.hessian(f)(x), fd_jacobian(g, x), rtol=1e-5, atol=1e-6)


def test_hessian_of_quadratic_form_by_hand():
    x = np.array([0.4, -1.2, 2.5])
    np.testing.assert_allclose(sd.hessian(quad_form)(x), A33 + A33.T, rtol=1e-12, atol=1e-12)


def test_hessian_of_cube_sum_by_hand():
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    want = np.zeros((2, 2, 2, 2))
    for i in np.ndindex(2, 2):
        want[i + i] = 6 * x[i]
    np.testing.assert_allclose(sd.hessian(cube_sum)(x), want, rtol=1e-12, atol=1e-12)


def test_hessian_of_logsumexp_by_hand():
    """diag(p) - p p^T with p = softmax(x)."""
    x = np.array([0.5, -1.0, 2.0, 0.1])
    p = softmax(x)
    np.testing.assert_allclose(sd.hessian(logsumexp)(x), np.diag(p) - np.outer(p, p), rtol=1e-10, atol=1e-12)


def loop_write_sum(x):
    y = np.zeros(3)
    for i in range(2):
        y[i] = x[i] * x[i + 1]
    return np.sum(y * x)


def test_hessian_of_loop_write_by_hand():
    """f = x0^2 x1 + x1^2 x2: H = [[2 x1, 2 x0, 0], [2 x0, 2 x2, 2 x1], [0, 2 x1, 0]]."""
    x = np.array([0.5, -1.5, 2.0])
    want = np.array([[2 * x[1], 2 * x[0], 0], [2 * x[0], 2 * x[2], 2 * x[1]], [0, 2 * x[1], 0]])
    np.testing.assert_allclose(sd.hessian(loop_write_sum)(x), want, rtol=1e-12, atol=1e-12)
