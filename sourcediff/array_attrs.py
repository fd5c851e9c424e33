"""The attributes of an array that lowering reads as such (``x.T``, ``x.shape``); the runtime refuses a
structured value that has one of them. Its own module so that the runtime need not import the compiler."""
import numpy as np

ATTRS = {"T": np.transpose, "real": np.real, "imag": np.imag}  # -> the NumPy function that differentiates it
if hasattr(np, "matrix_transpose"):
    ATTRS["mT"] = np.matrix_transpose
# constant attributes (integers, a dtype); any other attribute of a differentiated value is refused
NONDIFF_ATTRS = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides", "imag"}
