"""Derivatives of derivatives: every composition of the operators on a matrix of programs.

Programs (reassignments, loops whose reverse sweep uses a tape, branches, ``while``,
lists built by ``append`` and by a literal, ``pop``, dicts, module globals, calls to user
functions, checkpoints; float and array inputs) x compositions (grad of grad in both modes
inner and outer, jvp of grad, grad of jvp, hessian, jacobian of grad in both modes, vjp of
vjp, vjp of grad, jacobian of vjp). The reference is central differences of the first
derivative, which is itself checked against central differences of the function first.
A composition that cannot be made right must raise a SourcediffError, never give a number.
"""
import math

import numpy as np
import pytest

import sourcediff as sd
from helpers import write_module

G = 3.0
H1 = 1e-6
X3 = np.array([0.3, 0.7, 1.1])


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SOURCEDIFF_CACHE", "0")


# -- programs of one float --------------------------------------------------------------------
def helper(y):
    return G * y * y


def pair(y):
    return y * y, math.sin(y)


pair_ck = sd.checkpoint(pair)


def s_reassign(x):
    a = x * x
    a = a * a
    a = a + a
    return a


def s_loop(x):
    y = x
    for i in range(3):
        y = math.sin(y) * x
    return y


def s_branch(x):
    if x > 1.0:
        y = x ** 3
    else:
        y = math.cos(x)
    return y * x


def s_while(x):
    y = x
    n = 0
    while n < 3:
        y = y * x + 0.5
        n += 1
    return y


def s_append(x):
    l = []
    for i in range(3):
        l.append(x * i)
    s = 0.0
    for v in l:
        s = s + v * v * x
    return s


def s_literal(x):
    l = [x, x * x, math.sin(x)]
    s = 0.0
    for v in l:
        s = s + v ** 3
    return s


def s_pop(x):
    l = [x, x * 2.0]
    a = l.pop()
    b = l.pop()
    return a * b * x


def s_dict(x):
    d = {"a": x * x, "b": math.exp(x)}
    return d["a"] * d["b"]


def s_dict_loop(x):
    d = {"a": x, "b": 1.0}
    for i in range(2):
        d["a"] = d["a"] * x
        d["b"] = d["b"] + d["a"]
    return d["b"]


def s_global(x):
    s = 0.0
    for i in range(2):
        s = s + G * x ** 3
    return s


def s_call(x):
    return helper(x) * x


def s_call_loop(x):
    s = 0.0
    for i in range(3):
        a, b = pair(x * s + 0.1)
        s = s + a * b
    return s


def s_break(x):
    y = x
    for i in range(10):
        y = y * x
        if y > 2.0:
            break
    return y


def s_nested_lists(x):
    l = []
    for i in range(2):
        row = []
        for j in range(2):
            row.append(x ** (i + j + 1))
        l.append(row)
    return l[0][1] * l[1][1] + l[1][0]


def s_early_return(x):
    if x > 1.0:
        return x ** 3
    y = x
    while y < 1.0:
        y = y * 1.5 + x
    return y * x


def looped(p):
    for i in range(3):
        p = math.cos(p) * p
    return p


def s_call_in_loop_with_loop(x):
    s = x
    for k in range(2):
        s = looped(s) + x
    return s


def s_checkpoint(x):
    a, b = pair_ck(x * x)
    return a * b * x


SCALAR = [s_reassign, s_loop, s_branch, s_while, s_append, s_literal, s_pop, s_dict, s_dict_loop, s_global, s_call,
          s_call_loop, s_break, s_nested_lists, s_early_return, s_checkpoint, s_call_in_loop_with_loop]


def _tangent_of(f):
    jf = sd.jvp(f)

    def tangent(z):
        return jf(z, 1.0)[1]
    return tangent


def _ct_of(f):
    vf = sd.vjp(f)

    def cotangent(z):
        return vf(z, 1.0)[1]
    return cotangent


def _grad_part_of(f):
    vg = sd.value_and_grad(f)

    def gradient(z):
        return vg(z)[1]
    return gradient


SCALAR_OPS = {
    "grad.grad": lambda f: sd.grad(sd.grad(f)),
    "grad.grad_fwd": lambda f: sd.grad(sd.grad(f, mode="forward")),
    "grad_fwd.grad": lambda f: sd.grad(sd.grad(f), mode="forward"),
    "grad_fwd.grad_fwd": lambda f: sd.grad(sd.grad(f, mode="forward"), mode="forward"),
    "jvp.grad": lambda f: (lambda x, jg=sd.jvp(sd.grad(f)): jg(x, 1.0)[1]),
    "jvp.grad_fwd": lambda f: (lambda x, jg=sd.jvp(sd.grad(f, mode="forward")): jg(x, 1.0)[1]),
    "grad.jvp": lambda f: sd.grad(_tangent_of(f)),
    "grad_fwd.jvp": lambda f: sd.grad(_tangent_of(f), mode="forward"),
    "hessian": lambda f: sd.hessian(f),
    "jacobian.grad": lambda f: sd.jacobian(sd.grad(f)),
    "jacobian_fwd.grad": lambda f: sd.jacobian(sd.grad(f), mode="forward"),
    "vjp.grad": lambda f: (lambda x, vg=sd.vjp(sd.grad(f)): vg(x, 1.0)[1]),
    "vjp.vjp": lambda f: (lambda x, vv=sd.vjp(sd.vjp(f), wrt=0): vv(x, 1.0, (0.0, 1.0))[1]),
    "grad.vjp": lambda f: sd.grad(_ct_of(f)),
    "grad.value_and_grad": lambda f: sd.grad(_grad_part_of(f)),
    "value_and_grad.grad": lambda f: (lambda x, vg=sd.value_and_grad(sd.grad(f)): vg(x)[1]),
}


def _fd(g, x, h=H1):
    return (g(x + h) - g(x - h)) / (2 * h)


@pytest.mark.parametrize("x", [0.7, 1.3])
@pytest.mark.parametrize("f", SCALAR, ids=lambda f: f.__name__)
@pytest.mark.parametrize("op", sorted(SCALAR_OPS))
def test_second_derivative_of_a_float_program(op, f, x):
    g = sd.grad(f)
    np.testing.assert_allclose(g(x), _fd(f, x), rtol=1e-6, atol=1e-8)  # the first derivative, grounded
    want = _fd(g, x)
    got = SCALAR_OPS[op](f)(x)
    np.testing.assert_allclose(np.asarray(got, float), want, rtol=1e-6, atol=1e-6)


# -- programs of an array ---------------------------------------------------------------------
def a_slices(x):
    l = [x[0:2], x[1:3]]
    s = 0.0
    for v in l:
        s = s + np.sum(v ** 3)
    return s


def a_reassign(x):
    a = x * x
    a = a * a
    a = a + a
    return np.sum(a)


def a_loop(x):
    y = x
    for i in range(3):
        y = np.sin(y) * x
    return np.sum(y)


def a_append(x):
    l = []
    for i in range(3):
        l.append(x[i] * x)
    s = 0.0
    for v in l:
        s = s + np.sum(v * v)
    return s


def a_global(x):
    s = 0.0
    for i in range(2):
        s = s + G * np.sum(x ** 3)
    return s


def a_call(x):
    return np.sum(helper(x) * x)


def a_setitem(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * x[(i + 1) % 3]
    return np.sum(y ** 2)


def a_write_then_rebind(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = np.sin(x[i]) * x[(i + 1) % 3]
    y = np.tanh(1.0 * y)  # a new array under the written name
    return np.sum(y * x)


def a_branch(x):
    s = np.sum(x)
    if s > 1.0:
        y = x ** 3
    else:
        y = np.cos(x)
    return np.sum(y * x)


def a_accumulate(x):
    acc = np.zeros(3)
    for i in range(3):
        acc += x * x[i]
    return np.sum(acc * acc)


def a_stack(x):
    rows = []
    for i in range(3):
        rows.append(np.sin(x) * x[i])
    return np.sum(np.stack(rows) ** 2)


def a_matmul(x):
    A = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
    h = np.tanh(A @ x)
    return np.sum(h * h) + np.dot(x, x) ** 2


def a_dict(x):
    d = {"w": x, "b": x[0]}
    for i in range(2):
        d["w"] = d["w"] * d["b"]
    return np.sum(d["w"])


def a_mask(x):
    y = x.copy()
    y[x > 0.5] = y[x > 0.5] ** 2
    return np.sum(y ** 3)


def a_comprehension(x):
    l = [x[i] * x for i in range(3)]
    return np.sum(l[0] * l[1] + l[2])


def a_while(x):
    y = x
    n = 0
    while n < 2:
        y = np.sin(y) + x * y
        n = n + 1
    return np.sum(y)


ARRAY = [a_slices, a_reassign, a_loop, a_append, a_global, a_call, a_setitem, a_branch, a_accumulate, a_stack,
         a_matmul, a_dict, a_mask, a_comprehension, a_while, a_write_then_rebind]
ONES = np.ones(3)


def _array_tangent_of(f):
    jf = sd.jvp(f)

    def tangent(z):
        return jf(z, np.ones(3))[1]
    return tangent


ARRAY_OPS = {  # each gives the Hessian, or (marked "v") the Hessian times ONES
    "hessian": lambda f: sd.hessian(f),
    "jacobian.grad": lambda f: sd.jacobian(sd.grad(f)),
    "jacobian_fwd.grad": lambda f: sd.jacobian(sd.grad(f), mode="forward"),
    "jacobian.vjp": lambda f: sd.jacobian(_ct_of(f)),
    "v:jvp.grad": lambda f: (lambda x, jg=sd.jvp(sd.grad(f)): jg(x, ONES)[1]),
    "v:vjp.grad": lambda f: (lambda x, vg=sd.vjp(sd.grad(f)): vg(x, ONES)[1]),
    "v:vjp.vjp": lambda f: (lambda x, vv=sd.vjp(sd.vjp(f), wrt=0): vv(x, 1.0, (0.0, ONES))[1]),
    "v:grad.jvp": lambda f: sd.grad(_array_tangent_of(f)),
    "v:grad_fwd.jvp": lambda f: sd.grad(_array_tangent_of(f), mode="forward"),
}


def _fd_jacobian(g, x, h=H1):
    return np.stack([(np.asarray(g(x + h * e)) - np.asarray(g(x - h * e))) / (2 * h) for e in np.eye(x.size)], -1)


@pytest.mark.parametrize("f", ARRAY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("op", sorted(ARRAY_OPS))
def test_second_derivative_of_an_array_program(op, f):
    g = sd.grad(f)
    np.testing.assert_allclose(g(X3), [(f(X3 + H1 * e) - f(X3 - H1 * e)) / (2 * H1) for e in np.eye(3)],
                               rtol=1e-6, atol=1e-8)
    hess = _fd_jacobian(g, X3)
    want = hess @ ONES if op.startswith("v:") else hess
    got = ARRAY_OPS[op](f)(X3)
    np.testing.assert_allclose(np.asarray(got, float), want, rtol=1e-6, atol=1e-6)


# -- the cases the issue measured, by hand ----------------------------------------------------
def test_reassigned_variable_grad_of_grad_by_hand():
    # s_reassign = 2 x**4: second derivative 24 x**2
    for x in (1.0, 1.3):
        assert sd.grad(sd.grad(s_reassign))(x) == pytest.approx(24 * x * x)


def test_slices_in_a_list_hessian_by_hand():
    # sum(x[0:2]**3) + sum(x[1:3]**3): diag(6 x0, 12 x1, 6 x2)
    x = np.array([1.0, 2.0, 3.0])
    want = np.diag([6.0, 24.0, 18.0])
    np.testing.assert_allclose(sd.hessian(a_slices)(x), want)
    np.testing.assert_allclose(sd.jacobian(sd.grad(a_slices))(x), want)


# -- what is refused --------------------------------------------------------------------------
def _two(x, y):
    return x * x * y


def test_jvp_with_a_tuple_of_tangents_is_refused_when_differentiated():
    jf = sd.jvp(_two, wrt=(0, 1))
    with pytest.raises(sd.SourcediffError, match="tuple of tangents"):
        sd.grad(jf)

    def tangent(z):
        return jf(z, 2.0, (1.0, 0.0))[1]
    with pytest.raises(sd.SourcediffError, match="test_higher_order.py:[0-9]+"):
        sd.grad(tangent)


def test_forward_gradient_of_an_array_differentiated_again_is_refused():
    with pytest.raises(sd.SourcediffError, match="scalar arguments"):
        sd.jacobian(sd.grad(a_loop, mode="forward"))(X3)


# -- a called function of another module reads that module's globals ---------------------------
K = 100.0  # not the K the helper module's function reads
kscale = None  # set by the test to a function of another module


def test_callee_reads_its_own_modules_globals_live(tmp_path):
    mod = write_module(tmp_path, "other_globals", """
        import numpy
        K = 1.5

        def kscale(x):
            s = 0.0
            for i in range(2):
                s = s + K * numpy.sin(x)
            return s
        """)
    glb = globals()
    glb["kscale"] = mod.kscale
    try:
        def f(x):
            return kscale(x) * x

        def fs(x):
            return np.sum(kscale(x) * x)

        def want(k, x):  # d/dx of 2 k x sin x, and the second derivative
            return 2 * k * (math.sin(x) + x * math.cos(x)), 2 * k * (2 * math.cos(x) - x * math.sin(x))
        g, gf, hess, gg = sd.grad(f), sd.grad(f, mode="forward"), sd.hessian(f), sd.grad(sd.grad(f))
        for k in (1.5, 2.0):
            mod.K = k  # read when the derivative runs, as the function itself reads it
            d1, d2 = want(k, 0.7)
            assert g(0.7) == pytest.approx(d1) and g(np.float64(0.7)) == pytest.approx(d1)
            assert gf(0.7) == pytest.approx(d1)
            assert hess(0.7) == pytest.approx(d2) and gg(0.7) == pytest.approx(d2)
            np.testing.assert_allclose(sd.grad(fs)(X3), [want(k, v)[0] for v in X3])
            np.testing.assert_allclose(sd.hessian(fs)(X3), np.diag([want(k, v)[1] for v in X3]))
    finally:
        glb["kscale"] = None


def test_hessian_and_jacobian_results_are_refused_when_differentiated():
    for fn in (sd.hessian(a_loop), sd.jacobian(sd.grad(a_loop)), sd.jacobian(sd.grad(a_loop), mode="forward")):
        with pytest.raises(sd.SourcediffError, match="cannot be differentiated again"):
            sd.jacobian(fn)

        def user(x, fn=fn):
            return np.sum(fn(x))
        with pytest.raises(sd.SourcediffError, match="test_higher_order.py:[0-9]+"):
            sd.grad(user)


@pytest.mark.parametrize("f", [s_loop, s_reassign, s_append, s_call_in_loop_with_loop], ids=lambda f: f.__name__)
def test_third_derivative(f):
    g2 = sd.grad(sd.grad(f))
    want = _fd(g2, 0.7)
    assert sd.grad(g2)(0.7) == pytest.approx(want, rel=1e-6)
    assert sd.jvp(g2)(0.7, 1.0)[1] == pytest.approx(want, rel=1e-6)
    assert sd.hessian(sd.grad(f))(0.7) == pytest.approx(want, rel=1e-6)


def bare_pop(x):
    l = [x, 2.0 * x, x * x * x]
    l.pop()  # generated reverse code pops like this too: the tangent and adjoint lists must follow
    return l[-1] * x


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_bare_pop_keeps_tangents_and_adjoints_aligned(mode):
    # 2 x**2: first derivative 4 x, second 4
    assert sd.grad(bare_pop, mode=mode)(0.7) == pytest.approx(2.8)
    assert sd.grad(sd.grad(bare_pop, mode=mode))(0.7) == pytest.approx(4.0)
    assert sd.hessian(bare_pop)(0.7) == pytest.approx(4.0)


def while_then_comprehension(x):
    n = 0
    while n < 2:
        n += 1
        if n == 0:
            return x
    return np.sum([x for _ in range(2)]) ** 2  # the first adjoint pops the comprehension's list empty


def stack_one_piece_read(x):
    w = np.stack([np.zeros(2), x + np.zeros(2)])
    return np.sin(w[1, 0])  # the second adjoint of the stack gets a sparse tuple: (0.0, piece)


@pytest.mark.parametrize("f", [while_then_comprehension, stack_one_piece_read], ids=lambda f: f.__name__)
def test_vjp_of_grad_of_soak_reproducers(f):
    g = sd.grad(f)
    np.testing.assert_allclose(g(0.7), _fd(f, 0.7), rtol=1e-6)
    got = sd.vjp(sd.grad(f, wrt=(0,)), wrt=(0,))(0.7, (0.3,))[1][0]
    assert got == pytest.approx(0.3 * _fd(g, 0.7), rel=1e-6)


def spread_gradient(x, a):
    return math.cos(np.sum(a) + x)  # grad's adjoint of a is a number, spread over a by grad_like


def test_vjp_of_grad_sums_a_spread_gradient_back():
    a, v, w = np.array([-0.89, -0.88]), 0.3, np.array([0.2, -0.5])
    g = sd.grad(spread_gradient, wrt=(0, 1))
    got = sd.vjp(g, wrt=(0, 1))(0.7, a, (v, w))[1]
    want = [(np.asarray(g(0.7 + H1 * v, a + H1 * w)[k]) - g(0.7 - H1 * v, a - H1 * w)[k]) / (2 * H1) for k in (0, 1)]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


def stack_of_a_function_and_its_argument(a0):
    a1 = np.cos(np.stack([np.exp(-a0 * a0), a0]))
    return np.sum(np.sum(a1) * (a0 / (1.5 + a0 * a0)))


def test_vjp_of_grad_through_stack_of_a_function_and_its_argument():
    a = np.array([-0.95, 0.74, 0.55])
    v = np.array([0.3, -0.7, 0.2])
    g = sd.grad(stack_of_a_function_and_its_argument)
    want = (g(a + 1e-6 * v) - g(a - 1e-6 * v)) / 2e-6
    got = sd.vjp(g)(a, v)[1]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def zero_base_power(a0):
    return math.sin(math.pow(0.0, 1.5 + a0 * a0)) + np.sum(np.sin(0.0 ** (1.5 + a0 * a0)))


@pytest.mark.parametrize("compose", ["vjp_grad", "hessian"])
def test_second_derivative_of_a_zero_base_power_is_zero(compose):
    """Soak program 21856: 0.0 ** y is 0 for every y > 0; reverse over reverse multiplied log(0) = -inf by
    its zero change (nan)."""
    g = sd.grad(zero_base_power)
    want = (g(0.9 + 1e-6) - g(0.9 - 1e-6)) / 2e-6
    got = sd.vjp(g)(0.9, 1.0)[1] if compose == "vjp_grad" else sd.hessian(zero_base_power)(0.9)
    assert want == 0.0 and got == 0.0
