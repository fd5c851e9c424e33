"""Broadcasting through the compiler: every binary operator over mismatched shapes.

For each operator (``+ - * / ** @ %`` and the binary NumPy ufuncs) and each operand
shape pair -- ``(3,1)`` & ``(4,)``, scalar & array, array & scalar, ``(2,1,3)`` &
``(4,1)``, keepdims-shaped operands -- the user function
``np.sum(op(x, y) * W)`` is written into a temporary module and differentiated
with respect to both operands:

* both modes agree with central finite differences (``sd.check_grads``);
* every gradient has exactly its input's shape (a float for a Python float);
* forward and reverse agree to 1e-10.

Then a bias broadcast over a batch, ``X @ W + b``: the gradient of ``b`` equals
the batch sum of the output adjoint (derived by hand) and the generated reverse
source reduces it with ``unbroadcast`` / ``np.sum``.
"""
import itertools
import re
import zlib

import numpy as np
import pytest

import sourcediff as sd
from helpers import write_module

_COUNTER = itertools.count()


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE", "0")


def load_module(tmp_path, text):
    """Write ``text`` to a fresh module under ``tmp_path`` and import it."""
    return write_module(tmp_path, "sdmod_%d" % next(_COUNTER), text)


# operator -> (expression template, domain of x, domain of y)
ANY, POS = (-2.0, 2.0), (0.5, 2.0)
OPERATORS = {
    "add": ("x + y", ANY, ANY),
    "sub": ("x - y", ANY, ANY),
    "mul": ("x * y", ANY, ANY),
    "div": ("x / y", ANY, POS),
    "pow": ("x ** y", POS, ANY),
    "mod": ("x % y", ANY, POS),
    "np.add": ("np.add(x, y)", ANY, ANY),
    "np.subtract": ("np.subtract(x, y)", ANY, ANY),
    "np.multiply": ("np.multiply(x, y)", ANY, ANY),
    "np.divide": ("np.divide(x, y)", ANY, POS),
    "np.power": ("np.power(x, y)", POS, ANY),
    "np.float_power": ("np.float_power(x, y)", POS, ANY),
    "np.maximum": ("np.maximum(x, y)", ANY, ANY),
    "np.minimum": ("np.minimum(x, y)", ANY, ANY),
    "np.fmax": ("np.fmax(x, y)", ANY, ANY),
    "np.fmin": ("np.fmin(x, y)", ANY, ANY),
    "np.where": ("np.where(x > y, x * y, y - x)", ANY, ANY),
    "np.hypot": ("np.hypot(x, y)", ANY, ANY),
    "np.arctan2": ("np.arctan2(x, y)", ANY, POS),
    "np.logaddexp": ("np.logaddexp(x, y)", ANY, ANY),
    "np.logaddexp2": ("np.logaddexp2(x, y)", ANY, ANY),
    "np.copysign": ("np.copysign(x, y)", ANY, ANY),
    "np.fmod": ("np.fmod(x, y)", ANY, POS),
}

SHAPE_PAIRS = {
    "col-row": ((3, 1), (4,)),
    "scalar-array": ((), (2, 3)),
    "array-scalar": ((2, 3), ()),
    "3d-2d": ((2, 1, 3), (4, 1)),
    "keepdims-rows": ((2, 3), (2, 1)),
    "keepdims-cols": ((1, 3), (2, 3)),
    "0d-array": ("0d", (3,)),
}

MATMUL_PAIRS = {
    "vec-mat": ((3,), (3, 4)),
    "mat-vec": ((2, 3), (3,)),
    "batch-mat": ((5, 2, 3), (3, 4)),
    "mat-batch": ((2, 3), (5, 3, 4)),
    "batch-broadcast": ((1, 2, 3), (4, 3, 2)),
    "batch-broadcast-4d": ((2, 1, 2, 3), (3, 3, 2)),
}


def sample(rng, shape, dom):
    if shape == "0d":
        return np.array(rng.uniform(*dom))
    x = rng.uniform(*dom, size=shape)
    return float(x) if shape == () else x


def lit(w):
    return repr(float(w)) if np.ndim(w) == 0 else "np.array(%r)" % (w.tolist(),)


def make(tmp_path, expr, x, y, seed):
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        out = eval(expr, {"np": np, "x": x, "y": y})
    w = float(rng.normal()) if np.ndim(out) == 0 else rng.normal(size=np.shape(out))
    src = "import numpy as np\n\nW = %s\n\n\ndef f(x, y):\n    return np.sum((%s) * W)\n" % (lit(w), expr)
    return load_module(tmp_path, src).f


def check_structure(g, x, what):
    if isinstance(x, np.ndarray):
        assert isinstance(g, np.ndarray), "%s: gradient of an array is a %s" % (what, type(g).__name__)
        assert g.shape == x.shape, "%s: gradient shape %s, input shape %s" % (what, g.shape, x.shape)
    else:
        assert isinstance(g, float), "%s: gradient of a float is %r" % (what, g)


def run_checks(f, x, y):
    with np.errstate(all="ignore"):
        assert sd.check_grads(f, x, y, wrt=(0, 1), modes=("forward", "reverse"))
        grads = {m: sd.grad(f, wrt=(0, 1), mode=m)(x, y) for m in ("forward", "reverse")}
    for m, g in grads.items():
        check_structure(g[0], x, "%s mode, x" % m)
        check_structure(g[1], y, "%s mode, y" % m)
    for a, b in zip(grads["forward"], grads["reverse"]):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-10, atol=1e-10)



def _cases():
    out = []
    for op, (expr, dx, dy) in OPERATORS.items():
        for name, (sx, sy) in SHAPE_PAIRS.items():
            out.append(pytest.param(expr, dx, dy, sx, sy, id="%s-%s" % (op, name)))
    return out


@pytest.mark.parametrize("expr,dx,dy,sx,sy", _cases())
def test_binary_broadcast(tmp_path, expr, dx, dy, sx, sy):
    seed = zlib.crc32(("%s %s %s" % (expr, sx, sy)).encode())
    rng = np.random.default_rng(seed)
    x, y = sample(rng, sx, dx), sample(rng, sy, dy)
    f = make(tmp_path, expr, x, y, seed)
    run_checks(f, x, y)


@pytest.mark.parametrize("sx,sy", list(MATMUL_PAIRS.values()), ids=list(MATMUL_PAIRS))
def test_matmul_broadcast(tmp_path, sx, sy):
    seed = zlib.crc32(("matmul %s %s" % (sx, sy)).encode())
    rng = np.random.default_rng(seed)
    x, y = sample(rng, sx, ANY), sample(rng, sy, ANY)
    run_checks(make(tmp_path, "x @ y", x, y, seed), x, y)
    run_checks(make(tmp_path, "np.matmul(x, y)", x, y, seed + 1), x, y)


@pytest.mark.parametrize("sx,sy", [((3, 1), (4,)), ((), (2, 3)), ((2, 1, 3), (4, 1))],
                         ids=["col-row", "scalar-array", "3d-2d"])
def test_chained_broadcast(tmp_path, sx, sy):
    """Broadcast results feeding further broadcasts, reductions and in-place operators."""
    src = ("import numpy as np\n\n\ndef f(x, y):\n"
           "    z = x * y + np.sin(x)\n"
           "    z = z - np.mean(z, axis=-1, keepdims=True)\n"
           "    z += y\n"
           "    return np.sum(z ** 2) + np.sum(np.maximum(z, 0.1) * x)\n")
    f = load_module(tmp_path, src).f
    rng = np.random.default_rng(zlib.crc32(str((sx, sy)).encode()))
    run_checks(f, sample(rng, sx, ANY), sample(rng, sy, ANY))


def test_keepdims_reduction_operands(tmp_path):
    """x minus its own keepdims max and divided by a keepdims sum (a softmax): operand shapes (2,3) & (2,1)."""
    src = ("import numpy as np\n\nW = np.array([[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]])\n\n\ndef f(x):\n"
           "    e = np.exp(x - np.max(x, axis=1, keepdims=True))\n"
           "    return np.sum(e / np.sum(e, axis=1, keepdims=True) * W)\n")
    f = load_module(tmp_path, src).f
    x = np.random.default_rng(3).normal(size=(2, 3))
    assert sd.check_grads(f, x, modes=("forward", "reverse"))
    for mode in ("forward", "reverse"):
        assert sd.grad(f, mode=mode)(x).shape == (2, 3)


# --- a bias broadcast over a batch ----------------------------------------------------------------

X_BATCH = np.random.default_rng(11).normal(size=(5, 3))
G_OUT = np.random.default_rng(12).normal(size=(5, 2))


def linear_layer(Wm, b):
    return np.sum((X_BATCH @ Wm + b) * G_OUT)


def tanh_layer(Wm, b):
    return np.sum(np.tanh(X_BATCH @ Wm + b) * G_OUT)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_bias_gradient_is_batch_sum(mode):
    """d/db sum((X W + b) * G) = sum_n G[n, :]; d/dW = X^T G (by hand)."""
    rng = np.random.default_rng(5)
    Wm, b = rng.normal(size=(3, 2)), rng.normal(size=(2,))
    gW, gb = sd.grad(linear_layer, wrt=("Wm", "b"), mode=mode)(Wm, b)
    assert gb.shape == (2,) and gW.shape == (3, 2)
    np.testing.assert_allclose(gb, G_OUT.sum(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gW, X_BATCH.T @ G_OUT, rtol=1e-12, atol=1e-12)
    # and the nonlinear layer against finite differences: db = sum_n (1 - tanh^2) G
    assert sd.check_grads(tanh_layer, Wm, b, wrt=("Wm", "b"), modes=(mode,))
    gb2 = sd.grad(tanh_layer, wrt="b", mode=mode)(Wm, b)
    np.testing.assert_allclose(gb2, ((1 - np.tanh(X_BATCH @ Wm + b) ** 2) * G_OUT).sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("optimize", [True, False])
def test_bias_reduction_visible_in_source(optimize):
    src = sd.source(linear_layer, wrt="b", mode="reverse", optimize=optimize)
    assert re.search(r"unbroadcast\([^\n]*\bb\s*\)|np\.sum\([^\n]*axis\s*=\s*0", src), \
        "the batch reduction of b's adjoint is not visible in the reverse source:\n" + src
