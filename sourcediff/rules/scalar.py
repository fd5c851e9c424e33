"""Rules for Python operators (keyed by gast node name), builtins and the ``math`` module.

Operators share one rule with their NumPy twin (``"Mult"`` and ``np.multiply``),
so their bodies use ``np.`` and ``unbroadcast`` and work for floats and arrays
alike. ``math`` rules use only ``math.`` so generated scalar code stays
plain-float fast. See ``registry.py`` for the rule signatures.
"""
import math

import numpy as np

from ..runtime import unbroadcast
from .helpers import broadcast_like, fanout, matmul2d, matmul_dx, matmul_dy, polygamma, xlogy
from .registry import jvp, nondiff, vjp

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

@vjp("Div", np.divide)
def divide_vjp(g, ans, x, y): return unbroadcast(g / y, x), unbroadcast(-g * ans / y, y)
@jvp("Div", np.divide)
def divide_jvp(dx, dy, ans, x, y): return dx / y, -dy * ans / y

# x % y == x - (x // y) * y, and x // y is piecewise constant
@vjp("Mod", np.remainder)
def mod_vjp(g, ans, x, y): return unbroadcast(g, x), unbroadcast(-g * (x // y), y)
@jvp("Mod", np.remainder)
def mod_jvp(dx, dy, ans, x, y): return broadcast_like(dx, ans), -dy * (x // y)

# The exponent's entry (ans * log of the base) is only emitted when the exponent is active;
# xlogy makes it 0 where ans is (0 ** y for y > 0), not 0 * log(0).
@vjp("Pow", np.power, pow)
def power_vjp(g, ans, x, y): return unbroadcast(g * y * x ** (y - 1), x), unbroadcast(g * xlogy(ans, x), y)
@jvp("Pow", np.power, pow)
def power_jvp(dx, dy, ans, x, y): return dx * y * x ** (y - 1), dy * xlogy(ans, x)

@vjp("MatMult", np.matmul)
def matmul_vjp(g, ans, x, y): return matmul_dx(g, x, y), matmul_dy(g, x, y)
@vjp(matmul2d)
def matmul2d_vjp(g, ans, x, y): return g @ y.T, x.T @ g
@jvp(matmul2d)
def matmul2d_jvp(dx, dy, ans, x, y): return dx @ y, x @ dy
@jvp("MatMult", np.matmul)
def matmul_jvp(dx, dy, ans, x, y): return np.matmul(dx, y), np.matmul(x, dy)

@vjp("USub", np.negative)
def negative_vjp(g, ans, x): return -g
@jvp("USub", np.negative)
def negative_jvp(dx, ans, x): return -dx

@vjp("UAdd", np.positive)
def positive_vjp(g, ans, x): return g
@jvp("UAdd", np.positive)
def positive_jvp(dx, ans, x): return dx

@vjp(abs, np.absolute)
def abs_vjp(g, ans, x): return g * np.sign(x)
@jvp(abs, np.absolute)
def abs_jvp(dx, ans, x): return dx * np.sign(x)

# --- builtins ------------------------------------------------------------------------------------

@vjp(float)
def float_vjp(g, ans, x): return g
@jvp(float)
def float_jvp(dx, ans, x): return float(dx)

# Two scalar arguments; ties go to the first argument, which is the one Python returns.
@vjp(max)
def max_vjp(g, ans, x, y): return (g if x >= y else 0.0), (0.0 if x >= y else g)
@jvp(max)
def max_jvp(dx, dy, ans, x, y): return (dx if x >= y else 0.0), (0.0 if x >= y else dy)

@vjp(min)
def min_vjp(g, ans, x, y): return (g if x <= y else 0.0), (0.0 if x <= y else g)
@jvp(min)
def min_jvp(dx, dy, ans, x, y): return (dx if x <= y else 0.0), (0.0 if x <= y else dy)

# sum over a list/tuple of scalars or arrays, or over an array's first axis
@vjp(sum)
def sum_vjp(g, ans, xs, start=0): return fanout(g, xs), unbroadcast(g, start)
@jvp(sum)
def sum_jvp(dxs, dstart, ans, xs, start=0): return broadcast_like(sum(dxs), ans), broadcast_like(dstart, ans)

@vjp(math.fsum)
def fsum_vjp(g, ans, xs): return fanout(g, xs)
@jvp(math.fsum)
def fsum_jvp(dxs, ans, xs): return math.fsum(dxs)

# --- the math module -----------------------------------------------------------------------------

@vjp(math.sin)
def math_sin_vjp(g, ans, x): return g * math.cos(x)
@jvp(math.sin)
def math_sin_jvp(dx, ans, x): return dx * math.cos(x)

@vjp(math.cos)
def math_cos_vjp(g, ans, x): return -g * math.sin(x)
@jvp(math.cos)
def math_cos_jvp(dx, ans, x): return -dx * math.sin(x)

@vjp(math.tan)
def math_tan_vjp(g, ans, x): return g * (1.0 + ans * ans)
@jvp(math.tan)
def math_tan_jvp(dx, ans, x): return dx * (1.0 + ans * ans)

@vjp(math.asin)
def math_asin_vjp(g, ans, x): return g / math.sqrt(1.0 - x * x)
@jvp(math.asin)
def math_asin_jvp(dx, ans, x): return dx / math.sqrt(1.0 - x * x)

@vjp(math.acos)
def math_acos_vjp(g, ans, x): return -g / math.sqrt(1.0 - x * x)
@jvp(math.acos)
def math_acos_jvp(dx, ans, x): return -dx / math.sqrt(1.0 - x * x)

@vjp(math.atan)
def math_atan_vjp(g, ans, x): return g / (1.0 + x * x)
@jvp(math.atan)
def math_atan_jvp(dx, ans, x): return dx / (1.0 + x * x)

@vjp(math.atan2)
def math_atan2_vjp(g, ans, y, x): return g * x / (x * x + y * y), -g * y / (x * x + y * y)
@jvp(math.atan2)
def math_atan2_jvp(dy, dx, ans, y, x): return dy * x / (x * x + y * y), -dx * y / (x * x + y * y)

@vjp(math.sinh)
def math_sinh_vjp(g, ans, x): return g * math.cosh(x)
@jvp(math.sinh)
def math_sinh_jvp(dx, ans, x): return dx * math.cosh(x)

@vjp(math.cosh)
def math_cosh_vjp(g, ans, x): return g * math.sinh(x)
@jvp(math.cosh)
def math_cosh_jvp(dx, ans, x): return dx * math.sinh(x)

@vjp(math.tanh)
def math_tanh_vjp(g, ans, x): return g * (1.0 - ans * ans)
@jvp(math.tanh)
def math_tanh_jvp(dx, ans, x): return dx * (1.0 - ans * ans)

@vjp(math.asinh)
def math_asinh_vjp(g, ans, x): return g / math.sqrt(x * x + 1.0)
@jvp(math.asinh)
def math_asinh_jvp(dx, ans, x): return dx / math.sqrt(x * x + 1.0)

@vjp(math.acosh)
def math_acosh_vjp(g, ans, x): return g / math.sqrt(x * x - 1.0)
@jvp(math.acosh)
def math_acosh_jvp(dx, ans, x): return dx / math.sqrt(x * x - 1.0)

@vjp(math.atanh)
def math_atanh_vjp(g, ans, x): return g / (1.0 - x * x)
@jvp(math.atanh)
def math_atanh_jvp(dx, ans, x): return dx / (1.0 - x * x)

@vjp(math.exp)
def math_exp_vjp(g, ans, x): return g * ans
@jvp(math.exp)
def math_exp_jvp(dx, ans, x): return dx * ans

@vjp(math.expm1)
def math_expm1_vjp(g, ans, x): return g * (ans + 1.0)
@jvp(math.expm1)
def math_expm1_jvp(dx, ans, x): return dx * (ans + 1.0)

@vjp(math.log)
def math_log_vjp(g, ans, x, base=math.e): return g / (x * math.log(base)), -g * ans / (base * math.log(base))
@jvp(math.log)
def math_log_jvp(dx, dbase, ans, x, base=math.e): return dx / (x * math.log(base)), -dbase * ans / (base * math.log(base))

@vjp(math.log1p)
def math_log1p_vjp(g, ans, x): return g / (1.0 + x)
@jvp(math.log1p)
def math_log1p_jvp(dx, ans, x): return dx / (1.0 + x)

@vjp(math.log2)
def math_log2_vjp(g, ans, x): return g / (x * math.log(2.0))
@jvp(math.log2)
def math_log2_jvp(dx, ans, x): return dx / (x * math.log(2.0))

@vjp(math.log10)
def math_log10_vjp(g, ans, x): return g / (x * math.log(10.0))
@jvp(math.log10)
def math_log10_jvp(dx, ans, x): return dx / (x * math.log(10.0))

@vjp(math.sqrt)
def math_sqrt_vjp(g, ans, x): return g * 0.5 / ans
@jvp(math.sqrt)
def math_sqrt_jvp(dx, ans, x): return dx * 0.5 / ans

@vjp(math.hypot)
def math_hypot_vjp(g, ans, x, y): return g * x / ans, g * y / ans
@jvp(math.hypot)
def math_hypot_jvp(dx, dy, ans, x, y): return dx * x / ans, dy * y / ans

@vjp(math.pow)
def math_pow_vjp(g, ans, x, y): return g * y * math.pow(x, y - 1.0), g * xlogy(ans, x)
@jvp(math.pow)
def math_pow_jvp(dx, dy, ans, x, y): return dx * y * math.pow(x, y - 1.0), dy * xlogy(ans, x)

@vjp(math.fabs)
def math_fabs_vjp(g, ans, x): return g * math.copysign(1.0, x)
@jvp(math.fabs)
def math_fabs_jvp(dx, ans, x): return dx * math.copysign(1.0, x)

# copysign(x, y) = |x| sign(y): the sign argument is piecewise constant
# nextafter(x, y) is x moved by units in the last place: piecewise constant in y only
@vjp(*[math.nextafter] if hasattr(math, "nextafter") else [])
def math_nextafter_vjp(g, ans, x, y, steps=None): return g, None
@jvp(*[math.nextafter] if hasattr(math, "nextafter") else [])
def math_nextafter_jvp(dx, dy, ans, x, y, steps=None): return dx, None

@vjp(math.copysign)
def math_copysign_vjp(g, ans, x, y): return g * math.copysign(1.0, x) * math.copysign(1.0, y), None
@jvp(math.copysign)
def math_copysign_jvp(dx, dy, ans, x, y): return dx * math.copysign(1.0, x) * math.copysign(1.0, y), None

@vjp(math.erf)
def math_erf_vjp(g, ans, x): return g * 2.0 / math.sqrt(math.pi) * math.exp(-x * x)
@jvp(math.erf)
def math_erf_jvp(dx, ans, x): return dx * 2.0 / math.sqrt(math.pi) * math.exp(-x * x)

@vjp(math.erfc)
def math_erfc_vjp(g, ans, x): return -g * 2.0 / math.sqrt(math.pi) * math.exp(-x * x)
@jvp(math.erfc)
def math_erfc_jvp(dx, ans, x): return -dx * 2.0 / math.sqrt(math.pi) * math.exp(-x * x)

@vjp(math.gamma)
def math_gamma_vjp(g, ans, x): return g * ans * polygamma(x, 0)
@jvp(math.gamma)
def math_gamma_jvp(dx, ans, x): return dx * ans * polygamma(x, 0)

@vjp(math.lgamma)
def math_lgamma_vjp(g, ans, x): return g * polygamma(x, 0)
@jvp(math.lgamma)
def math_lgamma_jvp(dx, ans, x): return dx * polygamma(x, 0)

@vjp(math.degrees)
def math_degrees_vjp(g, ans, x): return g * (180.0 / math.pi)
@jvp(math.degrees)
def math_degrees_jvp(dx, ans, x): return dx * (180.0 / math.pi)

@vjp(math.radians)
def math_radians_vjp(g, ans, x): return g * (math.pi / 180.0)
@jvp(math.radians)
def math_radians_jvp(dx, ans, x): return dx * (math.pi / 180.0)

# fmod(x, y) = x - trunc(x / y) * y; remainder(x, y) = x - round(x / y) * y
@vjp(math.fmod)
def math_fmod_vjp(g, ans, x, y): return g, -g * math.trunc(x / y)
@jvp(math.fmod)
def math_fmod_jvp(dx, dy, ans, x, y): return dx, -dy * math.trunc(x / y)

@vjp(math.remainder)
def math_remainder_vjp(g, ans, x, y): return g, -g * round(x / y)
@jvp(math.remainder)
def math_remainder_jvp(dx, dy, ans, x, y): return dx, -dy * round(x / y)

# ldexp(x, i) = x * 2**i with an integer i
@vjp(math.ldexp)
def math_ldexp_vjp(g, ans, x, i): return math.ldexp(g, i)
@jvp(math.ldexp)
def math_ldexp_jvp(dx, ans, x, i): return math.ldexp(dx, i)

if hasattr(math, "cbrt"):  # Python 3.11+
    @vjp(math.cbrt)
    def math_cbrt_vjp(g, ans, x): return g / (3.0 * ans * ans)
    @jvp(math.cbrt)
    def math_cbrt_jvp(dx, ans, x): return dx / (3.0 * ans * ans)

if hasattr(math, "exp2"):  # Python 3.11+
    @vjp(math.exp2)
    def math_exp2_vjp(g, ans, x): return g * ans * math.log(2.0)
    @jvp(math.exp2)
    def math_exp2_jvp(dx, ans, x): return dx * ans * math.log(2.0)
