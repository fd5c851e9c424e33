"""Constants by proof: every ``nondiff`` entry is piecewise constant in its float inputs.

``SAMPLES`` gives each entry of the constants table calls at points away from its jumps;
moving any float input of a call (a Python float or a float array element) by a small step
must leave the output exactly as it was. A new entry without samples fails the coverage test.
The functions that left the table (their values move with a float input) now have rules,
checked against central differences below, or are refused where a differentiated value
reaches them.
"""
import math
import operator

import numpy as np
import pytest

import sourcediff as sd
from sourcediff import runtime
from sourcediff.neutral import neutral_call
from sourcediff.rules import helpers as H, numpy_decomp as D, numpy_extra as E, registry as R, scipy_rules as SC
from sourcediff.rules import fft_helpers as FH, numpy_stats as S, to_python as TP

from helpers import check

A = np.array([[0.3, -1.7, 2.2], [1.1, 0.4, -0.6]])
V = np.array([0.35, 1.75, 2.25])
M = np.array([[1.3, 0.2, 0.4], [0.1, 2.1, 0.6], [0.5, 0.7, 3.3]])

SAMPLES = {
    "Eq": [(1.5, 2.5)], "NotEq": [(1.5, 2.5)], "Lt": [(1.5, 2.5)], "LtE": [(1.5, 2.5)], "Gt": [(1.5, 2.5)],
    "GtE": [(1.5, 2.5)], "Is": [(1.5, None)], "IsNot": [(1.5, None)], "In": [(1.5, [2.5, 3.5])],
    "NotIn": [(1.5, [2.5, 3.5])], "Not": [(1.5,)], "FloorDiv": [(7.3, 2.1), (V, 0.7)], "BitAnd": [(6, 3)],
    "BitOr": [(6, 3)], "BitXor": [(6, 3)], "LShift": [(6, 3)], "RShift": [(6, 1)], "Invert": [(6,)],
    int: [(2.7,)], round: [(2.34,), (2.34, 1)], len: [(V,)], range: [(3,)], bool: [(2.5,)], isinstance: [(2.5, float)],
    math.floor: [(2.7,)], math.ceil: [(2.7,)], math.trunc: [(2.7,)], math.isnan: [(2.7,)], math.isinf: [(2.7,)],
    math.isfinite: [(2.7,)], math.isclose: [(2.7, 2.9)], math.factorial: [(5,)], math.gcd: [(12, 18)],
    math.comb: [(5, 2)], math.perm: [(5, 2)], math.isqrt: [(17,)], math.lcm: [(4, 6)], math.ulp: [(2.7,)],
    np.floor: [(A,)], np.ceil: [(A,)], np.round: [(A,), (A, 1)], np.around: [(A, 1)], np.rint: [(A,)], np.fix: [(A,)],
    np.trunc: [(A,)], np.sign: [(A,)], np.signbit: [(A,)], np.floor_divide: [(A, 0.7)], np.spacing: [(A,)],
    np.argmax: [(A,), (A, 1)], np.argmin: [(A,), (A, 0)], np.argsort: [(V,)], np.argwhere: [(A,)], np.nonzero: [(A,)],
    np.flatnonzero: [(A,)], np.shape: [(A,)], np.ndim: [(A,)], np.size: [(A,)], np.isnan: [(A,)],
    np.isfinite: [(A,)], np.isinf: [(A,)], np.isclose: [(A, A * 2.0)], np.allclose: [(A, A * 2.0)],
    np.array_equal: [(A, A * 2.0)], np.equal: [(A, V)], np.not_equal: [(A, V)], np.less: [(A, V)],
    np.less_equal: [(A, V)], np.greater: [(A, V)], np.greater_equal: [(A, V)], np.logical_and: [(A, V)],
    np.logical_or: [(A, V)], np.logical_not: [(A,)], np.logical_xor: [(A, V)], np.searchsorted: [(V, A)],
    np.digitize: [(A, V)], np.count_nonzero: [(A,)], np.all: [(A,)], np.any: [(A,)], np.zeros: [((2, 3),)],
    np.ones: [((2, 3),)], np.zeros_like: [(A,)], np.ones_like: [(A,)], np.empty: [((2, 3),)], np.empty_like: [(A,)],
    np.eye: [(3,), (3, 4, 1)], np.identity: [(3,)], np.indices: [((2, 3),)], np.unravel_index: [(5, (2, 3))],
    np.ravel_multi_index: [(([1, 0], [2, 1]), (2, 3))], np.diag_indices: [(3,)], np.tril_indices: [(3,)],
    np.triu_indices: [(3,)], np.result_type: [(A, 2.5)], np.broadcast_shapes: [((2, 1), (3,))],
    np.iscomplexobj: [(A,)], np.isscalar: [(2.5,)], np.bitwise_and: [(6, 3)], np.bitwise_or: [(6, 3)],
    np.bitwise_xor: [(6, 3)], np.invert: [(6,)], np.left_shift: [(6, 3)], np.right_shift: [(6, 1)], np.gcd: [(12, 18)],
    np.lcm: [(4, 6)],
    H.keepdims_shape: [(A,), (A, 1)], H.einsum_adjoint_spec: [("ij,jk->ik", 0, A, M)],
    H.reduced_count: [(A,), (A, 1)], H.repeat_index: [(V, 2)],
    H.tile_split_shape: [(A, 2)], H.tile_sum_axes: [(A, (2, 1))], H.rollaxis_dest: [(A, 1)],
    H.tensordot_axes: [(A, M, 1)], H.tensordot_adjoint_axes: [(A, M, 1, 0)], H.tensordot_adjoint_perm: [(A, M, 1, 1)],
    H.dot_axes: [(A, M)], H.kron_split_shape: [(A, M)], H.kron_axes: [(A, 0)], H.diagonal_index: [(M,)],
    H.spaced_fraction: [(np.linspace(V, 2 * V, 4), 4, True, 0)], H.kron_shape: [(V, M)], H.pad_mode: [("edge",)],
    runtime.seed_one: [(2.5,), (np.array([2.5]),)], runtime.zeros_like: [(A,), ([2.5, V],)],
    runtime.shape_of: [(A,)], runtime.unit_seed: [(2.5,)], runtime.keys_of: [({"p": 2.5, "q": 1.5},)],
    runtime.dict_keys: [({"p": 2.5, "q": 1.5},), (A,)],
    runtime.sort_order: [([0.3, -0.7, 1.1],), ([0.5, 0.25, 0.75], True)], neutral_call: [(abs, 2.5)],
}
SAMPLES.update({D.distinct: [(np.array([1.0, 2.0, 3.5]), np.ones(3)), (np.array([1.0, 2.0]), 0.0)],
                D.real_spectrum: [(np.array([1.0, 2.0]),)], D.full_svd: [(np.ones((3, 2)), False), (M, True)],
                D.qr_shape: [(np.ones((3, 2)), "reduced")], D.spectral: [(M, "nuc"), (V, 2.5), (V, None)]})
XI = np.array([0, 1, 3, 4])  # integer sample points: the float arguments the callers refuse stay put
SAMPLES.update({E.correlate_mode: [("same", 2, 3)], E.vander_powers: [(V, 3, True), (V,)], E.descending_powers: [(3,)],
                E.gradient_matrix: [(4, 2, 1)], E.one_axis: [(V, None), (M, 1)], E.interp_slopes: [(V, XI), (V, XI)],
                E.no_period: [(None,)], E.trapezoid_weights: [(M, None, 0), (np.ones((2, 4)), XI, -1)],
                np.argpartition: [(V, 1)], E.absent: [(None,), (2.5,)],
                E.select_masks: [(np.array([[True, False], [True, True]]),), ([np.array([True, False]), True],)],
                E.grid_axes: [("xy",), ("ij",)], E.none_of: [(np.array([[True, False], [False, False]]),)],
                E.partition_index: [(V, np.sort(V), -1), (M, np.sort(np.ravel(M)), None)]})
# issue #15's helpers; quantile_weights' q stays integer (0, 1, [0, 1]): the callers refuse a derivative in q
SAMPLES.update({FH.fft_axes: [(M, None, None), (A, (3,), None), (A, None, (1, 0))], FH.fft_length: [(V, None, 0),
                                                                                                    (M, 4, 1, True)],
                FH.last_length: [(M, None, (0, 1)), (M, (2, 5), (0, 1), True)], FH.hermitian_weights: [(6, 0, 2)],
                TP.item_position: [(M, (4,)), (A, (1, 2))],
                S.quantile_weights: [(V, 1), (A, np.array([0, 1]), 1), (np.array([0.5, np.nan, 1.5]), 0, None, True)],
                S.weights_shape: [(A, V, 1), (A, A)], S.not_returned: [(False,)], S.cov_transposed: [(A, False)],
                S.cov_norm: [(A, False, None), (A, True, 2)], S.poly_matrix: [(3, 1), (3, 2, True)],
                S.untrimmed: [(np.ones(4), V, V[:2])], S.resize_source: [(V, A)],
                S.many_spec: [("ij,jk,k->i", 1, A, M, V)]})
if SC is not None:  # SciPy's rules bring their own constants (only where SciPy imports)
    SAMPLES.update({SC.sc_full_shape: [(V, M)], SC.sc_trans: [("N",), (1,)], SC.sc_no_sign: [(False,)]})
OPERATORS = {"Eq": operator.eq, "NotEq": operator.ne, "Lt": operator.lt, "LtE": operator.le, "Gt": operator.gt,
             "GtE": operator.ge, "Is": operator.is_, "IsNot": operator.is_not, "In": lambda a, b: a in b,
             "NotIn": lambda a, b: a not in b, "Not": operator.not_, "FloorDiv": operator.floordiv,
             "BitAnd": operator.and_, "BitOr": operator.or_, "BitXor": operator.xor, "LShift": operator.lshift,
             "RShift": operator.rshift, "Invert": operator.invert}
# declared constant on purpose: the user's own word (stop_gradient), or a helper that only raises
EXEMPT = {sd.stop_gradient, runtime.unbound}
UNINITIALISED = {np.empty, np.empty_like}  # only their shape and dtype are defined


def _floats(args):
    """(path, value) of every float input in ``args``: Python floats and the elements of float arrays."""
    out = []
    for i, a in enumerate(args):
        if isinstance(a, float):
            out.append((i, None))
        elif isinstance(a, np.ndarray) and a.dtype.kind == "f":
            out += [(i, j) for j in range(a.size)]
        elif isinstance(a, list):
            out += [((i, k), None) for k, v in enumerate(a) if isinstance(v, float)]
    return out


def _moved(args, where, h):
    args = [a.copy() if isinstance(a, (np.ndarray, list)) else a for a in args]
    i, j = where
    if isinstance(i, tuple):
        args[i[0]][i[1]] += h
    elif j is None:
        args[i] += h
    else:
        args[i].reshape(-1)[j] += h
    return args


def _same(a, b):
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and np.shape(a) == np.shape(b) and np.array_equal(a, b)


def _name(k):
    return k if isinstance(k, str) else "%s.%s" % (getattr(k, "__module__", ""), getattr(k, "__name__", k))


def _keys():
    return sorted((k for k in R.NONDIFF if k not in EXEMPT and not isinstance(k, tuple)), key=_name)


def test_every_constant_has_samples():
    missing = [_name(k) for k in _keys() if k not in SAMPLES]
    assert not missing, "constants without SAMPLES (prove them piecewise constant): %s" % missing


@pytest.mark.parametrize("key", _keys(), ids=_name)
def test_constant_does_not_move(key):
    fn = OPERATORS.get(key, key)
    assert key in SAMPLES, "no samples: prove %s piecewise constant in SAMPLES, or give it a rule" % _name(key)
    for args in SAMPLES[key]:
        base = fn(*args)
        for where in _floats(args):
            for h in (1e-7, -1e-7, 1e-4):
                out = fn(*_moved(args, where, h))
                if key in UNINITIALISED:
                    assert np.shape(out) == np.shape(base) and out.dtype == base.dtype
                else:
                    assert _same(out, base), (key, args, where, h, base, out)


def test_constant_attributes_do_not_move():
    from sourcediff.lower import NONDIFF_ATTRS
    for name in sorted(NONDIFF_ATTRS):
        base = getattr(A, name)
        for where in _floats((A,)):
            assert _same(getattr(_moved((A,), where, 1e-4)[0], name), base), name


# --- functions that left the table: their values move with a float input -------------------

X = np.array([0.3, 0.7, 1.1])


def full(x):
    return np.sum(np.full(3, x[0]) * x) + np.sum(np.full((2, 3), x) ** 2)


def full_like(x):
    return np.sum(np.full_like(x, x[1]) * x) + np.sum(np.full_like(np.arange(3), x[1]))


def linspace(x):
    return np.sum(np.linspace(0.0, x[0], 4) * np.arange(4.0)) + np.sum(np.linspace(x[1], x[2], 5, endpoint=False) ** 2)


def linspace_arrays(x):
    a = np.stack([x, x * 2.0])
    return np.sum(np.linspace(a[0], a[1], 4, axis=1) * np.arange(4.0)) + np.sum(np.linspace(a[0], x[2], 3) ** 2)


def geomspace(x):
    return np.sum(np.geomspace(x[0], x[2] * 3.0, 4) * np.arange(4.0)) + np.sum(np.geomspace(-x[1], -2.0, 3) ** 2)


def logspace(x):
    return np.sum(np.logspace(x[0], x[1], 4, True, x[2] + 2.0) * np.arange(4.0)) + np.sum(np.logspace(x[0], 1.0, 3))


def heaviside(x):
    return np.sum(np.heaviside(x - 0.5, x[2]) * x) + np.sum(np.heaviside(np.array([0.0, -1.0, 2.0]), x[1]) * x)


def nextafter(x):
    return np.sum(np.nextafter(x, 2.0) * x) + math.nextafter(x[0], 0.0) * 2.0


def concat_r(x):
    return np.sum(np.r_[x, x * 2, 3.0, x[0]] ** 2)


def einsum_sublists(x):
    m = np.outer(x, x * x)
    return np.sum(np.einsum(m, [0, 1], [1, 0]) * np.arange(9.0).reshape(3, 3)) + np.einsum(x, [0], x, [0])


def matrix_transpose_attr(x):
    return np.sum(np.outer(x, x * 2.0).mT * np.arange(9.0).reshape(3, 3))


@pytest.mark.parametrize("f",
                         [matrix_transpose_attr, full, full_like, linspace, linspace_arrays, geomspace, logspace,
                          heaviside, nextafter,
                               concat_r, einsum_sublists])
def test_moving_functions_have_rules(f):
    check(f, X.copy())
    sd.lower(f)  # the lowered form follows the grammar (lower.validate)


def arange(x):
    return np.sum(np.arange(x[0], 5.0))


def divmod_rest(x):
    return divmod(x[0], 0.25)[1]


def frexp(x):
    return math.frexp(x[0])[0]


def modf(x):
    return math.modf(x[0] * 3.0)[0]


def column_concat(x):
    return np.sum(np.c_[x, x * 2] ** 2)


def norm_order(x):
    return np.linalg.norm(x, x[0] + 2.0)


def einsum_variable(x, s):
    return np.einsum(s, x)


def flat_attr(x):
    return x.flat[1] * 3.0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_flat_is_refused_at_the_first_call(mode):
    # `.flat` could be a field of a structured parameter: the argument's type decides, at the first call
    with pytest.raises(sd.SourcediffError, match="attribute `.flat` of an array") as e:
        sd.grad(flat_attr, mode=mode)(np.array([1.0, 2.0]))
    assert "test_constants.py" in str(e.value)


@pytest.mark.parametrize("f", [arange, divmod_rest, frexp, modf, column_concat, norm_order])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_moving_functions_without_rules_refused(f, mode):
    with pytest.raises(sd.SourcediffError, match="no derivative rule|has no derivative for it") as e:
        sd.grad(f, mode=mode)
    assert "test_constants.py" in str(e.value)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_einsum_subscripts_not_a_string_refused_when_it_runs(mode):
    g = sd.grad(einsum_variable, mode=mode)
    assert np.allclose(g(X.copy(), "i->"), np.ones(3))
    with pytest.raises(sd.SourcediffError, match="subscripts as a string"):
        g(X.copy(), [0])


def test_integer_results_have_zero_derivative():
    def f(x):
        return np.sum(np.full(3, x[0], dtype=int) * x) + np.sum(np.linspace(0.0, x[1] * 10.0 + 0.55, 3, dtype=int)) + \
            np.sum(np.full(2, x[2]) * x[1]) + np.sum((x * 3.0).astype(int) * x) + np.sum(np.asarray(x * 5.0, dtype=int))
    check(f, X.copy())
