"""The public API surface (API.md): decorators, wrt handling, modes, jvp/vjp/jacobian/hessian,
check_grads, gradient structure, lower, and the scalar-output refusal."""
import math

import numpy as np
import pytest

import sourcediff as sd
from helpers import leaves, num_grad, num_jacobian, same_structure


def f3(x, a, b):
    return (x + a) * (x + b)


# hand derivatives of f3
def df3(x, a, b):
    return {"x": (x + b) + (x + a), "a": x + b, "b": x + a}


X, A, B = 1.5, -0.5, 2.0
D = df3(X, A, B)


def vec(x):
    return np.sin(x) * x[::-1]


def vec_scalar(x):
    return np.sum(np.sin(x) * x ** 2)


# -- decorators ---------------------------------------------------------------------

def test_grad_bare_decorator():
    @sd.grad
    def g(x, a, b):
        return (x + a) * (x + b)
    assert g(X, A, B) == D["x"]
    assert "def" in g.source and callable(g.__wrapped__)
    assert g.__wrapped__(X, A, B) == f3(X, A, B)


def test_grad_called_decorator_with_wrt_names():
    @sd.grad(wrt=("a", "b"))
    def g(x, a, b):
        return (x + a) * (x + b)
    assert g(X, A, B) == (D["a"], D["b"])


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_grad_called_decorator_with_mode(mode):
    @sd.grad(mode=mode)
    def g(x, a, b):
        return (x + a) * (x + b)
    assert g(X, A, B) == D["x"]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_value_and_grad_decorators(mode):
    @sd.value_and_grad
    def g1(x, a, b):
        return (x + a) * (x + b)

    @sd.value_and_grad(wrt="b", mode=mode)
    def g2(x, a, b):
        return (x + a) * (x + b)
    assert g1(X, A, B) == (f3(X, A, B), D["x"])
    assert g2(X, A, B) == (f3(X, A, B), D["b"])


def test_jvp_decorators():
    @sd.jvp
    def j1(x, a, b):
        return (x + a) * (x + b)

    @sd.jvp(wrt=("x", "a"))
    def j2(x, a, b):
        return (x + a) * (x + b)
    assert j1(X, A, B, 2.0) == (f3(X, A, B), 2.0 * D["x"])
    v, t = j2(X, A, B, (1.0, -3.0))
    assert v == f3(X, A, B)
    assert t == pytest.approx(D["x"] - 3.0 * D["a"], rel=1e-14)


def test_vjp_decorators():
    @sd.vjp
    def v1(x, a, b):
        return (x + a) * (x + b)

    @sd.vjp(wrt=("b", "x"))
    def v2(x, a, b):
        return (x + a) * (x + b)
    assert v1(X, A, B, 2.0) == (f3(X, A, B), 2.0 * D["x"])
    v, ct = v2(X, A, B, 0.5)
    assert v == f3(X, A, B)
    assert ct == (0.5 * D["b"], 0.5 * D["x"])


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_decorators(mode):
    @sd.jacobian
    def j1(x):
        return np.sin(x) * x[::-1]

    @sd.jacobian(mode=mode)
    def j2(x):
        return np.sin(x) * x[::-1]
    x = np.array([0.3, -0.7, 1.1])
    ref = num_jacobian(vec, [x], 0)
    np.testing.assert_allclose(j1(x), ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(j2(x), ref, rtol=1e-7, atol=1e-9)


def test_hessian_decorators():
    @sd.hessian
    def h1(x):
        return x ** 4

    @sd.hessian(wrt="y")
    def h2(x, y):
        return x * y ** 3
    assert float(np.squeeze(h1(1.5))) == pytest.approx(12 * 1.5 ** 2, rel=1e-12)
    assert float(np.squeeze(h2(2.0, 1.5))) == pytest.approx(6 * 2.0 * 1.5, rel=1e-12)


# -- .source and .__wrapped__ -------------------------------------------------------------------

def _all_derivatives():
    return [
        ("grad", sd.grad(f3)),
        ("grad_fwd", sd.grad(f3, mode="forward")),
        ("grad_many", sd.grad(f3, wrt=(0, 2))),
        ("grad_many_fwd", sd.grad(f3, wrt=(0, 2), mode="forward")),
        ("value_and_grad", sd.value_and_grad(f3)),
        ("value_and_grad_fwd", sd.value_and_grad(f3, mode="forward")),
        ("jvp", sd.jvp(f3)),
        ("jvp_many", sd.jvp(f3, wrt=(0, 1))),
        ("vjp", sd.vjp(f3)),
        ("vjp_many", sd.vjp(f3, wrt=(1, 2))),
        ("jacobian", sd.jacobian(f3)),
        ("jacobian_fwd", sd.jacobian(f3, mode="forward")),
        ("hessian", sd.hessian(f3)),
        ("hessian_many", sd.hessian(f3, wrt=(0, 1))),
    ]


@pytest.mark.parametrize("name,fn", _all_derivatives(), ids=[n for n, _ in _all_derivatives()])
def test_every_derivative_has_source_and_wrapped(name, fn):
    assert isinstance(fn.source, str)
    assert "def " in fn.source
    assert fn.__wrapped__ is f3


def test_source_is_valid_python_and_names_the_function():
    import ast
    src = sd.source(f3)
    assert isinstance(src, str)
    ast.parse(src)
    assert "def " in src
    assert sd.source(f3, mode="forward") != src


def test_decorated_functions_keep_wrapped():
    @sd.grad
    def g(x):
        return x * x
    assert g.__wrapped__(3.0) == 9.0


# -- wrt ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("wrt,key", [(None, "x"), (0, "x"), (1, "a"), (2, "b"), (-1, "b"), (-3, "x"),
                                     ("x", "x"), ("a", "a"), ("b", "b")])
def test_wrt_single(wrt, key, mode):
    g = sd.grad(f3, wrt=wrt, mode=mode)(X, A, B)
    assert isinstance(g, float)
    assert g == D[key]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("wrt,keys", [((0,), "x"), (("b",), "b"), ((0, 2), "xb"), (("b", "x"), "bx"),
                                      ((-1, "a", 0), "bax")])
def test_wrt_tuple_gives_tuple_in_same_order(wrt, keys, mode):
    g = sd.grad(f3, wrt=wrt, mode=mode)(X, A, B)
    assert isinstance(g, tuple)
    assert g == tuple(D[k] for k in keys)


@pytest.mark.parametrize("bad", [3, -4, "c", "xx", 1.0, None.__class__])
@pytest.mark.parametrize("op", [sd.grad, sd.value_and_grad, sd.jvp, sd.vjp, sd.jacobian, sd.hessian])
def test_bad_wrt_raises_sourcediff_error(op, bad):
    with pytest.raises(sd.SourcediffError):
        op(f3, wrt=bad)(X, A, B)


def test_bad_wrt_in_tuple_raises():
    with pytest.raises(sd.SourcediffError):
        sd.grad(f3, wrt=("x", "nope"))
    with pytest.raises(sd.SourcediffError):
        sd.source(f3, wrt=7)


def test_bad_mode_raises():
    with pytest.raises(sd.SourcediffError):
        sd.grad(f3, mode="sideways")(X, A, B)


def test_keyword_call_of_derivative():
    assert sd.grad(f3)(X, a=A, b=B) == D["x"]
    assert sd.grad(f3, mode="forward")(X, b=B, a=A) == D["x"]


# -- forward vs reverse ---------------------------------------------------------------------------

def mixed(W, x, c):
    h = np.tanh(W @ x + c)
    return np.sum(h * h) + math.exp(-c * c)


@pytest.mark.parametrize("wrt", [0, 1, 2, (0, 1, 2), ("c", "W")])
def test_forward_and_reverse_agree(wrt):
    rng = np.random.default_rng(3)
    args = (rng.normal(size=(2, 3)), rng.normal(size=3), 0.4)
    fwd = sd.grad(mixed, wrt=wrt, mode="forward")(*args)
    rev = sd.grad(mixed, wrt=wrt, mode="reverse")(*args)
    same_structure(fwd, rev)
    np.testing.assert_allclose(leaves(fwd), leaves(rev), rtol=1e-10, atol=1e-12)
    idx = [i if isinstance(i, int) else "Wxc".index(i) for i in (wrt if isinstance(wrt, tuple) else (wrt,))]
    ref = [num_grad(mixed, args, i) for i in idx]
    np.testing.assert_allclose(leaves(rev), leaves(ref), rtol=1e-7, atol=1e-9)
    vf, gf = sd.value_and_grad(mixed, wrt=wrt, mode="forward")(*args)
    vr, gr = sd.value_and_grad(mixed, wrt=wrt, mode="reverse")(*args)
    assert vf == vr == mixed(*args)
    np.testing.assert_allclose(leaves(gf), leaves(gr), rtol=1e-10, atol=1e-12)


# -- jvp / vjp ----------------------------------------------------------------------------------------

def test_jvp_single_wrt_array():
    x = np.array([0.3, -0.7, 1.1])
    t = np.array([1.0, 0.5, -2.0])
    v, dv = sd.jvp(vec)(x, t)
    np.testing.assert_array_equal(v, vec(x))
    J = num_jacobian(vec, [x], 0)
    np.testing.assert_allclose(dv, J @ t, rtol=1e-7, atol=1e-9)
    assert dv.shape == (3,)


def test_jvp_several_wrt_tangent_tuple():
    W, x, c = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 0.3]]), np.array([0.2, 0.1, -0.4]), 0.3
    tW, tx = np.ones((2, 3)) * 0.1, np.array([1.0, 0.0, -1.0])
    v, dv = sd.jvp(mixed, wrt=(0, 1))(W, x, c, (tW, tx))
    assert v == mixed(W, x, c)
    gW, gx = num_grad(mixed, (W, x, c), 0), num_grad(mixed, (W, x, c), 1)
    assert dv == pytest.approx(np.sum(gW * tW) + np.sum(gx * tx), rel=1e-7)


def test_jvp_wrong_number_of_tangents_raises():
    with pytest.raises(sd.SourcediffError):
        sd.jvp(f3, wrt=(0, 1))(X, A, B, (1.0, 2.0, 3.0))


def test_vjp_seed_of_output_shape():
    x = np.array([0.3, -0.7, 1.1])
    seed = np.array([1.0, -2.0, 0.5])
    v, ct = sd.vjp(vec)(x, seed)
    np.testing.assert_array_equal(v, vec(x))
    J = num_jacobian(vec, [x], 0)
    np.testing.assert_allclose(ct, seed @ J, rtol=1e-7, atol=1e-9)
    assert isinstance(ct, np.ndarray) and ct.shape == x.shape


def test_vjp_matrix_output_several_wrt():
    def mat(A, b):
        return A * b + A @ A.T @ A
    A_ = np.array([[1.0, 0.5], [-0.3, 2.0], [0.1, 0.2]])
    b_ = np.array([0.7, -1.2])
    seed = np.arange(6.0).reshape(3, 2) - 2.0
    v, (cA, cb) = sd.vjp(mat, wrt=(0, 1))(A_, b_, seed)
    np.testing.assert_array_equal(v, mat(A_, b_))
    np.testing.assert_allclose(cA, np.tensordot(seed, num_jacobian(mat, [A_, b_], 0), 2), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(cb, np.tensordot(seed, num_jacobian(mat, [A_, b_], 1), 2), rtol=1e-7, atol=1e-9)
    assert cA.shape == A_.shape and cb.shape == b_.shape


# -- jacobian ---------------------------------------------------------------------------------------

def outer_fn(x, y):
    return np.outer(np.sin(x), y) * 2.0 + np.sum(x)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_shapes_O_plus_I(mode):
    x, y = np.array([0.1, 0.5, -0.4]), np.array([[1.0, 2.0], [0.5, -0.5]])
    Jx = sd.jacobian(outer_fn, mode=mode)(x, y.ravel()[:2])
    assert Jx.shape == (3, 2, 3)
    np.testing.assert_allclose(Jx, num_jacobian(outer_fn, [x, y.ravel()[:2]], 0), rtol=1e-7, atol=1e-9)

    def g(M):
        return np.tanh(M @ np.array([1.0, -1.0]))
    J = sd.jacobian(g, mode=mode)(y)
    assert J.shape == (2, 2, 2)
    np.testing.assert_allclose(J, num_jacobian(g, [y], 0), rtol=1e-7, atol=1e-9)

    Js = sd.jacobian(vec_scalar, mode=mode)(x)  # scalar output: O = ()
    assert Js.shape == (3,)
    np.testing.assert_allclose(Js, num_grad(vec_scalar, [x], 0), rtol=1e-7, atol=1e-9)

    def h(s):
        return np.array([s, s * s, math.sin(s)])
    Jh = sd.jacobian(h, mode=mode)(0.4)  # scalar input: I = ()
    assert np.shape(Jh) == (3,)
    np.testing.assert_allclose(Jh, [1.0, 0.8, math.cos(0.4)], rtol=1e-12)


def test_jacobian_modes_agree_and_tuple_wrt():
    x, y = np.array([0.1, 0.5, -0.4]), np.array([1.0, 2.0])
    Jf = sd.jacobian(outer_fn, wrt=(0, 1), mode="forward")(x, y)
    Jr = sd.jacobian(outer_fn, wrt=(0, 1), mode="reverse")(x, y)
    assert isinstance(Jf, tuple) and isinstance(Jr, tuple) and len(Jf) == len(Jr) == 2
    for a, b, i in zip(Jf, Jr, (0, 1)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, num_jacobian(outer_fn, [x, y], i), rtol=1e-7, atol=1e-9)


# -- hessian ----------------------------------------------------------------------------------------

def test_hessian_scalar_input():
    def f(x):
        return math.sin(x) * x ** 3
    x = 0.8
    H = sd.hessian(f)(x)
    dg = num_grad(sd.grad(f), [x], 0)
    want = -math.sin(x) * x ** 3 + 6 * math.cos(x) * x ** 2 + 6 * x * math.sin(x)
    assert float(np.squeeze(H)) == pytest.approx(want, rel=1e-12)
    assert float(np.squeeze(H)) == pytest.approx(dg, rel=1e-8)


def test_hessian_small_array_input():
    x = np.array([0.3, -0.6, 1.2])
    H = sd.hessian(vec_scalar)(x)
    assert H.shape == (3, 3)
    g = sd.grad(vec_scalar)
    ref = np.stack([num_grad(lambda z: g(z)[k], [x], 0) for k in range(3)])
    np.testing.assert_allclose(H, ref, rtol=1e-7, atol=1e-9)
    # hand: diagonal entries of sum(sin(x) x^2): 2 sin + 4x cos - x^2 sin
    np.testing.assert_allclose(np.diag(H), 2 * np.sin(x) + 4 * x * np.cos(x) - x * x * np.sin(x), rtol=1e-12)
    np.testing.assert_allclose(H - np.diag(np.diag(H)), 0.0, atol=1e-14)


def test_hessian_matrix_quadratic_form():
    M = np.array([[2.0, 1.0], [0.5, 3.0]])

    def q(x):
        return x @ M @ x
    H = sd.hessian(q)(np.array([0.4, -1.0]))
    np.testing.assert_allclose(H, M + M.T, rtol=1e-12, atol=1e-14)


def test_hessian_tuple_wrt_blocks():
    def f(x, y):
        return x * x * y + y ** 3
    H = sd.hessian(f, wrt=(0, 1))(1.5, 0.5)
    want = ((2 * 0.5, 2 * 1.5), (2 * 1.5, 6 * 0.5))
    assert len(H) == 2 and all(len(r) == 2 for r in H)
    np.testing.assert_allclose(np.array([[float(np.squeeze(e)) for e in r] for r in H]), want, rtol=1e-12)


# -- check_grads -------------------------------------------------------------------------------------

def opaque_sq_wrong(x):
    return float(x) ** 2


def opaque_sq_right(x):
    return float(x) ** 2


sd.defvjp(opaque_sq_wrong, lambda g, ans, x: g * 3.0 * x)   # wrong: should be 2x
sd.defjvp(opaque_sq_wrong, lambda dx, ans, x: dx * 2.0 * x)
sd.defvjp(opaque_sq_right, lambda g, ans, x: g * 2.0 * x)
sd.defjvp(opaque_sq_right, lambda dx, ans, x: dx * 2.0 * x)


def use_wrong(x):
    return opaque_sq_wrong(x) + x


def use_right(x):
    return opaque_sq_right(x) + x


def test_check_grads_raises_for_wrong_rule():
    with pytest.raises(AssertionError, match="reverse"):
        sd.check_grads(use_wrong, 1.3)
    with pytest.raises(AssertionError):
        sd.check_grads(use_wrong, 1.3, modes=("reverse",))
    # the forward rule is right, so forward alone passes
    assert sd.check_grads(use_wrong, 1.3, modes=("forward",)) in (None, True)


def test_check_grads_passes_for_correct_rule():
    assert sd.check_grads(use_right, 1.3) in (None, True)
    assert sd.grad(use_right)(1.3) == pytest.approx(2 * 1.3 + 1.0, rel=1e-14)


def test_check_grads_arrays_and_wrt():
    x = np.array([0.3, -0.6, 1.2])
    sd.check_grads(vec_scalar, x)
    sd.check_grads(mixed, np.ones((2, 3)) * 0.2, x, 0.5, wrt=(0, "c"))


# -- gradient structure and types ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_float_gradient_is_float(mode):
    g = sd.grad(f3, mode=mode)(X, A, B)
    assert type(g) is float


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (1,), (2, 1, 2)])
def test_array_gradient_has_shape_and_float_dtype(mode, shape):
    x = np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)
    g = sd.grad(vec_scalar, mode=mode)(x)
    assert isinstance(g, np.ndarray) and g.shape == shape and g.dtype.kind == "f"
    np.testing.assert_allclose(g, np.sin(x) * 2 * x + np.cos(x) * x * x, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_float32_array_gradient_is_floating(mode):
    x = np.array([0.5, -0.25], dtype=np.float32)
    g = sd.grad(vec_scalar, mode=mode)(x)
    assert isinstance(g, np.ndarray) and g.shape == (2,) and g.dtype.kind == "f"


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_gradient_of_unused_argument_is_zero_of_same_structure(mode):
    def f(x, unused):
        return x * x
    g = sd.grad(f, wrt=1, mode=mode)(2.0, np.ones(3))
    assert isinstance(g, np.ndarray) and g.shape == (3,)
    np.testing.assert_array_equal(g, 0.0)
    g = sd.grad(f, wrt=1, mode=mode)(2.0, 5.0)
    assert float(g) == 0.0


def pdict(p, x):
    return p["w"] * x * x + np.sum(p["v"] * x) + p["pair"][0] * p["pair"][1]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_dict_gradient_is_dict(mode):
    p = {"w": 1.5, "v": np.array([0.5, -1.0]), "pair": [2.0, 3.0]}
    g = sd.grad(pdict, mode=mode)(p, 0.7)
    assert isinstance(g, dict) and list(g) == ["w", "v", "pair"]
    assert isinstance(g["w"], float) and g["w"] == pytest.approx(0.49, rel=1e-14)
    assert isinstance(g["v"], np.ndarray) and g["v"].shape == (2,)
    np.testing.assert_allclose(g["v"], [0.7, 0.7], rtol=1e-14)
    assert isinstance(g["pair"], list)
    np.testing.assert_allclose(g["pair"], [3.0, 2.0], rtol=1e-14)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_integer_scalar_gradient_is_float(mode):
    g = sd.grad(f3, mode=mode)(2, 1, 3)
    assert type(g) is float and g == 2 * 2 + 1 + 3


def times_int_literal(x):
    return x * 3


def times_int_arg(x, n):
    return x * n


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_float_gradient_is_float_for_int_coefficient(mode):
    g1 = sd.grad(times_int_literal, mode=mode)(1.5)
    g2 = sd.grad(times_int_arg, mode=mode)(1.5, 3)
    assert g1 == g2 == 3.0
    assert type(g1) is float and type(g2) is float


# -- lower --------------------------------------------------------------------------------------------

def test_lower_walkthrough():
    text = sd.lower(f3)
    assert isinstance(text, str)
    lines = [ln.strip() for ln in text.strip().splitlines()]
    assert lines[0].startswith("def f3(x, a, b)")
    assert lines[1:] == ["t0 = x + a", "t1 = x + b", "t2 = t0 * t1", "return t2"]


def test_lower_is_executable_and_equivalent():
    text = sd.lower(mixed)
    ns = {"np": np, "math": math}
    exec(compile(text, "<lowered>", "exec"), ns)
    rng = np.random.default_rng(1)
    args = (rng.normal(size=(2, 3)), rng.normal(size=3), 0.4)
    assert ns["mixed"](*args) == mixed(*args)


# -- non-scalar output ---------------------------------------------------------------------------------



@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("op", [sd.grad, sd.value_and_grad])
@pytest.mark.parametrize("arg", [np.array([0.3, -0.7, 1.1]), 0.4], ids=["array_in", "scalar_in"])
def test_grad_of_non_scalar_output_refused(op, mode, arg):
    def nonscalar(x):
        return np.sin(x) * np.array([1.0, 2.0, 3.0])
    with pytest.raises(sd.SourcediffError) as e:
        op(nonscalar, mode=mode)(arg)
    msg = str(e.value)
    assert "vjp" in msg and "jacobian" in msg


def size_one_output(x):
    return np.sum(x * x, keepdims=True)


def first_slice(x):
    return x[:1] * 2.0


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_grad_of_size_one_array_output_allowed(mode):
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(np.ravel(sd.grad(size_one_output, mode=mode)(x)), 2 * x, rtol=1e-14)
    np.testing.assert_allclose(np.ravel(sd.grad(first_slice, mode=mode)(x)), [2.0, 0.0], rtol=1e-14)
