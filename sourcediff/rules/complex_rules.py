"""Complex numbers: which rules are right for complex values, and the rules of the functions that are not
holomorphic (``real``, ``imag``, ``conj``, ``abs``, ``angle``).

The convention is JAX's and autograd's. A cotangent is transported by the *transpose* of the derivative,
never its conjugate transpose, so the rule of a holomorphic function is its real rule unchanged
(``g * f'(z)``); the gradient of a real-valued ``f`` at ``z = a + ib`` is ``df/da - i df/db``, and
``sd.vjp`` with seed ``c`` differentiates ``Re(sum(c * f))``. A real value's cotangent may pick up an
imaginary part on the way (``x * c`` with a real ``x``): the real part is the cotangent, taken where a real
value leaves a complex one (the rules below take ``np.real(g)``) and at the arguments (``runtime.cgrad_like``);
every real rule in between has real coefficients and commutes with it.

A derivative is built in complex mode (``registry.complex_build``) when an argument, seed or tangent is
complex or the code holds a complex literal. There, only the keys declared ``complex_ok`` differentiate;
any other active step is refused at its line (an allow-list: a real rule is not assumed right for
complex values). The rules here replace the real ones (of ``abs``, ``np.imag``, ``np.angle``) only there.
"""
import numpy as np

from .fft_helpers import fft_axes, fft_length, fit_axes, hermitian_weights, last_length
from .helpers import fit_axis, matmul2d, of_type, unshared
from .to_python import array_item, unitem
from .numpy_rules import AS_ARRAY
from .registry import VJP, complex_ok, cjvp, cvjp

# holomorphic: the real rules, written without real-only tricks (sign, comparisons), are right as they are
complex_ok("Add", "Sub", "Mult", "Div", "USub", "UAdd", "Pow", "MatMult", np.add, np.subtract, np.multiply,
           np.divide, np.negative, np.positive, np.power, np.matmul, np.exp, np.log, np.sin, np.cos, np.tan,
           np.sinh, np.cosh, np.tanh, np.sqrt, np.square, np.reciprocal, np.expm1, np.log1p, np.sum, np.mean,
           np.arcsin, np.arccos, np.arctan, np.arcsinh, np.arctanh, np.log2, np.log10, np.exp2, np.dot, np.outer,
           np.cumsum, matmul2d)
# (not np.arccosh: its rule's 1 / sqrt(z^2 - 1) is not 1 / (sqrt(z - 1) sqrt(z + 1)) off the real axis;
# not np.vdot: it conjugates its first argument)
# real-linear: np.real's rule takes the real part of the cotangent, conj's conjugates it (``numpy_rules.py``);
# and what only moves or selects values (with the compiler's identity guards, and the conversions lowering inserts)
complex_ok(np.real, np.conjugate, "attr.real", "getitem", "copy", "tuple", "list", np.where, np.reshape, np.transpose,
           "attr.T", unshared, of_type, *AS_ARRAY)
complex_ok(np.ravel, np.squeeze, np.expand_dims, np.swapaxes, np.moveaxis, np.flip,  # rules that only move values
           array_item, unitem)
# holomorphic or linear linear algebra: its rules transpose (swapaxes, never conj), as the convention wants
complex_ok(np.linalg.det, np.linalg.inv, np.linalg.solve, np.linalg.matrix_power, np.tensordot, np.einsum, np.kron,
           np.trace, np.diagonal, np.diag, np.diagflat, np.tril, np.triu, np.cross)
# What refuses a complex value runs on real values only, where its rule (real coefficients) commutes with the
# real part a real value's cotangent is taken to at the end: ``%`` raises; ``math`` and ``float`` raise on a
# Python complex and warn on a NumPy one (a ComplexWarning, an error in complex mode: ``api._no_complex_casts``).
complex_ok(*[k for k in list(VJP) if getattr(k, "__module__", None) == "math"])
complex_ok("Mod", np.remainder, float, sum)


# |z|: d|z| = Re(conj(z) dz) / |z|; 0 at z = 0 (the real rule's sign(0))
@cvjp(abs, np.absolute)
def cabs_vjp(g, ans, x): return np.real(g) * np.conj(x) / np.where(ans == 0, 1.0, ans)
@cjvp(abs, np.absolute)
def cabs_jvp(dx, ans, x): return np.real(np.conj(x) * dx) / np.where(ans == 0, 1.0, ans)


# Im z: the cotangent -i Re(g), the tangent Im(dz)
@cvjp(np.imag, "attr.imag")
def cimag_vjp(g, ans, x): return -1j * np.real(g)
@cjvp(np.imag, "attr.imag")
def cimag_jvp(dx, ans, x): return np.imag(dx)


# arg z = atan2(b, a): d arg = Im(conj(z) dz) / |z|^2, cotangent -i Re(g) conj(z) / |z|^2; 0 at z = 0
@cvjp(np.angle)
def cangle_vjp(g, ans, z, deg=False):
    r = np.real(z * np.conj(z))
    return -1j * np.real(g) * np.conj(z) / np.where(r == 0, 1.0, r) * (180.0 / np.pi if deg else 1.0)
@cjvp(np.angle)
def cangle_jvp(dz, ans, z, deg=False):
    r = np.real(z * np.conj(z))
    return np.imag(np.conj(z) * dz) / np.where(r == 0, 1.0, r) * (180.0 / np.pi if deg else 1.0)


complex_ok(abs, np.absolute, np.imag, "attr.imag", np.angle)


# The discrete Fourier transform is linear with a symmetric matrix (F[j, k] = w**(j k)), so its transpose is
# itself; ``n`` pads or cuts the input first, whose transpose cuts or pads the cotangent back (``fit_axis``).
@cvjp(np.fft.fft)
def cfft_vjp(g, ans, a, n=None, axis=-1, norm=None): return fit_axis(np.fft.fft(g, axis=axis, norm=norm),
                                                                     np.shape(a)[axis], axis)
@cjvp(np.fft.fft)
def cfft_jvp(da, ans, a, n=None, axis=-1, norm=None): return np.fft.fft(da, n, axis=axis, norm=norm)


@cvjp(np.fft.ifft)
def cifft_vjp(g, ans, a, n=None, axis=-1, norm=None): return fit_axis(np.fft.ifft(g, axis=axis, norm=norm),
                                                                      np.shape(a)[axis], axis)
@cjvp(np.fft.ifft)
def cifft_jvp(da, ans, a, n=None, axis=-1, norm=None): return np.fft.ifft(da, n, axis=axis, norm=norm)


complex_ok(np.fft.fft, np.fft.ifft)


# The real FFTs. rfft is the first m // 2 + 1 outputs of the fft of a real signal: its transpose pads the
# cotangent back to m and applies the fft's (the real part: the argument is real). irfft (complex to real) keeps
# Re(a_k e^(2 pi i k t / m)), each coefficient counted once or twice (``hermitian_weights``; NumPy ignores the
# imaginary part of the mean and the Nyquist term): the cotangent of a_k is its weight times ifft(real(g))_k.
# hfft is irfft of conj(a) with the norm's scaling swapped, ihfft conj(rfft(a)) likewise.
@cvjp(np.fft.rfft)
def crfft_vjp(g, ans, a, n=None, axis=-1, norm=None):
    return fit_axis(np.real(np.fft.fft(fit_axis(g, fft_length(a, n, axis), axis), axis=axis, norm=norm)),
                    np.shape(a)[axis], axis)
@cjvp(np.fft.rfft)
def crfft_jvp(da, ans, a, n=None, axis=-1, norm=None): return np.fft.rfft(da, n, axis=axis, norm=norm)


@cvjp(np.fft.irfft)
def cirfft_vjp(g, ans, a, n=None, axis=-1, norm=None):
    m = fft_length(a, n, axis, True)
    return fit_axis(hermitian_weights(m, axis, np.ndim(g)) * fit_axis(np.fft.ifft(np.real(g), axis=axis, norm=norm),
                                                                       m // 2 + 1, axis), np.shape(a)[axis], axis)
@cjvp(np.fft.irfft)
def cirfft_jvp(da, ans, a, n=None, axis=-1, norm=None): return np.fft.irfft(da, n, axis=axis, norm=norm)


@cvjp(np.fft.hfft)
def chfft_vjp(g, ans, a, n=None, axis=-1, norm=None):
    m = fft_length(a, n, axis, True)
    return fit_axis(hermitian_weights(m, axis, np.ndim(g)) * fit_axis(np.fft.fft(np.real(g), axis=axis, norm=norm),
                                                                       m // 2 + 1, axis), np.shape(a)[axis], axis)
@cjvp(np.fft.hfft)
def chfft_jvp(da, ans, a, n=None, axis=-1, norm=None): return np.fft.hfft(da, n, axis=axis, norm=norm)


@cvjp(np.fft.ihfft)
def cihfft_vjp(g, ans, a, n=None, axis=-1, norm=None):
    return fit_axis(np.real(np.fft.ifft(fit_axis(g, fft_length(a, n, axis), axis), axis=axis, norm=norm)),
                    np.shape(a)[axis], axis)
@cjvp(np.fft.ihfft)
def cihfft_jvp(da, ans, a, n=None, axis=-1, norm=None): return np.fft.ihfft(da, n, axis=axis, norm=norm)


# n-dimensional: a product of the 1-D transforms along ``axes``, so the transpose is the same product (the
# complex ones are symmetric), each axis fitted back to the argument's length.
@cvjp(np.fft.fftn)
def cfftn_vjp(g, ans, a, s=None, axes=None, norm=None):
    return fit_axes(np.fft.fftn(g, axes=fft_axes(a, s, axes), norm=norm), a, fft_axes(a, s, axes))
@cjvp(np.fft.fftn)
def cfftn_jvp(da, ans, a, s=None, axes=None, norm=None): return np.fft.fftn(da, s, axes=axes, norm=norm)


@cvjp(np.fft.ifftn)
def cifftn_vjp(g, ans, a, s=None, axes=None, norm=None):
    return fit_axes(np.fft.ifftn(g, axes=fft_axes(a, s, axes), norm=norm), a, fft_axes(a, s, axes))
@cjvp(np.fft.ifftn)
def cifftn_jvp(da, ans, a, s=None, axes=None, norm=None): return np.fft.ifftn(da, s, axes=axes, norm=norm)


@cvjp(np.fft.fft2)
def cfft2_vjp(g, ans, a, s=None, axes=(-2, -1), norm=None):
    return fit_axes(np.fft.fftn(g, axes=fft_axes(a, s, axes), norm=norm), a, fft_axes(a, s, axes))
@cjvp(np.fft.fft2)
def cfft2_jvp(da, ans, a, s=None, axes=(-2, -1), norm=None): return np.fft.fft2(da, s, axes=axes, norm=norm)


@cvjp(np.fft.ifft2)
def cifft2_vjp(g, ans, a, s=None, axes=(-2, -1), norm=None):
    return fit_axes(np.fft.ifftn(g, axes=fft_axes(a, s, axes), norm=norm), a, fft_axes(a, s, axes))
@cjvp(np.fft.ifft2)
def cifft2_jvp(da, ans, a, s=None, axes=(-2, -1), norm=None): return np.fft.ifft2(da, s, axes=axes, norm=norm)


# rfftn: rfft along the last axis, then fft along the others; irfftn: ifft along the others, then irfft
@cvjp(np.fft.rfftn)
def crfftn_vjp(g, ans, a, s=None, axes=None, norm=None):
    ax = fft_axes(a, s, axes)
    return fit_axes(np.real(np.fft.fftn(fit_axis(g, last_length(a, s, ax), ax[-1]), axes=ax, norm=norm)), a, ax)
@cjvp(np.fft.rfftn)
def crfftn_jvp(da, ans, a, s=None, axes=None, norm=None): return np.fft.rfftn(da, s, axes=axes, norm=norm)


@cvjp(np.fft.rfft2)
def crfft2_vjp(g, ans, a, s=None, axes=(-2, -1), norm=None):
    ax = fft_axes(a, s, axes)
    return fit_axes(np.real(np.fft.fftn(fit_axis(g, last_length(a, s, ax), ax[-1]), axes=ax, norm=norm)), a, ax)
@cjvp(np.fft.rfft2)
def crfft2_jvp(da, ans, a, s=None, axes=(-2, -1), norm=None): return np.fft.rfft2(da, s, axes=axes, norm=norm)


@cvjp(np.fft.irfftn)
def cirfftn_vjp(g, ans, a, s=None, axes=None, norm=None):
    ax = fft_axes(a, s, axes)
    m = last_length(a, s, ax, True)
    return fit_axes(hermitian_weights(m, ax[-1], np.ndim(g)) * fit_axis(
        np.fft.ifftn(np.real(g), axes=ax, norm=norm), m // 2 + 1, ax[-1]), a, ax)
@cjvp(np.fft.irfftn)
def cirfftn_jvp(da, ans, a, s=None, axes=None, norm=None): return np.fft.irfftn(da, s, axes=axes, norm=norm)


@cvjp(np.fft.irfft2)
def cirfft2_vjp(g, ans, a, s=None, axes=(-2, -1), norm=None):
    ax = fft_axes(a, s, axes)
    m = last_length(a, s, ax, True)
    return fit_axes(hermitian_weights(m, ax[-1], np.ndim(g)) * fit_axis(
        np.fft.ifftn(np.real(g), axes=ax, norm=norm), m // 2 + 1, ax[-1]), a, ax)
@cjvp(np.fft.irfft2)
def cirfft2_jvp(da, ans, a, s=None, axes=(-2, -1), norm=None): return np.fft.irfft2(da, s, axes=axes, norm=norm)


complex_ok(np.fft.rfft, np.fft.irfft, np.fft.hfft, np.fft.ihfft, np.fft.fftn, np.fft.ifftn, np.fft.fft2,
           np.fft.ifft2, np.fft.rfftn, np.fft.rfft2, np.fft.irfftn, np.fft.irfft2, fit_axis, fit_axes)
