"""Complex numbers (``sourcediff/rules/complex_rules.py``), JAX's and autograd's convention, against central
differences in the real and the imaginary direction:

* the gradient of a real-valued ``f`` at ``z = a + ib`` is ``df/da - i df/db``, so for a direction ``v``
  ``Re(sum(grad * v))`` is the derivative of ``f`` along ``v``; a real argument gets a real gradient;
* ``sd.vjp`` with seed ``c`` differentiates ``Re(sum(c * f))``; ``sd.jvp`` gives ``(f(z + h v) - f(z - h v)) / 2h``;
* each rule declared right for complex values (``registry.COMPLEX_OK``) is checked on its own the same way;
* what complex mode does not differentiate is refused at the user's line.
"""
import math

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.rules import fft_helpers, helpers, numpy_stats, registry as R, to_python
from test_rules import OPS

H = 1e-6


def cfd(f, z, v):
    """(f(z + h v) - f(z - h v)) / 2h, complex where f is."""
    return (f(z + H * v) - f(z - H * v)) / (2 * H)


def crand(rng, shape=(3,)):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def directions(z, rng):
    """A real and an imaginary direction (the imaginary one only for a complex ``z``)."""
    real = rng.normal(size=np.shape(z))
    return [real] + ([1j * rng.normal(size=np.shape(z))] if np.iscomplexobj(z) else [])


def close(got, want, what=""):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=what)


# --- the rules, one by one --------------------------------------------------------------------------

crand2 = lambda rng: crand(rng, (2,))  # noqa: E731
AWAY = lambda rng, s=(3,): crand(rng, s) + 2.5  # noqa: E731  (away from the branch cuts of log and sqrt)
CASES = {
    "Add": [(crand, crand), (crand, "real")], "Sub": [(crand, crand)], "Mult": [(crand, crand), ("real", crand)],
    "Div": [(crand, AWAY)], "USub": [(crand,)], "UAdd": [(crand,)], "Pow": [(AWAY, 2.0), (AWAY, AWAY)],
    "MatMult": [(lambda r: crand(r, (2, 3)), lambda r: crand(r, (3, 2)))],
    helpers.matmul2d: [(lambda r: crand(r, (2, 3)), lambda r: crand(r, (3, 2)))],
    np.add: [(crand, crand)], np.subtract: [(crand, crand)], np.multiply: [(crand, crand)], np.divide: [(crand, AWAY)],
    np.negative: [(crand,)], np.positive: [(crand,)], np.power: [(AWAY, 3.0)],
    np.matmul: [(lambda r: crand(r, (2, 3)), lambda r: crand(r, (3,)))],
    np.exp: [(crand,)], np.log: [(AWAY,)], np.sin: [(crand,)], np.cos: [(crand,)], np.tan: [(crand,)],
    np.sinh: [(crand,)], np.cosh: [(crand,)], np.tanh: [(crand,)], np.sqrt: [(AWAY,)], np.square: [(crand,)],
    np.reciprocal: [(AWAY,)], np.expm1: [(crand,)], np.log1p: [(AWAY,)], np.sum: [(crand,)], np.mean: [(crand,)],
    np.real: [(crand,), ("real",)], np.conjugate: [(crand,)], np.imag: [(crand,), ("real",)],
    abs: [(crand,), ("real",)], np.absolute: [(crand,)], np.angle: [(crand,), ("real",)],
    np.where: [(lambda r: r.normal(size=3) > 0, crand, crand)], np.reshape: [(crand, (3, 1))],
    np.transpose: [(lambda r: crand(r, (2, 3)),)],
    np.arcsin: [(crand,)], np.arccos: [(crand,)], np.arctan: [(crand,)], np.arcsinh: [(crand,)],
    np.arctanh: [(crand,)], np.log2: [(AWAY,)], np.log10: [(AWAY,)], np.exp2: [(crand,)],
    np.dot: [(crand, crand), (lambda r: crand(r, (2, 3)), crand)], np.outer: [(crand, crand)],
    np.cumsum: [(crand,), (lambda r: crand(r, (2, 3)), 1)],
    np.ravel: [(lambda r: crand(r, (2, 3)),)], np.squeeze: [(lambda r: crand(r, (3, 1)),)],
    np.expand_dims: [(crand, 0)], np.swapaxes: [(lambda r: crand(r, (2, 3)), 0, 1)],
    np.moveaxis: [(lambda r: crand(r, (2, 3)), 0, 1)], np.flip: [(crand,)],
    np.fft.fft: [(crand,), (crand, 5), (crand, 2), (lambda r: crand(r, (2, 4)), None, 0, "ortho")],
    np.fft.ifft: [(crand,), (crand, 5), (crand, 2), (lambda r: crand(r, (2, 4)), None, 0, "forward")],
    np.fft.rfft: [("real",), ("real", 5), ("real", 2), (lambda r: r.normal(size=(2, 4)), None, 0, "ortho")],
    np.fft.ihfft: [("real",), ("real", 6), ("real", 2), (lambda r: r.normal(size=(2, 4)), None, 0, "forward")],
    np.fft.irfft: [(crand,), (lambda r: crand(r, (4,)),), (crand, 5), (crand, 2), (crand, 7),
                   (lambda r: crand(r, (3, 2)), None, 0, "ortho"), (lambda r: crand(r, (2, 4)), 4, 1, "forward")],
    np.fft.hfft: [(crand,), (lambda r: crand(r, (4,)),), (crand, 5), (crand, 2), (crand, 7),
                  (lambda r: crand(r, (3, 2)), None, 0, "ortho"), (lambda r: crand(r, (2, 4)), 4, 1, "forward")],
    (np.fft.fftn, np.fft.ifftn): [(lambda r: crand(r, (2, 3, 4)),), (lambda r: crand(r, (2, 3, 4)), (3, 2)),
                                  (lambda r: crand(r, (2, 3, 4)), (3, 5), (0, 2), "ortho"),
                                  (lambda r: crand(r, (3, 4)), None, (1,), "forward")],
    (np.fft.fft2, np.fft.ifft2): [(lambda r: crand(r, (2, 3, 4)),), (lambda r: crand(r, (3, 4)), (2, 6)),
                                  (lambda r: crand(r, (2, 3, 4)), (4, 1), (0, 2), "ortho")],
    (np.fft.rfftn, np.fft.rfft2): [(lambda r: r.normal(size=(2, 3, 4)),), (lambda r: r.normal(size=(3, 4)), (2, 5)),
                                   (lambda r: r.normal(size=(2, 3, 5)), (4, 2), (2, 0), "ortho"),
                                   (lambda r: r.normal(size=(3, 4)), None, (0, 1), "forward")],
    (np.fft.irfftn, np.fft.irfft2): [(lambda r: crand(r, (2, 3, 4)),), (lambda r: crand(r, (3, 4)), (2, 5)),
                                     (lambda r: crand(r, (3, 4)), (3, 6)),
                                     (lambda r: crand(r, (2, 3, 5)), (4, 3), (2, 0), "ortho"),
                                     (lambda r: crand(r, (3, 4)), None, (1, 0), "forward")],
    to_python.array_item: [(lambda r: crand(r, (2, 3)), (1, 2)), (lambda r: crand(r, (1,)), ())],
    to_python.unitem: [(lambda r: crand(r, ()), lambda r: np.zeros((2, 3)), (4,))],
    helpers.fit_axis: [(lambda r: crand(r, (2, 3)), 5, 1), (lambda r: crand(r, (2, 3)), 1, 0)],
    numpy_stats.einsum_many: [("ij,jk,k->i", lambda r: crand(r, (2, 3)), lambda r: crand(r, (3, 2)), crand2, None,
                               None, None), ("i,i,i,i", crand, crand, "real", crand, None, None)],
    fft_helpers.fit_axes: [(lambda r: crand(r, (2, 3)), lambda r: np.zeros((1, 5), int), (0, 1))],
    np.linalg.det: [(lambda r: crand(r, (3, 3)) + 3 * np.eye(3),)],
    np.linalg.inv: [(lambda r: crand(r, (3, 3)) + 3 * np.eye(3),)],
    np.linalg.solve: [(lambda r: crand(r, (3, 3)) + 3 * np.eye(3), crand),
                      (lambda r: crand(r, (3, 3)) + 3 * np.eye(3), lambda r: crand(r, (3, 2)))],
    np.linalg.matrix_power: [(lambda r: crand(r, (2, 2)), 3)],
    np.tensordot: [(lambda r: crand(r, (2, 3)), lambda r: crand(r, (3, 2)), 1)],
    np.einsum: [("ij,jk->ik", lambda r: crand(r, (2, 3)), lambda r: crand(r, (3, 2)))],
    np.kron: [(crand2, lambda r: crand(r, (2, 2)))], np.trace: [(lambda r: crand(r, (3, 3)),)],
    np.diagonal: [(lambda r: crand(r, (3, 3)),)], np.diag: [(crand,), (lambda r: crand(r, (3, 3)),)],
    np.diagflat: [(crand2,)], np.tril: [(lambda r: crand(r, (3, 3)),)], np.triu: [(lambda r: crand(r, (3, 3)),)],
    np.cross: [(crand, crand)],
    (np.copy, np.asarray, np.array, np.asanyarray, np.ascontiguousarray, np.asarray_chkfinite,
     np.asfortranarray): [(crand,)],
}
CASES = {k: cs for keys, cs in CASES.items() for k in (keys if isinstance(keys, tuple) else (keys,))}
# what refuses a complex value (raises, or warns, which complex mode makes an error): checked below
REFUSES_COMPLEX = ["Mod", np.remainder, float, sum]
RULE_CASES = [(k, c) for k, cs in CASES.items() for c in cs]


def _sample(spec, rng):
    if spec == "real":
        return rng.normal(size=(3,)) + 0.1
    return spec(rng) if callable(spec) else spec


def _rules(key):
    with R.complex_build(True):
        return R.lookup(R.VJP, key), R.lookup(R.JVP, key)


@pytest.mark.parametrize("key,case", RULE_CASES, ids=["%s-%d" % (getattr(k, "__name__", k), i)
                                                      for i, (k, _) in enumerate(RULE_CASES)])
def test_complex_rule(key, case):
    """VJP: Re(sum(ct * v)) is the derivative of Re(sum(c * f)) along v, in the real and imaginary direction;
    JVP: the contribution is the central difference of f along v; a real argument's cotangent's real part."""
    rng = np.random.default_rng(len(RULE_CASES) + hash(str(case)) % 1000)
    f = OPS[key] if isinstance(key, str) else key
    args = [_sample(s, rng) for s in case]
    ans = f(*args)
    c = crand(rng, np.shape(ans)) if np.iscomplexobj(ans) or np.ndim(ans) else complex(crand(rng, ()))
    vjp, jvp = _rules(key)
    assert R.is_complex_ok(key) and vjp is not None and jvp is not None
    outs = vjp(c, ans, *args)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for i, a in enumerate(args):
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "fc" or i >= len(outs):
            continue
        for v in directions(a, rng):
            move = lambda t: f(*args[:i], a + t, *args[i + 1:])  # noqa: E731
            want = np.real(np.sum(c * cfd(move, 0 * a, v)))
            close(np.real(np.sum(np.asarray(outs[i]) * v)), want, "vjp arg %d" % i)
            heads = [np.zeros_like(b) if isinstance(b, np.ndarray) else 0.0 for b in args][:R.n_diff_args(R.JVP, jvp)]
            heads[i] = v
            tan = jvp(*heads, ans, *args)
            tan = tan[i] if isinstance(tan, tuple) else tan
            close(np.broadcast_to(tan, np.shape(ans)), cfd(move, 0 * a, v), "jvp arg %d" % i)


def test_every_complex_rule_has_a_twin_and_a_case():
    assert set(R.CVJP) == set(R.CJVP)
    structural = ("getitem", "copy", "tuple", "list", "attr.real", "attr.imag", "attr.T",  # the compiler's, below
                  helpers.unshared, helpers.of_type)  # identity guards: x or an error
    missing = [k for k in R.COMPLEX_OK | set(R.CVJP) if k not in CASES and k not in structural and
               k not in REFUSES_COMPLEX and getattr(k, "__module__", None) != "math"]
    assert not missing, missing


@pytest.mark.parametrize("key", REFUSES_COMPLEX + sorted((k for k in R.COMPLEX_OK if getattr(k, "__module__", None)
                                                          == "math"), key=lambda k: k.__name__), ids=str)
def test_what_refuses_complex_values(key):
    """Allowed in complex mode because its primal never computes with a complex value: it raises, or casts to
    real with a ComplexWarning (an error while a complex-mode derivative runs)."""
    import warnings
    f = OPS[key] if isinstance(key, str) else key
    n = 1 if key in (float, sum) else 2 if key in ("Mod", np.remainder) else len(R.parsed(R.VJP[R._key(key)])[3])
    z = [1.5 + 0.5j] * n if key is not sum else [[1.5 + 0.5j]]
    for args in (z, [np.complex128(v) for v in z] if key is not sum else [np.array([1.5 + 0.5j])]):
        with warnings.catch_warnings():
            warnings.simplefilter("error", getattr(np, "exceptions", np).ComplexWarning)
            if key is sum:
                assert np.iscomplexobj(sum(*args))  # linear: its rule is right for complex values
                continue
            with pytest.raises((TypeError, getattr(np, "exceptions", np).ComplexWarning)):
                f(*args)


# --- through the compiler ---------------------------------------------------------------------------

def loss(z, w):
    u = z * w - np.sin(z) / (w + 2.0) + np.exp(z) ** 2
    return np.sum(np.real(u) * np.imag(u) + np.angle(u) + np.abs(np.conj(u)) ** 2)


def mixed(x, z):
    y = x * z + np.sqrt(z + 3.0) * x
    return np.sum(np.abs(y) + y.real * y.imag)


def scalar_loss(z):
    return abs(z * z + 1.0) + (z ** 3).real


def holo(z):
    return np.exp(z) * z ** 2 + np.sqrt(z + 3.0) + np.log(z + 3.0) / (z - 4.0)


def with_literal(x):
    w = np.exp(1j * x) * (2.0 - 0.5j)
    return np.sum(np.abs(w + x) ** 2 + np.angle(w))


def complex_out_of_real(x):
    return np.exp(1j * x) * x


def returns_complex(z):
    return np.sum(z * z)


def not_allowed(z):
    y = z * 2.0
    return np.sum(np.abs(np.arccosh(y)))


def literal_not_allowed(x):
    return np.sum(np.abs(np.vdot(x * 1j, x)))


def user_ruled(z):
    return z * 2.0


sd.defvjp(user_ruled, lambda g, ans, z: g * 2.0)
sd.defjvp(user_ruled, lambda dz, ans, z: dz * 2.0)


def calls_user_ruled(z):
    return np.sum(np.abs(user_ruled(z)))


def casts(z):
    return math.sin(z[0]) + np.sum(np.abs(z))


def grad_fd(f, args, i, rng):
    """Check sd.grad against central differences along a real and an imaginary direction."""
    g = sd.grad(f, wrt=i)(*args)
    z = args[i]
    assert np.iscomplexobj(g) == np.iscomplexobj(z) and np.shape(g) == np.shape(z)
    for v in directions(z, rng):
        move = lambda t: f(*args[:i], z + t, *args[i + 1:])  # noqa: E731
        close(np.real(np.sum(g * v)), cfd(move, 0 * z, v))


Z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.8 - 1.1j])
W = np.array([0.3 - 0.7j, 1.2 + 0.4j, -0.9 - 0.2j])
X = np.array([0.4, -1.3, 2.1])


@pytest.mark.parametrize("f,args", [(loss, (Z, W)), (mixed, (X, Z)), (scalar_loss, (0.7 - 0.4j,)),
                                    (scalar_loss, (np.complex128(0.2 + 1.5j),)), (with_literal, (X,))],
                         ids=["loss", "mixed", "scalar", "np-scalar", "literal"])
def test_reverse_gradient_matches_central_differences(f, args):
    rng = np.random.default_rng(3)
    for i in range(len(args)):
        grad_fd(f, args, i, rng)


def test_gradient_of_abs_squared_is_twice_the_conjugate():
    """The convention itself: d|z|^2/da - i d|z|^2/db = 2a - 2ib."""
    close(sd.grad(lambda z: np.sum(np.abs(z) ** 2))(Z), 2 * np.conj(Z))


def test_vjp_of_a_complex_output_with_a_complex_seed():
    """sd.vjp with seed c differentiates Re(sum(c * f)): holomorphic f gives c * f'(z)."""
    rng = np.random.default_rng(4)
    c = crand(rng)
    val, ct = sd.vjp(holo)(Z, c)
    close(val, holo(Z))
    for v in directions(Z, rng):
        close(np.real(np.sum(ct * v)), np.real(np.sum(c * cfd(holo, Z, v))))
    val, ct = sd.vjp(complex_out_of_real)(X, c)  # a real argument: the real part
    assert not np.iscomplexobj(ct)
    v = rng.normal(size=3)
    close(np.sum(ct * v), np.real(np.sum(c * cfd(complex_out_of_real, X, v))))


def test_jvp_holomorphic_and_not():
    rng = np.random.default_rng(5)
    for v in directions(Z, rng):
        val, tan = sd.jvp(holo)(Z, v)
        close(val, holo(Z))
        close(tan, cfd(holo, Z, v))
        val, tan = sd.jvp(loss, wrt=(0, 1))(Z, W, (v, 2 * v))
        close(tan, cfd(lambda t: loss(Z + t, W + 2 * t), 0 * Z, v))
    v = rng.normal(size=3)
    close(sd.jvp(complex_out_of_real)(X, v)[1], cfd(complex_out_of_real, X, v))
    close(sd.jvp(mixed)(X, Z, v)[1], cfd(lambda t: mixed(X + t, Z), 0 * X, v))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_complex_literal_with_real_arguments(mode):
    """1j in the code: built in complex mode; a real argument's gradient stays real."""
    g = sd.grad(with_literal, mode=mode)(X)
    assert g.dtype == np.float64
    close(g, [cfd(with_literal, X, e) for e in np.eye(3)])
    close(sd.grad(lambda x: np.real(np.exp(1j * x)) * x, mode=mode)(0.7), np.cos(0.7) - 0.7 * np.sin(0.7))


def test_batched_forward_jacobian_through_complex_intermediates():
    close(sd.jacobian(with_literal, mode="forward")(X), [cfd(with_literal, X, e) for e in np.eye(3)])


def test_imag_attribute_is_differentiated():
    rng = np.random.default_rng(6)
    grad_fd(lambda z: np.sum(z.imag * z.real + np.cos(z).imag), (Z,), 0, rng)


# --- what stays refused ---------------------------------------------------------------------------

def _refused(call, what):
    with pytest.raises(sd.SourcediffError, match=what) as e:
        call()
    assert e.value.filename == __file__, str(e.value)
    return e.value


def test_a_rule_not_known_right_for_complex_values_is_refused_at_its_line():
    e = _refused(lambda: sd.grad(not_allowed)(Z), "`arccosh` is not differentiated for complex numbers")
    assert "np.arccosh(y)" in e.line
    _refused(lambda: sd.vjp(not_allowed)(Z, 1.0), "arccosh")
    _refused(lambda: sd.jvp(not_allowed)(Z, Z), "arccosh")
    assert sd.grad(not_allowed)(np.array([1.1, 1.2])).shape == (2,)  # real: the real rules
    _refused(lambda: sd.grad(literal_not_allowed), "`vdot` is not differentiated for complex numbers")
    _refused(lambda: sd.grad(calls_user_ruled)(Z), "`user_ruled` is not differentiated for complex numbers")
    _refused(lambda: sd.jvp(calls_user_ruled)(Z, Z), "`user_ruled` is not differentiated for complex numbers")
    assert sd.grad(calls_user_ruled)(np.array([1.0, -1.0])).tolist() == [2.0, -2.0]


def test_complex_results_and_tangents_refused_where_they_do_not_fit():
    _refused(lambda: sd.grad(returns_complex)(Z), "real-valued")
    _refused(lambda: sd.grad(holo, mode="forward")(1.0 + 1j), "real-valued")
    _refused(lambda: sd.jvp(mixed)(X, Z, 1j * X), "complex tangent")


def test_a_complex_value_cast_to_real_is_refused():
    """math.sin of a NumPy complex scalar takes its real part with a ComplexWarning: refused, not followed."""
    _refused(lambda: sd.grad(casts)(Z), "cast to a real one")
    _refused(lambda: sd.jvp(casts)(Z, Z), "cast to a real one")


def mixed_real(z, w, x):
    return np.sum(np.abs(z * w) ** 2) + np.real(np.sum(np.exp(z))) * x


@pytest.mark.parametrize("wrt", [0, 1, 2, (0, 1, 2)])
def test_forward_mode_grad_with_complex_arguments(wrt):
    """df/da - i df/db per element, two sweeps each (refused before: "meets a complex argument")."""
    args = [np.array([1.0 + 2.0j, -0.5 + 0.3j]), 0.7 - 0.2j, 1.5]

    def fd(i):
        def part(x):
            return mixed_real(*[x if k == i else a for k, a in enumerate(args)])
        x = args[i]
        units = np.eye(np.size(x)).reshape((np.size(x),) + np.shape(x))
        g = [cfd(part, x, e) - (1j * cfd(part, x, 1j * e) if np.iscomplexobj(x) else 0.0) for e in units]
        return np.reshape(g, np.shape(x))
    got = sd.grad(mixed_real, wrt=wrt, mode="forward")(*args)
    for g, i in zip(got if isinstance(wrt, tuple) else (got,), wrt if isinstance(wrt, tuple) else (wrt,)):
        assert np.iscomplexobj(g) == np.iscomplexobj(args[i])
        close(g, fd(i))


C = 2.0 + 1.0j  # a complex constant the function reads (no literal in its code)


def imag_of_global(x):
    return (x * C).imag + np.real(x * C) * x


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_imag_of_a_complex_value_from_a_global_is_differentiated(mode):
    """x.imag was a constant attribute (right for real arrays only): here it carries Im(C)."""
    close(sd.grad(imag_of_global, mode=mode)(0.7), 1.0 + 2.0 * 2.0 * 0.7)
    close(sd.grad(lambda x: np.sum(imag_of_global(x)), mode=mode)(np.array([0.7, -0.2])),
          1.0 + 2.0 * 2.0 * np.array([0.7, -0.2]))


def indexed(x):
    z = x * C
    return np.abs(z[0]) + np.imag(z[1]) * x[1] + np.sum(np.real(z[1:]) ** 2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_indexing_a_complex_value_made_from_a_real_array(mode):
    x = np.array([0.7, -0.4, 1.3])
    close(sd.grad(indexed, mode=mode)(x), [cfd(indexed, x, e) for e in np.eye(3)])


def matrices(a, b):
    return np.sum(np.abs(a @ b) ** 2) + np.real(np.sum((a @ b) @ b.T))


def test_complex_matrix_products():
    rng = np.random.default_rng(8)
    a, b = crand(rng, (2, 3)), crand(rng, (3, 3))
    for i in range(2):
        grad_fd(matrices, (a, b), i, rng)


def spectrum_energy(x):
    return np.sum(np.abs(np.fft.fft(x)) ** 2)  # Parseval: n * sum(x**2)


def padded_band(x, w):
    s = np.fft.ifft(x * w, 6)
    return np.sum(np.real(s) ** 2 + 0.5 * np.imag(s)) + np.abs(np.fft.fft(x, 3)[1])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_fft_of_real_arrays_through_the_compiler(mode):
    x, w = np.array([0.3, -1.2, 0.8, 2.0]), np.array([1.0, 0.5, -0.25, 2.0])
    np.testing.assert_allclose(sd.grad(spectrum_energy, mode=mode)(x), 2 * 4 * x, rtol=1e-10)
    got = sd.grad(padded_band, wrt=(0, 1), mode=mode)(x, w)
    for i, a in enumerate((x, w)):
        want = [(padded_band(*[b + h * e if j == i else b for j, b in enumerate((x, w))]) -
                 padded_band(*[b - h * e if j == i else b for j, b in enumerate((x, w))])) / (2 * h)
                for h in (1e-6,) for e in np.eye(4)]
        np.testing.assert_allclose(got[i], want, rtol=1e-6, atol=1e-8)


def real_spectra(x, w):
    r = np.fft.rfft(x * w, 6)
    y = np.fft.irfft(r * np.conj(r), 6)
    q = np.fft.irfftn(np.fft.rfft2(np.outer(x, w), axes=(0, 1)), (4, 4), axes=(0, 1))
    h = np.fft.hfft(x[:3] + 0.5 * w[:3], 5)
    return np.sum(y * w[:1]) + np.sum(q ** 2) * 0.1 + np.sum(h * np.arange(5.0)) + np.sum(np.abs(np.fft.ihfft(w)) ** 2)


def grids(x):
    return np.real(np.fft.fft2(np.reshape(x, (2, 3)), (3, 4))).ravel() + np.sum(np.fft.irfft(np.fft.rfft(x), 6)[:2])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_real_and_nd_ffts_through_the_compiler(mode):
    """rfft/irfft/hfft/ihfft/rfft2/irfftn of real arrays (the derivative is built in complex mode), and a Jacobian
    through fft2 (forward mode: the batched sweep)."""
    x, w = np.array([0.3, -1.2, 0.8, 2.0]), np.array([1.0, 0.5, -0.25, 2.0])
    got = sd.grad(real_spectra, wrt=(0, 1), mode=mode)(x, w)
    close(got[0], [cfd(lambda t: real_spectra(t, w), x, e) for e in np.eye(4)])
    close(got[1], [cfd(lambda t: real_spectra(x, t), w, e) for e in np.eye(4)])
    z = np.arange(6.0) * 0.3
    close(sd.jacobian(grids, mode=mode)(z), np.transpose([cfd(grids, z, e) for e in np.eye(6)]))


def twice(x):
    return np.sum(np.abs(np.fft.fftn(x, axes=(0, 0))) ** 2)


def test_an_fft_along_an_axis_named_twice_is_refused():
    with pytest.raises(sd.SourcediffError, match="axis named twice") as e:
        sd.grad(twice)(np.array([[0.3, -1.2], [0.8, 2.0]]))
    assert "twice" in str(e.value)


def linalg_loss(A, b):
    x = np.linalg.solve(A, b)
    r = np.trace(np.linalg.inv(A) @ np.kron(np.eye(1), A))
    return np.abs(np.linalg.det(A)) + np.sum(np.abs(x) ** 2) + np.real(r)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_linear_algebra_on_complex_matrices(mode):
    """det, inv, solve, trace, kron of complex matrices (refused before: not on the allow-list)."""
    rng = np.random.default_rng(3)
    A = crand(rng, (3, 3)) + 3 * np.eye(3)
    b = crand(rng, (3,))
    gA, gb = sd.grad(linalg_loss, wrt=(0, 1), mode=mode)(A, b)
    for g, i, x in ((gA, 0, A), (gb, 1, b)):
        for j in np.ndindex(x.shape):
            e = np.zeros(x.shape, complex)
            e[j] = 1

            def along(d):
                return linalg_loss(*[x + d if k == i else a for k, a in enumerate((A, b))])
            want = cfd(along, 0 * x, e) - 1j * cfd(along, 0 * x, 1j * e)
            close(g[j], want, "arg %d at %s" % (i, j))
