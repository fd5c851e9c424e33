"""Structured parameters: NamedTuples, dataclasses and registered containers read through attributes
(``p.w``), indexing and unpacking of NamedTuples, in both modes; gradients have the argument's type.
References are central finite differences (``fd`` below, which knows these types itself) or hand
derivations; anything that cannot be differentiated is refused with a located error."""
import dataclasses
from typing import NamedTuple

import numpy as np
import pytest

import sourcediff as sd
from sourcediff import runtime

MODES = ["reverse", "forward"]


class P(NamedTuple):
    w: float
    b: float


class PA(NamedTuple):
    w: np.ndarray
    b: float


@dataclasses.dataclass
class D:
    w: float
    b: float


@dataclasses.dataclass(frozen=True)
class Model:
    layer: PA
    scale: float
    name: str = "m"


class Reg:
    """A plain class registered as a container (children w, b)."""

    def __init__(self, w, b):
        self.w, self.b = w, b


sd.register_container(Reg, lambda r: ((r.w, r.b), "aux"), lambda aux, ch: Reg(*ch))


class Converting:
    """A registered container whose unflatten converts its children (stand-ins do not survive it)."""

    def __init__(self, w, b):
        self.w, self.b = np.asarray(w, dtype=float), float(b)


sd.register_container(Converting, lambda r: ((r.w, r.b), None), lambda aux, ch: Converting(*ch))


class Plain:
    def __init__(self, w, b):
        self.w, self.b = w, b

    @property
    def T(self):
        return self.w


# -- central differences over these structures, written independently of sourcediff ----------------

def _kids(v):
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return list(v), lambda ch: type(v)(*ch)
    if dataclasses.is_dataclass(v):
        names = [f.name for f in dataclasses.fields(v)]
        return [getattr(v, n) for n in names], lambda ch: dataclasses.replace(v, **dict(zip(names, ch)))
    if isinstance(v, Reg):
        return [v.w, v.b], lambda ch: Reg(*ch)
    if isinstance(v, (list, tuple)):
        return list(v), type(v)
    return None, None


def _map(v, leaf):
    kids, make = _kids(v)
    if kids is None:
        return v if isinstance(v, str) else leaf(v)
    return make([_map(k, leaf) for k in kids])


def leaves(v):
    out = []
    _map(v, lambda a: out.extend(np.ravel(np.asarray(a, dtype=float))))
    return np.array(out)


def fd(f, args, i, h=1e-5):
    """Central differences of scalar ``f`` w.r.t. every number in ``args[i]``, flat."""
    n, out = len(leaves(args[i])), []
    for j in range(n):
        vals = []
        for s in (h, -h):
            count = iter(range(10 ** 6))

            def leaf(a, s=s):
                arr = np.array(a, dtype=float)
                flat = arr.reshape(-1)
                for q in range(flat.size):
                    if next(count) == j:
                        flat[q] += s
                return arr if isinstance(a, np.ndarray) else float(arr)
            a2 = list(args)
            a2[i] = _map(args[i], leaf)
            vals.append(float(f(*a2)))
        out.append((vals[0] - vals[1]) / (2 * h))
    return np.array(out)


def same_type_tree(g, x):
    """``g`` has ``x``'s types all the way down (arrays: same shape, floating)."""
    if isinstance(x, np.ndarray):
        assert isinstance(g, np.ndarray) and g.shape == x.shape and g.dtype.kind == "f", (g, x)
        return
    if isinstance(x, str):
        assert g == x
        return
    kids, _ = _kids(x)
    if kids is None:
        assert type(g) is float, (g, x)
        return
    assert type(g) is type(x), (type(g), type(x))
    for a, b in zip(_kids(g)[0], kids):
        same_type_tree(a, b)


def check(f, *args, wrt=0):
    """Both modes and value_and_grad against central differences; the gradient has the argument's types."""
    for mode in MODES:
        g = sd.grad(f, wrt=wrt, mode=mode)(*args)
        same_type_tree(g, args[wrt])
        np.testing.assert_allclose(leaves(g), fd(f, args, wrt), rtol=1e-6, atol=1e-7)
        v, g2 = sd.value_and_grad(f, wrt=wrt, mode=mode)(*args)
        assert v == f(*args)
        np.testing.assert_allclose(leaves(g2), leaves(g), rtol=1e-12)
    return g


# -- the measured cases ----------------------------------------------------------------------------

def nt(p, x):
    return p.w * x + p.b * p.b


def by_index(p, x):
    return p[0] * x + p[1]


def unpacked(p, x):
    w, b = p
    return w * x + b * b


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cls", [P, D])
def test_attribute_reads_hand_derivation(mode, cls):
    g = sd.grad(nt, mode=mode)(cls(2.0, 3.0), 1.5)
    assert type(g) is cls and (g.w, g.b) == (1.5, 6.0)  # d/dw = x, d/db = 2 b


@pytest.mark.parametrize("mode", MODES)
def test_namedtuple_indexing_and_unpacking(mode):
    assert sd.grad(by_index, mode=mode)(P(2.0, 3.0), 1.5) == P(1.5, 1.0)
    assert sd.grad(unpacked, mode=mode)(P(2.0, 3.0), 1.5) == P(1.5, 6.0)


def as_array(p, x):
    return np.sum(np.asarray(p) ** 2) * x + p.w * x


def test_scalar_cases_against_differences():
    for f in (nt, by_index, unpacked, as_array):
        check(f, P(2.0, 3.0), 1.5)
    check(nt, D(-0.5, 1.25), 0.75)


# -- nesting, arrays, loops, calls ------------------------------------------------------------------

def layered(m, x):
    h = np.tanh(m.layer.w * x + m.layer.b)
    return np.sum(h * h) * m.scale


def listed(ps, x):
    s = 0.0
    for q in ps:
        s = s + np.sum(np.sin(q.w * x)) * q.b
    return s


def inner(q, x):
    return np.sum(q.w * x) * q.b


def calls_inner(p, x):
    return inner(p, x) + p.b * inner(p, x)


def model():
    return Model(PA(np.array([0.3, -1.2, 0.8]), 0.4), 1.7)


X = np.array([0.5, -1.0, 2.0])


def test_dataclass_holding_namedtuple_of_arrays():
    g = check(layered, model(), X)
    assert g.name == "m"  # a constant child is kept, as dataclasses.replace keeps it
    check(layered, model(), X, wrt=1)
    assert sd.check_grads(layered, model(), X, wrt=(0, 1))


def test_list_of_namedtuples_in_a_loop():
    ps = [PA(np.array([1.0, 2.0, 3.0]), 1.5), PA(np.array([-0.5, 0.25, 1.0]), -2.0)]
    check(listed, ps, X)


def layer_of(m):
    return m.layer


def through_callee(m, x):
    q = layer_of(m)
    return np.sum(np.sin(q.w * x)) * q.b * m.scale


def test_structured_argument_passed_to_a_callee():
    check(calls_inner, PA(np.array([1.0, 2.0, 3.0]), 1.5), X)
    check(through_callee, model(), X)  # the callee returns a structured value


def test_registered_container():
    check(nt, Reg(2.0, 3.0), 1.5)
    check(inner, Reg(np.array([1.0, -2.0, 0.5]), 0.75), X)
    g = sd.grad(inner)(Converting([1.0, -2.0, 0.5], 0.75), X)
    assert type(g) is Converting
    np.testing.assert_allclose(g.w, X * 0.75)  # d/dw sum(w x) b = x b
    assert g.b == pytest.approx(np.sum(np.array([1.0, -2.0, 0.5]) * X))


@pytest.mark.parametrize("mode", MODES)
def test_wrt_names_and_tuples(mode):
    p = PA(np.array([1.0, 2.0, 3.0]), 1.5)
    gp, gx = sd.grad(inner, wrt=("q", "x"), mode=mode)(p, X)
    assert type(gp) is PA
    np.testing.assert_allclose(leaves(gp), fd(inner, (p, X), 0), rtol=1e-6)
    np.testing.assert_allclose(gx, fd(inner, (p, X), 1), rtol=1e-6)


def test_unused_structured_parameter_has_a_zero_of_its_type():
    for mode in MODES:
        assert sd.grad(lambda p, x: x * x, mode=mode)(P(1.0, 2.0), 3.0) == P(0.0, 0.0)


# -- jvp, vjp, jacobian ---------------------------------------------------------------------------

def test_jvp_tangent_and_output_structure():
    p, t = PA(np.array([1.0, 2.0, 3.0]), 1.5), PA(np.array([0.1, -0.2, 0.3]), 0.5)
    val, tan = sd.jvp(inner)(p, X, t)
    h = 1e-6
    plus, minus = PA(p.w + h * t.w, p.b + h * t.b), PA(p.w - h * t.w, p.b - h * t.b)
    assert val == inner(p, X)
    np.testing.assert_allclose(tan, (inner(plus, X) - inner(minus, X)) / (2 * h), rtol=1e-7)
    val, tan = sd.jvp(lambda m: m.layer)(model(), dataclasses.replace(model(), scale=0.0))
    assert type(tan) is PA and np.array_equal(tan.w, model().layer.w)


def test_vjp_cotangent_structure():
    val, ct = sd.vjp(lambda m, x: m.layer.w * x * m.scale)(model(), X, np.array([1.0, 0.0, 2.0]))
    assert type(ct) is Model and type(ct.layer) is PA
    np.testing.assert_allclose(ct.layer.w, X * 1.7 * np.array([1.0, 0.0, 2.0]))
    assert ct.layer.b == 0.0 and ct.scale == pytest.approx(np.sum(model().layer.w * X * [1.0, 0.0, 2.0]))


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_and_hessian_of_structured_argument_refused(mode):
    with pytest.raises(sd.SourcediffError, match="Jacobian of or with respect to a PA"):
        sd.jacobian(lambda p, x: p.w * x, mode=mode)(PA(np.ones(3), 1.0), X)
    with pytest.raises(sd.SourcediffError):  # refused when built (no rule for the adjoint's helper) or called
        sd.hessian(nt)(P(2.0, 3.0), 1.5)

    f = lambda p, x: p.w * x ** 3 + p.b * x  # noqa: E731  (a constant structured argument is fine)
    assert sd.hessian(f, wrt=1)(P(2.0, 3.0), 1.5) == pytest.approx(6 * 2.0 * 1.5)  # d2/dx2 = 6 w x


# -- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_unregistered_object_refused_at_its_line(mode):
    with pytest.raises(sd.SourcediffError) as e:
        sd.grad(nt, mode=mode)(Plain(2.0, 3.0), 1.5)
    msg = str(e.value)
    assert "Plain" in msg and "sd.register_container" in msg
    assert e.value.filename == __file__ and e.value.lineno == nt.__code__.co_firstlineno + 1
    assert "p.w * x + p.b * p.b" in msg
    assert sd.grad(nt, wrt=1, mode=mode)(Plain(2.0, 3.0), 1.5) == 2.0  # not active: its attributes are constants
    with pytest.raises(sd.SourcediffError, match="with respect to a Plain object") as e:
        sd.grad(lambda p: 2.0 * p.T, mode=mode)(Plain(2.0, 3.0))  # `.T` read as an array's: no derivative for a Plain
    assert "sd.register_container(Plain" in str(e.value)
    with pytest.raises(sd.SourcediffError, match="with respect to a Plain object"):
        sd.jvp(lambda p: 2.0 * p.T)(Plain(2.0, 3.0), Plain(1.0, 0.0))


class WithProperty(NamedTuple):
    w: float

    @property
    def twice(self):
        return 2.0 * self.w


def writes_attribute(p, x):
    p.w = x
    return p.w * x


def test_computed_attribute_and_attribute_write_refused():
    for mode in MODES:
        with pytest.raises(sd.SourcediffError, match="`.twice` is not a field of WithProperty"):
            sd.grad(lambda p: p.twice * p.w, mode=mode)(WithProperty(1.5))
    with pytest.raises(sd.SourcediffError, match="assigning to an attribute") as e:
        sd.grad(writes_attribute)  # refused when built
    assert e.value.lineno == writes_attribute.__code__.co_firstlineno + 1


class Sized(NamedTuple):
    size: float
    w: float


def test_field_named_like_an_array_attribute_refused():
    f = lambda p: p.size * p.w  # noqa: E731  (lowering reads .size as an array's, a constant)
    for mode in MODES:
        with pytest.raises(sd.SourcediffError, match="Sized has an attribute `.size`"):
            sd.grad(f, mode=mode)(Sized(2.0, 3.0))
    with pytest.raises(sd.SourcediffError, match="Sized has an attribute `.size`"):
        sd.jvp(f)(Sized(2.0, 3.0), Sized(1.0, 0.0))


def test_register_container_checks_its_arguments():
    with pytest.raises(sd.SourcediffError):
        sd.register_container(Plain(1.0, 2.0), len, len)


# -- shape specialisation ---------------------------------------------------------------------------

def test_shape_key_of_structured_arguments():
    key = runtime.shape_key([PA(np.ones(3), 1.0), D(1.0, np.zeros((2, 2))), Reg(1.0, 2.0)])
    assert key == (("struct", (("w", (3,)), ("b", "num"))), ("struct", (("w", "num"), ("b", (2, 2)))), None)


def looped(p, x):
    h = x
    for i in range(3):
        h = np.tanh(h * p.w + p.b)
    return np.sum(h)


def test_specialised_version_knows_field_shapes():
    p, x = PA(np.array([0.5, -0.3, 0.8]), 0.1), np.array([[0.2, -0.4, 0.6], [1.0, 0.5, -0.5]])
    g = sd.grad(looped)
    first = g(p, x)
    for _ in range(2):
        again = g(p, x)
        assert type(again) is PA and np.array_equal(again.w, first.w) and again.b == first.b
    (key, fn), = g.specialised.items()
    assert key[0] == ("struct", (("w", (3,)), ("b", "num")))
    assert fn.source.count("unbroadcast(") < g.source.count("unbroadcast(")  # p.w's shape is known there
    np.testing.assert_allclose(leaves(first), fd(looped, (p, x), 0), rtol=1e-6, atol=1e-8)


def weighted(x, p):
    return np.sum(np.sin(p.w * x) * p.b)


def _paired(gx, gp, v, u):
    return float(np.dot(gx, v) + np.dot(gp.w, u.w) + gp.b * u.b)


@pytest.mark.parametrize("compose", ["vjp_grad", "jvp_grad"])
def test_second_derivatives_through_attribute_reads(compose):
    """The outer operator differentiates the adjoints ``getattr_vjp`` and tangents ``tgetattr`` of ``p.w``
    (the inner gradient is taken with respect to the NamedTuple too)."""
    x, p = np.array([0.3, -0.8]), PA(np.array([1.2, 0.4]), 0.7)
    v, u, e = np.array([0.5, -1.0]), PA(np.array([0.2, 0.9]), -0.4), np.array([0.6, 0.1])
    g = sd.grad(weighted, wrt=(0, 1))

    def s(x):
        return _paired(*g(x, p), v, u)
    if compose == "vjp_grad":  # the gradient of s
        got = sd.vjp(g, wrt=0)(x, p, (v, u))[1]
        want = [(s(x + 1e-6 * d) - s(x - 1e-6 * d)) / 2e-6 for d in np.eye(2)]
    else:  # the derivative of g along e, paired with (v, u)
        got = _paired(*sd.jvp(g, wrt=0)(x, p, e)[1], v, u)
        want = (s(x + 1e-6 * e) - s(x - 1e-6 * e)) / 2e-6
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_hessian_with_respect_to_a_namedtuple_and_an_array_is_refused_not_a_crash():
    """Its array block needs the batched tangent of the gradient's NamedTuple (bgrad_like built it from a
    generator: a TypeError, soak program 201019); the NamedTuple's own block has no array shape: refused."""
    x, p = np.array([0.3, -0.8]), PA(np.array([1.2, 0.4]), 0.7)
    with pytest.raises(sd.SourcediffError, match="structured value"):
        sd.hessian(weighted, wrt=(0, 1))(x, p)
    from sourcediff.rules.batched import bgrad_like
    t = bgrad_like((np.ones((2, 2)), np.ones(2)), p)
    assert isinstance(t, PA) and t.w.shape == (2, 2) and np.shape(t.b) == (2,)


def sum_over_keys(x, d):
    s = 0.0
    for k in d:
        s = s + np.sum(d[k] ** 2) * x
    return s


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_for_k_in_a_dict_argument_runs_over_its_keys(mode):
    """``for k in d`` over an argument read as ``d[k]`` read ``d[0]`` (a KeyError); a list argument still
    runs over its items (here integers, used as indices)."""
    d = {"a": 1.5, "b": np.array([1.0, -2.0])}
    gx, gd = sd.grad(sum_over_keys, wrt=(0, 1), mode=mode)(0.5, d)
    assert gx == pytest.approx(1.5 ** 2 + 5.0) and set(gd) == {"a", "b"}
    assert gd["a"] == pytest.approx(2 * 1.5 * 0.5)
    np.testing.assert_allclose(gd["b"], 2 * d["b"] * 0.5)
    assert sd.grad(sum_over_keys, mode=mode)(0.5, [1, 0]) == pytest.approx(1.0 + 0.0)


def test_hessian_with_respect_to_a_dict_is_refused_not_a_crash():
    with pytest.raises(sd.SourcediffError, match="dict"):
        sd.hessian(sum_over_keys, wrt=(0, 1))(0.5, {"a": 1.5, "b": 2.0})
