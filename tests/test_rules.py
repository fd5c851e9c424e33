"""Every derivative rule checked on its own against central finite differences.

The rules are called directly (no compiler). ``SPECS`` maps each registered key
(or a tuple of keys sharing one rule) to its cases: the call's arguments, where
``A(shape, dom)`` is a random float argument, ``Seq(...)`` a tuple/list of
them and anything else a constant. For each float argument a rule
differentiates:

* VJP: ``<adjoint, v>`` must equal ``(<g, f(x + h v)> - <g, f(x - h v)>) / 2h``
  for random ``g`` and ``v``, and the adjoint must have the argument's shape;
* JVP: the contribution must equal ``(f(x + h v) - f(x - h v)) / 2h`` and have
  the shape of ``ans``;
* a ``None`` entry must be a genuinely zero derivative.
"""
import builtins
import importlib
import inspect
import math
import operator
import zlib

import numpy as np
import pytest

from sourcediff import runtime
from sourcediff.rules import fft_helpers as FH, helpers as H, to_python as TP
from sourcediff.rules.registry import JVP, VJP, lookup, n_diff_args, refused

H_STEP, RTOL = 1e-6, 1e-6

OPS = {"Add": operator.add, "Sub": operator.sub, "Mult": operator.mul, "Div": operator.truediv,
       "Mod": operator.mod, "Pow": operator.pow, "MatMult": operator.matmul, "USub": operator.neg,
       "UAdd": operator.pos}


def dom(lo, hi):
    def sample(rng, shape):
        x = rng.uniform(lo, hi, shape)
        return float(x) if shape == () else x
    sample.__name__ = "U(%g,%g)" % (lo, hi)
    return sample


R, P, U, G, N = dom(-2, 2), dom(0.5, 2), dom(-0.9, 0.9), dom(1.5, 3), dom(-1.8, -1.2)


def WC(rng, shape):
    """Well-conditioned square matrices (diagonally dominant)."""
    return rng.uniform(-1, 1, shape) + 3 * np.eye(shape[-1])


def SPREAD(rng, shape):
    """Matrices with well-separated real eigenvalues and singular values (about 1, 2, 3, ...)."""
    return rng.uniform(-0.3, 0.3, shape) + np.eye(shape[-2], shape[-1]) * np.arange(1.0, shape[-1] + 1)


def SEP(rng, shape):
    """Vectors of well-separated values (about 1, 2, 3, ...) along the last axis."""
    return rng.uniform(-0.3, 0.3, shape) + np.arange(1.0, shape[-1] + 1)


class A:
    """A random float argument of ``shape`` drawn from ``d``."""
    def __init__(self, shape=(), d=R):
        self.shape, self.d = shape, d

    def __call__(self, rng):
        return self.d(rng, self.shape)

    def __repr__(self):
        return str(self.shape).replace(" ", "")


class Seq:
    """A tuple (or list) of random arguments."""
    def __init__(self, *items, kind=tuple):
        self.items, self.kind = items, kind

    def __call__(self, rng):
        return self.kind(i(rng) for i in self.items)

    def __repr__(self):
        return "[%s]" % ",".join(map(repr, self.items))


class C:
    """One call: positional args and keywords."""
    versioned = False

    def __init__(self, *args, **kw):
        self.args, self.kw = args, kw

    def sample(self, rng):
        return tuple(a(rng) if isinstance(a, (A, Seq)) else a for a in self.args)

    def __repr__(self):
        def short(a):
            if isinstance(a, (A, Seq)):
                return repr(a)
            if isinstance(a, np.ndarray):
                return "arr%s" % (a.shape,)
            return repr(a)
        parts = [short(a) for a in self.args] + ["%s=%r" % kv for kv in self.kw.items()]
        return "-".join(parts).replace(" ", "")


class Missing:
    """Stands in for a NumPy name this NumPy lacks; its specs are dropped (see ``SPEC_OF``)."""
    def __init__(self, path):
        self.path = path

    def __repr__(self):
        return "np.%s (missing)" % self.path


def opt(path):
    """``np.<path>`` or a ``Missing``: NumPy 2.0 added the ``np.linalg`` array-API names, ``vecdot``
    and ``matrix_transpose``; 2.1 added ``unstack`` and ``cumulative_sum/prod``."""
    obj = np
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return Missing(path)
    return obj


def V(case):
    """A case whose call only some NumPy versions accept (a newer keyword or default, a newer
    broadcasting rule); it is dropped where this NumPy rejects the call itself."""
    case.versioned = True
    return case


def _runs_here(key, case):
    if not case.versioned:
        return True
    try:
        with np.errstate(all="ignore"):
            (OPS[key] if isinstance(key, str) else key)(*case.sample(np.random.default_rng(0)), **case.kw)
        return True
    except (TypeError, ValueError):
        return False


SHAPES = [(), (3,), (2, 3), (1, 3)]
PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((1, 3), (2, 3)), ((3, 1), (4,)), ((), (2, 3)), ((2, 3), ())]
RED_KW = [{}, {"axis": 0}, {"axis": -1}, {"axis": None}, {"keepdims": True}, {"axis": 0, "keepdims": True},
          {"axis": (0, 1)}]


def unary(d=R, shapes=SHAPES):
    return [C(A(s, d)) for s in shapes]


def binary(d1=R, d2=R, pairs=PAIRS):
    return [C(A(s, d1), A(t, d2)) for s, t in pairs]


def scalar(*ds):
    return [C(*(A((), d) for d in ds))]


def reduction(d=R, kws=RED_KW, shapes=((3,), (2, 3), (1, 3)), extra=()):
    return [C(A(s, d), **kw) for s in shapes for kw in kws
            if not (isinstance(kw.get("axis"), tuple) and len(kw["axis"]) > len(s))] + list(extra)


MATMUL = [C(A(s), A(t)) for s, t in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                      ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 2)),
                                      ((3,), (5, 3, 4)), ((5, 2, 3), (3,))]]
IDX23 = np.array([[0, 0, 2], [1, 2, 0]])
BOOL23 = np.array([[True, False, True], [False, False, True]])

SPECS = {
    # operators and their NumPy twins
    ("Add", np.add): binary(), ("Sub", np.subtract): binary(), ("Mult", np.multiply): binary(),
    ("Div", np.divide): binary(R, P), ("Mod", np.remainder): binary(R, P),
    ("Pow", np.power, pow): binary(P, R) + [C(A((3,)), 2), C(A((2, 3)), 3), C(A(()), 2)],
    ("MatMult", np.matmul, opt("linalg.matmul")): MATMUL,
    (H.matmul2d,): [C(A((2, 3)), A((3, 4))), C(A((1, 3)), A((3, 1)))],
    ("USub", np.negative): unary(), ("UAdd", np.positive): unary(), (abs, np.absolute): unary(),
    # builtins
    float: unary(R, [()]) + [C(np.array(1.5))], max: scalar(R, R) + [C(1.0, A(())), C(A(()), 0.5)],
    min: scalar(R, R) + [C(1.0, A(())), C(A(()), 0.5)],
    sum: [C(Seq(A(), A(), A())), C(Seq(A((3,)), A((3,)))), C(A((4, 3))), C(Seq(A(), A()), A()),
          C(Seq(A(), A(), kind=list))],
    math.fsum: [C(Seq(A(), A(), A())), C(A((4,)))],
    tuple: [C(Seq(A(), A(), A(), kind=list)), C(Seq(A((3,)), A(()), kind=list))],
    # math
    math.sin: scalar(R), math.cos: scalar(R), math.tan: scalar(U), math.asin: scalar(U), math.acos: scalar(U),
    math.atan: scalar(R), math.atan2: scalar(R, P) + scalar(P, R), math.sinh: scalar(R), math.cosh: scalar(R),
    math.tanh: scalar(R), math.asinh: scalar(R), math.acosh: scalar(G), math.atanh: scalar(U),
    math.exp: scalar(R), math.expm1: scalar(R), math.log: scalar(P) + scalar(P, G), math.log1p: scalar(dom(-0.5, 2)),
    math.log2: scalar(P), math.log10: scalar(P), math.sqrt: scalar(P), math.hypot: scalar(R, R),
    math.pow: scalar(P, R) + [C(A(()), 2.0)], math.fabs: scalar(R), math.copysign: scalar(R, R),
    math.nextafter: scalar(R, R),
    math.erf: scalar(R), math.erfc: scalar(R), math.gamma: scalar(dom(0.5, 4)) + scalar(N),
    math.lgamma: scalar(dom(0.5, 4)) + scalar(N), math.degrees: scalar(R), math.radians: scalar(R),
    math.fmod: scalar(dom(-5, 5), P), math.remainder: scalar(dom(-5, 5), P), math.ldexp: [C(A(()), 3), C(A(()), -2)],
    # helpers
    runtime.unbroadcast: [C(A((4, 3)), A((3,))), C(A((2, 3)), A(())), C(A((4, 3)), A((1, 3))), C(A((2, 3)), 1.0),
                          C(A((2, 3)), A((2, 3)))],
    H.broadcast_like: [C(A((3,)), A((4, 3))), C(A(()), A((2, 3))), C(A((1, 3)), A((2, 3))), C(A(()), 1.0)],
    H.expand_reduced: [C(A((3,)), A((2, 3)), 0), C(A((2, 1)), A((2, 3)), 1, True), C(A(()), A((2, 3))),
                       C(A((2,)), A((2, 3)), -1), C(A(()), A((2, 3)), (0, 1))],
    H.matmul_dx: [C(A((2, 4)), A((2, 3)), A((3, 4))), C(A((4,)), A((3,)), A((3, 4))), C(A((2,)), A((2, 3)), A((3,))),
                  C(A((2, 2, 4)), A((2, 2, 3)), A((3, 4))), C(A(()), A((3,)), A((3,)))],
    H.matmul_dy: [C(A((2, 4)), A((2, 3)), A((3, 4))), C(A((4,)), A((3,)), A((3, 4))), C(A((2,)), A((2, 3)), A((3,))),
                  C(A((2, 2, 4)), A((2, 2, 3)), A((3, 4))), C(A(()), A((3,)), A((3,)))],
    H.split_like: [C(A((2, 5)), Seq(A((2, 2)), A((2, 3))), 1), C(A((3, 4)), Seq(A((4,)), A((2, 4))), 0),
                   C(A((6,)), Seq(A((2, 2)), A((2,))), None)],
    H.join_like: [C(Seq(A((2, 2)), A((2, 3))), A((2, 5)), 1), C(Seq(A((4,)), A((2, 4))), A((3, 4)), 0),
                  C(Seq(A((2, 2)), A((2,))), A((6,)), None)],
    H.unstack: [C(A((3, 4)), 0), C(A((3, 4)), 1)],
    TP.array_item: [C(A((1,))), C(A((2, 3)), (4,)), C(A((2, 3)), (1, 2)), C(A((2, 3)), ((0, 1),)), C(A((3,)), (-1,))],
    TP.unitem: [C(A(()), A((2, 3)), (1, 0)), C(A(()), A((1, 1)))],
    TP.array_tolist: [C(A((3,))), C(A((2, 3))), C(A((2, 1, 2)))],
    TP.untolist: [C(Seq(A(), A(), kind=list), A((2,))), C(Seq(Seq(A(), A(), kind=list), Seq(A(), A(), kind=list),
                                                            kind=list), A((2, 2)))],
    H.fit_axis: [C(A((2, 3)), 5, 1), C(A((2, 3)), 1, 0), C(A((4,)), 4, -1)],
    FH.fit_axes: [C(A((2, 3)), np.zeros((1, 5)), (0, 1)), C(A((2, 3, 4)), np.zeros((3, 2, 2)), (-1, 0))],
    H.fill_pieces: [C(Seq(A((2,)), A((2, 3))), Seq(A((2,)), A((2, 3)))), C(Seq(A(), A((3,))), Seq(A(), A((3,))))],
    H.fanout: [C(A(), Seq(A(), A())), C(A((3,)), A((4, 3)))],
    H.fanin: [C(Seq(A(), A()), A()), C(A((4, 3)), A((3,)))],
    H.hypot_seq: [C(Seq(A(), A(), A())), C(Seq(A(), A(), A(), A(), kind=list))],
    H.scaled: [C(Seq(A(), A(), A()), A())], H.dotted: [C(Seq(A(), A()), Seq(A(), A()))],
    H.untake: [C(A((3,)), np.array([0, 2, 2]), A((4,)), None), C(A((2, 3)), np.array([1, 1, 0]), A((2, 4)), 1),
               C(A((2, 2, 3)), np.array([[0, 1], [3, 3]]), A((4, 3)), 0), C(A((3,)), 2, A((4, 3)), 0)],
    H.untake_along_axis: [C(A((2, 3)), IDX23, A((2, 3)), -1),
                          C(A((2, 3)), np.array([[1, 0, 1], [1, 1, 0]]), A((2, 3)), 0),
                          C(A((4,)), np.array([0, 5, 5, 2]), A((2, 3)), None)],
    H.unpad: [C(A((4,)), A((2,)), 1), C(A((7,)), A((3,)), 2, "reflect"),
              C(A((4, 5)), A((2, 3)), ((1, 1), (0, 2)), "edge"),
              C(A((6,)), A((3,)), (1, 2), "wrap"), C(A((7,)), A((3,)), 2, "symmetric")],
    H.undiff: [C(A((3,))), C(A((2,)), 2), C(A((1, 3)), 1, 0), C(A((2, 2)), 2, -1)],
    H.undiagonal: [C(A((2,)), A((2, 3))), C(A((2,)), A((3, 3)), 1), C(A((3, 2)), A((2, 3, 4)), -1, 2, 0)],
    H.xlogy: binary(R, P), H.xdivy: binary(R, P), H.masked: binary(R, P),
    H.polygamma: [C(A((), dom(0.5, 5))), C(A((), dom(0.5, 5)), 1), C(A((), N), 0), C(A((), dom(25, 30)), 2)],
    # numpy, one argument
    np.sin: unary(), np.cos: unary(), np.tan: unary(U), np.arcsin: unary(U), np.arccos: unary(U), np.arctan: unary(),
    np.sinh: unary(), np.cosh: unary(), np.tanh: unary(), np.arcsinh: unary(), np.arccosh: unary(G),
    np.arctanh: unary(U), np.exp: unary(), np.exp2: unary(), np.expm1: unary(), np.log: unary(P), np.log2: unary(P),
    np.log10: unary(P), np.log1p: unary(dom(-0.5, 2)), np.sqrt: unary(P), np.cbrt: unary(), np.square: unary(),
    np.reciprocal: unary(P) + unary(N, [(3,)]), np.fabs: unary(), (np.deg2rad, np.radians): unary(),
    (np.rad2deg, np.degrees): unary(), np.sinc: unary() + [C(0.0), C(np.array([0.0, 1.5]))], np.real: unary(),
    np.conjugate: unary(), np.nan_to_num: unary(),
    # numpy, several arguments
    np.float_power: binary(P, R), (np.maximum, np.fmax): binary(), (np.minimum, np.fmin): binary(),
    np.hypot: binary(), np.arctan2: binary(R, P) + binary(P, R, [((3,), ())]), np.logaddexp: binary(),
    np.logaddexp2: binary(), np.fmod: binary(R, P), np.copysign: binary(),
    np.ldexp: [C(A((3,)), np.array([1, 2, 3])), C(A(()), 2), C(A((2, 3)), np.array([1, -1, 0]))],
    np.where: [C(BOOL23, A((2, 3)), A((2, 3))), C(np.array([True, False, True]), A((2, 3)), A(())),
               C(np.array([[True], [False], [True]]), A((4,)), A((3, 1))), C(True, A(()), A(()))],
    np.clip: [C(A((2, 3)), -0.5, 0.5), C(A((2, 3), dom(-3, 3)), A((3,), dom(-1, 0)), A((2, 3), dom(0.2, 1))),
              C(A((3,)), None, 0.3), C(A((3,)), -0.3, None), C(A(()), A(()), A((), G))],
    # products and linear algebra
    np.dot: [C(A(s), A(t)) for s, t in [((), (3,)), ((3,), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                         ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 4)),
                                         ((3,), (2, 3, 4))]],
    np.inner: [C(A(s), A(t)) for s, t in [((3,), (3,)), ((2, 3), (4, 3)), ((), (2, 3)), ((2, 2, 3), (3,))]],
    np.tensordot: [C(A((2, 3, 4)), A((3, 4, 5))), C(A((2, 3)), A((3, 2)), 1),
                   C(A((2, 3, 4)), A((4, 2)), ([0, 2], [1, 0])), C(A((2, 3)), A((4,)), 0),
                   C(A((2, 3)), A((3, 2)), axes=(1, 0))],
    opt("linalg.tensordot"): [C(A((2, 3, 4)), A((3, 4, 5))), C(A((2, 3)), A((3, 2)), axes=1)],
    np.vdot: [C(A((3,)), A((3,))), C(A((2, 3)), A((3, 2)))],
    (np.outer, opt("linalg.outer")): [C(A((3,)), A((4,))), C(A((2,)), A((3,)))],
    (opt("vecdot"), opt("linalg.vecdot")): [C(A((2, 3)), A((3,))), C(A((3,)), A((3,))),
                                            C(A((3, 2)), A((3, 2)), axis=0)],
    np.einsum: [C("ij,jk->ik", A((2, 3)), A((3, 4))), C("ij->j", A((2, 3))), C("ij,j", A((2, 3)), A((3,))),
                C("i,j->ij", A((2,)), A((3,))), C("ij,ij->", A((2, 3)), A((2, 3))), C("ij->", A((2, 3))),
                C("ij,jk->k", A((2, 3)), A((3, 4))), C("ijk,k->ji", A((2, 3, 4)), A((4,)))],
    np.kron: [C(A((2,)), A((3,))), C(A((2, 3)), A((2, 2)))],
    np.cross: [C(A((3,)), A((3,))), C(A((2, 3)), A((3,))), C(A((3, 2)), A((3, 2)), axis=0)],
    opt("linalg.cross"): [C(A((3,)), A((3,))), C(A((2, 3)), A((2, 3)))],
    np.trace: [C(A((3, 3))), C(A((2, 3))), C(A((3, 4)), 1), C(A((2, 3, 4)), 0, 1, 2), C(A((3, 3)), -1),
               C(A((3, 2)), axis1=1, axis2=0)],
    opt("linalg.trace"): [C(A((3, 3))), C(A((2, 3, 3))), C(A((3, 4)), offset=1)],
    np.diagonal: [C(A((3, 3))), C(A((2, 4)), 1), C(A((2, 3, 4)), 0, 2, 0)],
    opt("linalg.diagonal"): [C(A((3, 3))), C(A((2, 3, 4)), offset=-1)],
    np.diag: [C(A((3,))), C(A((3,)), 1), C(A((3, 3))), C(A((3, 4)), -1)],
    np.diagflat: [C(A((3,))), C(A((2, 2)), 1)],
    np.tril: [C(A((3, 3))), C(A((3, 4)), -1), C(A((2, 3, 3)), 1)],
    np.triu: [C(A((3, 3))), C(A((3, 4)), -1), C(A((2, 3, 3)), 1)],
    np.linalg.det: [C(A((3, 3), WC)), C(A((2, 2, 2), WC)), C(A((1, 1), WC))],
    np.linalg.inv: [C(A((3, 3), WC)), C(A((2, 2, 2), WC))],
    np.linalg.solve: [C(A((3, 3), WC), A((3,))), C(A((3, 3), WC), A((3, 2))), C(A((2, 3, 3), WC), A((2, 3, 2))),
                      V(C(A((2, 3, 3), WC), A((3,)))), V(C(A((2, 3, 3), WC), A((3, 2))))],
    np.linalg.norm: [C(A((3,))), C(A((3,)), 1), C(A((3,)), 3), C(A((2, 3))), C(A((2, 3)), "fro"),
                     C(A((2, 3)), None, 1), C(A((2, 3)), axis=0, keepdims=True), C(A((2, 3, 4)), None, (1, 2)),
                     C(A((2, 3)), ord=2, axis=1), C(A((2, 3)), keepdims=True), C(A((3, 2)), ord=1.5, axis=0),
                     C(A((3, 2), SPREAD), "nuc"), C(A((3, 3), SPREAD), 2), C(A((2, 3), SPREAD), -2),
                     C(A((2, 3, 2), SPREAD), 2, (0, 2), True), C(A((3, 2, 2), SPREAD), "nuc", (2, 1))],
    opt("linalg.vector_norm"): [C(A((2, 3))), C(A((2, 3)), axis=1), C(A((2, 3)), ord=3, axis=0, keepdims=True),
                            C(A((2, 3, 2)), axis=(0, 2))],
    opt("linalg.matrix_norm"): [C(A((2, 3))), C(A((2, 2, 3)), keepdims=True), C(A((2, 3, 2), SPREAD), ord="nuc"),
                                C(A((2, 2, 3), SPREAD), keepdims=True, ord=2), C(A((3, 3), SPREAD), ord=-2)],
    # reductions
    np.sum: reduction(), np.nansum: reduction(), np.mean: reduction(), np.nanmean: reduction(),
    np.prod: reduction(P) + [C(A((2, 3), N), axis=1)], np.nanprod: reduction(P),
    (np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin): reduction(), np.ptp: reduction(shapes=((3,), (2, 3))),
    np.nanvar: reduction() + [C(A((2, 3)), ddof=1, axis=0), C(A((2, 3)), 1, None, None, 1)],
    np.nanstd: reduction(shapes=((3,), (2, 3)), kws=[k for k in RED_KW if k.get("axis") != 0]) +
               [C(A((2, 3)), 0, ddof=1), C(A((2, 3)), axis=1, ddof=1, keepdims=True)],
    np.var: reduction() + [C(A((2, 3)), ddof=1, axis=0), C(A((2, 3)), 1, None, None, 1)],
    np.std: reduction(shapes=((3,), (2, 3)), kws=[k for k in RED_KW if k.get("axis") != 0]) +
            [C(A((2, 3)), 0, ddof=1), C(A((2, 3)), axis=1, ddof=1, keepdims=True)],
    np.cumsum: [C(A((4,))), C(A((2, 3)), 0), C(A((2, 3)), 1), C(A((2, 3))), C(A((2, 3)), axis=-1)],
    np.nancumsum: [C(A((4,))), C(A((2, 3)), 0), C(A((2, 3)))],
    np.cumprod: [C(A((4,), P)), C(A((2, 3), P), 0), C(A((2, 3), N), 1), C(A((2, 3), P))],
    opt("cumulative_sum"): [C(A((4,))), C(A((2, 3)), axis=0), C(A((2, 3)), axis=1, include_initial=True),
                        C(A((4,)), include_initial=True)],
    opt("cumulative_prod"): [C(A((4,), P)), C(A((2, 3), P), axis=0), C(A((2, 3), P), axis=1, include_initial=True),
                         C(A((4,), N), include_initial=True)],
    # shapes and copies
    np.reshape: [C(A((2, 3)), (3, 2)), C(A((2, 3)), (-1,)), C(A((2, 3)), (3, 2), "F"), V(C(A((6,)), shape=(2, 3)))],
    np.ravel: [C(A((2, 3))), C(A((2, 3)), "F"), C(A(()))],
    np.transpose: [C(A((2, 3))), C(A((2, 3, 4)), (2, 0, 1)), C(A((2, 3, 4)), axes=(1, 2, 0))],
    (opt("matrix_transpose"), opt("linalg.matrix_transpose")): [C(A((2, 3))), C(A((4, 2, 3)))],
    np.swapaxes: [C(A((2, 3, 4)), 0, 2), C(A((2, 3)), -1, 0)],
    np.moveaxis: [C(A((2, 3, 4)), 0, -1), C(A((2, 3, 4)), (0, 1), (2, 0))],
    np.rollaxis: [C(A((2, 3, 4)), 2), C(A((2, 3, 4)), 0, 2), C(A((2, 3, 4)), 1, 3), C(A((2, 3, 4)), -1, 1)],
    np.expand_dims: [C(A((2, 3)), 0), C(A((2, 3)), -1), C(A(()), 0), C(A((3,)), (0, 2))],
    np.squeeze: [C(A((1, 3))), C(A((1, 3, 1)), 0), C(A((2, 1)), axis=1)],
    np.broadcast_to: [C(A((3,)), (2, 3)), C(A(()), (2, 2)), C(A((3, 1)), (3, 4))],
    # constructors whose values move with a float argument
    np.full: [C((2, 3), A(())), C(3, A((3,))), C((2, 3), A((3,))), C(2, A(()), "int64")],
    np.full_like: [C(A((2, 3)), A(())), C(A((3,)), A((3,))), C(np.arange(3), A(()))],
    np.linspace: [C(A(()), A(()), 5), C(A((3,)), A(()), 4, False), C(A((2,)), A((3, 1)), 3, axis=1),
                  C(A((2,)), A(()), 3, axis=-1), C(A(()), A(()), 4, dtype="int64")],
    np.geomspace: [C(A((), P), A((), G), 5), C(A((3,), P), A((), G), 4, False), C(A((), N), A((), N), 3),
                   C(A((2,), P), A((), P), 3, axis=1)],
    np.logspace: [C(A(()), A(()), 4), C(A((3,)), A(()), 3, True, A((), G)), C(A(()), A((2,)), 3, axis=1)],
    np.heaviside: [C(A((3,)), A(())), C(np.array([0, 1, -1]), A((3,))), C(np.zeros((2, 1), int), A((3,)))],
    np.nextafter: [C(A((3,)), 2.5), C(A((2, 3)), A((3,)))],
    H.if_inexact: [C(A((3,)), A((3,))), C(A((3,)), np.arange(3))],
    H.spaced_like: [C(A((2,)), np.zeros((3, 4, 2)), 1), C(A(()), np.zeros((4,)), 0),
                    C(A((3, 1)), np.zeros((3, 2, 4)), -1)],
    H.norm_order: [C(A((3,)), A((), G)), C(A((3,)), A((), G), None, True)],
    H.of_type: [C(A((3,)), np.ndarray, ValueError("not an array"))], H.unshared: [C(A(()), ValueError("an array"))],
    (np.atleast_1d, np.atleast_2d, np.atleast_3d): [C(A(())), C(A((3,))), C(A((2, 3)))],
    (np.copy, np.asarray, np.array, np.asanyarray, np.ascontiguousarray, np.asarray_chkfinite,
     np.asfortranarray):
        [C(A((2, 3))), C(A(())), C(A((3,)))],
    np.concatenate: [C(Seq(A((2, 3)), A((1, 3)))), C(Seq(A((2, 3)), A((2, 2))), 1),
                     C(Seq(A((3,)), A((2,)), A((1,)))), C(Seq(A((2, 2)), A((3,))), None),
                     C(Seq(A((2, 3)), A((2, 3)), kind=list), axis=-1)],
    np.stack: [C(Seq(A((3,)), A((3,)))), C(Seq(A((2, 3)), A((2, 3)), A((2, 3))), 1), C(Seq(A(()), A(()))),
               C(Seq(A((2, 3)), A((2, 3))), axis=-1)],
    opt("unstack"): [C(A((3, 4))), C(A((3, 4)), axis=1)],
    np.hstack: [C(Seq(A((3,)), A((2,)))), C(Seq(A((2, 3)), A((2, 1)))), C(Seq(A(()), A(())))],
    (np.vstack,) + ((np.row_stack,) if hasattr(np, "row_stack") else ()): [
        C(Seq(A((3,)), A((3,)))), C(Seq(A((2, 3)), A((3,)))), C(Seq(A((2, 3)), A((1, 3))))],
    np.column_stack: [C(Seq(A((3,)), A((3, 2)))), C(Seq(A((3,)), A((3,))))],
    np.dstack: [C(Seq(A((3,)), A((3,)))), C(Seq(A((2, 3)), A((2, 3, 2))))],
    (np.split, np.array_split): [C(A((6,)), 3), C(A((4, 3)), [1, 3]), C(A((2, 4)), 2, 1)],
    np.hsplit: [C(A((4,)), 2), C(A((2, 4)), [1])], np.vsplit: [C(A((4, 2)), 2)], np.dsplit: [C(A((2, 2, 4)), 2)],
    np.repeat: [C(A((3,)), 2), C(A((2, 3)), 2), C(A((2, 3)), np.array([1, 0, 2]), 1), C(A((2, 3)), 3, 0)],
    np.tile: [C(A((3,)), 2), C(A((2, 3)), (2, 1)), C(A((3,)), (2, 2)), C(A((2, 3)), 2), C(A(()), 3)],
    np.flip: [C(A((2, 3))), C(A((2, 3)), 0), C(A((2, 3)), (0, 1))],
    np.fliplr: [C(A((2, 3)))], np.flipud: [C(A((2, 3)))],
    np.roll: [C(A((5,)), 2), C(A((2, 3)), 1), C(A((2, 3)), -1, 1), C(A((2, 3)), (1, 2), (0, 1))],
    np.rot90: [C(A((2, 3))), C(A((2, 3)), 2), C(A((2, 3, 4)), 1, (1, 2)), C(A((2, 3)), -1)],
    np.pad: [C(A((3,)), 1), C(A((2, 3)), ((1, 0), (2, 1))), C(A((4,)), 2, "reflect"), C(A((2, 3)), 1, "edge"),
             C(A((4,)), (1, 3), "wrap"), C(A((3,)), 2, "symmetric"), C(A((3,)), 1, constant_values=2.0)],
    np.sort: [C(A((5,))), C(A((2, 3)), 0), C(A((2, 3))), C(A((2, 3)), None)],
    np.take: [C(A((5,)), np.array([0, 3, 3])), C(A((2, 3)), np.array([2, 0]), 1),
              C(A((2, 3)), np.array([[1, 1], [0, 5]])), C(A((4, 3)), 2, 0)],
    np.take_along_axis: [V(C(A((2, 3)), IDX23)), C(A((3, 2)), np.array([[2, 0], [1, 1]]), 0)],
    np.compress: [C(np.array([True, False, True]), A((3,))), C(np.array([False, True]), A((2, 3)), 0),
                  C(np.array([True, False, True, True]), A((2, 3)))],
    np.extract: [C(BOOL23, A((2, 3)))],
    np.delete: [C(A((5,)), 1), C(A((2, 3)), [0, 2], 1), C(A((2, 3)), 4)],
    np.diff: [C(A((5,))), C(A((5,)), 2), C(A((2, 3)), 1, 0), C(A((2, 4)), axis=-1, n=2)],
    np.ediff1d: [C(A((4,))), C(A((2, 3)))],
}
if hasattr(math, "cbrt"):
    SPECS[math.cbrt] = scalar(P) + scalar(N)


def SPD(rng, shape):
    """Symmetric positive definite matrices."""
    m = rng.uniform(-1, 1, shape)
    return m @ np.swapaxes(m, -1, -2) + 2 * np.eye(shape[-1])


def extra_specs():
    """The specs of ``sourcediff/rules/numpy_extra.py``."""
    from sourcediff.rules import numpy_extra as E
    xs = np.array([0.1, 0.9, 1.7, 2.2, 3.5])
    return {
        E.full_part: [C(A((7,)), 5, 3, "full"), C(A((7,)), 5, 3, "same"), C(A((7,)), 3, 5, "valid"),
                      C(A((4,)), 2, 3, "same")],
        E.full_embed: [C(A((5,)), 5, 3, "same"), C(A((3,)), 5, 3, "valid"), C(A((7,)), 3, 5, "full"),
                       C(A((3,)), 2, 3, "same_r")],
        E.interp_weights: [C(A((3,), dom(0.2, 3.3)), xs), C(A((2, 2), dom(-1, 4)), xs, 0.5, 1.5)],
        np.partition: [C(A((5,)), 2), C(A((2, 4)), 1, 0), C(A((2, 4)), (0, 3)), C(A((2, 3)), 1, None)],
        np.select: [C(np.array([[True, False, True], [True, True, False]]), Seq(A((3,)), A((2, 3))), A((3,))),
                    C(np.array([[True, False], [False, False]]), Seq(A((2,)), A(())), A(())),
                    C(np.array([[[True, False]], [[False, True]]]), Seq(A((3, 2)), A((1, 2)), kind=list), A((3, 1)))],
        E.select_pieces: [C(A((2, 3)), np.array([[True, False, True], [True, True, False]]), Seq(A((3,)), A((2, 3)))),
                          C(A((3,)), np.array([[True, False, False]]), [np.ones(3)])],
        np.append: [C(A((3,)), A((2,))), C(A((2, 3)), A((2, 2)), 1), C(A((2, 3)), A((1, 3)), axis=0),
                    C(A((2, 2)), A(()))],
        np.fft.fftshift: [C(A((5,))), C(A((4, 3))), C(A((4, 3)), 1)],
        np.fft.ifftshift: [C(A((5,))), C(A((4, 3))), C(A((4, 3)), (0,))],
        np.convolve: [C(A((5,)), A((3,))), C(A((5,)), A((3,)), "same"), C(A((3,)), A((5,)), "valid"),
                      C(A((2,)), A((3,)), "same"), C(A((4,)), A((4,)), mode="same")],
        np.correlate: [C(A((5,)), A((3,))), C(A((5,)), A((3,)), "same"), C(A((3,)), A((5,)), "full"),
                       C(A((2,)), A((3,)), "same"), C(A((3,)), A((5,)), "valid")],
        np.polyval: [C(A((3,)), A((4,))), C(A((4,)), A(())), C(A((1,)), A((2, 2))), C(A((2,)), 0.5)],
        np.vander: [C(A((3,))), C(A((4,)), 3), C(A((3,)), 4, True)],
        np.polyfit: [C(xs, A((5,)), 2), C(xs, A((5, 2)), 1)],
        np.interp: [C(A((3,), dom(0.2, 3.3)), xs, A((5,))), C(A((2, 2), dom(-1, 4)), xs, A((5,)), 0.5, 1.5),
                    C(A((), dom(0.2, 3.3)), xs, A((5,)))],
        np.gradient: [C(A((5,))), C(A((5,)), 0.5), C(A((5,)), xs), C(A((3, 4)), axis=1), C(A((4, 3)), 2.0, axis=0,
                                                                                              edge_order=2)],
        np.meshgrid: [C(A((3,)), A((2,))), C(A((3,)), A((2,)), indexing="ij"), C(A((2, 2)), A((3,)))],
        opt("trapezoid"): [C(A((5,))), C(A((5,)), xs), C(A((5,)), None, A((), P)), C(A((2, 5)), None, 0.5, 1),
                           C(A((5, 3)), xs, axis=0), C(A((5, 3)), None, A((), P), 0)],
    }


def decomp_specs():
    """The specs of the decomposition rules (``sourcediff/rules/numpy_decomp.py``)."""
    from sourcediff.rules import numpy_decomp as D
    la = np.linalg
    return {
        D.sym_triangle: [C(A((3, 3))), C(A((2, 3, 3)), False)], D.one_triangle: [C(A((3, 3))), C(A((3, 3)), False)],
        D.gap_inverse: [C(A((3,), SEP)), C(A((2, 4), SEP))], D.diag_matrix: [C(A((3,))), C(A((2, 3)))],
        D.diag_part: [C(A((3, 3))), C(A((2, 3, 3)))],
        D.spectral_grad: [C(A((3,)), A((2, 3, 2), SPREAD), 2, (0, 2)), C(A(()), A((3, 3), SPREAD), "nuc")],
        D.spectral_tangent: [C(A((3, 2), SPREAD), A((3, 2), SPREAD), -2, None, 1.0)],
        la.eigh: [C(A((3, 3))), C(A((2, 3, 3))), C(A((3, 3)), "U"), C(A((3, 3)), UPLO="U")],
        la.eigvalsh: [C(A((3, 3))), C(A((2, 3, 3)), "U")],
        la.eig: [C(A((3, 3), SPREAD)), C(A((2, 3, 3), SPREAD))], la.eigvals: [C(A((3, 3), SPREAD))],
        la.svd: [C(A((3, 3), SPREAD)), C(A((4, 3), SPREAD), False), C(A((3, 4), SPREAD), full_matrices=False),
                 C(A((2, 3, 3), SPREAD)), C(A((4, 3)), compute_uv=False), C(A((3, 3), SPREAD), True, False)],
        la.cholesky: [C(A((3, 3), SPD)), C(A((2, 3, 3), SPD)), V(C(A((3, 3), SPD), upper=True))],
        la.qr: [C(A((3, 3), SPREAD)), C(A((4, 3), SPREAD)), C(A((2, 4, 2), SPREAD)), C(A((3, 3), SPREAD), "complete")],
        la.slogdet: [C(A((3, 3), WC)), C(A((2, 3, 3), WC)), C(-A((3, 3), WC)(np.random.default_rng(0)))],
        la.pinv: [C(A((3, 3), WC)), C(A((4, 3), SPREAD)), C(A((3, 4), SPREAD)), C(A((2, 4, 3), SPREAD))],
        la.lstsq: [C(A((4, 3), SPREAD), A((4,))), C(A((4, 3), SPREAD), A((4, 2))), C(A((3, 3), WC), A((3,)), None),
                   C(A((2, 4), SPREAD), A((2,)))],
        la.matrix_power: [C(A((3, 3)), 3), C(A((3, 3), WC), -2), C(A((3, 3)), 0), C(A((2, 2, 2)), 1)],
    }


def scipy_specs():
    """The specs of the SciPy rules (``sourcediff/rules/scipy_rules.py``)."""
    from scipy import linalg as sl, signal as ss, special as sc, stats as st
    from sourcediff.rules import scipy_rules as S
    X, LOC, SC, GP = dom(1.0, 3.0), dom(-0.3, 0.3), dom(0.8, 1.5), dom(1.5, 4.0)
    BX, BLOC, BSC = dom(0.3, 0.7), dom(-0.1, 0.1), dom(1.1, 1.3)
    ab = [C(A(s, GP), A(t, GP)) for s, t in [((), ()), ((3,), (3,)), ((2, 3), (3,))]]
    loc_scale = [C(A((3,), X)), C(A((3,), X), A((), LOC)), C(A((2, 3), X), A((3,), LOC), A((), SC)),
                 C(A((), X), A((), LOC), A((), SC))]
    shaped = lambda x, *p: [C(A((3,), x), *[A((), d) for d in p]),
                            C(A((2, 3), x), *[A((3,), d) for d in p], A((), LOC), A((), SC))]
    order = lambda d=dom(0.5, 3): [C(0, A((3,), d)), C(1, A((2, 3), d)), C(2.5, A((), d)),
                                   C(np.array([0.0, 1.0, 2.0]), A((3,), d))]
    simplex = np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])
    return {
        S.sc_mvpsi: [C(A((), GP), 3), C(A((3,), GP), 2, 1)],
        S.sc_uncenter: [C(A((3,)), (5,)), C(A((2, 2)), (4, 3))],
        S.sc_recenter: [C(A((5,)), np.zeros(3)), C(A((4, 3)), np.zeros((2, 2)))],
        S.sc_frechet: [C(sl.expm, A((3, 3)), A((3, 3)))],
        sc.gamma: unary(dom(0.5, 4)) + unary(N, [(3,)]), sc.gammaln: unary(dom(0.5, 4)), sc.digamma: unary(dom(0.5, 4)),
        sc.polygamma: [C(0, A((3,), dom(0.5, 4))), C(2, A((2, 3), dom(0.5, 4))), C(np.array([0, 1, 2]), A((3,), P))],
        sc.multigammaln: [C(A((), dom(2, 4)), 3), C(A((3,), dom(2, 4)), 2)],
        sc.erf: unary(), sc.erfc: unary(), sc.erfinv: unary(U), sc.erfcinv: unary(dom(0.1, 1.9)), sc.expit: unary(),
        sc.logit: unary(dom(0.1, 0.9)), sc.log_expit: unary(dom(-5, 5)), sc.entr: unary(P),
        sc.beta: ab, sc.betaln: ab,
        sc.betainc: [C(A((), GP), A((), GP), A((3,), dom(0.1, 0.9))), C(A((3,), GP), 2.0, A((2, 3), dom(0.1, 0.9)))],
        sc.gammainc: [C(A((), GP), A((3,), P)), C(A((3,), GP), A((2, 3), P))],
        sc.gammaincc: [C(A((), GP), A((3,), P)), C(A((3,), GP), A((2, 3), P))],
        sc.xlogy: binary(R, P), sc.xlog1py: binary(R, P), sc.rel_entr: binary(P, P),
        sc.zeta: [C(A((), dom(2, 4)), A((3,), P)), C(3.0, A((2, 3), P)), C(A((3,), dom(2, 4)), A((3,), P))],
        sc.logsumexp: [C(A((3,))), C(A((2, 3)), 0), C(A((2, 3)), axis=1, keepdims=True), C(A((2, 3)), None, A((3,), P)),
                       C(A((2, 3)), 1, np.array([1.0, 2.0, 0.5]))],
        sc.softmax: [C(A((3,))), C(A((2, 3)), 0), C(A((2, 3)), axis=-1), C(A((2, 3)))],
        sc.log_softmax: [C(A((3,))), C(A((2, 3)), 0), C(A((2, 3)), axis=-1), C(A((2, 3)))],
        sc.j0: unary(), sc.j1: unary(), sc.y0: unary(P), sc.y1: unary(P), sc.i0: unary(), sc.i1: unary(),
        sc.jv: order(), sc.yv: order(), sc.yn: [C(0, A((3,), P)), C(np.array([1, 2, 3]), A((2, 3), P))],
        sc.iv: order(), sc.ive: order() + [C(1, A((3,), N)), C(np.array([0, 2, 3]), A((3,), R))], sc.kv: order(),
        st.norm.logpdf: loc_scale, st.norm.pdf: loc_scale, st.norm.cdf: loc_scale, st.norm.sf: loc_scale,
        st.norm.logcdf: loc_scale + [C(A((3,), dom(-8, -6)))], st.norm.logsf: loc_scale + [C(A((3,), dom(6, 8)))],
        st.t.logpdf: shaped(R, GP), st.t.pdf: shaped(R, GP),
        (st.t.cdf, st.t.sf, st.t.logcdf, st.t.logsf): shaped(R, GP),
        st.chi2.logpdf: shaped(X, GP), st.chi2.pdf: shaped(X, GP),
        (st.chi2.cdf, st.chi2.sf, st.chi2.logcdf, st.chi2.logsf): shaped(X, GP),
        st.gamma.logpdf: shaped(X, GP), st.gamma.pdf: shaped(X, GP),
        (st.gamma.cdf, st.gamma.sf, st.gamma.logcdf, st.gamma.logsf): shaped(X, GP),
        st.beta.logpdf: [C(A((3,), BX), A((), GP), A((), GP)),
                         C(A((2, 3), BX), A((3,), GP), A((), GP), A((), BLOC), A((), BSC))],
        st.beta.pdf: [C(A((3,), BX), A((), GP), A((), GP)),
                      C(A((2, 3), BX), A((3,), GP), A((), GP), A((), BLOC), A((), BSC))],
        (st.beta.cdf, st.beta.sf, st.beta.logcdf, st.beta.logsf): [C(A((3,), BX), A((), GP), A((), GP)),
                      C(A((2, 3), BX), A((3,), GP), A((), GP), A((), BLOC), A((), BSC))],
        st.poisson.logpmf: [C(np.array([0, 2, 5]), A((), GP)), C(np.array([[1], [3]]), A((3,), GP), 1)],
        st.poisson.pmf: [C(np.array([0, 2, 5]), A((), GP)), C(np.array([[1], [3]]), A((3,), GP), 1)],
        st.poisson.cdf: [C(np.array([0, 2, 5]), A((), GP)), C(np.array([[1], [3]]), A((3,), GP), 1)],
        st.poisson.sf: [C(np.array([0, 2, 5]), A((), GP)), C(np.array([[1], [3]]), A((3,), GP))],
        st.dirichlet.logpdf: [C(simplex[:, 0], A((3,), GP)), C(simplex, A((3,), GP))],
        st.dirichlet.pdf: [C(simplex[:, 0], A((3,), GP)), C(simplex, A((3,), GP))],
        st.multivariate_normal.logpdf: [C(A((3,)), A((3,)), A((3, 3), SPD)), C(A((4, 3)), A((3,)), A((3, 3), SPD))],
        st.multivariate_normal.pdf: [C(A((3,)), A((3,)), A((3, 3), SPD)), C(A((4, 3)), A((3,)), A((3, 3), SPD))],
        ss.convolve: [C(A((5,)), A((3,))), C(A((5,)), A((3,)), "same"), C(A((5,)), A((3,)), "valid"),
                      C(A((3, 4)), A((2, 2)), "full"), C(A((4, 4)), A((2, 3)), "same"), C(A((2,)), A((4,)), "same"),
                      C(A((5,)), A((3,)), mode="valid", method="fft")],
        ss.correlate: [C(A((5,)), A((3,))), C(A((5,)), A((3,)), "same"), C(A((5,)), A((3,)), "valid"),
                       C(A((3, 4)), A((2, 2)), "full"), C(A((4, 4)), A((2, 3)), "same"), C(A((2,)), A((4,)), "same")],
        sl.solve_triangular: [C(A((3, 3), WC), A((3,))), C(A((3, 3), WC), A((3, 2)), 0, True),
                              C(A((3, 3), WC), A((3,)), 1),
                              C(A((3, 3), WC), A((3, 2)), "T", True, True),
                              C(A((3, 3), WC), A((3,)), lower=True, trans=1)],
        sl.cholesky: [C(A((3, 3), SPD)), C(A((3, 3), SPD), True), C(A((2, 2), SPD), lower=True)],
        sl.cho_solve: [C((np.linalg.cholesky(SPD(np.random.default_rng(1), (3, 3))), True), A((3,))),
                       C((np.linalg.cholesky(SPD(np.random.default_rng(2), (3, 3))), True), A((3, 2)))],
        sl.expm: [C(A((3, 3))), C(A((2, 2)))], sl.logm: [C(A((3, 3), WC))], sl.sqrtm: [C(A((3, 3), WC))],
        sl.solve_sylvester: [C(A((3, 3), WC), A((2, 2), WC), A((3, 2))), C(A((2, 2), WC), A((2, 2), WC), A((2, 2)))],
    }


def stats_specs():
    """The specs of ``sourcediff/rules/numpy_stats.py`` (values spread apart: no ties among the sorted ones)."""
    from sourcediff.rules import numpy_stats as S
    q = np.array([0.1, 0.55, 0.9])
    nan = np.array([[0.3, np.nan, 1.2, -0.4], [np.nan, np.nan, 0.7, 2.0]])
    quantiles = [C(A((7,)), 0.3), C(A((3, 5)), q, 1), C(A((4, 3)), 0.25, 0), C(A((2, 5)), q, -1, keepdims=True),
                 C(A((2, 3)), 0.5, None, keepdims=True), C(A((6,)), 1.0)]
    return {
        np.quantile: quantiles, np.nanquantile: quantiles + [C(nan, 0.4, 1), C(nan, q, None)],
        np.percentile: [C(A((7,)), 30.0), C(A((3, 5)), q * 100, 1), C(A((2, 5)), 75.0, 0)],
        np.nanpercentile: [C(A((7,)), 30.0), C(A((3, 5)), q * 100, 1), C(nan, 40.0, 1)],
        np.median: [C(A((7,))), C(A((6,))), C(A((3, 4)), 1), C(A((3, 4)), 0, keepdims=True)],
        np.nanmedian: [C(A((7,))), C(A((3, 4)), 1), C(nan, 1), C(nan, None)],
        S.quantile_apply: [C(A((3, 5)), A((3, 5)), q, 1), C(A((6,)), A((6,)), 0.4, None, True)],
        S.quantile_spread: [C(A((3, 3)), A((3, 5)), q, 1), C(A((1,)), A((6,)), 0.4, None, True)],
        np.average: [C(A((5,))), C(A((3, 4)), 1), C(A((5,)), None, A((5,), P)), C(A((3, 4)), 0, A((3,), P)),
                     C(A((3, 4)), 1, A((3, 4), P)), C(A((2, 3)), 1, A((3,), P), keepdims=True)],
        np.cov: [C(A((3, 6))), C(A((6,))), C(A((5, 2)), rowvar=False), C(A((3, 6)), bias=True),
                 C(A((2, 5)), ddof=2)],
        np.corrcoef: [C(A((3, 6))), C(A((5, 2)), rowvar=False), C(A((2, 4)))],
        S.cov_rows: [C(A((3, 4))), C(A((3, 4)), False), C(A((4,)), False), C(A((3, 3)), False)],
        S.cov_unrows: [C(A((3, 4)), A((3, 4))), C(A((4, 3)), A((3, 4)), False), C(A((1, 4)), A((4,)), False)],
        np.polyadd: [C(A((3,)), A((5,))), C(A((4,)), A((2,))), C(A((3,)), A((3,)))],
        np.polysub: [C(A((3,)), A((5,))), C(A((4,)), A((2,)))],
        np.polymul: [C(A((3,)), A((4,))), C(A((1,)), A((3,)))],
        np.polyder: [C(A((5,))), C(A((5,)), 2), C(A((2,)), 1)],
        np.polyint: [C(A((4,))), C(A((4,)), 2), C(A((3,)), 1, 2.0)],
        Missing("matvec") if not hasattr(np, "matvec") else np.matvec: [C(A((3, 4)), A((4,))),
                                                                        C(A((2, 3, 4)), A((1, 4)))],
        Missing("vecmat") if not hasattr(np, "vecmat") else np.vecmat: [C(A((3,)), A((3, 4))),
                                                                        C(A((2, 3)), A((1, 3, 4)))],
        Missing("svdvals") if not hasattr(np.linalg, "svdvals") else np.linalg.svdvals: [C(A((3, 3), SPREAD)),
                                                                                         C(A((3, 2), SPREAD))],
        np.bincount: [C(np.array([0, 2, 2, 1, 4]), A((5,))), C(np.array([1, 1, 0]), A((3,)), 5)],
        S.einsum_many: [C("ij,jk,k->i", A((2, 3)), A((3, 4)), A((4,))), C("ij,jk,kl,l", A((2, 3)), A((3, 2)),
                                                                               A((2, 2)), A((2,))),
                        C("i,j,k,l,m->ikm", A((2,)), A((3,)), A((2,)), A((2,)), A((3,))),
                        C("...j,jk,k->...", A((2, 3)), A((3, 2)), A((1,))), C("ij,ij,ij->j", A((2, 3)), A((2, 3)),
                                                                              A((2, 3)))],
        np.resize: [C(A((3,)), (2, 4)), C(A((2, 3)), 4), C(A((2, 2)), (3, 3))],
        np.unwrap: [C(A((6,), dom(-3, 3))), C(A((2, 5), dom(-3, 3)), None, 0), C(A((5,), dom(-3, 3)), period=4.0)],
        np.real_if_close: [C(A((3,))), C(A((2, 2)), 10)],
    }


SPECS.update(decomp_specs())
SPECS.update({k: v for k, v in stats_specs().items() if not isinstance(k, Missing)})
SPECS.update({k: v for k, v in extra_specs().items() if not isinstance(k, Missing)})
try:  # SciPy is optional: its rules and specs exist where it imports
    importlib.import_module("scipy")
except ImportError:
    pass
else:
    SPECS.update(scipy_specs())
if hasattr(math, "exp2"):
    SPECS[math.exp2] = scalar(R)

SPEC_OF = {k: [c for c in cases if _runs_here(k, c)] for keys, cases in SPECS.items()
           for k in (keys if isinstance(keys, tuple) else (keys,)) if not isinstance(k, Missing)}

_NAMES = {}


def _scipy_modules():
    """(prefix, module) pairs naming SciPy's keys, where SciPy imports."""
    try:
        import scipy.integrate
        import scipy.linalg
        import scipy.signal
        import scipy.special
        from sourcediff.rules import scipy_rules
    except ImportError:
        return ()
    return (("scipy.special.", scipy.special), ("scipy.signal.", scipy.signal), ("scipy.linalg.", scipy.linalg),
            ("scipy.integrate.", scipy.integrate), ("scipy_rules.", scipy_rules))


def key_name(k):
    """A readable name for a rule key: ``np.sin``, ``math.sin``, ``abs``, ``helpers.untake``, ``"Add"``."""
    if isinstance(k, str):
        return k
    if inspect.ismethod(k) and type(k.__self__).__module__.startswith("scipy.stats"):
        return "scipy.stats.%s.%s" % (type(k.__self__).__name__[:-4], k.__name__)
    if not _NAMES:
        from sourcediff.rules import numpy_decomp, numpy_extra
        for prefix, mod in (("helpers.", H), ("fft_helpers.", FH), ("to_python.", TP), ("numpy_decomp.", numpy_decomp),
                            ("numpy_extra.", numpy_extra),
                            ("np.fft.", np.fft), ("runtime.", runtime), ("np.linalg.", np.linalg), ("np.", np),
                            ("math.", math), ("", builtins)) + _scipy_modules():
            for n, v in vars(mod).items():
                if not n.startswith("_") and callable(v):
                    _NAMES.setdefault(id(v), prefix + n)
    return _NAMES.get(id(k), repr(k))


CASES = [(k, c) for k, cases in SPEC_OF.items() for c in cases]
IDS = ["%s[%r]" % (key_name(k), c) for k, c in CASES]


# --- structured values ---------------------------------------------------------------------------

def leaves(x):
    return [leaf for e in x for leaf in leaves(e)] if isinstance(x, (tuple, list)) else [x]


def is_float(x):
    return all(isinstance(v, float) or (isinstance(v, np.ndarray) and v.dtype.kind == "f") for v in leaves(x)) \
        and not isinstance(x, bool)


def rand_like(x, rng, scale=1.0):
    if isinstance(x, (tuple, list)):  # a NamedTuple result (EighResult) gets a plain tuple
        return (tuple if hasattr(x, "_fields") else type(x))(rand_like(e, rng, scale) for e in x)
    if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        return float(rng.normal()) * scale
    return rng.normal(size=np.shape(x)) * scale


def axpy(x, a, v):
    if isinstance(x, (tuple, list)):
        return type(x)(axpy(e, a, w) for e, w in zip(x, v))
    return x + a * v


def vdot(a, b):
    la, lb = leaves(a), leaves(b)
    assert len(la) == len(lb)
    return float(sum(np.sum(np.asarray(p, float) * np.asarray(q, float)) for p, q in zip(la, lb)))


def call(key, args, kw):
    f = OPS[key] if isinstance(key, str) else key
    return f(*args, **kw)


def shapes(x):
    return [np.shape(v) for v in leaves(x)]


def fd(key, args, kw, i, v):
    """Central difference of f along v in argument i: (f(x + hv) - f(x - hv)) / 2h, structured."""
    plus = call(key, args[:i] + (axpy(args[i], H_STEP, v),) + args[i + 1:], kw)
    minus = call(key, args[:i] + (axpy(args[i], -H_STEP, v),) + args[i + 1:], kw)
    if isinstance(plus, (tuple, list)):
        return [(np.asarray(p, float) - np.asarray(m, float)) / (2 * H_STEP) for p,
                m in zip(leaves(plus), leaves(minus))]
    return (np.asarray(plus, float) - np.asarray(minus, float)) / (2 * H_STEP)


def rng_for(key, case):
    return np.random.default_rng(zlib.crc32(("%s[%r]" % (key_name(key), case)).encode()))


def assert_close(got, want, what):
    got, want = np.asarray(got, float), np.asarray(want, float)
    err = np.max(np.abs(got - want)) if got.size else 0.0
    scale = 1.0 + (np.max(np.abs(want)) if want.size else 0.0)
    assert err <= RTOL * scale * 10, "%s: max error %.3g (scale %.3g)\n got %s\nwant %s" % (what, err, scale, got, want)


# --- the checks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key,case", CASES, ids=IDS)
def test_vjp(key, case):
    rng = rng_for(key, case)
    args = case.sample(rng)
    with np.errstate(all="ignore"):
        ans = call(key, args, case.kw)
        g = rand_like(ans, rng)
        rule = lookup(VJP, key)
        n = n_diff_args(VJP, rule)
        out = rule(g, ans, *args, **case.kw)
    outs = out if n > 1 else (out,)
    assert len(outs) == n
    checked = 0
    for i in range(min(n, len(args))):
        if not is_float(args[i]) or refused(key, (i,)):  # a refused argument has no derivative to check
            continue
        v = rand_like(args[i], rng)
        want = vdot(g, fd(key, args, case.kw, i, v))
        if outs[i] is None:
            assert abs(want) <= 1e-6, "argument %d has a None adjoint but a nonzero derivative" % i
            continue
        assert shapes(outs[i]) == shapes(args[i]), "adjoint %d has the wrong shape" % i
        assert_close(vdot(outs[i], v), want, "adjoint of argument %d" % i)
        checked += 1
    assert checked, "no argument was checked"


@pytest.mark.parametrize("key,case", CASES, ids=IDS)
def test_jvp(key, case):
    rng = rng_for(key, case)
    args = case.sample(rng)
    rule = lookup(JVP, key)
    n = n_diff_args(JVP, rule)
    with np.errstate(all="ignore"):
        ans = call(key, args, case.kw)
    checked = 0
    for i in range(min(n, len(args))):
        if not is_float(args[i]) or refused(key, (i,)):
            continue
        v = rand_like(args[i], rng)
        tangents = [rand_like(a, rng, 0.0) if j < len(args) and is_float(a) else 0.0
                    for j, a in zip(range(n), list(args) + [None] * n)]
        tangents[i] = v
        with np.errstate(all="ignore"):
            out = rule(*tangents, ans, *args, **case.kw)
        outs = out if n > 1 else (out,)
        assert len(outs) == n
        want = fd(key, args, case.kw, i, v)
        if outs[i] is None:
            assert max(np.max(np.abs(w), initial=0.0) for w in leaves(want)) <= 1e-6
            continue
        assert shapes(outs[i]) == shapes(ans), "contribution %d does not have the shape of ans" % i
        for got, w in zip(leaves(outs[i]), leaves(want)):
            assert_close(got, w, "tangent contribution of argument %d" % i)
        checked += 1
    assert checked, "no argument was checked"


def test_polygamma_values():
    """Spot values: digamma(1) = -Euler gamma, trigamma(1) = pi^2/6, digamma(0.5) = -gamma - 2 ln 2."""
    euler = 0.5772156649015329
    assert abs(H.polygamma(1.0) + euler) < 1e-12
    assert abs(H.polygamma(1.0, 1) - math.pi ** 2 / 6) < 1e-12
    assert abs(H.polygamma(0.5) + euler + 2 * math.log(2)) < 1e-12


@pytest.mark.parametrize("call_", [
    lambda: H.norm_order(np.ones((2, 2)), 2), lambda: H.norm_order(np.ones(3), np.inf),
    lambda: H.einsum_adjoint_spec("ii->i", 0, np.ones((2, 2))),
    lambda: H.unpad(np.ones(5), np.ones(3), 1, "mean"), lambda: H.undiff(np.ones(3), 1, -1, 0.0),
    lambda: H.pad_mode("linear_ramp")], ids=["matrix-2-norm", "inf-norm", "einsum-repeated", "pad-mean", "diff-prepend",
                                             "pad-tangent-ramp"])
def test_unsupported_raise(call_):
    """Cases without a rule raise rather than return a wrong derivative."""
    with pytest.raises(NotImplementedError):
        call_()


def test_container_results_are_declared_structured():
    """A key whose result can be a list, tuple or dict must be ``structured``: the adjoints of its result
    (and tangent contributions) then add with ``runtime.add``; ``+`` would join two tuples (a wrong number)."""
    from sourcediff.rules.registry import is_structured
    missing = set()
    for key, case in CASES:
        with np.errstate(all="ignore"):
            out = call(key, case.sample(np.random.default_rng(0)), case.kw)
        if isinstance(out, (tuple, list, dict)) and not is_structured(key):
            missing.add(key_name(key))
    assert not missing, "keys returning containers, not declared structured: %s" % sorted(missing)
