"""Helpers of the FFT rules (``complex_rules.py``): which axes and lengths a transform works with, fitting a
cotangent back to its argument's length, and the weights of a real signal's stored Fourier coefficients."""
import numpy as np

from .combinators import linear
from .helpers import fit_axis
from .registry import nondiff


def fit_axes(x, a, axes):
    """``x`` cut or zero-padded to ``a``'s length along each of ``axes``: the transpose of fitting ``a`` to ``x``."""
    for axis in axes:
        x = fit_axis(x, np.shape(a)[axis], axis)
    return x


def fft_axes(a, s=None, axes=None):
    """The axes an n-dimensional FFT of ``a`` works along (``s`` alone: its last ``len(s)``; neither: all), or a
    located refusal where one is named twice (NumPy then transforms it twice, each time fitted to ``s``)."""
    if axes is None:
        axes = range(np.ndim(a)) if s is None else range(-len(s), 0)
    axes = tuple(int(k) for k in axes)
    if len({k % max(np.ndim(a), 1) for k in axes}) != len(axes):
        from ..runtime import refusal
        raise refusal("an n-dimensional FFT in {f} along an axis named twice has no derivative rule")
    return axes


def fft_length(a, n, axis, half=False):
    """The transform length of a 1-D FFT along ``axis``: ``n``, or else ``a``'s length there (``half``: the
    length of the real signal an inverse real FFT makes, ``2 (m - 1)``)."""
    if n is not None:
        return int(n)
    return 2 * (np.shape(a)[axis] - 1) if half else np.shape(a)[axis]


def last_length(a, s, axes, half=False):
    """``fft_length`` of the last of ``axes`` of an n-dimensional real FFT (``s[-1]`` where ``s`` is given)."""
    return fft_length(a, None if s is None else s[-1], axes[-1], half)


def hermitian_weights(m, axis, ndim):
    """How many times each of the ``m // 2 + 1`` stored coefficients of a real signal of length ``m`` counts in
    it (1 for the mean and, ``m`` even, the Nyquist term; 2 for the others, which stand for their conjugate
    too), shaped to broadcast along ``axis`` of an ``ndim``-dimensional array."""
    w = np.full(m // 2 + 1, 2.0)
    w[0] = 1.0
    if m % 2 == 0:
        w[-1] = 1.0
    shape = [1] * ndim
    shape[axis] = m // 2 + 1
    return np.reshape(w, shape)


nondiff(fft_axes, fft_length, last_length, hermitian_weights)


@linear(fit_axis)
def fit_axis_vjp(g, ans, x, m, axis): return fit_axis(g, np.shape(x)[axis], axis)

@linear(fit_axes)
def fit_axes_vjp(g, ans, x, a, axes): return fit_axes(g, x, axes)
