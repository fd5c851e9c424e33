"""Benchmark workloads for sourcediff.

Every workload has
  * the plain Python / NumPy function a user would hand to ``sd.grad``
    (ordinary code: ``math``/``np`` calls, loops, dicts, helper functions),
  * a HAND-WRITTEN gradient -- what a good engineer would write by hand; it is
    the reference both for correctness (checked against central finite
    differences in ``check_handwritten.py``) and for speed (every ratio in the
    report is "contender time / hand-written time"),
  * peer versions (autograd, JAX, PyTorch), written the way a user of that
    library would write them. Peers are optional: a peer that cannot be imported
    is reported as "not installed".

Nothing in this module needs sourcediff: if ``import sourcediff`` fails, the
sourcediff contenders raise :class:`Unavailable` and the harness prints "n/a".

Set the single-thread environment variables (see ``run.py``) BEFORE importing
this module; it imports NumPy.
"""
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import numpy as np  # noqa: E402

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    # benchmark the in-tree sourcediff, not some other installed copy -- unless
    # PYTHONPATH is set explicitly, which then wins
    if os.environ.get("PYTHONPATH"):
        sys.path.append(_REPO_ROOT)
    else:
        sys.path.insert(0, _REPO_ROOT)


# ---------------------------------------------------------------------------
# availability plumbing
# ---------------------------------------------------------------------------
class Unavailable(Exception):
    """A contender that cannot run here (peer not installed, sourcediff missing).

    ``short`` is what the table shows ("n/a", "not installed"); the message is
    the reason, printed under the table.
    """

    def __init__(self, short: str, reason: str = ""):
        super().__init__(reason or short)
        self.short = short
        self.reason = reason or short


def _short_exc(e: BaseException, limit: int = 300) -> str:
    msg = "%s: %s" % (type(e).__name__, e)
    msg = " ".join(msg.split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


try:  # sourcediff is being written concurrently; anything may go wrong here
    import sourcediff as sd  # noqa: E402
    SD_ERROR: Optional[str] = None
    for _name in ("grad",):
        if not hasattr(sd, _name):
            raise AttributeError("sourcediff has no attribute %r" % _name)
except Exception as _e:  # noqa: BLE001 - ImportError, SyntaxError, ... all mean "n/a"
    sd = None
    SD_ERROR = _short_exc(_e)


def require_sd():
    if sd is None:
        raise Unavailable("n/a", "sourcediff not importable (%s)" % SD_ERROR)
    return sd


def _checkpoint(g):
    """``sd.checkpoint(g)`` when sourcediff provides it, else ``g`` itself."""
    if sd is None or not hasattr(sd, "checkpoint"):
        return g
    try:
        return sd.checkpoint(g)
    except Exception:  # noqa: BLE001
        return g


SD_HAS_CHECKPOINT = sd is not None and hasattr(sd, "checkpoint")

_PEER_CACHE: Dict[str, Any] = {}


def _peer(name: str):
    """Import a peer library lazily; raise Unavailable if it is not installed."""
    if name in _PEER_CACHE:
        mod = _PEER_CACHE[name]
        if isinstance(mod, Unavailable):
            raise mod
        return mod
    try:
        if name == "autograd":
            import autograd
            import autograd.numpy as anp
            mod = (autograd, anp)
        elif name == "jax":
            flags = os.environ.get("XLA_FLAGS", "")
            if "xla_cpu_multi_thread_eigen" not in flags:
                os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false"
                                           " intra_op_parallelism_threads=1").strip()
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
            import jax
            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp
            mod = (jax, jnp)
        elif name == "torch":
            import torch
            torch.set_num_threads(1)
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:
                pass  # already set (only allowed once per process)
            mod = torch
        else:
            raise ValueError(name)
    except ImportError as e:
        mod = Unavailable("not installed", "%s not installed (%s)" % (name, e))
    except Exception as e:  # noqa: BLE001 - a broken install
        mod = Unavailable("n/a", "%s failed to import (%s)" % (name, _short_exc(e)))
    _PEER_CACHE[name] = mod
    if isinstance(mod, Unavailable):
        raise mod
    return mod


def peer_version(name: str) -> str:
    try:
        m = _peer(name)
    except Unavailable as u:
        return u.short
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001
        m = m[0] if isinstance(m, tuple) else m
        return getattr(m, "__version__", "?")


# ---------------------------------------------------------------------------
# harness-facing data types
# ---------------------------------------------------------------------------
@dataclass
class Contender:
    fn: Callable            # timed as fn(*args)
    args: tuple
    # turns fn's result into the structure the checker compares (numpy values);
    # None -> the result is already NumPy / Python numbers
    to_numpy: Optional[Callable[[Any], Any]] = None
    # for memory measurement: does tracemalloc see this contender's allocations?
    traced_memory: bool = True


@dataclass
class Case:
    wid: str                                  # workload id, "W1"... (--only matches this)
    key: str                                  # unique case key, "W1", "W1.x1", ...
    title: str
    target: float                             # target ratio sourcediff / hand-written
    make_data: Callable[[], dict]
    hand: Callable[[dict], Contender]
    contenders: List[Tuple[str, Callable[[dict], Contender]]]
    memory: List[str] = field(default_factory=list)   # contenders to measure peak memory for
    transform_probe: bool = False
    time_unit: str = "us"
    max_rounds: Optional[int] = None          # fewer rounds where a peer takes seconds a call (W7's eager jax)


def _jax_block(jax, f):
    def run(*a):
        return jax.block_until_ready(f(*a))
    return run


def _t2np(x):
    """torch / jax results -> numpy (recursively over tuples / dicts)."""
    if isinstance(x, dict):
        return {k: _t2np(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_t2np(v) for v in x)
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


# ===========================================================================
# W1: f(x1, x2) = x1*x2 + sin(x1) on Python floats
# ===========================================================================
def w1_f(x1, x2):
    return x1 * x2 + math.sin(x1)


def w1_hand(x1, x2):
    return x2 + math.cos(x1), x1


def w1_hand_x1(x1, x2):
    return x2 + math.cos(x1)


def _w1_data():
    return {"args": (0.7, -1.3)}


def _w1_sd(wrt):
    def build(d):
        s = require_sd()
        return Contender(s.grad(w1_f, wrt=wrt), d["args"])
    return build


def _w1_autograd(wrt):
    def build(d):
        autograd, anp = _peer("autograd")

        def f(x1, x2):
            return x1 * x2 + anp.sin(x1)
        return Contender(autograd.grad(f, argnum=wrt), d["args"])
    return build


def _w1_jax(wrt):
    def build(d):
        jax, jnp = _peer("jax")

        def f(x1, x2):
            return x1 * x2 + jnp.sin(x1)
        g = jax.jit(jax.grad(f, argnums=wrt))
        return Contender(_jax_block(jax, g), d["args"], _t2np, traced_memory=False)
    return build


def _w1_torch(wrt):
    def build(d):
        torch = _peer("torch")

        def g(x1, x2):
            a = torch.tensor(x1, dtype=torch.float64, requires_grad=True)
            b = torch.tensor(x2, dtype=torch.float64, requires_grad=(wrt != 0))
            out = a * b + torch.sin(a)
            out.backward()
            if wrt == 0:
                return a.grad.item()
            return a.grad.item(), b.grad.item()
        return Contender(g, d["args"], traced_memory=False)
    return build


# ===========================================================================
# W2: 100-step scalar loop
# ===========================================================================
def w2_f(y, a):
    for i in range(100):
        y = math.sin(y) * a + y * 0.5
    return y


def w2_hand(y, a):
    ys = []
    for i in range(100):
        ys.append(y)
        y = math.sin(y) * a + y * 0.5
    gy = 1.0
    ga = 0.0
    for i in range(99, -1, -1):
        yi = ys[i]
        ga += gy * math.sin(yi)
        gy = gy * (math.cos(yi) * a + 0.5)
    return gy, ga


def _w2_data():
    return {"args": (0.3, 0.9)}


def _w2_sd(d):
    s = require_sd()
    return Contender(s.grad(w2_f, wrt=(0, 1)), d["args"])


def _w2_autograd(d):
    autograd, anp = _peer("autograd")

    def f(y, a):
        for i in range(100):
            y = anp.sin(y) * a + y * 0.5
        return y
    return Contender(autograd.grad(f, argnum=(0, 1)), d["args"])


def _w2_jax(d):
    jax, jnp = _peer("jax")

    def f(y, a):
        for i in range(100):
            y = jnp.sin(y) * a + y * 0.5
        return y
    g = jax.jit(jax.grad(f, argnums=(0, 1)))
    return Contender(_jax_block(jax, g), d["args"], _t2np, traced_memory=False)


def _w2_torch(d):
    torch = _peer("torch")

    def g(y0, a0):
        y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)
        a = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
        h = y
        for i in range(100):
            h = torch.sin(h) * a + h * 0.5
        h.backward()
        return y.grad.item(), a.grad.item()
    return Contender(g, d["args"], traced_memory=False)


# ===========================================================================
# W3: 1000 gradient-descent steps on (p(x) - 42)**2, p a separate function
# ===========================================================================
def p(x):
    return x**3 - 2 * x**2 + 3 * x - 5


def w3_loss(x):
    return (p(x) - 42) ** 2


def w3_hand_grad(x):
    return 2 * (p(x) - 42) * (3 * x**2 - 4 * x + 3)


W3_STEPS = 1000
W3_LR = 1e-4
W3_X0 = 3.0


def descend(grad_fn, x0=W3_X0, lr=W3_LR, steps=W3_STEPS):
    """The timed unit of W3: plain gradient descent driven by ``grad_fn``."""
    x = x0
    for _ in range(steps):
        x -= lr * grad_fn(x)
    return x


def _w3_data():
    return {}


def _w3_hand(d):
    return Contender(descend, (w3_hand_grad,))


def _w3_sd(d):
    s = require_sd()
    return Contender(descend, (s.grad(w3_loss),))


def _w3_autograd(d):
    autograd, _ = _peer("autograd")
    return Contender(descend, (autograd.grad(w3_loss),))


def _w3_jax(d):
    jax, _ = _peer("jax")
    g = jax.jit(jax.grad(w3_loss))

    def grad_fn(x):  # keep the descent loop on Python floats
        return float(g(x))
    return Contender(descend, (grad_fn,), traced_memory=False)


def _w3_torch(d):
    torch = _peer("torch")

    def grad_fn(x):
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        w3_loss(t).backward()
        return t.grad.item()
    return Contender(descend, (grad_fn,), traced_memory=False)


# ===========================================================================
# W4: MLP 784-256-10, tanh, softmax cross-entropy (log-sum-exp), batch 128
# ===========================================================================
def mlp_loss(params, x, y):
    h = np.tanh(x @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    m = np.max(logits, axis=1, keepdims=True)
    z = logits - m
    lse = np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    logp = z - lse
    return -np.mean(np.sum(y * logp, axis=1))


def mlp_hand_grad(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = x.shape[0]
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    probs = e / e.sum(axis=1, keepdims=True)
    # d(-mean(sum(y * log_softmax)))/dlogits = (softmax * sum(y) - y) / n
    dlogits = (probs * y.sum(axis=1, keepdims=True) - y) / n
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(axis=0)
    da = (dlogits @ W2.T) * (1.0 - h * h)
    dW1 = x.T @ da
    db1 = da.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def make_mlp_data(batch=128, n_in=784, n_hidden=256, n_out=10, seed=0):
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.standard_normal((n_in, n_hidden)) / math.sqrt(n_in),
        "b1": 0.1 * rng.standard_normal(n_hidden),
        "W2": rng.standard_normal((n_hidden, n_out)) / math.sqrt(n_hidden),
        "b2": 0.1 * rng.standard_normal(n_out),
    }
    x = rng.standard_normal((batch, n_in))
    labels = rng.integers(0, n_out, size=batch)
    y = np.zeros((batch, n_out))
    y[np.arange(batch), labels] = 1.0
    return {"params": params, "x": x, "y": y}


def _w4_hand(d):
    return Contender(mlp_hand_grad, (d["params"], d["x"], d["y"]))


def _w4_sd(d):
    s = require_sd()
    return Contender(s.grad(mlp_loss), (d["params"], d["x"], d["y"]))


def _mlp_loss_generic(np_):
    def loss(params, x, y):
        h = np_.tanh(x @ params["W1"] + params["b1"])
        logits = h @ params["W2"] + params["b2"]
        m = np_.max(logits, axis=1, keepdims=True)
        z = logits - m
        lse = np_.log(np_.sum(np_.exp(z), axis=1, keepdims=True))
        logp = z - lse
        return -np_.mean(np_.sum(y * logp, axis=1))
    return loss


def _w4_autograd(d):
    autograd, anp = _peer("autograd")
    return Contender(autograd.grad(_mlp_loss_generic(anp)), (d["params"], d["x"], d["y"]))


def _w4_jax(d):
    jax, jnp = _peer("jax")
    g = jax.jit(jax.grad(_mlp_loss_generic(jnp)))
    params = {k: jnp.asarray(v) for k, v in d["params"].items()}
    return Contender(_jax_block(jax, g), (params, jnp.asarray(d["x"]), jnp.asarray(d["y"])),
                     _t2np, traced_memory=False)


def _w4_torch(d):
    torch = _peer("torch")
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for k, v in d["params"].items()}
    x = torch.from_numpy(d["x"])
    y = torch.from_numpy(d["y"])

    def g(params, x, y):
        for v in params.values():
            v.grad = None
        h = torch.tanh(x @ params["W1"] + params["b1"])
        logits = h @ params["W2"] + params["b2"]
        m = torch.amax(logits, dim=1, keepdim=True)
        z = logits - m
        lse = torch.log(torch.sum(torch.exp(z), dim=1, keepdim=True))
        logp = z - lse
        loss = -torch.mean(torch.sum(y * logp, dim=1))
        loss.backward()
        return {k: v.grad for k, v in params.items()}
    return Contender(g, (params, x, y), _t2np, traced_memory=False)


# ===========================================================================
# W5: sum(sin(x)*exp(-x**2) + log1p(x*x)) on 1e6 float64
# ===========================================================================
W5_N = 1_000_000


def w5_f(x):
    return np.sum(np.sin(x) * np.exp(-x**2) + np.log1p(x * x))


def w5_hand_grad(x):
    x2 = x * x
    e = np.exp(-x2)
    return e * (np.cos(x) - 2.0 * x * np.sin(x)) + 2.0 * x / (1.0 + x2)


def make_w5_data(n=W5_N, seed=1):
    return {"x": np.random.default_rng(seed).standard_normal(n)}


def _w5_hand(d):
    return Contender(w5_hand_grad, (d["x"],))


def _w5_sd(d):
    s = require_sd()
    return Contender(s.grad(w5_f), (d["x"],))


def _w5_autograd(d):
    autograd, anp = _peer("autograd")

    def f(x):
        return anp.sum(anp.sin(x) * anp.exp(-x**2) + anp.log1p(x * x))
    return Contender(autograd.grad(f), (d["x"],))


def _w5_jax(d):
    jax, jnp = _peer("jax")

    def f(x):
        return jnp.sum(jnp.sin(x) * jnp.exp(-x**2) + jnp.log1p(x * x))
    g = jax.jit(jax.grad(f))
    return Contender(_jax_block(jax, g), (jnp.asarray(d["x"]),), _t2np, traced_memory=False)


def _w5_torch(d):
    torch = _peer("torch")
    x = torch.tensor(d["x"], dtype=torch.float64, requires_grad=True)

    def g(x):
        x.grad = None
        out = torch.sum(torch.sin(x) * torch.exp(-x**2) + torch.log1p(x * x))
        out.backward()
        return x.grad
    return Contender(g, (x,), _t2np, traced_memory=False)


# ===========================================================================
# W6: tanh RNN, 50 steps, hidden 64, batch 16, input 32; loss = sum(h_T**2)
# ===========================================================================
def rnn_loss(Wx, Wh, b, xs, h0):
    h = h0
    for x_t in xs:
        h = np.tanh(x_t @ Wx + h @ Wh + b)
    return np.sum(h**2)


def rnn_step(h, x_t, Wx, Wh, b):
    return np.tanh(x_t @ Wx + h @ Wh + b)


# the same step, marked for recomputation in the reverse sweep
rnn_step_ckpt = _checkpoint(rnn_step)


def rnn_loss_ckpt(Wx, Wh, b, xs, h0):
    h = h0
    for x_t in xs:
        h = rnn_step_ckpt(h, x_t, Wx, Wh, b)
    return np.sum(h**2)


def rnn_hand_grad(Wx, Wh, b, xs, h0):
    """Hand-written BPTT: store the hidden states forward, walk them backward."""
    hs = [h0]
    h = h0
    for x_t in xs:
        h = np.tanh(x_t @ Wx + h @ Wh + b)
        hs.append(h)
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros_like(b)
    dh = 2.0 * h
    for t in range(len(xs) - 1, -1, -1):
        da = dh * (1.0 - hs[t + 1] * hs[t + 1])
        dWx += xs[t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
        dh = da @ Wh.T
    return dWx, dWh, db


def make_rnn_data(T=50, batch=16, n_in=32, hidden=64, seed=2):
    rng = np.random.default_rng(seed)
    return {
        "Wx": rng.standard_normal((n_in, hidden)) / math.sqrt(n_in),
        "Wh": 0.9 * rng.standard_normal((hidden, hidden)) / math.sqrt(hidden),
        "b": 0.1 * rng.standard_normal(hidden),
        "xs": rng.standard_normal((T, batch, n_in)),
        "h0": np.zeros((batch, hidden)),
    }


def _rnn_args(d):
    return (d["Wx"], d["Wh"], d["b"], d["xs"], d["h0"])


def _w6_hand(d):
    return Contender(rnn_hand_grad, _rnn_args(d))


def _w6_sd(d):
    s = require_sd()
    return Contender(s.grad(rnn_loss, wrt=(0, 1, 2)), _rnn_args(d))


def _w6_sd_ckpt(d):
    s = require_sd()
    if not SD_HAS_CHECKPOINT:
        raise Unavailable("n/a", "sourcediff has no checkpoint()")
    return Contender(s.grad(rnn_loss_ckpt, wrt=(0, 1, 2)), _rnn_args(d))


def _w6_autograd(d):
    autograd, anp = _peer("autograd")

    def loss(Wx, Wh, b, xs, h0):
        h = h0
        for x_t in xs:
            h = anp.tanh(anp.dot(x_t, Wx) + anp.dot(h, Wh) + b)
        return anp.sum(h**2)
    return Contender(autograd.grad(loss, argnum=(0, 1, 2)), _rnn_args(d))


def _w6_jax(d):
    jax, jnp = _peer("jax")

    def loss(Wx, Wh, b, xs, h0):
        h = h0
        for x_t in xs:  # unrolled by jit, as a user's Python loop would be
            h = jnp.tanh(x_t @ Wx + h @ Wh + b)
        return jnp.sum(h**2)
    g = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))
    args = tuple(jnp.asarray(a) for a in _rnn_args(d))
    return Contender(_jax_block(jax, g), args, _t2np, traced_memory=False)


def _w6_torch(d):
    torch = _peer("torch")
    Wx, Wh, b = (torch.tensor(d[k], dtype=torch.float64, requires_grad=True)
                 for k in ("Wx", "Wh", "b"))
    xs = torch.from_numpy(d["xs"])
    h0 = torch.from_numpy(d["h0"])

    def g(Wx, Wh, b, xs, h0):
        for v in (Wx, Wh, b):
            v.grad = None
        h = h0
        for x_t in xs:
            h = torch.tanh(x_t @ Wx + h @ Wh + b)
        torch.sum(h**2).backward()
        return Wx.grad, Wh.grad, b.grad
    return Contender(g, (Wx, Wh, b, xs, h0), _t2np, traced_memory=False)


# ===========================================================================
# the Numba backend: sourcediff+numba rows, hand-written Numba gradients (W2, W5)
# ===========================================================================
SD_NUMBA = "sourcediff+numba"
NUMBA_COMPILE_S: Dict[str, float] = {}  # case key -> transformation + Numba compile (first call), cold cache


def _numba():
    try:
        import numba
    except ImportError as e:
        raise Unavailable("not installed", "numba not installed (%s)" % e)
    return numba


def _sd_numba(key, make):
    """A ``sourcediff+numba`` contender: ``make(sd) -> (fn, args)``; its build and first call (transformation
    plus Numba compile) timed on an empty cache directory, so the compile time is a cold one."""
    def build(d):
        import tempfile
        import time
        import warnings
        s = require_sd()
        _numba()
        old = os.environ.get("SOURCEDIFF_CACHE_DIR")
        os.environ["SOURCEDIFF_CACHE_DIR"] = tempfile.mkdtemp(prefix="sourcediff-bench-numba-")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)  # a fallback to Python is an error here
                t0 = time.perf_counter()
                fn, args = make(s, d)
                fn(*args)
                NUMBA_COMPILE_S[key] = time.perf_counter() - t0
        finally:
            if old is None:
                os.environ.pop("SOURCEDIFF_CACHE_DIR", None)
            else:
                os.environ["SOURCEDIFF_CACHE_DIR"] = old
        return Contender(fn, args)
    return build


_W1_NUMBA = _sd_numba("W1", lambda s, d: (s.grad(w1_f, wrt=(0, 1), backend="numba"), d["args"]))
_W1X_NUMBA = _sd_numba("W1.x1", lambda s, d: (s.grad(w1_f, wrt=0, backend="numba"), d["args"]))
_W2_NUMBA = _sd_numba("W2", lambda s, d: (s.grad(w2_f, wrt=(0, 1), backend="numba"), d["args"]))
_W3_NUMBA = _sd_numba("W3", lambda s, d: (descend, (s.grad(w3_loss, backend="numba"),)))
_W4_NUMBA = _sd_numba("W4", lambda s, d: (s.grad(mlp_loss, backend="numba"), (d["params"], d["x"], d["y"])))
_W5_NUMBA = _sd_numba("W5", lambda s, d: (s.grad(w5_f, backend="numba"), (d["x"],)))
_W6_NUMBA = _sd_numba("W6", lambda s, d: (s.grad(rnn_loss, wrt=(0, 1, 2), backend="numba"), _rnn_args(d)))


def _w2_hand_numba(d):
    """W2's hand-written gradient as a Numba user writes it: the states in a preallocated array."""
    numba = _numba()

    @numba.njit(cache=True)
    def grad(y, a):
        ys = np.empty(100)
        for i in range(100):
            ys[i] = y
            y = math.sin(y) * a + y * 0.5
        gy, ga = 1.0, 0.0
        for i in range(99, -1, -1):
            ga += gy * math.sin(ys[i])
            gy = gy * (math.cos(ys[i]) * a + 0.5)
        return gy, ga
    grad(*d["args"])
    return Contender(grad, d["args"])


def _w5_hand_numba(d):
    """W5's hand-written gradient in Numba: one fused loop over the elements."""
    numba = _numba()

    @numba.njit(cache=True)
    def grad(x):
        out = np.empty_like(x)
        for i in range(x.size):
            xi = x[i]
            x2 = xi * xi
            out[i] = math.exp(-x2) * (math.cos(xi) - 2.0 * xi * math.sin(xi)) + 2.0 * xi / (1.0 + x2)
        return out
    grad(d["x"][:2])
    return Contender(grad, (d["x"],))


# ===========================================================================
# W7: data-dependent control flow -- Newton iterations to a tolerance (while + break) per data point
# ===========================================================================
W7_N = 200
W7_TOL = 1e-12


def w7_loss(p, q, a, y):
    """Each x_i solves x**3 + p*x = q*a[i] by Newton's method, iterated until the step is below a tolerance;
    the loss is the squared error of the solutions against y."""
    total = 0.0
    for i in range(len(a)):
        x = 1.0
        while True:
            step = (x * x * x + p * x - q * a[i]) / (3.0 * x * x + p)
            x = x - step
            if abs(step) < 1e-12:
                break
        total = total + (x - y[i]) ** 2
    return total


def w7_hand_grad(p, q, a, y):
    """By hand: solve as the loss does, then the implicit function theorem per point
    (dx/dp = -x / (3x**2 + p), dx/dq = a / (3x**2 + p))."""
    gp = gq = 0.0
    for i in range(len(a)):
        x = 1.0
        while True:
            step = (x * x * x + p * x - q * a[i]) / (3.0 * x * x + p)
            x = x - step
            if abs(step) < W7_TOL:
                break
        r = 2.0 * (x - y[i]) / (3.0 * x * x + p)
        gp -= r * x
        gq += r * a[i]
    return gp, gq


def make_w7_data(n=W7_N, seed=3):
    rng = np.random.default_rng(seed)
    return {"args": (2.0, 1.5, rng.uniform(0.1, 3.0, n), rng.uniform(0.0, 1.0, n))}


def _w7_sd(d):
    s = require_sd()
    return Contender(s.grad(w7_loss, wrt=(0, 1)), d["args"])


_W7_NUMBA = _sd_numba("W7", lambda s, d: (s.grad(w7_loss, wrt=(0, 1), backend="numba"), d["args"]))


def _w7_autograd(d):
    autograd, _ = _peer("autograd")
    return Contender(autograd.grad(w7_loss, argnum=(0, 1)), d["args"])


def _w7_jax(d):
    """jax.jit cannot trace ``while`` on a traced value (it needs lax.while_loop, whose reverse mode JAX does
    not have): jax.grad runs eagerly, op by op."""
    jax, jnp = _peer("jax")  # w7_loss is plain Python: each library's scalars flow through it
    g = jax.grad(w7_loss, argnums=(0, 1))
    args = d["args"][:2] + tuple(jnp.asarray(v) for v in d["args"][2:])
    return Contender(_jax_block(jax, g), args, _t2np, traced_memory=False)


def _w7_torch(d):
    torch = _peer("torch")

    def g(p0, q0, a, y):
        p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
        q = torch.tensor(q0, dtype=torch.float64, requires_grad=True)
        w7_loss(p, q, a, y).backward()
        return p.grad.item(), q.grad.item()
    return Contender(g, d["args"], traced_memory=False)


# ===========================================================================
# registry
# ===========================================================================
def _peers(autograd_b, jax_b, torch_b):
    return [("autograd", autograd_b), ("jax", jax_b), ("torch", torch_b)]


CASES: List[Case] = [
    Case("W1", "W1", "W1  x1*x2 + sin(x1) on floats, grad wrt (x1, x2)", 3.0,
         _w1_data, lambda d: Contender(w1_hand, d["args"]),
         [("sourcediff", _w1_sd((0, 1))), (SD_NUMBA, _W1_NUMBA)] + _peers(_w1_autograd((0, 1)), _w1_jax((0, 1)),
                                                   _w1_torch((0, 1)))),
    Case("W1", "W1.x1", "W1' x1*x2 + sin(x1) on floats, grad wrt x1 only", 3.0,
         _w1_data, lambda d: Contender(w1_hand_x1, d["args"]),
         [("sourcediff", _w1_sd(0)), (SD_NUMBA, _W1X_NUMBA)] + _peers(_w1_autograd(0), _w1_jax(0), _w1_torch(0))),
    Case("W2", "W2", "W2  100-step scalar loop y = sin(y)*a + 0.5*y, grad wrt (y, a)", 1.5,
         _w2_data, lambda d: Contender(w2_hand, d["args"]),
         [("sourcediff", _w2_sd), (SD_NUMBA, _W2_NUMBA), ("hand-written numba", _w2_hand_numba)]
         + _peers(_w2_autograd, _w2_jax, _w2_torch)),
    Case("W3", "W3", "W3  1000 gradient-descent steps on (p(x)-42)**2 (whole loop timed)", 1.5,
         _w3_data, _w3_hand,
         [("sourcediff", _w3_sd), (SD_NUMBA, _W3_NUMBA)] + _peers(_w3_autograd, _w3_jax, _w3_torch),
         time_unit="ms"),
    Case("W4", "W4", "W4  MLP 784-256-10 tanh + log-sum-exp cross-entropy, batch 128, grad wrt params dict",
         1.10, make_mlp_data, _w4_hand,
         [("sourcediff", _w4_sd), (SD_NUMBA, _W4_NUMBA)] + _peers(_w4_autograd, _w4_jax, _w4_torch),
         transform_probe=True, time_unit="ms"),
    Case("W5", "W5", "W5  sum(sin(x)*exp(-x**2) + log1p(x*x)), x: 1e6 float64", 1.10,
         make_w5_data, _w5_hand,
         [("sourcediff", _w5_sd), (SD_NUMBA, _W5_NUMBA), ("hand-written numba", _w5_hand_numba)]
         + _peers(_w5_autograd, _w5_jax, _w5_torch),
         time_unit="ms"),
    Case("W6", "W6", "W6  tanh RNN T=50 hidden=64 batch=16 in=32, loss sum(h_T**2), grad wrt (Wx, Wh, b)",
         1.15, make_rnn_data, _w6_hand,
         [("sourcediff", _w6_sd), ("sourcediff+checkpoint", _w6_sd_ckpt), (SD_NUMBA, _W6_NUMBA)]
         + _peers(_w6_autograd, _w6_jax, _w6_torch),
         memory=["hand-written", "sourcediff", "sourcediff+checkpoint", "autograd"],
         time_unit="ms"),
    Case("W7", "W7", "W7  Newton to a tolerance (while + break) per point, 200 points, grad wrt (p, q)", math.inf,
         make_w7_data, lambda d: Contender(w7_hand_grad, d["args"]),
         [("sourcediff", _w7_sd), (SD_NUMBA, _W7_NUMBA)] + _peers(_w7_autograd, _w7_jax, _w7_torch),
         time_unit="ms", max_rounds=5),
]

WORKLOAD_IDS = sorted({c.wid for c in CASES}, key=lambda s: int(s[1:]))


# ===========================================================================
# transformation-time curve: straight-line NumPy functions of n statements
# ===========================================================================
_CURVE_OPS = ("np.sin({a}) * {b}", "{a} + np.exp(-{b} * 0.1)", "np.tanh({a}) - {b}", "{a} * {b} + 0.5",
              "np.log1p({a} * {a}) + {b}", "np.cos({b}) * {a}")


def straight_line_source(n):
    """A function ``f(x, y)`` of ``n`` NumPy statements, each reading the two before it (as code generators
    such as SymPy's ``cse`` or a model exporter write it), returning the sum of the last."""
    lines = ["import numpy as np", "", "", "def f(x, y):", "    v0 = x", "    v1 = y"]
    for i in range(2, n + 2):
        lines.append("    v%d = %s" % (i, _CURVE_OPS[i % len(_CURVE_OPS)].format(a="v%d" % (i - 1), b="v%d" % (i - 2))))
    lines.append("    return np.sum(v%d)" % (n + 1))
    return "\n".join(lines) + "\n"


def straight_line_function(n, directory):
    """``straight_line_source(n)`` written to ``directory`` and imported (sourcediff reads a function's file)."""
    import importlib.util
    path = os.path.join(directory, "sd_curve_%d.py" % n)
    with open(path, "w") as fh:
        fh.write(straight_line_source(n))
    spec = importlib.util.spec_from_file_location("sd_curve_%d" % n, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.f


# ===========================================================================
# W1 in forward mode: the call overhead of sd.grad(f, mode="forward") on floats
# ===========================================================================
def _w1_sd_forward(wrt):
    def build(d):
        s = require_sd()
        return Contender(s.grad(w1_f, wrt=wrt, mode="forward"), d["args"])
    return build


CASES.insert(next(i for i, c in enumerate(CASES) if c.key == "W1.x1") + 1,
             Case("W1", "W1.fwd", "W1f x1*x2 + sin(x1) on floats, mode=\"forward\", grad wrt (x1, x2)", 2.0,
                  _w1_data, lambda d: Contender(w1_hand, d["args"]), [("sourcediff", _w1_sd_forward((0, 1)))]))


# ===========================================================================
# W1 with NumPy: np.sin on Python floats (the float fast path keeps NumPy's functions)
# ===========================================================================
def w1_np_f(x1, x2):
    return x1 * x2 + np.sin(x1)


def w1_np_hand(x1, x2):
    return x2 + np.cos(x1), x1


def _w1_np_sd(d):
    return Contender(require_sd().grad(w1_np_f, wrt=(0, 1)), d["args"])


CASES.insert(next(i for i, c in enumerate(CASES) if c.key == "W1.fwd") + 1,
             Case("W1", "W1.np", "W1n x1*x2 + np.sin(x1) on floats (NumPy on floats), grad wrt (x1, x2)", 2.0,
                  _w1_data, lambda d: Contender(w1_np_hand, d["args"]), [("sourcediff", _w1_np_sd)]))
