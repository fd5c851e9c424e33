"""Matrix decompositions through the compiler (``sourcediff/rules/numpy_decomp.py``): the results unpacked as
users write them, both modes, batched forward Jacobians and Hessians against central differences; and the
located refusals (equal eigenvalues, complex eigenvalues, full SVD of a non-square matrix, QR without a rule)."""
import numpy as np
import pytest

import sourcediff as sd
from helpers import check, num_jacobian, num_second, write_module

SRC = '''
import numpy as np


def eigh_both(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w * w) + np.sum(v[:, 0] ** 3) * w[0]


def eigh_fields(a):
    r = np.linalg.eigh(a)
    return np.sum(r.eigenvalues ** 2) + np.sum(r.eigenvectors[:, 0] ** 4) + np.linalg.svd(a).S[0]


def eigh_values(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w ** 3)


def eig_both(a):
    w, v = np.linalg.eig(a)
    return np.sum(np.sin(w)) + np.sum(v[:, 1] ** 2 * v[:, 0])


def eig_values(a):
    w, v = np.linalg.eig(a)
    return np.sum(np.abs(w))


def norms(a):
    return np.linalg.norm(a, "nuc") + np.linalg.norm(a, 2) * np.linalg.norm(a, -2) + np.linalg.norm(a[0], 3)


def norm_of_order(a, p):
    return np.linalg.norm(a, p)


def svd_all(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(s ** 2) + np.sum(u[:, 0] * u[:, 0] ** 2) + vh[0, 1] * s[1]


def svd_default(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(u[:3, :3] * vh)


def nuclear(a):
    return np.sum(np.linalg.svd(a, compute_uv=False))


def chol_logdet(a):
    l = np.linalg.cholesky(a)
    sign, logdet = np.linalg.slogdet(a)
    return 2.0 * np.sum(np.log(np.diag(l))) + logdet * sign


def qr_prod(a):
    q, r = np.linalg.qr(a)
    return np.sum(q[0] ** 3) + np.sum(np.tanh(r))


def qr_r_only(a):
    return np.sum(np.linalg.qr(a, mode="r"))


def svd_hermitian(a):
    return np.sum(np.linalg.svd(a, hermitian=True)[1])


def pinv_power(a):
    return np.sum(np.linalg.pinv(a) ** 2) + np.sum(np.linalg.matrix_power(a.T @ a, 3)) * 0.01
'''


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return write_module(tmp_path_factory.mktemp("decomp"), "decomp_prog", SRC)


def spread(rng, m, n):
    """A matrix with well-separated singular values (and, square, real eigenvalues): about 1, 2, 3."""
    return rng.uniform(-0.3, 0.3, (m, n)) + np.eye(m, n) * np.arange(1.0, n + 1)


def spd(rng, n):
    m = rng.uniform(-1, 1, (n, n))
    return m @ m.T + 2 * np.eye(n)


CASES = {"eigh_both": lambda r: r.normal(size=(3, 3)), "eigh_fields": lambda r: r.normal(size=(3, 3)),
         "eigh_values": lambda r: r.normal(size=(3, 3)),
         "eig_both": lambda r: spread(r, 3, 3), "svd_all": lambda r: spread(r, 4, 3),
         "svd_default": lambda r: spread(r, 3, 3), "nuclear": lambda r: spread(r, 3, 4),
         "norms": lambda r: spread(r, 3, 3),
         "chol_logdet": lambda r: spd(r, 3), "qr_prod": lambda r: spread(r, 4, 3),
         "pinv_power": lambda r: spread(r, 4, 3)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_modes_against_differences(mod, name):
    a = CASES[name](np.random.default_rng(7))
    check(getattr(mod, name), a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["eigh_both", "svd_all", "qr_prod", "chol_logdet"])
def test_batched_jacobian_and_hessian(mod, name):
    f = getattr(mod, name)
    a = CASES[name](np.random.default_rng(3))
    want = num_jacobian(f, (a,), 0)
    np.testing.assert_allclose(sd.jacobian(f, mode="forward")(a), np.reshape(want, a.shape), rtol=1e-6, atol=1e-7)
    h = sd.hessian(f)(a).reshape(a.size, a.size)
    np.testing.assert_allclose(h, h.T, rtol=1e-6, atol=1e-7)
    row = num_jacobian(lambda b: sd.grad(f)(b).ravel()[1], (a,), 0)
    np.testing.assert_allclose(h[1], np.ravel(row), rtol=1e-5, atol=1e-6)


def _located(e, line):
    msg = str(e.value)
    assert "decomp_prog.py:" in msg and line in msg, msg


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_equal_eigenvalues_refuse_eigenvectors(mod, mode):
    a = np.diag([1.0, 1.0, 2.0])
    with pytest.raises(sd.SourcediffError, match="two equal eigenvalues") as e:
        sd.grad(mod.eigh_both, mode=mode)(a)
    _located(e, "def eigh_both")


def test_equal_eigenvalues_with_values_only_differentiate_in_reverse(mod):
    a = np.diag([1.0, 1.0, 2.0])
    np.testing.assert_allclose(sd.grad(mod.eigh_values)(a), np.diag([3.0, 3.0, 12.0]), atol=1e-12)


def test_complex_eigenvalues_are_refused(mod):
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError, match="complex eigenvalues") as e:
            sd.grad(mod.eig_values, mode=mode)(rot)
        _located(e, "def eig_values")


def test_full_svd_of_a_non_square_matrix_is_refused(mod):
    with pytest.raises(sd.SourcediffError, match="full_matrices=False") as e:
        sd.grad(mod.svd_default)(spread(np.random.default_rng(0), 4, 3))
    _located(e, "def svd_default")


@pytest.mark.parametrize("name,line,why", [("qr_r_only", 'mode="r"', r"qr\(\.\.\., mode='r'\) has no derivative rule"),
                                           ("svd_hermitian", "hermitian=True", r"hermitian=True\) has no derivative")])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_options_without_rules_are_refused_at_build_time(mod, name, line, why, mode):
    with pytest.raises(sd.SourcediffError, match=why) as e:
        sd.grad(getattr(mod, name), mode=mode)
    _located(e, line)


def test_wide_qr_is_refused(mod):
    with pytest.raises(sd.SourcediffError, match="at least as many rows") as e:
        sd.grad(mod.qr_prod)(spread(np.random.default_rng(0), 2, 3))
    _located(e, "def qr_prod")


def test_second_derivative_of_eigenvalues(mod):
    a = np.random.default_rng(5).normal(size=(3, 3))
    h = sd.hessian(mod.eigh_values)(a).reshape(9, 9)
    e = np.zeros(9)
    e[4] = 1.0
    want = num_second(lambda t: mod.eigh_values(a + t * e.reshape(3, 3)), 0.0)
    assert abs(h[4, 4] - want) < 1e-4 * (1 + abs(want))


@pytest.mark.parametrize("rows,p", [(3, 1), (3, -1), (3, np.inf), (None, 0.5), (None, -2), (None, np.inf)])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_norm_orders_without_rules_are_refused_when_they_run(mod, rows, p, mode):
    """An order the call gives as a variable (or a negative literal) is refused at its first call."""
    a = spread(np.random.default_rng(0), 3, 3)
    with pytest.raises(sd.SourcediffError, match="norm ord=.* has no derivative rule") as e:
        sd.grad(mod.norm_of_order, mode=mode)(a if rows else a[0], p)
    _located(e, "def norm_of_order")
