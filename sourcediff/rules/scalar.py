"""Rules for Python operators (keyed by gast node name), builtins and the ``math`` module.

Operators share one rule with their NumPy twin (``"Mult"`` and ``np.multiply``),
so their bodies use ``np.`` and ``unbroadcast`` and work for floats and arrays
alike. ``math`` rules use only ``math.`` so generated scalar code stays
plain-float fast; the ``math`` twins of NumPy's elementwise functions (``math.sin`` of ``np.sin``) are
written with them in ``numpy_rules.py`` (``math_twin=``). See ``registry.py`` for the rule signatures.
"""
import math

import numpy as np

from ..runtime import unbroadcast
from .helpers import broadcast_like, fanout, matmul2d, matmul_dx, matmul_dy, polygamma, xlogy
from .combinators import elementwise, linear
from .registry import jvp, nondiff, structured, vjp

nondiff("Eq", "NotEq", "Lt", "LtE", "Gt", "GtE", "Is", "IsNot", "In", "NotIn", "Not",
        "FloorDiv", "BitAnd", "BitOr", "BitXor", "LShift", "RShift", "Invert",
        int, round, len, range, bool, isinstance)
nondiff(math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite, math.isclose,
        math.factorial, math.gcd, math.comb, math.perm, math.isqrt)
nondiff(*(getattr(math, n) for n in ("lcm", "ulp") if hasattr(math, n)))

# --- operators, shared with their NumPy twins -------------------------------------------------

@vjp("Add", np.add)
def add_vjp(g, ans, x, y): return unbroadcast(g, x), unbroadcast(g, y)
@jvp("Add", np.add)
def add_jvp(dx, dy, ans, x, y): return broadcast_like(dx, ans), broadcast_like(dy, ans)

@vjp("Sub", np.subtract)
def subtract_vjp(g, ans, x, y): return unbroadcast(g, x), -unbroadcast(g, y)
@jvp("Sub", np.subtract)
def subtract_jvp(dx, dy, ans, x, y): return broadcast_like(dx, ans), broadcast_like(-dy, ans)

@vjp("Mult", np.multiply)
def multiply_vjp(g, ans, x, y): return unbroadcast(g * y, x), unbroadcast(g * x, y)
@jvp("Mult", np.multiply)
def multiply_jvp(dx, dy, ans, x, y): return dx * y, x * dy

elementwise(("Div", np.divide), lambda d, ans, x, y: (d / y, -d * ans / y), broadcasting=True)

# x % y == x - (x // y) * y, and x // y is piecewise constant
@vjp("Mod", np.remainder)
def mod_vjp(g, ans, x, y): return unbroadcast(g, x), unbroadcast(-g * (x // y), y)
@jvp("Mod", np.remainder)
def mod_jvp(dx, dy, ans, x, y): return broadcast_like(dx, ans), -dy * (x // y)

# The exponent's entry (ans * log of the base) is only emitted when the exponent is active;
# xlogy makes it 0 where ans is (0 ** y for y > 0), not 0 * log(0).
elementwise(("Pow", np.power, pow), lambda d, ans, x, y: (d * y * x ** (y - 1), d * xlogy(ans, x)), broadcasting=True)

@vjp("MatMult", np.matmul)
def matmul_vjp(g, ans, x, y): return matmul_dx(g, x, y), matmul_dy(g, x, y)
@vjp(matmul2d)
def matmul2d_vjp(g, ans, x, y): return g @ y.T, x.T @ g
@jvp(matmul2d)
def matmul2d_jvp(dx, dy, ans, x, y): return dx @ y, x @ dy
@jvp("MatMult", np.matmul)
def matmul_jvp(dx, dy, ans, x, y): return np.matmul(dx, y), np.matmul(x, dy)

elementwise(("USub", np.negative), lambda d, ans, x: -d)
elementwise(("UAdd", np.positive), lambda d, ans, x: d)
elementwise((abs, np.absolute), lambda d, ans, x: d * np.sign(x))

# --- builtins ------------------------------------------------------------------------------------

@linear(float)
def float_vjp(g, ans, x): return g

# Two scalar arguments; ties go to the first argument, which is the one Python returns.
elementwise(max, lambda d, ans, x, y: (d if x >= y else 0.0, 0.0 if x >= y else d))
elementwise(min, lambda d, ans, x, y: (d if x <= y else 0.0, 0.0 if x <= y else d))

# sum over a list/tuple of scalars or arrays, or over an array's first axis
@vjp(sum)
def sum_vjp(g, ans, xs, start=0): return fanout(g, xs), unbroadcast(g, start)
@jvp(sum)
def sum_jvp(dxs, dstart, ans, xs, start=0): return broadcast_like(sum(dxs), ans), broadcast_like(dstart, ans)

# tuple(xs) of a list (lowering makes every tuple(...) one of a list: lower_iter.py): the same entries
structured(tuple)
@vjp(tuple)
def tuple_vjp(g, ans, xs): return g
@jvp(tuple)
def tuple_jvp(dxs, ans, xs): return tuple(dxs)

@linear(math.fsum)
def fsum_vjp(g, ans, xs): return fanout(g, xs)

# --- the math module (sin, exp, sqrt, ...: numpy_rules.py, as the math twins of np.sin, ...) -------

elementwise(math.atan2, lambda d, ans, y, x: (d * x / (x * x + y * y), -d * y / (x * x + y * y)))
elementwise(math.log, lambda d, ans, x, base=math.e: (d / (x * math.log(base)), -d * ans / (base * math.log(base))))
elementwise(math.hypot, lambda d, ans, x, y: (d * x / ans, d * y / ans))
elementwise(math.pow, lambda d, ans, x, y: (d * y * math.pow(x, y - 1.0), d * xlogy(ans, x)))
elementwise(math.fabs, lambda d, ans, x: d * math.copysign(1.0, x))

# nextafter(x, y) is x moved by units in the last place: piecewise constant in y only
elementwise(getattr(math, "nextafter", None), lambda d, ans, x, y, steps=None: (d, None))
# copysign(x, y) = |x| sign(y): the sign argument is piecewise constant
elementwise(math.copysign, lambda d, ans, x, y: (d * math.copysign(1.0, x) * math.copysign(1.0, y), None))
elementwise(math.erf, lambda d, ans, x: d * 2.0 / math.sqrt(math.pi) * math.exp(-x * x))
elementwise(math.erfc, lambda d, ans, x: -d * 2.0 / math.sqrt(math.pi) * math.exp(-x * x))
elementwise(math.gamma, lambda d, ans, x: d * ans * polygamma(x, 0))
elementwise(math.lgamma, lambda d, ans, x: d * polygamma(x, 0))

# fmod(x, y) = x - trunc(x / y) * y; remainder(x, y) = x - round(x / y) * y
elementwise(math.fmod, lambda d, ans, x, y: (d, -d * math.trunc(x / y)))
elementwise(math.remainder, lambda d, ans, x, y: (d, -d * round(x / y)))

# ldexp(x, i) = x * 2**i with an integer i
elementwise(math.ldexp, lambda d, ans, x, i: math.ldexp(d, i))

