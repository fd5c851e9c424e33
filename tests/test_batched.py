"""Batched forward mode: one sweep carries a batch of tangents (``rules/batched.py``).

* Every rule spec of ``test_rules.py``, through generated code: the batched jvp of a
  one-primitive function, given B=3 tangents for one argument (the others the zero marker
  0.0) or for all of them, equals the plain forward rule applied to each tangent and
  stacked, to 1e-12. Whichever way ``batched.how`` picks (its own batched rule, the
  elementwise rule with padded tangents, or the rule once per direction) is what runs.
* ``sd.jacobian(mode="forward")`` equals ``mode="reverse"`` to 1e-10 on realistic array
  programs, and makes one sweep per chunk of directions, not one per input element.
"""
import math

import numpy as np
import pytest

import sourcediff as sd
from sourcediff import api, runtime
from sourcediff.rules import batched as B
from sourcediff.rules.registry import BJVP, JVP, lookup, n_diff_args, refused
from helpers import write_module
from test_rules import CASES as RULE_CASES, IDS as RULE_IDS, OPS, A, C, call, is_float, key_name, rand_like, rng_for

NB = 3
SYNTAX = {"Add": "{0} + {1}", "Sub": "{0} - {1}", "Mult": "{0} * {1}", "Div": "{0} / {1}", "Mod": "{0} % {1}",
          "Pow": "{0} ** {1}", "MatMult": "{0} @ {1}", "USub": "-{0}", "UAdd": "+{0}"}
assert set(SYNTAX) == set(OPS)
EXTRA = [(runtime.grad_like, c) for c in (C(A((2, 3)), A((2, 3))), C(A((3,)), A((2, 3))), C(A(()), A((3,))))]
CASES = RULE_CASES + EXTRA  # grad_like's rule has no spec there: only the hessian's generated code calls it
IDS = RULE_IDS + ["%s[%r]" % (key_name(k), c) for k, c in EXTRA]


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE", "0")  # hundreds of one-off functions


@pytest.fixture(scope="module")
def one_step(tmp_path_factory):
    """A module with one function per rule case: ``case_<j>(a0, a1, ..., k_axis=...)`` calls the key once."""
    lines, keys = [], {}
    for j, (key, case) in enumerate(CASES):
        params = ["a%d" % i for i in range(len(case.args))] + ["k_%s" % k for k in case.kw]
        if isinstance(key, str):
            expr = SYNTAX[key].format(*params)
        else:
            keys["K%d" % j] = key
            expr = "K%d(%s)" % (j, ", ".join(params[:len(case.args)] + ["%s=k_%s" % (k, k) for k in case.kw]))
        lines.append("def case_%d(%s):\n    return %s\n" % (j, ", ".join(params), expr))
    mod = write_module(tmp_path_factory.mktemp("batched"), "one_step", "\n\n".join(lines))
    for name, key in keys.items():
        setattr(mod, name, key)
    return mod


def _stack(rs):
    """Per-direction tangents (arrays, None for zero, or lists of them) stacked on a batch axis."""
    if isinstance(rs[0], (list, tuple)):
        return [_stack([r[i] for r in rs]) for i in range(len(rs[0]))]
    return np.stack([np.asarray(0.0 if r is None else r, dtype=float) for r in rs])


def _batch(x, rng):
    """NB random tangents of ``x`` (a float, array or tuple/list of them) on a leading axis."""
    if isinstance(x, (tuple, list)):
        return type(x)(_batch(e, rng) for e in x)
    return np.stack([rand_like(x, rng) for _ in range(NB)])


def _row(t, b):
    if isinstance(t, (tuple, list)):
        return type(t)(_row(e, b) for e in t)
    return 0.0 if isinstance(t, float) else t[b]


def _close(got, want, what):
    if isinstance(want, list):
        got = [0.0] * len(want) if isinstance(got, float) and got == 0.0 else got
        assert isinstance(got, (list, tuple)) and len(got) == len(want), what
        for g, w in zip(got, want):
            _close(g, w, what)
        return
    got = np.zeros_like(want) if isinstance(got, float) and got == 0.0 else np.asarray(got, dtype=float)
    assert got.shape == want.shape, "%s: shape %s, want %s" % (what, got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("j", range(len(CASES)), ids=IDS)
def test_batched_rule_equals_stacked_rule(one_step, j):
    key, case = CASES[j]
    fn = getattr(one_step, "case_%d" % j)
    rng = rng_for(key, case)
    args = case.sample(rng)
    rule = lookup(JVP, key)
    n = n_diff_args(JVP, rule)
    wrt = tuple(i for i in range(min(n, len(args))) if is_float(args[i]) and not refused(key, (i,)))
    assert wrt, "no differentiable argument"
    jv = api._derivative(fn, wrt, "bjvp", "forward", True, True)
    kw = tuple(case.kw.values())
    with np.errstate(all="ignore"):
        ans = call(key, args, case.kw)
        tans = {i: _batch(args[i], rng) for i in wrt}
        for live in [(i,) for i in wrt] + ([wrt] if len(wrt) > 1 else []):
            ts = [tans[i] if i in live else 0.0 for i in wrt]
            val, got = jv(*args, *kw, *ts)
            per = []
            for b in range(NB):
                heads = [_row(tans[i], b) if i in live else rand_like(args[i], rng, 0.0) if i in tans else 0.0
                         for i in range(n)]
                out = rule(*heads, ans, *args, **case.kw)
                outs = out if n > 1 else (out,)
                terms = [outs[i] for i in live if outs[i] is not None]
                per.append(None if not terms else terms[0] if len(terms) == 1 else
                           [sum(t) for t in zip(*terms)] if isinstance(terms[0], (list, tuple)) else sum(terms))
            if all(p is None for p in per):
                assert isinstance(got, float) and got == 0.0 or not np.any(got), "a zero tangent came back nonzero"
                continue
            _close(got, _stack(per), "%s, tangents of %s (way %r)" % (key_name(key), live, B.how(key)[0]))


def test_selection():
    """Each key is differentiated the way its rule allows: batched rules where a leading axis would be
    misread, padded elementwise rules for broadcasting ones, once per direction otherwise."""
    assert B.how(np.sum)[0] == B.how("MatMult")[0] == B.how(np.transpose)[0] == "batched"
    assert B.how(np.sin)[0] == B.how("Mult")[0] == B.how(np.where)[0] == B.how(math.exp)[0] == "elementwise"
    assert B.how(np.matmul)[0] == "batched" and not B.elementwise(np.matmul)  # a gufunc, not elementwise
    for k in (np.cumsum, np.linalg.inv, sum, float, math.fsum, np.max, np.einsum):
        assert B.how(k)[0] == "each", k
    assert B.how(len) == (None, None)
    covered = {k for k, _ in CASES}
    assert all(k in covered for k in BJVP if not isinstance(k, tuple)), "every batched rule has rule specs"


# --- realistic programs: forward Jacobian == reverse Jacobian ---------------------------------------

M = np.random.default_rng(7).normal(size=(4, 3))
IDX = np.array([2, 0, 2, 1])


def bcast(x, w):
    return np.exp(x[:, None] * w[None, :]) + np.sin(w) / (1.0 + w @ w) - x[::-1, None] ** 2


def matmul_sides(x, W):
    h = np.tanh(W @ x)            # tangent on the right of a matrix
    return (h @ W) * x + x @ x    # on the left, and a vector-vector product


def mat_in(X, W):
    Y = X @ W.T                   # a matrix argument: jacobian shape O + I with 2-D I
    return np.maximum(Y, 0.1 * Y).T @ X


def reductions(X):
    e = np.exp(X - np.max(X, axis=-1, keepdims=True))
    s = e / np.sum(e, axis=-1, keepdims=True)
    return np.mean(s * X, axis=0) + np.var(X, axis=1).sum() + X.sum(axis=(0, 1), keepdims=True)[0]


def indexing(x, M):
    a = x[1:3] * x[::-1][:2]
    b = x[x > 0] ** 2                       # a mask
    c = x[IDX]                              # an int array, repeated
    T = np.outer(x, x).reshape(2, 4, 2)
    d = T[[0, 1], :, [1, 0]]                # advanced indices split by a slice: they go first
    e = T[:, [1, 3], 0] + T[1, ..., None][:2, 0]
    return np.concatenate([a, [b.sum()], c, d.ravel(), e.ravel(), M[1, :2] * x[0]])


def setitem(x):
    y = np.zeros(6)
    y[1:4] = np.sin(x[:3])
    y[np.array([2, 0, 5])] += x[:3]
    y[0] = y[5] * x[3]
    Z = np.ones((2, 3))
    Z[1] = x[:3]
    Z[:, 0] *= x[1]
    T = np.zeros((2, 3, 2))
    T[[0, 1], :, [1, 0]] = np.outer(x[:2], x[1:])   # advanced indices split by a slice
    T[T > 0.1] *= 2.0
    return np.concatenate([y, Z.ravel(), T.ravel()])


def flow(x, n):
    acc = x * 0.0
    for i in range(n):
        if x[i % 4] > 0:
            acc = acc + np.sin(x) * x[i % 4]
        else:
            acc = acc - np.cumsum(x) * (0.1 * i)  # a rule run once per direction
        acc = acc * 0.9
    k = 0
    while k < 2:
        acc = acc + x ** 2
        k += 1
    return acc + np.sum(acc)


def part(x, W):
    return np.tanh(W @ x), np.sum(x)


def calls(x, W):
    h, s = part(x, W)
    g, _ = part(h[:3] * s, W)
    return g + sum([h[0], s, 1.0])


def lists(x):
    rows = []
    for i in range(4):
        rows.append(x[i % 3] * x + i)
    last = rows.pop()
    out = np.stack(rows)
    d = {"a": out[0], "b": out[1] * 2.0}
    return out.T @ x + d["a"] * d["b"] + last


def misc(x, s):
    A = x.reshape(2, 2)
    B2 = np.swapaxes(np.expand_dims(A, 0), 1, 2)[0]
    v = np.einsum("ij,jk->ik", A, B2).ravel()
    return v * s + np.linalg.norm(x) + np.dot(A, x[:2]) .sum() + np.dot(x, 2.0)[0] + float(x[0]) * s ** 2 + \
        np.transpose(np.stack([x, x * s])).ravel()[:4] + np.clip(x, -0.5, 0.5) + np.where(x > 0, x, s)


def shaped(x):
    return np.sort(x)[::-1] * np.linalg.det(np.outer(x, x) + np.eye(4)) + np.max(x.reshape(2, 2), axis=0).repeat(2)


@sd.checkpoint
def inner(x):
    return np.tanh(x) * x


def checkpointed(x):
    return inner(x) + inner(x * 2.0)


def user_rule(x):
    return softplus(x) * x


def softplus(x):
    return np.log1p(np.exp(x))


sd.defjvp(softplus, lambda dx, ans, x: dx / (1.0 + np.exp(-x)))
sd.defvjp(softplus, lambda g, ans, x: g / (1.0 + np.exp(-x)))

R = np.random.default_rng(3)
X4, W43, X23 = R.normal(size=4), R.normal(size=(4, 3)), R.normal(size=(2, 3))
PROGRAMS = [
    (bcast, (R.normal(size=3), R.normal(size=4)), (0, 1)),
    (matmul_sides, (R.normal(size=3), R.normal(size=(3, 3))), (0, 1)),
    (mat_in, (X23, W43), (0, 1)),
    (reductions, (R.normal(size=(3, 4)),), 0),
    (indexing, (X4, M), 0),
    (setitem, (X4,), 0),
    (flow, (X4, 5), 0),
    (calls, (R.normal(size=3), W43.T @ W43 / 4), (0, 1)),
    (lists, (R.normal(size=3),), 0),
    (misc, (X4, 0.7), (0, 1)),
    (shaped, (X4,), 0),
    (checkpointed, (X4,), 0),
    (user_rule, (X4,), 0),
]


@pytest.mark.parametrize("f,args,wrt", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_forward_jacobian_equals_reverse(f, args, wrt):
    fwd = sd.jacobian(f, wrt=wrt, mode="forward")(*args)
    rev = sd.jacobian(f, wrt=wrt)(*args)
    for a, b in zip(*((fwd, rev) if isinstance(wrt, tuple) else ((fwd,), (rev,)))):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def loss(x, W):
    return np.sum(matmul_sides(x, W) ** 2) + np.sum(calls(x, W))


def test_forward_grad_of_arrays():
    """The forward ``sd.grad`` of array arguments goes through the batched sweep too: same numbers
    as reverse mode, float32 in gives float32 out, a non-scalar output is refused."""
    x, W = R.normal(size=3), R.normal(size=(3, 3))
    for fwd, rev in zip(sd.grad(loss, wrt=(0, 1), mode="forward")(x, W), sd.grad(loss, wrt=(0, 1))(x, W)):
        np.testing.assert_allclose(fwd, rev, rtol=1e-10, atol=1e-10)
    v, g = sd.value_and_grad(loss, mode="forward")(x, W)
    assert v == loss(x, W) and g.shape == x.shape
    g32 = sd.grad(loss, mode="forward")(x.astype(np.float32), W.astype(np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, sd.grad(loss)(x, W), rtol=1e-4)
    assert sd.jacobian(bcast, mode="forward")(x.astype(np.float32), x.astype(np.float32)).dtype == np.float32
    with pytest.raises(sd.SourcediffError, match="scalar output"):
        sd.grad(bcast, mode="forward")(x, x)


def repeated_write(x):
    y = np.zeros(6)
    y[IDX] += x          # repeated indices: the last write wins
    return y * x[0]


def stack_then_pop(x):
    rows = []
    for i in range(3):
        rows.append(x[i] * x)
    out = np.stack(rows)
    return out[0] + rows.pop()


@pytest.mark.parametrize("f", [repeated_write, stack_then_pop] + [p[0] for p in PROGRAMS if p[2] == 0])
def test_forward_jacobian_equals_differences_and_plain_sweeps(f):
    """Against central differences and the one-direction-per-sweep jvp (programs whose reverse
    Jacobian cannot serve as the reference included)."""
    args = list(next((p[1] for p in PROGRAMS if p[0] is f), (X4,)))
    J = sd.jacobian(f, mode="forward")(*args)
    plain = api._jac_fwd_each(api._derivative(f, (0,), "jvp", "forward", True, True), args, (0,), args[0], 0)
    np.testing.assert_allclose(J, plain, rtol=1e-12, atol=1e-12)
    x, h = np.asarray(args[0], float), 1e-6
    fd = np.zeros(J.shape)
    for j in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[j] = h
        fd[(...,) + j] = (f(x + e, *args[1:]) - f(x - e, *args[1:])) / (2 * h)
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-6)


def repeat_list(x):
    return sum([x[0], x[1]] * 2) * x


def test_sequence_arithmetic_is_refused():
    """``+``/``*`` on lists join or repeat them: not elementwise, so the batched sweep refuses."""
    with pytest.raises(sd.SourcediffError, match="list or tuple"):
        sd.jacobian(repeat_list, mode="forward")(X4)


def test_one_sweep_per_chunk(monkeypatch):
    """A batched Jacobian calls the generated function once per chunk of directions."""
    calls = []
    build = api._derivative

    def counting(f, wrt, kind, *rest, **kw):
        fn = build(f, wrt, kind, *rest, **kw)
        if kind != "bjvp":
            return fn

        def counted(*a):
            ts = [t.shape[0] if isinstance(t, np.ndarray) else t for t in a[len(a) - len(wrt):]]
            calls.append(ts[0] if len(ts) == 1 else tuple(ts))
            return fn(*a)
        counted.source = fn.source
        return counted
    monkeypatch.setattr(api, "_derivative", counting)
    X = R.normal(size=(3, 4))
    want = sd.jacobian(reductions)(X)
    np.testing.assert_allclose(sd.jacobian(reductions, mode="forward")(X), want, rtol=1e-10, atol=1e-10)
    assert calls == [12]                       # one sweep carries all 12 directions
    calls.clear()
    monkeypatch.setattr(api, "CHUNK", 12 * 5)  # at most 5 directions of 12 elements per sweep
    np.testing.assert_allclose(sd.jacobian(reductions, mode="forward")(X), want, rtol=1e-10, atol=1e-10)
    assert calls == [5, 5, 2]
    calls.clear()
    g = sd.grad(loss, wrt=(0, 1), mode="forward")(X4[:3], W43[:3])
    assert calls == [(3, 0.0), (0.0, 6), (0.0, 3)] and len(g) == 2  # per argument its chunks, the other tangent 0.0


def twice_cumsum(x):
    return 2.0 * np.cumsum(x)


def _twice_cumsum_vjp(g, ans, x): return 2.0 * np.flip(np.cumsum(np.flip(g)))


def _twice_cumsum_jvp(dx, ans, x):
    c = np.cumsum(dx)  # a statement that reads the tangent runs once per direction, in a loop
    return 2.0 * c


def uses_twice_cumsum(x):
    return twice_cumsum(x * x)


def test_rule_with_statements_on_the_tangent():
    from sourcediff.rules import registry
    registry.vjp(twice_cumsum)(_twice_cumsum_vjp)
    registry.jvp(twice_cumsum)(_twice_cumsum_jvp)
    try:
        jac = sd.jacobian(uses_twice_cumsum, mode="forward")
        assert "_each.append(" in jac.source
        np.testing.assert_allclose(jac(X4), np.tril(np.ones((4, 4))) * 4.0 * X4, rtol=1e-12)
    finally:
        del registry.VJP[twice_cumsum], registry.JVP[twice_cumsum]
        api._invalidate()


def test_batched_and_plain_jvps_are_separate(monkeypatch):
    """Same function, both kinds, disk cache on: separate entries, separate callee names."""
    monkeypatch.delenv("SOURCEDIFF_CACHE", raising=False)
    x, W, dx = R.normal(size=3), W43.T @ W43 / 4, R.normal(size=3)
    plain, jac = sd.jvp(calls, wrt=0), sd.jacobian(calls, mode="forward")
    assert "def part_jvp" in plain.source and "bjvp" not in plain.source
    assert "def calls_bjvp" in jac.source and "def part_bjvp" in jac.source and "part_jvp" not in jac.source
    np.testing.assert_allclose(jac(x, W) @ dx, plain(x, W, dx)[1], rtol=1e-12, atol=1e-12)
    api._MEMO.clear()
    from sourcediff import cache
    cache.clear_memory()  # from the disk now
    assert sd.jacobian(calls, mode="forward").source == jac.source and sd.jvp(calls, wrt=0).source == plain.source
