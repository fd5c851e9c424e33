"""Other array types in the runtime helpers: Dask, CuPy, any class with NumPy's dispatch protocols.

Generated code calls ``np.`` functions, which ``__array_function__`` / ``__array_ufunc__`` send to
the argument's own library; the helpers here let the runtime helpers do the same where they make
an array from a shape: a "foreign" array's zeros come from ``np.zeros_like`` (dispatched, so a Dask
array gets lazy zeros in its own chunks, a CuPy array zeros on its device), never from
``np.zeros`` (a NumPy array in host memory, which a Dask graph would have to carry whole).
"""
import numpy as np

_NUMPY = (np.ndarray, np.generic, float, int, bool, complex)


def foreign(x):
    """Is ``x`` an array of another library (not a NumPy array or scalar, not a Python number)
    that implements NumPy's ``__array_function__`` dispatch?"""
    return not isinstance(x, _NUMPY) and hasattr(type(x), "__array_function__") and hasattr(x, "shape")


def float_dtype(dtype):
    """``dtype`` where it is a float or complex type, else float64 (an integer array's derivative)."""
    return dtype if np.dtype(dtype).kind in "fc" else np.dtype(np.float64)


def zeros_as(x, shape=None, dtype=None):
    """Zeros of ``x``'s array type (and chunks or device), of ``shape`` (``x``'s own by default) and
    a float ``dtype`` (``x``'s when it is a float type)."""
    dtype = float_dtype(x.dtype if dtype is None else dtype)
    if shape is None or tuple(shape) == tuple(x.shape):
        return np.zeros_like(x, dtype=dtype)
    return np.zeros_like(x, dtype=dtype, shape=shape)


def spread(g, x):
    """``g`` broadcast over the shape of ``x`` as an array of the foreign type of ``x`` or ``g``
    (a Dask array keeps the chunks of ``x``): zeros of that type plus ``g``."""
    if foreign(x):
        ref, shape, base = x, None, float_dtype(x.dtype)
    else:
        ref, shape, base = g, np.shape(x), np.float64
    return zeros_as(ref, shape, np.result_type(base, getattr(g, "dtype", np.float64))) + g


def concrete(value):
    """``value`` (a result of a differential operator: numbers, arrays, tuples of them) with every
    Dask collection in it computed, all in one ``dask.compute`` call so shared work is done once;
    other values as they are."""
    if not _has_dask(value):
        return value
    import dask
    return dask.compute(value)[0]


def _has_dask(v):
    if isinstance(v, (tuple, list)):
        return any(_has_dask(e) for e in v)
    if isinstance(v, dict):
        return any(_has_dask(e) for e in v.values())
    return hasattr(v, "__dask_graph__") and v.__dask_graph__() is not None
