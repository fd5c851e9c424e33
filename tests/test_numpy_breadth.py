"""NumPy breadth (issue #15) through the compiler, against central differences: ``x.item()``/``x.tolist()``,
``np.einsum`` of three or more operands, ``np.fromiter``, ``np.vectorize`` and the further NumPy callables."""
import math

import numpy as np
import pytest

import sourcediff as sd

H = 1e-6


def fd_grad(f, x):
    return np.array([(f(x + H * e) - f(x - H * e)) / (2 * H) for e in np.eye(np.size(x))]).reshape(np.shape(x))


def fd_jac(f, x):
    return np.transpose([(f(x + H * e) - f(x - H * e)) / (2 * H) for e in np.eye(np.size(x))])


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


MODES = ["reverse", "forward"]


# --- ndarray.item and ndarray.tolist -------------------------------------------------------------------------

def items(x):
    a = np.sum(x[:1] * 2.0).item()
    b = x.item(2)
    c = (x * x).reshape(2, 2).item((1, 0))
    rows = np.reshape(x, (2, 2)).tolist()
    return a * b + c + rows[0][1] * rows[1][0] + sum(rows[1]) + np.sin(x)[1:2].item()


def listed(x):
    r = np.reshape(x * x, (2, 2)).tolist()
    return np.array([r[1][0], r[1][1] * r[0][0], x.item(0)])


@pytest.mark.parametrize("mode", MODES)
def test_item_and_tolist(mode):
    x = np.array([0.3, -1.2, 0.8, 2.0])
    close(sd.grad(items, mode=mode)(x), fd_grad(items, x))
    close(sd.jacobian(listed, mode=mode)(x), fd_jac(listed, x))  # forward: the batched sweep


def item_of_many(x):
    return x.item() * 2.0


def test_item_of_an_array_of_several_elements_raises_as_numpy_does():
    with pytest.raises(ValueError):
        sd.grad(item_of_many)(np.array([1.0, 2.0]))
    close(sd.grad(item_of_many)(np.array([[1.5]])), [[2.0]])


# --- statistics, polynomials and the other callables of rules/numpy_stats.py ----------------------------------

def stats(x):
    m = np.reshape(x, (3, 4))
    nanned = np.where(m > 1.9, np.nan, m)
    return (np.quantile(x, 0.3) + np.sum(np.percentile(m, [20.0, 70.0], axis=1)) + np.median(m, axis=0)[1]
            + np.nanmedian(nanned) + np.sum(np.nanquantile(nanned, 0.6, axis=1, keepdims=True))
            + np.nanpercentile(nanned, 45.0) + np.average(m, 1, np.exp(x[:4]))[2]
            + np.average(x, None, 1.0 + x * x) + np.sum(np.cov(m) * np.arange(9.0).reshape(3, 3))
            + np.sum(np.corrcoef(m, rowvar=False)[0] ** 2) + np.sum(np.cov(m[0], bias=True)))


def polys(x):
    p, r = x[:3], x[3:5]
    return (np.sum(np.polyadd(p, r) * np.polysub(r, p)) + np.sum(np.polymul(p, r) ** 2)
            + np.sum(np.polyder(np.polyint(x[5:], 2, 0.5), 1) * np.arange(5.0)) + np.polyval(np.polyder(p), 0.7))


def products(x):
    a = np.reshape(x[:6], (2, 3))
    return (np.sum(np.matvec(a, x[6:9]) ** 2) + np.sum(np.vecmat(x[9:11], a)) + np.sum(np.linalg.svdvals(a))
            + np.sum(np.bincount(np.array([0, 2, 2, 1]), x[:4]) * np.array([1.0, -2.0, 3.0]))
            + np.sum(np.resize(x[:3], (2, 4)) * np.arange(4.0)) + np.sum(np.unwrap(3.0 * x[:4]) ** 2)
            + np.sum(np.real_if_close(x[:2]) * np.row_stack([x[2:4], x[4:6]]))
            + np.sum(np.asfortranarray(a) ** 3))


SPREAD = np.array([0.31, -1.27, 0.83, 2.05, -0.52, 1.46, 0.07, -0.94, 1.71, -1.88, 0.62, 1.13])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # np.row_stack
@pytest.mark.parametrize("f", [stats, polys, products], ids=["stats", "polys", "products"])
@pytest.mark.parametrize("mode", MODES)
def test_statistics_and_polynomials(f, mode):
    x = SPREAD[:{"stats": 12, "polys": 9, "products": 11}[f.__name__]]
    close(sd.grad(f, mode=mode)(x), fd_grad(f, x))


def med_rows(x):
    return np.concatenate([np.median(x, axis=1), np.quantile(x, [0.25, 0.8], axis=0).ravel(), np.cov(x).ravel()])


@pytest.mark.parametrize("mode", MODES)
def test_statistics_jacobian(mode):
    x = np.reshape(SPREAD, (3, 4))
    close(sd.jacobian(med_rows, mode=mode)(x), fd_jac(lambda t: med_rows(np.reshape(t, (3, 4))), SPREAD)
          .reshape(-1, 3, 4))


def in_q(q, x):
    return np.quantile(x, q)


def nearest(x):
    return np.quantile(x, 0.3, method="nearest")


def cov_two(x, y):
    return np.sum(np.cov(x, y))


def averaged_with_sum(x):
    return np.sum(np.average(x, None, x * x, returned=True)[0])


def trimmed(x):
    return np.sum(np.polymul(x * 0.0, x))


@pytest.mark.parametrize("f,args,match", [
    (trimmed, (SPREAD[:3],), "leading zero"),
    (in_q, (0.3, SPREAD), "in q"), (nearest, (SPREAD,), "method='linear'"), (cov_two, (SPREAD, SPREAD), "`y`"),
    (averaged_with_sum, (SPREAD,), "returned=True")], ids=["polymul", "q", "method", "cov-y", "average-returned"])
def test_statistics_refusals_are_located(f, args, match):
    with pytest.raises(sd.SourcediffError, match=match) as e:
        sd.grad(f)(*args)
    assert f.__name__ in str(e.value) or "test_numpy_breadth.py" in str(e.value)


# --- np.einsum of three to five operands ------------------------------------------------------------------------

RNG = np.random.default_rng(15)
EA, EB, EC, ED = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4,)), RNG.normal(size=(2, 5, 4))


def chain(a, b, c, d):
    return (np.sum(np.einsum("ij,jk,k->i", a, b, c) ** 2)
            + np.sum(np.einsum("ij,jk,...k->...i", a, b, d, optimize=True))
            + np.einsum("ij,jk,k,ik", a, b, c, np.outer(a[:, 0], c)) + np.sum(np.einsum("ij,ij,ij->j", a, a, a))
            + np.einsum("i,j,k,l,m->", c, c, a[0], b[0], c[:2] * 2.0))


def fd_arg(f, args, i):
    out = np.zeros(np.shape(args[i]))
    for idx in np.ndindex(out.shape):
        p, m = [x.copy() for x in args], [x.copy() for x in args]
        p[i][idx] += H
        m[i][idx] -= H
        out[idx] = (f(*p) - f(*m)) / (2 * H)
    return out


@pytest.mark.parametrize("mode", MODES)
def test_einsum_of_several_operands(mode):
    args = (EA, EB, EC, ED)
    got = sd.grad(chain, wrt=(0, 1, 2, 3), mode=mode)(*args)
    for i in range(4):
        close(got[i], fd_arg(chain, args, i))


def triple(x):
    return np.einsum("i,ij,j->", x, np.outer(x, x) + np.eye(3), x)


def triple_vec(x):
    return np.einsum("i,ij,j->j", x, np.outer(x, x) + np.eye(3), np.sin(x))


def test_einsum_of_several_operands_jacobian_and_hessian():
    x = np.array([0.4, -1.1, 0.7])
    for mode in MODES:
        close(sd.jacobian(triple_vec, mode=mode)(x), fd_jac(triple_vec, x))
    close(sd.hessian(triple)(x), fd_jac(sd.grad(triple), x))


def repeated(x):
    return np.einsum("ii,ij,j->", np.outer(x, x), np.outer(x, x), x)


def six(x):
    return np.einsum("i,i,i,i,i,i->", x, x, x, x, x, x)


@pytest.mark.parametrize("f,match", [(repeated, "repeated"), (six, "at most five")], ids=["repeated", "six"])
def test_einsum_of_several_operands_refusals(f, match):
    with pytest.raises(sd.SourcediffError, match=match) as e:
        sd.grad(f)(np.array([0.4, -1.1, 0.7]))
    assert "np.einsum" in str(e.value)


# --- np.fromiter and np.vectorize ------------------------------------------------------------------------------

def branchy(t, s):
    return math.sin(t) * s if t > 0 else t * t + s


def iterated(x):
    a = np.sum(np.fromiter((t * t for t in x), dtype=float))
    b = np.sum(np.fromiter([math.exp(t) for t in x], float) * np.arange(3.0))
    c = np.sum(np.vectorize(branchy)(x, 2.0 * x[::-1]) ** 2)
    d = np.sum(np.vectorize(lambda t: t ** 3 + math.cos(t))(np.reshape(np.concatenate([x, x]), (2, 3))))
    return a + b + c + d + np.sum(np.vectorize(branchy)(np.reshape(x, (3, 1)), x) * np.arange(3.0))


@pytest.mark.parametrize("mode", MODES)
def test_fromiter_and_vectorize(mode):
    x = np.array([0.4, -1.1, 0.7])
    close(sd.grad(iterated, mode=mode)(x), fd_grad(iterated, x))
    close(sd.jacobian(vectorized, mode=mode)(x), fd_jac(vectorized, x))


def vectorized(x):
    return np.vectorize(branchy)(x, 0.5)


def pair(t):
    return t, 2.0 * t


def vectorize_pairs(x):
    return np.sum(np.vectorize(pair)(x)[0])


def fromiter_ints(x):
    return np.sum(np.fromiter((t for t in x), dtype=int))


def vectorize_otypes(x):
    return np.sum(np.vectorize(branchy, otypes=[float])(x, x))


@pytest.mark.parametrize("f,match", [(vectorize_pairs, "other than a number"), (fromiter_ints, "float dtype"),
                                     (vectorize_otypes, "no options")], ids=["pairs", "int-dtype", "otypes"])
def test_fromiter_and_vectorize_refusals(f, match):
    with pytest.raises(sd.SourcediffError, match=match) as e:
        sd.grad(f)(np.array([0.4, -1.1, 0.7]))
    assert "np." in str(e.value) and f.__name__ in str(e.value) or "test_numpy_breadth.py" in str(e.value)
