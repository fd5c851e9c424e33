#!/usr/bin/env python
"""Verify the hand-written reference gradients against central finite differences.

    python benchmarks/check_handwritten.py      (same as: python benchmarks/run.py --check)

The hand-written gradients are the reference every contender is checked
against, so they are checked here independently of sourcediff and the peers.
Large arrays are checked on a random sample of coordinates.
"""
import os

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import math  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import workloads as W  # noqa: E402

FAILURES = []


def _report(name, an, fd, rtol, atol):
    an = np.asarray(an, dtype=float)
    fd = np.asarray(fd, dtype=float)
    err = float(np.max(np.abs(an - fd))) if an.size else 0.0
    ok = bool(np.allclose(an, fd, rtol=rtol, atol=atol))
    print("  %-46s %s  max|analytic - fd| = %.2e  (n=%d)" % (name, "ok  " if ok else "FAIL", err, an.size))
    if not ok:
        FAILURES.append(name)


def fd_scalar(f, args, i, h):
    """Central difference of f(*args) in the scalar argument number i."""
    a_p = list(args)
    a_m = list(args)
    a_p[i] = args[i] + h
    a_m[i] = args[i] - h
    return (f(*a_p) - f(*a_m)) / (2 * h)


def fd_array_coords(f, arr, coords, h):
    """Central differences of f() in arr[c] for c in coords (arr modified in place, restored)."""
    out = []
    for c in coords:
        old = arr[c]
        arr[c] = old + h
        fp = f()
        arr[c] = old - h
        fm = f()
        arr[c] = old
        out.append((fp - fm) / (2 * h))
    return np.array(out)


def _coords(rng, shape, k):
    k = min(k, int(np.prod(shape)))
    flat = rng.choice(int(np.prod(shape)), size=k, replace=False)
    return [np.unravel_index(i, shape) for i in flat]


def check_w1():
    print("W1  x1*x2 + sin(x1)")
    for x1, x2 in [(0.7, -1.3), (-2.0, 0.5), (3.1, 4.0)]:
        g = W.w1_hand(x1, x2)
        fd = [fd_scalar(W.w1_f, (x1, x2), i, 1e-6) for i in (0, 1)]
        _report("wrt (x1, x2) at (%g, %g)" % (x1, x2), g, fd, 1e-7, 1e-8)
        _report("wrt x1 at (%g, %g)" % (x1, x2), W.w1_hand_x1(x1, x2), fd[0], 1e-7, 1e-8)


def check_w2():
    print("W2  100-step loop")
    for y, a in [(0.3, 0.9), (-1.2, 1.1), (2.0, 0.4)]:
        g = W.w2_hand(y, a)
        fd = [fd_scalar(W.w2_f, (y, a), i, 1e-6) for i in (0, 1)]
        _report("wrt (y, a) at (%g, %g)" % (y, a), g, fd, 1e-6, 1e-8)


def check_w3():
    print("W3  (p(x) - 42)**2")
    xs = [3.0, 4.07, -1.5, 0.2]
    g = [W.w3_hand_grad(x) for x in xs]
    fd = [fd_scalar(W.w3_loss, (x,), 0, 1e-6) for x in xs]
    _report("d loss / dx at %s" % xs, g, fd, 1e-6, 1e-6)
    x_final = W.descend(W.w3_hand_grad)
    ok = abs(W.p(x_final) - 42) < 1e-6
    print("  %-46s %s  x = %.10f, p(x) = %.10f" % ("descent converges to p(x) = 42", "ok  " if ok else "FAIL",
                                                  x_final, W.p(x_final)))
    if not ok:
        FAILURES.append("W3 descent")


def check_w4():
    print("W4  MLP cross-entropy (random coordinates of every parameter)")
    d = W.make_mlp_data()
    params, x, y = d["params"], d["x"], d["y"]
    g = W.mlp_hand_grad(params, x, y)
    rng = np.random.default_rng(10)
    for k in ("W1", "b1", "W2", "b2"):
        cs = _coords(rng, params[k].shape, 12)
        fd = fd_array_coords(lambda: W.mlp_loss(params, x, y), params[k], cs, 1e-5)
        _report("d loss / d %s" % k, [g[k][c] for c in cs], fd, 1e-5, 1e-9)
    # shapes
    for k in params:
        assert g[k].shape == params[k].shape, k


def check_w5():
    print("W5  sum(sin(x)*exp(-x**2) + log1p(x*x))")
    x = np.random.default_rng(11).standard_normal(300) * 2
    fd = fd_array_coords(lambda: W.w5_f(x), x, list(range(x.size)), 1e-6)
    _report("all coordinates, n=300", W.w5_hand_grad(x), fd, 1e-6, 1e-8)
    d = W.make_w5_data()
    x = d["x"]
    cs = _coords(np.random.default_rng(12), x.shape, 8)
    fd = fd_array_coords(lambda: W.w5_f(x), x, cs, 1e-3)  # big sum: larger step against round-off
    _report("random coordinates, n=1e6", W.w5_hand_grad(x)[[c[0] for c in cs]], fd, 1e-5, 1e-5)


def check_w6():
    print("W6  tanh RNN BPTT (random coordinates)")
    d = W.make_rnn_data()
    args = (d["Wx"], d["Wh"], d["b"], d["xs"], d["h0"])
    gs = W.rnn_hand_grad(*args)
    rng = np.random.default_rng(13)
    for name, arr, g in zip(("Wx", "Wh", "b"), args[:3], gs):
        assert g.shape == arr.shape
        cs = _coords(rng, arr.shape, 12)
        fd = fd_array_coords(lambda: W.rnn_loss(*args), arr, cs, 1e-6)
        _report("d loss / d %s" % name, [g[c] for c in cs], fd, 1e-5, 1e-8)
    # the checkpointed formulation is the same function
    v1, v2 = W.rnn_loss(*args), W.rnn_loss_ckpt(*args)
    ok = math.isclose(v1, v2, rel_tol=1e-12)
    print("  %-46s %s  %.12g vs %.12g" % ("rnn_loss == rnn_loss_ckpt (value)", "ok  " if ok else "FAIL", v1, v2))
    if not ok:
        FAILURES.append("W6 checkpoint value")


def main():
    for chk in (check_w1, check_w2, check_w3, check_w4, check_w5, check_w6):
        chk()
    print()
    if FAILURES:
        print("hand-written gradient check FAILED: %s" % ", ".join(FAILURES))
        return 1
    print("all hand-written gradients agree with central finite differences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
