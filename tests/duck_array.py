"""A minimal array type of its own, implementing only NumPy's dispatch protocols, for the neutrality tests.

``Duck`` wraps a NumPy array; ``np.`` functions and ufuncs reach it through ``__array_function__`` and
``__array_ufunc__`` and give ``Duck`` results. It refuses ``np.asarray`` / ``np.array`` (``__array__``
raises), so any helper that pulls user data into a NumPy array fails loudly instead of passing quietly.
"""
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin


class ConversionError(TypeError):
    """Raised where something converts a Duck array into a NumPy array."""


def unwrap(v):
    if isinstance(v, Duck):
        return v.a
    if isinstance(v, (list, tuple)):
        return type(v)(unwrap(e) for e in v)
    if isinstance(v, dict):
        return {k: unwrap(e) for k, e in v.items()}
    return v


def wrap(v):
    if isinstance(v, np.ndarray):
        return Duck(v)
    if isinstance(v, np.generic) and v.dtype.kind in "biufc":  # a reduction's number: a 0-d Duck, as CuPy gives
        return Duck(np.asarray(v))
    if isinstance(v, tuple):
        return tuple(wrap(e) for e in v)
    if isinstance(v, list):
        return [wrap(e) for e in v]
    return v


class Duck(NDArrayOperatorsMixin):
    """An array that only NumPy's dispatch protocols make work with ``np.`` functions."""
    __slots__ = ("a",)

    def __init__(self, a):
        if isinstance(a, Duck):
            a = a.a
        if not isinstance(a, np.ndarray):
            a = np.array(a)
        self.a = a

    def __array__(self, dtype=None, copy=None):
        raise ConversionError("a Duck array was converted to a NumPy array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        if "out" in kw:
            kw["out"] = unwrap(kw["out"])
        out = getattr(ufunc, method)(*unwrap(inputs), **kw)
        return wrap(out) if method != "at" else None

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (Duck, np.ndarray)) for t in types):
            return NotImplemented
        if "like" in kwargs:
            kwargs = dict(kwargs, like=np.empty(0))
        return wrap(func(*unwrap(args), **unwrap(kwargs)))

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)
    T = property(lambda self: Duck(self.a.T))

    def __len__(self):
        return len(self.a)

    def __iter__(self):
        return (wrap(e) for e in self.a)

    def __getitem__(self, idx):
        return wrap(self.a[unwrap(idx)])

    def __setitem__(self, idx, v):
        self.a[unwrap(idx)] = unwrap(v)

    def __float__(self):
        return float(self.a)

    def __bool__(self):
        return bool(self.a)

    def __repr__(self):
        return "Duck(%r)" % (self.a,)

    def copy(self):
        return Duck(self.a.copy())

    def reshape(self, *shape):
        return Duck(self.a.reshape(*shape))

    def astype(self, dtype):
        return Duck(self.a.astype(dtype))

    def sum(self, *args, **kw):
        return wrap(self.a.sum(*args, **kw))


def host(v):
    """A Duck array's (or a structure of them) NumPy data, for comparisons in the tests."""
    return unwrap(v)
