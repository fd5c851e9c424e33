"""``x.item(*index)`` and ``x.tolist()`` (lowered to the helpers below by ``lower_calls.to_python``): an array's
elements as Python numbers, each differentiated like an element of a list."""
import numpy as np

from .combinators import linear
from .helpers import broadcast_like
from .registry import jvp, nondiff, structured, vjp


def array_item(x, index=()):
    """``x.item(*index)``: a NumPy array's (or scalar's) element as a Python number."""
    return x.item(*index)


def item_position(x, index=()):
    """The flat position ``x.item(*index)`` reads (NumPy's own indexing of ``item``, errors included)."""
    return np.reshape(np.arange(np.size(x)), np.shape(x)).item(*index)


def unitem(g, x, index=()):
    """The adjoint of ``x.item(*index)``: ``g`` at the position it read, zeros elsewhere."""
    out = np.zeros(np.size(x), dtype=np.result_type(g, np.float64))
    out[item_position(x, index)] = g
    return np.reshape(out, np.shape(x))


def array_tolist(x):
    """``x.tolist()``: a NumPy array as nested lists of Python numbers."""
    return x.tolist()


def untolist(h, x):
    """The adjoint of ``x.tolist()``: the nested list adjoint ``h`` (its sparse zeros included) as an array shaped
    like ``x``."""
    if isinstance(h, (list, tuple)):
        x = np.asarray(x)
        return np.reshape(np.array([untolist(e, x[i]) for i, e in enumerate(h)]) + 0.0, np.shape(x))
    return broadcast_like(h, x)


structured(array_tolist, untolist)
nondiff(item_position)


@vjp(array_item)
def array_item_vjp(g, ans, x, index=()): return unitem(g, x, index)
@jvp(array_item)
def array_item_jvp(dx, ans, x, index=()): return array_item(broadcast_like(dx, x), index)

@linear(unitem)
def unitem_vjp(h, ans, g, x, index=()): return array_item(h, index)

@vjp(array_tolist)
def array_tolist_vjp(g, ans, x): return untolist(g, x)
@jvp(array_tolist)
def array_tolist_jvp(dx, ans, x): return array_tolist(broadcast_like(dx, x))

@linear(untolist)
def untolist_vjp(k, ans, h, x): return array_tolist(k)
