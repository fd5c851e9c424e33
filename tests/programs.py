"""Random differentiable programs for sourcediff, and the oracle that checks them.

One grammar (``ProgramGen``) writes the SOURCE of a module: a few helper
functions and a ``main`` that returns a scalar. It draws every decision
through a *chooser*, so the same grammar runs

* under hypothesis (``programs()``, a strategy: failures shrink to small
  programs), and
* from a seeded ``random.Random`` (``random_program(seed)``, for the soak run
  at full speed).

The grammar covers what sourcediff claims to support: scalar float
expressions (``+ - * /``, small integer powers, unary ``-``, ``math.sin/cos/
tanh/exp/log`` of safe arguments), NumPy expressions on small arrays with
broadcasting (``np.sin``, ``np.tanh``, ``np.exp(-x*x)``, ``np.sum``,
``np.mean``), assignments and reassignments, ``if``/``else``, ``for i in
range(k)``, counter-limited ``while`` loops, ``break``/``continue``, early
returns, calls to generated helper functions, lists with ``append`` and
indexing, in-place element writes into local arrays, and (rarely) a structured
parameter, a NamedTuple ``SN`` or dataclass ``SD`` of floats read by attribute
(``q0.u``) or, for the NamedTuple, by index.

``check_program`` is the oracle: forward and reverse mode agree to 1e-10
(relative), both agree with central finite differences to 1e-5, and
``value_and_grad``'s value is exactly ``main(*args)``. Inputs near a kink are
rejected: an instrumented copy of the program (every comparison replaced by a
recording call) is run at the point and at every finite-difference
neighbour; if any comparison margin is below 1e-3 or any branch decision
differs, the case is rejected (``Rejected``).
"""
import ast
import dataclasses
import importlib.util
import itertools
import linecache
import math
import os
import random
import signal
import sys
import tempfile
from typing import NamedTuple

import numpy as np

import sourcediff as sd
from sourcediff import api

FD_STEP = 1e-6
FD_RTOL = 1e-5
MODE_RTOL = 1e-10
MARGIN = 1e-3
BOUND = 1e6          # values larger than this are rejected (keeps FD meaningful)
SHAPES = [(3,), (2, 3), (2, 1), (1, 3)]


def _have_scipy():
    try:
        importlib.import_module("scipy")
        return True
    except ImportError:
        return False


HAVE_SCIPY = _have_scipy()  # SciPy calls are drawn only where it imports


class Rejected(Exception):
    """The drawn inputs are unsuitable (near a kink, overflow): draw again."""


class GrammarError(Exception):
    """The generated program itself fails when run directly: a bug in this generator, not in sourcediff."""


class Mismatch(AssertionError):
    """A derivative (or value) disagrees: a sourcediff bug, or a grammar bug."""


# --- choosers ---------------------------------------------------------------------------------

class RandomChooser:
    """Decisions from a seeded ``random.Random``."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.side = random.Random(seed * 7919 + 17)  # ``rare`` draws: the main stream stays as it was

    def rare(self, p):
        """A decision with low probability ``p`` that leaves the other decisions of a program unchanged."""
        return self.side.random() < p

    def integer(self, lo, hi):
        return self.r.randint(lo, hi)

    def boolean(self, p=0.5):
        return self.r.random() < p

    def uniform(self, lo, hi):
        return self.r.uniform(lo, hi)

    def choice(self, seq):
        return seq[self.r.randrange(len(seq))]


class DataChooser(RandomChooser):
    """Decisions from hypothesis' ``draw``: every choice shrinks towards the first option /
    ``False`` / small numbers, i.e. towards shorter, simpler programs."""

    def __init__(self, draw):
        from hypothesis import strategies as st
        self.draw, self.st = draw, st

    def integer(self, lo, hi):
        return self.draw(self.st.integers(lo, hi))

    def boolean(self, p=0.5):
        return self.draw(self.st.integers(0, 999)) >= 1000 * (1 - p)

    def uniform(self, lo, hi):
        # a grid of 2001 points: shrinks towards lo + (hi - lo) / 2 ~ 0 for symmetric ranges
        k = self.draw(self.st.integers(-1000, 1000))
        return (lo + hi) / 2 + k * (hi - lo) / 2000 + 1e-4 * (k % 7)

    def choice(self, seq):
        return seq[self.integer(0, len(seq) - 1)]

    def rare(self, p):
        return self.boolean(p)


# --- the grammar ------------------------------------------------------------------------------

class _Scope:
    """Variables visible at a point: name -> kind.

    kinds: ``"s"`` float scalar, ``"i"`` int counter (read only), ``("a", shape)`` array,
    ``("l", n)`` list of n floats. ``owned`` names local arrays that may be written in place."""

    def __init__(self, vars=None, owned=None):
        self.vars = dict(vars or {})
        self.owned = set(owned or ())

    def copy(self):
        return _Scope(self.vars, self.owned)

    def of(self, pred):
        return [n for n, k in self.vars.items() if pred(k)]

    def scalars(self):
        return self.of(lambda k: k == "s")

    def ints(self):
        return self.of(lambda k: k == "i")

    def arrays(self, shape=None):
        return self.of(lambda k: isinstance(k, tuple) and k[0] == "a" and (shape is None or k[1] == shape))

    def lists(self):
        return self.of(lambda k: isinstance(k, tuple) and k[0] == "l" and k[1] > 0)

    def structs(self):
        return self.of(lambda k: isinstance(k, tuple) and k[0] == "t")

    def shapes(self):
        return sorted({self.vars[n][1] for n in self.arrays()})


class SN(NamedTuple):
    """A structured parameter of the generated programs (read as ``q0.u``, ``q0[1]``)."""
    u: float
    v: float


@dataclasses.dataclass
class SD:
    """A structured parameter of the generated programs (read as ``q0.z``)."""
    u: float
    v: float
    z: float


def _fields(cls):
    if cls is dict:  # a dict parameter of the generated programs: {"u": ..., "v": ...}, read as q0["u"]
        return ["u", "v"]
    return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else list(cls._fields)


def _entries(a):
    """The floats of a structured argument, in field order."""
    return [a[n] for n in _fields(dict)] if isinstance(a, dict) else [getattr(a, n) for n in _fields(type(a))]


def _rebuild(a, vals):
    return dict(zip(_fields(dict), vals)) if isinstance(a, dict) else type(a)(*vals)


def _bcast(s, t):
    try:
        return tuple(np.broadcast_shapes(s, t))
    except ValueError:
        return None


class ProgramGen:
    """Writes one module: helpers ``h0, h1, ...`` and ``main``; see ``generate``."""

    def __init__(self, ch, size=6, max_depth=3):
        self.ch, self.size, self.max_depth = ch, size, max_depth
        self.counter = itertools.count()
        self.helpers = []          # (name, [param kinds])
        self.kw_helpers = []       # (name, [param kinds], a parameter with a default)
        self.scipy = False         # a SciPy call was drawn: the module imports scipy
        self.use_scipy = False     # SciPy calls may be drawn in this program (decided once, in generate)

    # names
    def fresh(self, prefix="v"):
        return "%s%d" % (prefix, next(self.counter))

    # ---- expressions
    def const(self):
        return self.ch.choice(["0.5", "1.5", "2.0", "0.25", "-0.75", "3.0", "1.0"])

    def scalar_leaf(self, sc):
        ch, opts = self.ch, ["const"]
        if sc.scalars():
            opts += ["var", "var", "var"]
        if sc.ints():
            opts.append("int")
        if sc.arrays():
            opts.append("elem")
        if sc.lists():
            opts.append("list")
        if sc.structs():
            opts.append("field")
        kind = ch.choice(opts[::-1]) if len(opts) > 1 else "const"
        if kind == "field":
            return self.field(sc)
        if kind == "var":
            return ch.choice(sc.scalars())
        if kind == "int":
            return "(0.25 * %s)" % ch.choice(sc.ints())
        if kind == "elem":
            a = ch.choice(sc.arrays())
            shape = sc.vars[a][1]
            return "%s[%s]" % (a, ", ".join(str(ch.integer(0, n - 1)) for n in shape))
        if kind == "list":
            lst = ch.choice(sc.lists())
            n = sc.vars[lst][1]
            return "%s[%d]" % (lst, ch.integer(-n, n - 1))
        return self.const()

    # ---- structured parameters: a NamedTuple or dataclass of floats (SN, SD below), read by attribute or index
    def struct_param(self):
        """The kind of a structured parameter: ``("t", class)``."""
        return ("t", self.ch.choice([SN, SD, dict]))

    def field(self, sc):
        """A float read from a structured parameter: ``s.u``, or ``s[1]`` for a NamedTuple."""
        s = self.ch.choice(sc.structs())
        cls = sc.vars[s][1]
        names = _fields(cls)
        k = self.ch.integer(0, len(names) - 1)
        if cls is dict:
            return "%s[%r]" % (s, names[k])
        return "%s[%d]" % (s, k) if cls is SN and self.ch.boolean(0.3) else "%s.%s" % (s, names[k])

    def sexpr(self, sc, d=None):
        """A float-valued expression."""
        ch = self.ch
        d = self.max_depth if d is None else d
        if d <= 0 or ch.boolean(0.3):
            return self.scalar_leaf(sc)
        if ch.rare(0.005) and any(s in ((3,), (2, 3)) for s in sc.shapes()):
            return self.linalg_sexpr(sc, d)
        if ch.rare(0.005) and (3,) in sc.shapes():
            return self.numpy_extra_sexpr(sc, d)
        if ch.rare(0.012) and any(s in ((3,), (2, 3)) for s in sc.shapes()):
            return self.breadth_sexpr(sc, d)
        ops = ["add", "sub", "mul", "neg", "sin", "cos", "tanh", "div", "pow", "exp", "log"]
        if sc.arrays():
            ops += ["sum", "mean"]
        if self.helpers:
            ops += ["call", "call"]
        if ch.boolean(0.1):
            ops += ["edge"]
        if self.kw_helpers:
            ops += ["call_kw"]
        ops += ["lcomp"]
        if ch.boolean(0.05):
            ops += ["iterate"]
        if self.use_scipy:
            ops += ["scipy"]
        if type(ch) is RandomChooser and ch.boolean(0.04):  # the soak's draws: hypothesis' streams stay as they were
            ops += ["complex"]
        if type(ch) is RandomChooser and ch.boolean(0.05):
            ops += ["np_float"]
        op = ch.choice(ops)
        e = lambda: self.sexpr(sc, d - 1)
        if op == "scipy":
            return self.scipy_sexpr(sc, d)
        if op == "complex":
            return self.complex_sexpr(sc, d)
        if op == "np_float":
            return self.numpy_float_sexpr(sc, d)
        if op == "edge":
            return self.edge(sc, d - 1)
        if op == "lcomp":
            return self.list_reduce(sc, d)
        if op == "iterate":
            return self.iterate(sc, d)
        if op == "call_kw":
            return self.call_kw(sc, d)
        if op in ("add", "sub", "mul"):
            return "(%s %s %s)" % (e(), {"add": "+", "sub": "-", "mul": "*"}[op], e())
        if op == "neg":
            return "(-%s)" % e()
        if op in ("sin", "cos", "tanh"):
            return "math.%s(%s)" % (op, e())
        if op == "div":
            if ch.boolean():
                b = e()
                return "(%s / (1.5 + %s * %s))" % (e(), b, b)
            return "(%s / %s)" % (e(), ch.choice(["2.0", "3.0", "-1.5", "0.5"]))
        if op == "pow":
            return "(%s) ** %d" % (e(), ch.integer(2, 3))
        if op == "exp":
            a = e()
            return ch.choice(["math.exp(-%s * %s)" % (a, a), "math.exp(math.sin(%s))" % a,
                              "math.exp(0.5 * math.tanh(%s))" % a])
        if op == "log":
            a = e()
            return ch.choice(["math.log(1 + %s * %s)" % (a, a), "math.log(2.0 + math.cos(%s))" % a])
        if op in ("sum", "mean"):
            return "np.%s(%s)" % (op, self.aexpr(sc, ch.choice(sc.shapes()), d - 1))
        # call
        name, kinds = ch.choice(self.helpers)
        args = [self.sexpr(sc, d - 1) if k == "s" else self.aexpr(sc, k[1], d - 1) for k in kinds]
        return "%s(%s)" % (name, ", ".join(args))

    def edge(self, sc, d):
        """Edge values with a finite derivative: a zero base to a positive power (0 ** y is 0 near y), a
        variable exponent of a positive base, the std of one element (identically 0)."""
        ch = self.ch
        kind = ch.choice(["zero", "base", "std"] if sc.arrays() else ["zero", "base"])
        y = "(1.5 + %s * %s)" % ((self.sexpr(sc, d),) * 2)
        if kind == "zero":
            return ch.choice(["0.0 ** %s", "np.power(0.0, %s)", "math.pow(0.0, %s)"]) % y
        if kind == "base":
            return "%s ** (0.5 * math.tanh(%s))" % (y, self.sexpr(sc, d))
        shape = ch.choice(sc.shapes())  # only over one element: elsewhere equal elements (a broadcast) are a kink
        if shape == (3,):
            return "np.std(%s[:1])" % ch.choice(sc.arrays(shape))
        return "np.sum(np.std(%s, axis=-1, keepdims=True))" % self.aexpr(sc, shape,
                                                                         d).join(["np.reshape(", ", (-1, 1))"])

    def list_reduce(self, sc, d):
        """``np.sum`` or ``np.mean`` of a list comprehension of scalars, or ``sum`` of a generator expression."""
        j, inner = self.fresh("j"), sc.copy()
        inner.vars[j] = "i"
        form = self.ch.choice(["np.sum([%s])", "np.mean([%s])", "sum(%s)"])
        return form % ("%s for %s in range(%d)" % (self.sexpr(inner, d - 1), j, self.ch.integer(1, 3)))

    def iterate(self, sc, d):
        """A builtin consuming an iterable (lower_iter.py): ``max``/``min`` (``key=``), ``sorted``, ``math.prod``,
        ``any``, ``map``/``filter`` with a lambda, a filtered two-``for`` generator, a dict comprehension."""
        ch = self.ch
        j, k, u = self.fresh("j"), self.fresh("j"), self.fresh("u")
        inner, both, over = sc.copy(), sc.copy(), sc.copy()
        inner.vars[j] = "i"
        both.vars.update({j: "i", k: "i"})
        over.vars[u] = "s"
        n = ch.integer(1, 3)
        gen = "%s for %s in range(%d)" % (self.sexpr(inner, d - 1), j, n)
        two = "%s for %s in range(%d) for %s in range(2) if %s != %s" % (self.sexpr(both, d - 1), j, n, k, j, k)
        seq = "[%s, %s]" % (self.sexpr(sc, d - 1), self.sexpr(sc, d - 1))
        lam = "lambda %s: %s" % (u, self.sexpr(over, d - 1))
        forms = ["max(%s)" % gen, "min(%s, key=%s)" % (seq, lam), "sorted(%s, key=%s)[-1]" % (seq, lam),
                 "math.prod(%s)" % gen, "sum(map(%s, %s))" % (lam, seq), "sum(filter(lambda %s: %s > 0.0, %s))"
                 % (u, u, seq), "sum(%s)" % two,
                 "sum({%s: %s for %s in range(%d)}.values())" % (j, self.sexpr(inner, d - 1), j, n),
                 "(%s if any(%s > 0.5 for %s in %s) else %s)" % (self.sexpr(sc, d - 1), u, u, seq, self.const()),
                 "math.hypot(%s, %s, 0.5)" % (self.sexpr(sc, d - 1), self.sexpr(sc, d - 1)),
                 "math.dist(%s, [0.25, -1.0])" % seq]
        return ch.choice(forms)

    def call_kw(self, sc, d):
        """A call of a helper with a default parameter, passing it by keyword."""
        name, kinds, kw = self.ch.choice(self.kw_helpers)
        args = [self.sexpr(sc, d - 1) if k == "s" else self.aexpr(sc, k[1], d - 1) for k in kinds]
        return "%s(%s, %s=%s)" % (name, ", ".join(args), kw, self.sexpr(sc, d - 1))

    def scipy_sexpr(self, sc, d):
        """A float-valued SciPy call (``scipy.special``, ``scipy.stats``) on safe arguments."""
        ch = self.ch
        self.scipy = True
        if ch.boolean(0.8):  # one in 5 goes through the array forms below
            a, b = self.sexpr(sc, d - 1), self.sexpr(sc, d - 1)
            return ch.choice(["special.expit(%s)" % a, "special.log_expit(%s)" % a, "special.erf(%s)" % a,
                              "special.gammaln(1.5 + %s * %s)" % (a, a), "special.digamma(1.5 + %s * %s)" % (a, a),
                              "special.j0(%s)" % a, "special.i1(math.tanh(%s))" % a,
                              "special.erfinv(0.5 * math.tanh(%s))" % a, "stats.norm.logpdf(%s, %s, 1.5)" % (a, b),
                              "stats.norm.logpdf(%s, scale=1.5, loc=%s)" % (a, b),
                              "stats.norm.cdf(%s, 0.5, 1.0 + %s * %s)" % (a, b, b),
                              "stats.t.logpdf(%s, 3.0 + %s * %s, 0.25, 1.5)" % (a, b, b),
                              "special.xlogy(%s, 2.0 + math.sin(%s))" % (a, b)])
        if sc.arrays():
            x = self.aexpr(sc, ch.choice(sc.shapes()), d - 1)
        else:
            x = "np.array([%s, 0.5])" % self.sexpr(sc, d - 1)
        return ch.choice(["special.logsumexp(%s)" % x, "np.sum(special.softmax(%s) * %s)" % (x, x),
                          "np.sum(stats.norm.logpdf(%s, 0.25, 1.5))" % x, "np.sum(special.log_softmax(%s))" % x])

    def linalg_sexpr(self, sc, d):
        """A float from a decomposition (``np.linalg``) of a matrix built to be well conditioned: its symmetric
        functions of eigenvalues and singular values are smooth even where two are equal."""
        ch = self.ch
        shape = ch.choice([s for s in sc.shapes() if s in ((3,), (2, 3))])
        x = self.aexpr(sc, shape, d - 1)
        m = ("(np.outer(%s, %s) + 2.0 * np.eye(3))" if shape == (3,) else "((%s) @ (%s).T + 2.0 * np.eye(2))") % (x, x)
        forms = ["np.sum(np.linalg.eigvalsh(%s) ** 2)", "np.linalg.slogdet(%s)[1]",
                 "np.sum(np.log(np.diag(np.linalg.cholesky(%s))))", "np.sum(np.linalg.svd(%s, compute_uv=False))",
                 "np.sum(np.linalg.pinv(%s) * 0.5)", "np.sum(np.linalg.matrix_power(%s, 2))",
                 "np.sum(np.linalg.qr(%s)[1] ** 2)", "np.linalg.norm(%s, 'nuc')", "np.linalg.norm(%s, 2)"]
        if shape == (3,):
            forms.append("np.sum(np.linalg.lstsq(%%s, %s, rcond=None)[0])" % self.aexpr(sc, shape, d - 1))
        return ch.choice(forms) % m

    def numpy_extra_sexpr(self, sc, d):
        """A float through one of ``numpy_extra``'s functions (convolutions, polynomials, integration, ...)."""
        ch = self.ch
        x, y = self.aexpr(sc, (3,), d - 1), self.aexpr(sc, (3,), d - 1)
        forms = ["np.sum(np.convolve(%s, np.array([0.25, 0.5, 0.25]), 'same') ** 2)" % x,
                 "np.sum(np.correlate(%s, %s, 'full') * np.arange(5.0))" % (x, y),
                 "np.polyval(%s, math.tanh((%s)[0]))" % (x, y), "np.trapezoid(%s, None, 0.5 + (%s)[1] ** 2)" % (x, y),
                 "np.sum(np.gradient(%s, 0.5) * np.array([1.0, -2.0, 0.5]))" % x,
                 "np.sum(np.interp(np.tanh((%s)[:2]) + 1.0, np.array([0.0, 1.0, 2.0]), %s))" % (y, x),
                 "np.sum(np.append(%s, (%s)[1:]) ** 2)" % (x, y),
                 "np.sum(np.fft.fftshift(%s) * np.array([1.0, 2.0, 3.0]))" % x,
                 "np.sum(np.partition(%s, 1) * np.array([1.0, 2.0, 3.0]))" % x,
                 "np.sum(np.meshgrid(%s, (%s)[:2])[1] * 0.5)" % (x, y),
                 "np.sum(np.polyfit(np.array([0.0, 1.0, 2.5]), %s, 1))" % x]
        return ch.choice(forms)

    def breadth_sexpr(self, sc, d):
        """A float through what issue #15's NumPy breadth added: FFTs, item/tolist, statistics, einsum of three."""
        return self.ch.choice([self.fft_sexpr, self.to_python_sexpr, self.stats_sexpr, self.einsum_sexpr,
                               self.vectorize_sexpr])(sc, d)

    def vectorize_sexpr(self, sc, d):
        """A float through ``np.vectorize`` of a lambda or ``np.fromiter`` of a generator."""
        ch = self.ch
        x = self.aexpr(sc, ch.choice([s for s in sc.shapes() if s in ((3,), (2, 3))]), d - 1)
        forms = ["np.sum(np.vectorize(lambda t: math.sin(t) * t + 0.5)(%s))" % x,
                 "np.sum(np.vectorize(lambda u, w: u * w - math.cos(u))(%s, %s) ** 2)" % (x, self.sexpr(sc, d - 1)),
                 "np.sum(np.fromiter((t * 0.5 + t * t for t in np.ravel(%s)), dtype=float))" % x,
                 "np.sum(np.fromiter([math.tanh(t) for t in np.ravel(%s)], float) ** 2)" % x]
        return ch.choice(forms)

    def einsum_sexpr(self, sc, d):
        """A float through ``np.einsum`` of three or four operands."""
        ch = self.ch
        shape = ch.choice([s for s in sc.shapes() if s in ((3,), (2, 3))])
        x, y, z = (self.aexpr(sc, shape, d - 1) for _ in range(3))
        if shape == (3,):
            forms = ["np.einsum('i,i,i->', %s, %s, %s)" % (x, y, z),
                     "np.sum(np.einsum('i,j,k->ik', %s, %s, %s) * np.arange(9.0).reshape(3, 3))" % (x, y, z),
                     "np.einsum('i,ij,j', %s, np.outer(%s, %s) + np.eye(3), %s)" % (x, y, y, z)]
        else:
            forms = ["np.sum(np.einsum('ij,kj,kl->il', %s, %s, %s))" % (x, y, z),
                     "np.sum(np.einsum('ij,ij,ij->j', %s, %s, %s) * 0.5)" % (x, y, z),
                     "np.einsum('ij,ik,jl,kl', %s, %s, %s, %s, optimize=True)" % (x, x, y, z)]
        return ch.choice(forms)

    def fft_sexpr(self, sc, d):
        """A float through NumPy's real, Hermitian and n-dimensional FFTs (complex intermediates: the derivative
        is built in complex mode)."""
        ch = self.ch
        shape = ch.choice([s for s in sc.shapes() if s in ((3,), (2, 3))])
        x, v = self.aexpr(sc, shape, d - 1), "np.ravel(%s)" % self.aexpr(sc, shape, d - 1)
        forms = ["np.sum(np.fft.irfft(np.fft.rfft(%s) * (1.0 - 0.5j), 5) * np.arange(5.0))" % v,
                 "np.sum(np.abs(np.fft.rfft(%s, 4, norm='ortho')) ** 2)" % v,
                 "np.sum(np.fft.hfft(%s * (0.5 + 1.0j), 4) * np.array([1.0, -0.5, 2.0, 0.25]))" % v,
                 "np.sum(np.abs(np.fft.ihfft(%s)) ** 2)" % v,
                 "np.sum(np.real(np.fft.fftn(%s, axes=(0,))) * 0.5)" % x,
                 "np.sum(np.fft.irfftn(np.fft.rfftn(%s) * 0.5) ** 2)" % x,
                 "np.sum(np.imag(np.fft.ifft2(np.reshape(%s, (-1, 1)) * (1.0 + 2.0j))))" % v]
        return ch.choice(forms)

    def to_python_sexpr(self, sc, d):
        """A float read out of an array as a Python number: ``x.item(...)``, ``x.tolist()``'s elements."""
        ch = self.ch
        shape = ch.choice(sc.shapes())
        x = self.aexpr(sc, shape, d - 1)
        at = tuple(ch.integer(0, n - 1) for n in shape)
        forms = ["np.sum(%s).item()" % x, "(%s).item(%d)" % (x, ch.integer(0, int(np.prod(shape)) - 1)),
                 "(%s).item(%r)" % (x, at), "(%s).tolist()%s" % (x, "".join("[%d]" % i for i in at)),
                 "sum((%s).ravel().tolist())" % x, "(%s)[%s:%s].item()" % (x, at[0], at[0] + 1) if len(shape) == 1 else
                 "max(sum(r) for r in (%s).tolist())" % x]
        return ch.choice(forms)

    def stats_sexpr(self, sc, d):
        """A float through ``numpy_stats``'s functions: quantiles, averages, covariances, polynomial arithmetic."""
        ch = self.ch
        shape = ch.choice([s for s in sc.shapes() if s in ((3,), (2, 3))])
        x, y = self.aexpr(sc, shape, d - 1), self.aexpr(sc, shape, d - 1)
        v = "np.ravel(%s)" % x
        forms = ["np.median(%s)" % x, "np.quantile(%s, 0.3)" % x, "np.sum(np.percentile(%s, [25.0, 60.0]))" % x,
                 "np.average(%s, None, 1.0 + (%s) ** 2)" % (x, y), "np.sum(np.cov(%s))" % x,
                 "np.sum(np.polymul(%s, np.array([1.0, -0.5])) * 0.5)" % v, "np.sum(np.polyder(%s) * 2.0)" % v,
                 "np.sum(np.resize(%s, 7) * np.arange(7.0))" % x,
                 "np.sum(np.polyint(%s) * np.arange(%d.0))" % (v, int(np.prod(shape)) + 1)]
        if shape == (2, 3):
            forms += ["np.sum(np.corrcoef(%s) * np.array([[0.0, 1.0], [0.5, 0.0]]))" % x,
                      "np.sum(np.linalg.svdvals(%s))" % x, "np.sum(np.median(%s, axis=0) * 0.5)" % x]
        return ch.choice(forms)

    def complex_sexpr(self, sc, d):
        """A float-valued expression through complex intermediates (a complex literal: the function's derivative
        is built in complex mode), away from the kinks of abs and angle."""
        ch = self.ch
        a, b = self.sexpr(sc, d - 1), self.sexpr(sc, d - 1)
        forms = ["np.abs(np.exp(1j * %s) + 2.5 + 0.1 * math.tanh(%s))" % (a, b),
                 "np.real((%s + 0.5j) ** 2 * (1.0 - 2.0j))" % a, "np.angle(1.5 + 1j * math.tanh(%s))" % a,
                 "np.imag(np.sin(%s + 1j * math.tanh(%s)))" % (a, b), "(np.exp(%s * 1j) * (%s - 1j)).imag" % (a, b),
                 "abs(np.sqrt(2.5 + 1j * math.tanh(%s)))" % a, "np.conj(np.cos(0.5j * %s)).real" % a]
        if sc.arrays():
            x = self.aexpr(sc, ch.choice(sc.shapes()), d - 1)
            forms += ["np.sum(np.abs(np.exp(1j * %s) + 2.5))" % x, "np.mean(np.real(%s * (2.0 + 1j)) ** 2)" % x,
                      "np.sum(np.abs(np.fft.fft(np.ravel(%s))) ** 2)" % x,
                      "np.sum(np.real(np.fft.ifft(np.ravel(%s), 4)) ** 2)" % x]
        return ch.choice(forms)

    def numpy_float_sexpr(self, sc, d):
        """A float-valued expression calling NumPy's elementwise functions on numbers (``np.sin`` of a float: the
        float fast path keeps NumPy there, ``pipeline.scalar_params``)."""
        ch = self.ch
        a, b = self.sexpr(sc, d - 1), self.sexpr(sc, d - 1)
        return ch.choice(["np.sin(%s)" % a, "np.cos(%s) * %s" % (a, b), "np.tanh(%s)" % a,
                          "np.exp(-%s * %s)" % (a, a), "np.log1p(%s * %s)" % (a, a), "np.multiply(%s, %s)" % (a, b),
                          "np.hypot(%s, 1.0 + %s * %s)" % (a, b, b),
                          "np.arctan(%s) + np.sqrt(2.0 + np.sin(%s))" % (a, b)])

    def aexpr(self, sc, shape, d=None):
        """An array-valued expression of exactly ``shape`` (which some variable in scope has)."""
        ch = self.ch
        d = self.max_depth if d is None else d
        same = sc.arrays(shape)
        if d <= 0 or ch.boolean(0.3):
            if same:
                return ch.choice(same)
            # build it by broadcasting two others
            for s in sc.shapes():
                for t in sc.shapes():
                    if _bcast(s, t) == shape:
                        return "(%s * %s)" % (ch.choice(sc.arrays(s)), ch.choice(sc.arrays(t)))
            return "(%s + np.zeros(%s))" % (self.sexpr(sc, 0), shape[0] if len(shape) == 1 else str(shape))
        op = ch.choice(["bin", "bin", "scal", "sin", "tanh", "cos", "exp", "div", "pow", "log", "grow", "fromlist"])
        e = lambda: self.aexpr(sc, shape, d - 1)
        if op == "fromlist":
            return self.from_list(sc, shape, d)
        if op == "bin":
            others = [s for s in sc.shapes() if _bcast(s, shape) == shape]
            sym = ch.choice(["+", "-", "*"])
            if others and ch.boolean(0.6):
                right = self.aexpr(sc, ch.choice(others), d - 1)
            else:
                right = self.sexpr(sc, d - 1)
            return "(%s %s %s)" % (e(), sym, right) if ch.boolean() else "(%s %s %s)" % (right, sym, e())
        if op == "scal":
            return "(%s * %s)" % (self.sexpr(sc, d - 1), e())
        if op in ("sin", "tanh", "cos"):
            return "np.%s(%s)" % (op, e())
        if op == "exp":
            a = e()
            return "np.exp(-%s * %s)" % (a, a)
        if op == "div":
            b = e()
            return "(%s / (1.5 + %s * %s))" % (e(), b, b)
        if op == "pow":
            return "(%s) ** 2" % e()
        if op == "log":
            a = e()
            return "np.log(1.0 + %s * %s)" % (a, a)
        # grow: the product of two shapes that broadcast to ``shape``
        pairs = [(s, t) for s in sc.shapes() for t in sc.shapes() if s != shape and _bcast(s, t) == shape]
        if not pairs:
            return e()
        s, t = ch.choice(pairs)
        return "(%s * %s)" % (self.aexpr(sc, s, d - 1), self.aexpr(sc, t, d - 1))

    def from_list(self, sc, shape, d):
        """``np.array`` of a list of scalars (1-D) or ``np.stack`` of a list of rows."""
        if len(shape) == 1:
            return "np.array([%s])" % ", ".join(self.sexpr(sc, d - 1) for _ in range(shape[0]))
        return "np.stack([%s])" % ", ".join(self.aexpr(sc, shape[1:], d - 1) for _ in range(shape[0]))

    def bounded(self, expr, var=None):
        """Keep loop-carried values bounded."""
        form = self.ch.integer(0, 3)
        if form == 0:
            return "math.tanh(%s)" % expr
        if form == 1:
            return "math.sin(%s)" % expr
        if form == 2 and var:
            return "0.5 * %s + 0.5 * math.tanh(%s)" % (var, expr)
        return "math.cos(%s)" % expr

    def bounded_arr(self, expr, var=None):
        form = self.ch.integer(0, 2)
        if form == 0:
            return "np.tanh(%s)" % expr
        if form == 1 and var:
            return "0.5 * %s + 0.5 * np.sin(%s)" % (var, expr)
        return "np.sin(%s)" % expr

    def cond(self, sc, loop=None):
        """A comparison (kink safety is checked at run time)."""
        ch = self.ch
        opts = ["ss", "sc"]
        if sc.arrays():
            opts.append("arr")
        if loop and sc.ints():
            opts += ["int", "int"]
        kind = ch.choice(opts)
        op = ch.choice([">", "<", ">=", "<="])
        if kind == "ss":
            return "%s %s %s" % (self.sexpr(sc, 2), op, self.sexpr(sc, 2))
        if kind == "sc":
            return "%s %s %s" % (self.sexpr(sc, 2), op, ch.choice(["0.0", "0.5", "-0.5", "1.0"]))
        if kind == "arr":
            a = self.aexpr(sc, ch.choice(sc.shapes()), 1)
            return "np.%s(%s) %s %s" % (ch.choice(["sum", "mean"]), a, op, ch.choice(["0.0", "0.5", "-0.5"]))
        i = ch.choice(sc.ints())
        return ch.choice(["%s == %d" % (i, ch.integer(0, 3)), "%s > %d" % (i, ch.integer(0, 2)),
                          "%s %% 2 == 0" % i])

    # ---- statements (each returns a list of (indent, text) lines)
    def block(self, sc, depth, n, loop=None, ret_ok=True):
        lines = []
        for _ in range(n):
            lines += self.stmt(sc, depth, loop, ret_ok)
        return lines or [(0, "pass")]

    @staticmethod
    def indent(lines, k=1):
        return [(i + k, t) for i, t in lines]

    def stmt(self, sc, depth, loop, ret_ok):
        ch = self.ch
        opts = ["assign_s", "assign_s", "assign_s"]
        if sc.scalars():
            opts += ["reassign_s", "reassign_s", "aug"]
        if sc.arrays():
            opts += ["assign_a", "reassign_a"]
        if sc.owned:
            opts += ["setitem", "effect"]
        if depth > 0:
            opts += ["if", "if", "for", "while", "list", "zeros", "rows"]
        if depth > 0 and (sc.arrays() or sc.lists()):
            opts += ["zip_loop"]
        if depth > 0:
            opts += ["dict_loop"]
        if depth > 0 and sc.arrays():
            opts += ["parts"]
        if loop:
            opts += ["break", "continue"]
        if ret_ok and depth < 2:
            opts += ["return"]
        if depth == getattr(self, "top_depth", None) and loop is None and sc.scalars() and ch.boolean(0.1):
            opts += ["closure"]
        kind = ch.choice(opts)
        if kind == "closure":
            return self.closure(sc)
        if kind == "zip_loop":
            return self.zip_loop(sc)
        if kind == "dict_loop":
            return self.dict_loop(sc)
        if kind == "rows":
            return self.row_writes(sc)
        if kind == "parts":
            return self.parts(sc)
        if kind == "assign_s":
            v = self.fresh()
            e = self.sexpr(sc)
            if loop or ch.boolean(0.3):
                e = self.bounded(e)
            sc.vars[v] = "s"
            return [(0, "%s = %s" % (v, e))]
        if kind == "reassign_s":
            v = ch.choice(sc.scalars())
            e = self.sexpr(sc)
            if loop or ch.boolean(0.4):
                e = self.bounded(e, v)
            return [(0, "%s = %s" % (v, e))]
        if kind == "aug":
            v = ch.choice(sc.scalars())
            return [(0, "%s %s 0.5 * math.tanh(%s)" % (v, ch.choice(["+=", "-=", "*="]), self.sexpr(sc)))]
        if kind == "assign_a":
            shape = ch.choice(sc.shapes())
            pairs = [_bcast(s, t) for s in sc.shapes() for t in sc.shapes()]
            pairs = [p for p in pairs if p is not None]
            if ch.boolean(0.3):
                shape = ch.choice(pairs)
            e = self.aexpr(sc, shape)
            if e.isidentifier():
                e = "1.0 * %s" % e       # never alias a parameter
            if loop or ch.boolean(0.3):
                e = self.bounded_arr(e)
            v = self.fresh("w")   # not "a": parameters are a0, a1
            sc.vars[v] = ("a", shape)
            return [(0, "%s = %s" % (v, e))]
        if kind == "reassign_a":
            v = ch.choice(sc.arrays())
            e = self.aexpr(sc, sc.vars[v][1])
            if e.isidentifier():
                e = "1.0 * %s" % e
            if loop or ch.boolean(0.4):
                e = self.bounded_arr(e, v)
            return [(0, "%s = %s" % (v, e))]
        if kind == "setitem":
            v = ch.choice(sorted(sc.owned))
            shape = sc.vars[v][1]
            idx = [str(ch.integer(0, n - 1)) for n in shape]
            if loop and sc.ints() and ch.boolean():
                i = ch.choice(sc.ints())
                idx[-1] = "%s %% %d" % (i, shape[-1])
            e = self.sexpr(sc)
            if loop:
                e = self.bounded(e)
            return [(0, "%s[%s] = %s" % (v, ", ".join(idx), e))]
        if kind == "effect":
            return self.effect(sc)
        if kind == "zeros":
            v = self.fresh("y")
            shape = ch.choice([(3,), (2, 3)] + sc.shapes())
            if sc.arrays(shape) and ch.boolean():
                init = "np.copy(%s)" % ch.choice(sc.arrays(shape))
            else:
                init = "np.zeros(%s)" % (str(shape[0]) if len(shape) == 1 else str(shape))
            lines = [(0, "%s = %s" % (v, init))]
            i = self.fresh("i")
            inner = sc.copy()
            inner.vars[i] = "i"
            idx = ", ".join([str(ch.integer(0, n - 1)) for n in shape[:-1]] + [i])
            lines += [(0, "for %s in range(%d):" % (i, shape[-1])),
                      (1, "%s[%s] = %s" % (v, idx, self.bounded(self.sexpr(inner))))]
            sc.vars[v] = ("a", shape)
            sc.owned.add(v)
            return lines
        if kind == "if":
            c = self.cond(sc, loop)
            body_sc, else_sc = sc.copy(), sc.copy()
            n = ch.integer(1, 2)
            lines = [(0, "if %s:" % c)] + self.indent(self.block(body_sc, depth - 1, n, loop, ret_ok))
            if ch.boolean(0.6):
                lines += [(0, "else:")] + self.indent(self.block(else_sc, depth - 1, ch.integer(1, 2), loop, ret_ok))
            return lines
        if kind == "for":
            i = "k" if ch.boolean(0.25) else self.fresh("i")     # "k": a loop variable reused by several loops
            inner = sc.copy()
            inner.vars[i] = "i"
            head = (0, "for %s in range(%d):" % (i, ch.integer(1, 4)))
            body = self.block(inner, depth - 1, ch.integer(1, 3), "for", ret_ok)
            if ch.rare(0.08):  # the body assigns its own variable (the reverse sweep must put back what it left)
                again = (0, "%s = %s * 2 + 1" % (i, i))
                body = [again] + body if ch.rare(0.5) else body + [again]
            return [head] + self.indent(body)
        if kind == "while":
            n = self.fresh("n")
            inner = sc.copy()
            inner.vars[n] = "i"
            limit = ch.integer(1, 4)
            c = "%s < %d" % (n, limit)
            if sc.scalars() and ch.boolean(0.3):
                c += " and %s < %s" % (ch.choice(sc.scalars()), ch.choice(["1.0", "0.5", "2.0"]))
            lines = [(0, "%s = 0" % n), (0, "while %s:" % c), (1, "%s += 1" % n)]
            return lines + self.indent(self.block(inner, depth - 1, ch.integer(1, 3), "while", ret_ok))
        if kind == "list":
            v = self.fresh("L")
            k = ch.integer(1, 4)
            lines = [(0, "%s = []" % v)]
            if ch.boolean():
                i = self.fresh("i")
                inner = sc.copy()
                inner.vars[i] = "i"
                lines += [(0, "for %s in range(%d):" % (i, k)),
                          (1, "%s.append(%s)" % (v, self.bounded(self.sexpr(inner))))]
            else:
                lines += [(0, "%s.append(%s)" % (v, self.sexpr(sc))) for _ in range(k)]
            sc.vars[v] = ("l", k)
            return lines
        if kind in ("break", "continue"):
            return [(0, "if %s:" % self.cond(sc, loop)), (1, kind)]
        # return
        return [(0, "if %s:" % self.cond(sc, loop)), (1, "return %s" % self.sexpr(sc))]

    def parts(self, sc):
        """A list of a reshaped/stacked/multiplied array and a number, of which only the number is read on:
        the array part's adjoint is the sparse zero a rule that changes shapes must not meet bare."""
        ch = self.ch
        a = ch.choice(sc.arrays())
        n = int(np.prod(sc.vars[a][1]))
        part = ch.choice(["np.reshape(%s, (-1,))" % a, "np.stack([%s, %s])" % (a, a), "np.ravel(%s)" % a,
                          "np.reshape(%s, (-1,)) @ np.ones((%d, 2))" % (a, n),
                          "np.array([%s, %s])" % (self.sexpr(sc, 1), self.sexpr(sc, 1))])
        lst, v = self.fresh("P"), self.fresh()
        lines = [(0, "%s = [%s, %s]" % (lst, part, self.sexpr(sc, 2))), (0, "%s = %s[1]" % (v, lst))]
        sc.vars[v] = "s"  # after the list is drawn: its number must not read v
        return lines

    def effect(self, sc):
        """A call that writes into an owned array (``out=``, ``np.copyto``, ``.sort()``, ``.fill()``,
        ``np.fill_diagonal``), its value perhaps from a constructor moving with a float (``np.full``,
        ``np.linspace``)."""
        ch = self.ch
        v = ch.choice(sorted(sc.owned))
        shape = sc.vars[v][1]
        e = self.bounded_arr(self.aexpr(sc, shape, 1))
        dims = str(shape[0]) if len(shape) == 1 else str(shape)
        forms = ["np.copyto(%s, %s)" % (v, e), "np.%s(%s, out=%s)" % (ch.choice(["sin", "tanh", "cos"]), e, v),
                 "np.multiply(%s, %s, %s)" % (v, e, v), "%s.fill(%s)" % (v, self.bounded(self.sexpr(sc, 1))),
                 "%s.sort()" % v, "np.copyto(%s, np.full(%s, %s))" % (v, dims, self.bounded(self.sexpr(sc, 1)))]
        if len(shape) == 1:
            forms.append("np.copyto(%s, np.linspace(%s, %s, %d))" % (v, self.bounded(self.sexpr(sc, 1)), self.const(),
                                                                    shape[0]))
        else:
            forms.append("np.fill_diagonal(%s, %s)" % (v, self.bounded(self.sexpr(sc, 1))))
        return [(0, ch.choice(forms))]

    def closure(self, sc):
        """At the top of a body: a named lambda called twice (closures.py), a value-neutral ``with`` (neutral.py),
        or a ``for`` over a generator expression, ``map`` or ``filter`` (desugar.py)."""
        ch = self.ch
        f, u, j, acc = self.fresh("f"), self.fresh("u"), self.fresh("j"), self.fresh("s")
        over, inner = sc.copy(), sc.copy()
        over.vars[u] = "s"
        inner.vars[j] = "i"
        kind = ch.choice(["lambda", "with", "for"])
        if kind == "lambda":
            lines = [(0, "%s = lambda %s: %s" % (f, u, self.sexpr(over, 2))),
                     (0, "%s = %s(%s) + %s(%s)" % (acc, f, self.sexpr(sc, 1), f, self.sexpr(sc, 1)))]
            sc.vars[acc] = "s"  # after its value is drawn: the value must not read it
            return lines
        if kind == "with":
            e = self.sexpr(sc)
            sc.vars[acc] = "s"
            return [(0, 'with np.errstate(divide="ignore", invalid="ignore"):'), (1, "%s = %s" % (acc, e))]
        seq = "[%s, %s]" % (self.sexpr(sc, 1), self.sexpr(sc, 1))
        it = ch.choice(["(%s for %s in range(3) if %s != 1)" % (self.sexpr(inner, 1), j, j),
                        "map(lambda %s: %s, %s)" % (u, self.sexpr(over, 1), seq),
                        "filter(lambda %s: %s > 0.0, %s)" % (u, u, seq)])
        lines = [(0, "%s = %s" % (acc, self.const())), (0, "for %s in %s:" % (u, it)),
                 (1, "%s = %s" % (acc, self.bounded("%s * 0.5 + %s" % (acc, u), acc)))]
        sc.vars[acc] = "s"
        return lines

    def zip_loop(self, sc):
        """``for i, (u, v) in enumerate(zip(...))`` over flattened arrays or lists, accumulating a scalar."""
        ch = self.ch

        def seq():
            if sc.lists() and (not sc.arrays() or ch.boolean(0.3)):
                return ch.choice(sc.lists())
            return "np.ravel(%s)" % self.aexpr(sc, ch.choice(sc.shapes()), 1)
        acc, i, u, v = self.fresh("s"), self.fresh("i"), self.fresh("u"), self.fresh("u")
        inner = sc.copy()
        inner.vars.update({i: "i", u: "s", v: "s"})
        start = ch.choice(["", ", 1", ", start=2"])
        head = "for %s, (%s, %s) in enumerate(zip(%s, %s)%s):" % (i, u, v, seq(), seq(), start)
        sc.vars[acc] = "s"
        return [(0, "%s = %s" % (acc, self.const())), (0, head),
                (1, "%s = %s" % (acc, self.bounded("%s + %s * %s" % (acc, u, self.sexpr(inner, 1)), acc)))]

    def dict_loop(self, sc):
        """A dict of scalars, and a loop over its keys (``for k in D`` or ``enumerate(D)``) accumulating a scalar."""
        ch = self.ch
        d, acc, i, k = self.fresh("D"), self.fresh("s"), self.fresh("i"), self.fresh("k")
        inner = sc.copy()
        inner.vars[i] = "i"
        given = [q for q in sc.structs() if sc.vars[q][1] is dict]
        if given and ch.boolean(0.5):  # over the dict parameter: a dict or a sequence only when it runs
            d = given[0]
        head = "for %s in %s:" % (k, d) if d in given else \
            ch.choice(["for %s in %s:" % (k, d), "for %s, %s in enumerate(%s):" % (i, k, d)])
        term = "%s + %s[%s] * %s" % (acc, d, k, self.sexpr(inner if "enumerate" in head else sc, 1))
        entries = ", ".join("%r: %s" % (key, self.sexpr(sc, 2)) for key in ("p", "q")[:ch.integer(1, 2)])
        made = [] if d in given else [(0, "%s = {%s}" % (d, entries))]
        lines = made + [(0, "%s = %s" % (acc, self.const())), (0, head),
                 (1, "%s = %s" % (acc, self.bounded(term, acc)))]
        sc.vars[acc] = "s"
        return lines

    def row_writes(self, sc):
        """A (2, 3) array filled a row (or a column) at a time: a scalar broadcast into it, or a row."""
        ch = self.ch
        v, i = self.fresh("y"), self.fresh("i")
        inner = sc.copy()
        inner.vars[i] = "i"
        col = ch.boolean(0.3)
        if not col and ch.boolean():
            value = self.bounded_arr(self.aexpr(inner, (3,), 1))
        else:
            value = self.bounded(self.sexpr(inner))
        sc.vars[v] = ("a", (2, 3))
        sc.owned.add(v)
        return [(0, "%s = np.zeros((2, 3))" % v), (0, "for %s in range(%d):" % (i, 3 if col else 2)),
                (1, "%s[%s] = %s" % (v, ":, " + i if col else i, value))]

    # ---- functions
    def defaults(self):
        """Parameters with defaults that calls leave out (or pass by keyword): [(name, value)]."""
        return [("c%d" % k, self.const()) for k in range(self.ch.integer(1, 2))]

    def function(self, name, params, n_stmts, depth, defaults=()):
        sc = _Scope({p: k for p, k in params})
        sc.vars.update({p: "s" for p, _ in defaults})
        self.top_depth = depth  # closure(): a named lambda only at the top of the body
        body = self.block(sc, depth, n_stmts, None, True)
        body.append((0, "return %s" % self.sexpr(sc)))
        sig = ", ".join([p for p, _ in params] + ["%s=%s" % pv for pv in defaults])
        return "\n".join(["def %s(%s):" % (name, sig)] + ["    " * (i + 1) + t for i, t in body])

    def generate(self):
        """(source, param kinds, args)"""
        ch = self.ch
        self.use_scipy = HAVE_SCIPY and ch.boolean(0.15)
        defs = []
        for h in range(ch.integer(0, 2)):
            params = [("p0", "s")]
            if ch.boolean(0.5):
                params.append(("p1", "s") if ch.boolean() else ("p1", ("a", ch.choice(SHAPES[:2]))))
            name = "h%d" % h
            defaults = self.defaults() if ch.boolean(0.2) else ()
            defs.append(self.function(name, params, ch.integer(0, 3), 1, defaults))
            self.helpers.append((name, [k for _, k in params]))
            if defaults:
                self.kw_helpers.append((name, [k for _, k in params], defaults[-1][0]))
        params = [("x0", "s")]
        for j in range(1, ch.integer(1, 3)):
            params.append(("x%d" % j, "s"))
        for j in range(ch.integer(0, 2)):
            params.append(("a%d" % j, ("a", ch.choice(SHAPES))))
        if ch.boolean(0.08):
            params.append(("q0", self.struct_param()))  # q: a name fresh() never makes (its s0 would shadow it)
        defaults = self.defaults() if ch.boolean(0.15) else ()
        defs.append(self.function("main", params, ch.integer(1, self.size), 2, defaults))
        head = "import math\nimport numpy as np\n" + ("from scipy import special, stats\n" if self.scipy else "")
        src = head + "\n\n" + "\n\n\n".join(defs) + "\n"
        args = []
        for _, k in params:
            if k == "s":
                args.append(ch.uniform(-1.5, 1.5))
            elif k[0] == "t":
                vals = [ch.uniform(-1.5, 1.5) for _ in _fields(k[1])]
                args.append(dict(zip(_fields(dict), vals)) if k[1] is dict else k[1](*vals))
            else:
                args.append(np.array([ch.uniform(-1.5, 1.5) for _ in range(int(np.prod(k[1])))]).reshape(k[1]))
        return src, [k for _, k in params], args


class Program:
    def __init__(self, source, kinds, args):
        self.source, self.kinds, self.args = source, kinds, args

    def __repr__(self):
        return "Program:\n%s\nargs = %r" % (self.source, self.args)


def random_program(seed, size=6, max_depth=3):
    """A program from a seeded ``random.Random`` (the soak run)."""
    return Program(*ProgramGen(RandomChooser(seed), size=size, max_depth=max_depth).generate())


def programs(size=6, max_depth=3):
    """A hypothesis strategy of ``Program``s (``size``: most statements in ``main``'s body,
    ``max_depth``: deepest expression)."""
    from hypothesis import strategies as st

    @st.composite
    def _programs(draw):
        return Program(*ProgramGen(DataChooser(draw), size=size, max_depth=max_depth).generate())
    return _programs()


# --- loading ----------------------------------------------------------------------------------

_TMP = None
_COUNT = itertools.count()


def _tmpdir():
    global _TMP
    if _TMP is None:
        _TMP = tempfile.mkdtemp(prefix="sd_programs_")
    return _TMP


class Loaded:
    """The program written to a real module file (so ``inspect.getsource`` works); a context
    manager that deletes the file and forgets the module afterwards."""

    def __init__(self, source):
        self.source = source

    def __enter__(self):
        name = "sdprog_%d_%d" % (os.getpid(), next(_COUNT))
        self.path = os.path.join(_tmpdir(), name + ".py")
        with open(self.path, "w") as fh:
            fh.write(self.source)
        spec = importlib.util.spec_from_file_location(name, self.path)
        self.module = importlib.util.module_from_spec(spec)
        self.name = name
        sys.modules[name] = self.module
        spec.loader.exec_module(self.module)
        return self.module

    def __exit__(self, *exc):
        sys.modules.pop(self.name, None)
        try:
            os.remove(self.path)
        except OSError:
            pass
        linecache.checkcache(self.path)
        return False


# --- the kink detector ------------------------------------------------------------------------

class _Instrument(ast.NodeTransformer):
    """``a < b`` -> ``__cmp(a, "<", b)`` (chains are split); the recorder keeps margins."""

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1:
            return node
        op = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}.get(
            type(node.ops[0]))
        if op is None:
            return node
        call = ast.Call(func=ast.Name(id="__cmp", ctx=ast.Load()),
                        args=[node.left, ast.Constant(value=op), node.comparators[0]], keywords=[])
        return ast.copy_location(call, node)


_CMP = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def instrumented(source):
    """A callable ``run(*args) -> (value, decisions, min_margin)`` for ``main`` of ``source``."""
    tree = _Instrument().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    code = compile(tree, "<instrumented>", "exec")
    trace = []

    def cmp(a, op, b):
        r = bool(_CMP[op](a, b))
        try:
            m = math.inf if isinstance(a, int) and isinstance(b, int) else abs(float(a) - float(b))
        except (TypeError, ValueError):
            m = math.inf
        trace.append((r, m))
        return r
    ns = {"__cmp": cmp}
    exec(code, ns)
    main = ns["main"]

    def run(*args):
        del trace[:]
        v = main(*_copy(args))
        return v, [r for r, _ in trace], min([m for _, m in trace], default=math.inf)
    return run


# --- the oracle -------------------------------------------------------------------------------

def _copy(args):
    return [np.array(a) if isinstance(a, np.ndarray) else a for a in args]


def _flat(args):
    parts = [_entries(a) if isinstance(a, (SN, SD, dict)) else a for a in args]
    return np.concatenate([np.ravel(np.asarray(a, float)) for a in parts]) if args else np.zeros(0)


def _unflat(args, vec):
    out, k = [], 0
    for a in args:
        n = len(_entries(a)) if isinstance(a, (SN, SD, dict)) else int(np.size(a))
        if isinstance(a, (SN, SD, dict)):
            out.append(_rebuild(a, [float(e) for e in vec[k:k + n]]))
        elif isinstance(a, np.ndarray):
            out.append(vec[k:k + n].reshape(a.shape))
        else:
            out.append(float(vec[k]))
        k += n
    return out


def fd_gradient(source, args, h=FD_STEP):
    """Central differences of ``main``; raises ``Rejected`` near a kink or on overflow."""
    run = instrumented(source)
    with np.errstate(all="raise"):
        try:
            v0, dec0, margin = run(*args)
            if margin < MARGIN:
                raise Rejected("comparison margin %.3g" % margin)
            if not np.isfinite(v0) or abs(float(v0)) > BOUND:
                raise Rejected("value %r" % (v0,))
            x0 = _flat(args)
            g = np.zeros_like(x0)
            for j in range(x0.size):
                vals = []
                for s in (h, -h):
                    x = x0.copy()
                    x[j] += s
                    v, dec, _ = run(*_unflat(args, x))
                    if dec != dec0:
                        raise Rejected("a branch flips at x[%d] %+g" % (j, s))
                    vals.append(float(v))
                g[j] = (vals[0] - vals[1]) / (2 * h)
        except (FloatingPointError, OverflowError, ValueError) as e:
            raise Rejected("%s: %s" % (type(e).__name__, e))
        except (IndexError, NameError, TypeError, AttributeError, KeyError) as e:
            raise GrammarError("the program itself raises %s: %s" % (type(e).__name__, e))
    if not np.all(np.isfinite(g)):
        raise Rejected("non-finite finite differences")
    return v0, g


def _close(a, b, rtol):
    a, b = np.asarray(a, float), np.asarray(b, float)
    err = np.max(np.abs(a - b)) if a.size else 0.0
    return err <= rtol * (1.0 + max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))), err


class _Alarm:
    """Raise TimeoutError after ``seconds`` of this process's CPU time (not wall-clock time, so a
    soak running beside other work, or at low priority, never times out a healthy program)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def _fire(self, *_):
        raise TimeoutError("timed out after %ds of CPU time" % self.seconds)

    def __enter__(self):
        if self.seconds and hasattr(signal, "SIGVTALRM"):
            self.old = signal.signal(signal.SIGVTALRM, self._fire)
            signal.setitimer(signal.ITIMER_VIRTUAL, self.seconds)

    def __exit__(self, *exc):
        if self.seconds and hasattr(signal, "SIGVTALRM"):
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            signal.signal(signal.SIGVTALRM, self.old)
        return False


def check_specialised(vg, args, value, grads):
    """The version of ``vg`` specialised to ``args``' shapes gives what the generic one gave:
    the same numbers of the same types (it leaves out only no-op shape work)."""
    v, g = vg(*_copy(args))
    if not vg.specialised or next(iter(vg.specialised.values())) is getattr(vg, "sd_generated", None):
        raise Mismatch("value_and_grad did not specialise to shapes %s" % list(vg.specialised))
    same = lambda a, b: type(a) is type(b) and np.shape(a) == np.shape(b) and \
        np.array_equal(_flat([a]), _flat([b]), equal_nan=True)  # noqa: E731  (_flat: SN and SD too)
    if not (same(v, value) and len(g) == len(grads) and all(same(a, b) for a, b in zip(g, grads))):
        raise Mismatch("the specialised version gives %r, %r; the generic one %r, %r" % (v, g, value, grads))


NESTED_P = 0.1  # the share of programs whose second derivatives are checked too


def nested_check(prog, f, wrt):
    """For a share ``NESTED_P`` of the programs (fixed per program), one composition of the operators
    (hessian, jvp of grad, vjp of grad) applied to a random direction v, against central differences
    of the gradient along v: ``(name, got, want)``, or None (not drawn, or a branch flips along v)."""
    r = random.Random(prog.source)
    if r.random() >= NESTED_P:
        return None
    x0 = _flat(prog.args)
    v = np.array([r.uniform(-1.0, 1.0) for _ in x0])
    vs, run, g = _unflat(prog.args, v), instrumented(prog.source), sd.grad(f, wrt=wrt)
    dec0 = run(*prog.args)[1]
    want = []
    for h in (FD_STEP, FD_STEP / 10):
        ends = [_unflat(prog.args, x0 + s * h * v) for s in (1, -1)]
        if any(run(*a)[1] != dec0 for a in ends):
            return None
        want.append((_flat(g(*ends[0])) - _flat(g(*ends[1]))) / (2 * h))
    name = r.choice(["hessian", "jvp.grad", "vjp.grad"])
    try:
        return name, _composed(name, f, wrt, prog.args, vs), want
    except sd.SourcediffError:  # refused, not wrong: counted apart (the soak prints the count)
        NESTED_REFUSED.append(name)
        return None


NESTED_REFUSED = []  # compositions sourcediff refused (a known gap: the ownership check of generated code)


def _composed(name, f, wrt, args, vs):
    """The composition ``name`` applied along the direction ``vs``, flattened."""
    if name == "hessian":
        H = sd.hessian(f, wrt=wrt)(*_copy(args))
        H = H if len(wrt) > 1 else ((H,),)
        return _flat([sum(np.tensordot(H[k][j], vs[j], axes=np.ndim(vs[j])) for j in range(len(wrt)))
                      for k in range(len(wrt))])
    if name == "jvp.grad":
        return _flat(sd.jvp(sd.grad(f, wrt=wrt), wrt=wrt)(*_copy(args), tuple(vs))[1])
    return _flat(sd.vjp(sd.grad(f, wrt=wrt), wrt=wrt)(*_copy(args), tuple(vs))[1])


def check_nested(nested):
    """Raise ``Mismatch`` when ``nested_check``'s composition disagrees with both of its differences
    (at h and h / 10) and with their Richardson estimate."""
    if nested is None:
        return
    name, got, (w1, w2) = nested
    if not any(_close(got, w, FD_RTOL)[0] for w in (w1, w2, (100 * w2 - w1) / 99)):
        raise Mismatch("%s along v disagrees with differences of the gradient\nsourcediff %r\nfinite diff %r"
                       % (name, got, w2))


def check_program(prog, timeout=20):
    """Check one program; returns None, raises ``Rejected``, ``Mismatch`` (a wrong answer) or
    whatever sourcediff raised (``SourcediffError`` for a refusal, anything else is a crash)."""
    with _Alarm(timeout):
        v_fd, g_fd = fd_gradient(prog.source, prog.args)
        with Loaded(prog.source) as mod:
            f = mod.main
            wrt = tuple(range(len(prog.args)))
            value = f(*_copy(prog.args))
            vg = sd.value_and_grad(f, wrt=wrt)
            size, api.SPECIALISE_SIZE = api.SPECIALISE_SIZE, 0  # specialise loop-free code on small arrays too
            try:
                v_rev, g_rev = vg(*_copy(prog.args))
                if hasattr(vg, "specialised"):  # the second call with these shapes runs a version specialised to them
                    check_specialised(vg, prog.args, v_rev, g_rev)
            finally:
                api.SPECIALISE_SIZE = size
            g_fwd = sd.grad(f, wrt=wrt, mode="forward")(*_copy(prog.args))
            nested = nested_check(prog, f, wrt)
    if not (v_rev == value):
        raise Mismatch("value_and_grad value %r != main(*args) %r" % (v_rev, value))
    if not (isinstance(g_rev, tuple) and len(g_rev) == len(prog.args)):
        raise Mismatch("reverse gradient is not a %d-tuple: %r" % (len(prog.args), g_rev))
    if not (isinstance(g_fwd, tuple) and len(g_fwd) == len(prog.args)):
        raise Mismatch("forward gradient is not a %d-tuple: %r" % (len(prog.args), g_fwd))
    for i, (a, gr, gf) in enumerate(zip(prog.args, g_rev, g_fwd)):
        for mode, g in (("reverse", gr), ("forward", gf)):
            if isinstance(a, (SN, SD, dict)) and type(g) is not type(a):
                raise Mismatch("%s gradient %d is a %s for a %s argument"
                               % (mode, i, type(g).__name__, type(a).__name__))
            if np.shape(g) != np.shape(a):
                raise Mismatch("%s gradient %d has shape %s, argument %s" % (mode, i, np.shape(g), np.shape(a)))
            if isinstance(a, np.ndarray) and not isinstance(g, np.ndarray):
                raise Mismatch("%s gradient %d is a %s for an array argument" % (mode, i, type(g).__name__))
    ok, err = _close(_flat(g_fwd), _flat(g_rev), MODE_RTOL)
    if not ok:
        raise Mismatch("forward and reverse disagree (max err %.3g)\nforward %r\nreverse %r" % (err, g_fwd, g_rev))
    ok, err = _close(_flat(g_rev), g_fd, FD_RTOL)
    fds, h = [g_fd], FD_STEP
    while not ok and h > FD_STEP * 1e-6:  # a steep function: its O(h**2) error still shows at h (down to 1e-12)
        h /= 10
        fds.append(fd_gradient(prog.source, prog.args, h)[1])
        for est in (fds[-1], (100 * fds[-1] - fds[-2]) / 99):  # ... and Richardson's step cancels it
            ok, err = _close(_flat(g_rev), est, FD_RTOL)
            if ok:
                break
    if not ok and not any(_close(a, b, 1e-3)[0] for a, b in zip(fds, fds[1:])):
        raise Rejected("central differences do not settle from h = %g to %g: the oracle has no verdict" % (FD_STEP, h))
    if not ok:
        raise Mismatch("gradient disagrees with finite differences (max err %.3g)\nsourcediff %r\nfinite diff %r"
                       % (err, _flat(g_rev), g_fd))
    check_nested(nested)
    return None
