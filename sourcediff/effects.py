"""Effects: what a call does besides returning its value, decided when the derivative is built.

Every callable that can reach generated code has one effect (``effect(fn)``):

* ``PURE``: it returns a value and writes into nothing. Every operator, every function with a
  rule or declared constant (``rules/``), user functions (their own writes are checked by the
  ``ownership`` pass), user rules, ``print``, and ``NUMPY_PURE`` (NumPy functions with no rule,
  refused by the missing-rule error whenever an active value reaches them). A pure NumPy call
  still writes when it is given an output array (``out=y``, or positionally: a ufunc's
  arguments past ``nin``): that is lowered as the call without it, then ``y[...] = value``.
* ``WRITES``: ``WRITERS[fn]`` is (argument written, how): modelled as an in-place write
  ``a[index] = value`` (the ``ownership`` pass then requires ``a`` to be owned) or refused.
* ``UNKNOWN``: anything else. Reaching it with an active value is refused (no rule); a call of
  one as a statement of its own is refused where it could write into a local value it is
  given; a bound method of a global array, list, dict or set is refused unless it is one of
  ``lower.METHODS`` (it may write into its receiver).

Methods of local values are an allow-list: ``lower.METHODS`` (pure, lowered to their NumPy
function) and ``METHOD_WRITES`` (``append``/``pop`` are list steps; ``sort``/``fill`` write
their receiver and are lowered to ``y[...] = np.sort(y)`` (an array; ``of_type`` refuses a
list when the call runs) / ``y[...] = v``).

Before::                          After (lowered)::
    np.add(a, b, out=y)               t0 = np.add(a, b)
    np.copyto(y, x)                   y[...] = t0
    y.sort()                          y[...] = x
                                      t1 = of_type(y, np.ndarray, y_sort_error)
                                      t2 = np.sort(t1)
                                      y[...] = t2
"""
import functools
import inspect

import numpy as np

from . import primitives as P
from .neutral import hashable as _hashable
from .rules import registry as R

PURE, WRITES, UNKNOWN = "pure", "writes", "unknown"

# NumPy functions and builtins with no rule that write into nothing: an active value reaching one is
# refused (no derivative rule); otherwise the primal runs. ``arange`` is here, not a constant: its
# values move with a float start or step.
NUMPY_PURE = P.keys(P.WRITES_NOTHING)
INDEX_TRICKS = tuple({type(np.r_), type(np.c_), type(np.mgrid), type(np.ogrid)})

# callable -> (position of the argument it writes, name of its lowering in ``Lower``, or None: refused)
WRITERS = P.table(P.WRITES)

# methods of a local value that write into it (its receiver, argument 0): how each is lowered
METHOD_WRITES = P.by_name(P.METHOD_WRITES)
SORT_KEYWORDS = {"axis", "kind"}
MUTABLE = (np.ndarray, list, dict, set, bytearray)


def index_trick(obj, *items):
    """``obj[items]`` for NumPy's index objects (``np.c_[a, b]``, ``np.mgrid[0:1:5j]``): values built
    from the items, with no rule."""
    return obj[items if len(items) != 1 else items[0]]


index_trick.sd_what = "np.r_/np.c_/np.mgrid/np.ogrid indexed with values"


def bound(func, base, obj):
    """The name generated code reads ``obj`` under (a located error, an index object), named after the
    user's function: every function a derivative reaches shares one namespace of bindings."""
    from .names import load
    return load(func.bind_value("%s_%s" % (getattr(func.fn, "__name__", "f"), base), obj))


def effect(fn):
    """``PURE``, ``WRITES`` or ``UNKNOWN`` for a resolved callee."""
    from .user import CHECKPOINT, USER_JVP, USER_VJP, is_user_function
    if not _hashable(fn):
        return UNKNOWN
    if fn in WRITERS:
        return WRITES
    if R.lookup(R.VJP, fn) or R.lookup(R.JVP, fn) or R.is_nondiff(fn) or fn in USER_VJP or fn in USER_JVP \
            or fn in NUMPY_PURE or fn is index_trick or isinstance(fn, (CHECKPOINT, np.ufunc)) or is_user_function(fn):
        return PURE
    return UNKNOWN


def writes_receiver(fn):
    """Is ``fn`` a bound method of a value that can be written into (an array, list, dict, set)?"""
    return isinstance(getattr(fn, "__self__", None), MUTABLE)


@functools.lru_cache(maxsize=None)
def _out_position(fn):
    if isinstance(fn, np.ufunc):
        return fn.nin
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return OUT_POSITION.get(getattr(fn, "__name__", None))
    p = params.get("out")
    if p is None or p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
        return None
    return list(params).index("out")


# where NumPy's C functions without an introspectable signature (NumPy 1.x) take ``out``
OUT_POSITION = P.by_name(P.OUT)


def numpy_callable(fn):
    """Is ``fn`` a NumPy function or ufunc (whose ``out`` parameter is an output array)?"""
    return isinstance(fn, np.ufunc) or (getattr(fn, "__module__", None) or "").startswith("numpy")


def out_position(fn):
    """Index of the positional parameter through which ``fn`` writes its result (None: none)."""
    return _out_position(fn) if _hashable(fn) else None
