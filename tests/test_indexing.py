"""Indexing through the compiler: reads, and writes into arrays the function owns.

Every program below is checked in both modes against central finite differences
(``sd.check_grads``), and its gradient must have the shape of the input; forward
and reverse must agree to 1e-10. Reads cover integer, negative, strided, row,
column, ``...``, ``None``, boolean-mask and repeated integer-array indices (whose
adjoint must scatter-*add*, checked against a hand derivation too). Writes cover
``y[i] = e``, ``y[1:3] = e``, ``y[i] += e``, row/column/mask writes, overwrites
and recurrences, inside ``for`` and ``while`` loops.
"""
import zlib

import numpy as np
import pytest

import sourcediff as sd

W3 = np.array([0.7, -1.3, 0.4])
W4 = np.array([0.5, -0.2, 1.1, 0.9])
W23 = np.array([[0.3, -1.2, 0.8], [1.4, 0.6, -0.5]])
REP = np.array([0, 0, 2])
ROWS, COLS = np.array([0, 1, 1, 0]), np.array([2, 0, 2, 2])


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE", "0")


# --- reads ------------------------------------------------------------------------------------------

def read_int(x, i):
    return np.sin(x[i]) * x[i + 1]


def read_neg(x):
    return x[-1] ** 3 + x[-2] * x[0]


def read_strided(x):
    return np.sum(np.exp(x[1:4:2]) * x[0:2])


def read_reversed(x):
    return np.sum(x[::-1] * np.cos(x) * np.arange(5.0))


def read_row(x, i):
    return np.sum(x[i, :] ** 2 * W3)


def read_col(x, j):
    return np.sum(np.tanh(x[:, j]) * x[:, 0])


def read_ellipsis(x):
    return np.sum(x[..., 0] * x[..., 2]) + np.sum(x[..., 1:] ** 2)


def read_newaxis(x):
    return np.sum(x[None, :] * x[:, None] * W23[0])


def read_mask(x):
    return np.sum(x[x > 0] ** 2) - np.sum(np.sin(x[x <= 0]))


def read_const_mask(x):
    m = np.array([True, False, True, True, False])
    return np.sum(np.exp(x[m]))


def read_repeats(x):
    return np.sum(x[np.array([0, 0, 2])] * W3)


def read_repeats_global(x):
    return np.sum(np.sin(x[REP]) * W3) + np.sum(x[REP] ** 2)


def read_list_index(x):
    return np.sum(x[[1, 1, 3]] * W3)


def read_fancy_2d(x):
    return np.sum(x[ROWS, COLS] ** 2 * W4)


def read_chained(x, i, j):
    return x[i][j] * x[j][i] + np.sum(x[1][1:] * x[0][:2])


def read_2d_slice(x):
    return np.sum(x[1:, :-1] * x[:-1, 1:])


def read_in_loop(x):
    s = 0.0
    for k in range(len(x) - 1):
        s = s + x[k] * x[k + 1] + np.sin(x[-k - 1])
    return s


def read_loop_over_rows(x):
    s = 0.0
    for row in x:
        s = s + np.sum(row * W3) ** 2
    return s


R5 = lambda rng: rng.normal(size=5)           # noqa: E731
R23 = lambda rng: rng.normal(size=(2, 3))     # noqa: E731
R34 = lambda rng: rng.normal(size=(3, 4))     # noqa: E731

READS = [
    (read_int, R5, (2,)), (read_int, R5, (-3,)), (read_neg, R5, ()), (read_strided, R5, ()),
    (read_reversed, R5, ()), (read_row, R23, (1,)), (read_row, R23, (-2,)), (read_col, R23, (2,)),
    (read_ellipsis, R23, ()), (read_ellipsis, lambda r: r.normal(size=(2, 2, 3)), ()),
    (read_newaxis, lambda r: r.normal(size=3), ()), (read_mask, R5, ()), (read_mask, R23, ()),
    (read_const_mask, R5, ()), (read_repeats, R5, ()), (read_repeats_global, R5, ()), (read_list_index, R5, ()),
    (read_fancy_2d, R23, ()), (read_chained, R23, (1, 0)), (read_2d_slice, R34, ()), (read_in_loop, R5, ()),
    (read_loop_over_rows, R23, ()),
]


def run_checks(f, x, *rest):
    with np.errstate(all="ignore"):
        assert sd.check_grads(f, x, *rest, modes=("forward", "reverse"))
        gf = sd.grad(f, mode="forward")(x, *rest)
        gr = sd.grad(f, mode="reverse")(x, *rest)
    for m, g in (("forward", gf), ("reverse", gr)):
        assert isinstance(g, np.ndarray) and g.shape == x.shape, "%s: gradient %r for input shape %s" % (m, g, x.shape)
    np.testing.assert_allclose(gf, gr, rtol=1e-10, atol=1e-10)
    return gr


def _ids(table):
    seen, out = {}, []
    for f, _, extra in table:
        n = f.__name__ + ("-%s" % ",".join(map(str, extra)) if extra else "")
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else "%s#%d" % (n, seen[n]))
    return out


@pytest.mark.parametrize("f,gen,extra", READS, ids=_ids(READS))
def test_read(f, gen, extra):
    x = gen(np.random.default_rng(zlib.crc32(f.__name__.encode())))
    run_checks(f, x, *extra)


@pytest.mark.parametrize("f", [read_repeats, read_list_index], ids=["array", "list"])
def test_repeated_index_scatter_adds(f):
    """d/dx sum(x[[0, 0, 2]] * w) = w scattered with addition: [w0 + w1, 0, w2, 0, 0] (by hand)."""
    x = np.random.default_rng(0).normal(size=5)
    want = np.zeros(5)
    idx = [0, 0, 2] if f is read_repeats else [1, 1, 3]
    for k, w in zip(idx, W3):
        want[k] += w
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(sd.grad(f, mode=mode)(x), want, rtol=1e-12, atol=1e-12)


def test_mask_gradient_by_hand():
    x = np.array([0.5, -1.0, 2.0, -0.3, 1.5])
    want = np.where(x > 0, 2 * x, -np.cos(x))
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(sd.grad(read_mask, mode=mode)(x), want, rtol=1e-12)


# --- writes into owned arrays -------------------------------------------------------------------------

def write_loop(x):
    y = np.zeros(4)
    for i in range(4):
        y[i] = x[i] * x[(i + 1) % 4]
    return np.sum(y * W4)


def write_slice(x):
    y = np.ones(5)
    y[1:3] = np.sin(x[:2])
    y[3:] = x[2:4] ** 2
    return np.sum(y * y * np.arange(1.0, 6.0))


def write_aug_loop(x):
    y = x.copy()
    for i in range(3):
        y[i] += x[i + 1] * y[i]
    return np.sum(y ** 2)


def write_aug_zeros(x):
    y = np.zeros(3)
    for k in range(4):
        y[k % 3] += np.sin(x[k]) * x[k + 1]
    return np.sum(y * W3)


def write_recurrence(x):
    y = np.zeros(5)
    y[0] = x[0]
    for i in range(1, 5):
        y[i] = y[i - 1] * np.cos(x[i]) + x[i]
    return np.sum(y ** 2)


def write_overwrite(x):
    y = np.zeros(3)
    for k in range(5):
        y[0] = y[0] * x[k] + x[k]
        y[1] = y[0] ** 2
    return y[0] + y[1] + y[2]


def write_rows(x):
    y = np.zeros((3, 3))
    for i in range(3):
        y[i, :] = x[i] * x[:3] + i
    return np.sum(np.tanh(y) * np.arange(9.0).reshape(3, 3))


def write_cols(x):
    y = np.ones((2, 3))
    for j in range(3):
        y[:, j] = x[:, j] * x[:, (j + 1) % 3]
    return np.sum(y * W23)


def write_mask(x):
    y = x.copy()
    y[x > 0] = x[x > 0] ** 2
    return np.sum(y * np.arange(5.0))


def write_slice_aug_while(x):
    y = np.zeros(5)
    k = 0
    while k < 3:
        y[1:4] += x[k:k + 3] * x[k + 1]
        k = k + 1
    return np.sum(np.sin(y))


def write_scalar_into_row(x, i):
    y = np.zeros((2, 3))
    y[i] = x[0] * 2.0
    y[i - 1, 1] = x[1] * x[2]
    return np.sum(y * W23)


WRITES = [
    (write_loop, R5, ()), (write_slice, R5, ()), (write_aug_loop, R5, ()), (write_aug_zeros, R5, ()),
    (write_recurrence, R5, ()), (write_overwrite, R5, ()), (write_rows, R5, ()), (write_cols, R23, ()),
    (write_mask, R5, ()), (write_slice_aug_while, R5, ()), (write_scalar_into_row, R5, (1,)),
]


SHAPE_ONLY = {write_loop, write_cols, write_mask, write_scalar_into_row}


def run_mode(f, x, extra, mode):
    with np.errstate(all="ignore"):
        assert sd.check_grads(f, x, *extra, modes=(mode,))
        g = sd.grad(f, mode=mode)(x, *extra)
    assert isinstance(g, np.ndarray) and g.shape == x.shape
    return g


def _write_params():
    out = []
    for (f, gen, extra), i in zip(WRITES, _ids(WRITES)):
        for mode in ("forward", "reverse"):
            marks = []
            out.append(pytest.param(f, gen, extra, mode, id="%s-%s" % (i, mode), marks=marks))
    return out


@pytest.mark.parametrize("f,gen,extra,mode", _write_params())
def test_write(f, gen, extra, mode):
    x = gen(np.random.default_rng(zlib.crc32(f.__name__.encode())))
    before = x.copy()
    g = run_mode(f, x, extra, mode)
    np.testing.assert_array_equal(x, before, err_msg="differentiating %s modified its input" % f.__name__)
    other = run_mode(f, x, extra, "reverse" if mode == "forward" else "forward") if f not in SHAPE_ONLY else g
    np.testing.assert_allclose(g, other, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_write_loop_by_hand(mode):
    """y[i] = x[i] x[i+1 mod 4]; d/dx_k sum(w y) = w_k x_{k+1} + w_{k-1} x_{k-1} (indices mod 4)."""
    x = np.array([0.3, -0.8, 1.2, 0.5, 2.0])
    want = np.zeros(5)
    for k in range(4):
        want[k] = W4[k] * x[(k + 1) % 4] + W4[(k - 1) % 4] * x[(k - 1) % 4]
    np.testing.assert_allclose(sd.grad(write_loop, mode=mode)(x), want, rtol=1e-12, atol=1e-14)


def write_repeated_aug(x):
    y = np.zeros(6)
    y[np.array([2, 0, 2, 1])] += x  # NumPy keeps the last write to y[2]
    return np.sum(y * np.arange(1.0, 7.0))


def write_repeated_rows(x):
    y = np.zeros((3, 2))
    y[[1, 1, 0]] = x
    return np.sum(np.sin(y))


@pytest.mark.parametrize("f, shape", [(write_repeated_aug, (4,)), (write_repeated_rows, (3, 2))])
def test_repeated_index_write_keeps_the_last(f, shape):
    x = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape) / 7
    run_checks(f, x)
