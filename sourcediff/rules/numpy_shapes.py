"""NumPy rules: shapes and copies, constructors, joining and splitting, indexing, sorting and differences.

See ``numpy_rules.py`` for the conventions the NumPy rules share."""

import numpy as np

from ..runtime import unbroadcast
from .combinators import linear, self_adjoint
from .helpers import (PAD_COPY_MODES, broadcast_like, fill_pieces, if_inexact, join_like, pad_mode, repeat_index,
                      rollaxis_dest, spaced_fraction, spaced_like, split_like, tile_split_shape, tile_sum_axes, undiff,
                      unpad, unstack, untake, untake_along_axis)
from .numpy_rules import AS_ARRAY, _opt
from .registry import checked, jvp, structured, vjp

# --- shapes and copies ---------------------------------------------------------------------------

@vjp(np.reshape)
def reshape_vjp(g, ans, a, shape=None, order="C"):  # no order= where it is C's: Dask's reshape takes none
    return np.reshape(g, np.shape(a)) if order == "C" else np.reshape(g, np.shape(a), order=order)


@jvp(np.reshape)
def reshape_jvp(da, ans, a, shape=None, order="C"):
    return np.reshape(da, np.shape(ans)) if order == "C" else np.reshape(da, np.shape(ans), order=order)


@linear(np.ravel, kwargs=("order",))
def ravel_vjp(g, ans, a, order="C"):
    return np.reshape(g, np.shape(a)) if order == "C" else np.reshape(g, np.shape(a), order=order)


@linear(np.transpose)
def transpose_vjp(g, ans, a, axes=None): return np.transpose(g, None if axes is None else np.argsort(axes))

self_adjoint((_opt("matrix_transpose"), _opt("linalg.matrix_transpose")), lambda d, ans, x: np.matrix_transpose(d))
self_adjoint(np.swapaxes, lambda d, ans, a, axis1, axis2: np.swapaxes(d, axis1, axis2))

@linear(np.moveaxis)
def moveaxis_vjp(g, ans, a, source, destination): return np.moveaxis(g, destination, source)

@linear(np.rollaxis)
def rollaxis_vjp(g, ans, a, axis, start=0): return np.moveaxis(g, rollaxis_dest(a, axis, start), axis)

@linear(np.expand_dims)
def expand_dims_vjp(g, ans, a, axis): return np.reshape(g, np.shape(a))

@linear(np.squeeze)
def squeeze_vjp(g, ans, a, axis=None): return np.reshape(g, np.shape(a))

@vjp(np.broadcast_to)
def broadcast_to_vjp(g, ans, array, shape, subok=False): return unbroadcast(g, array)
@jvp(np.broadcast_to)
def broadcast_to_jvp(darray, ans, array, shape, subok=False): return broadcast_like(darray, ans)

# Array-likes pass through: the adjoint is g in the input's shape.
@vjp(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_vjp(g, ans, a): return np.reshape(g, np.shape(a))
@jvp(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_jvp(da, ans, a): return np.reshape(da, np.shape(ans))

@vjp(*AS_ARRAY)
def asarray_vjp(g, ans, a, dtype=None, order=None): return np.reshape(if_inexact(g, ans), np.shape(a))
@jvp(*AS_ARRAY)
def asarray_jvp(da, ans, a, dtype=None, order=None):
    return if_inexact(np.reshape(np.array(da, dtype=np.result_type(ans, np.float64)), np.shape(ans)), ans)

# --- constructors whose values are the float arguments (or move with them) --------------------

@vjp(np.full)
def full_vjp(g, ans, shape, fill_value, dtype=None, order="C"): return None, unbroadcast(if_inexact(g, ans), fill_value)
@jvp(np.full)
def full_jvp(dshape, dfill_value, ans, shape, fill_value, dtype=None, order="C"):
    return None, if_inexact(broadcast_like(dfill_value, ans), ans)

@vjp(np.full_like)
def full_like_vjp(g, ans, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    return None, unbroadcast(if_inexact(g, ans), fill_value)
@jvp(np.full_like)
def full_like_jvp(da, dfill_value, ans, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    return None, if_inexact(broadcast_like(dfill_value, ans), ans)

# linspace is start + (stop - start) * t for the fractions t (spaced_fraction), along axis
@vjp(np.linspace)
def linspace_vjp(g, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis, retstep)
    h = if_inexact(g, ans)
    return unbroadcast(np.sum(h * (1.0 - t), axis=axis), start), unbroadcast(np.sum(h * t, axis=axis), stop)
@jvp(np.linspace)
def linspace_jvp(dstart, dstop, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis, retstep)
    return (if_inexact(broadcast_like(spaced_like(dstart, ans, axis) * (1.0 - t), ans), ans),
            if_inexact(broadcast_like(spaced_like(dstop, ans, axis) * t, ans), ans))

# geomspace is start * (stop / start) ** t: d/dstart = ans (1 - t) / start, d/dstop = ans t / stop
@vjp(np.geomspace)
def geomspace_vjp(g, ans, start, stop, num=50, endpoint=True, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis)
    h = if_inexact(g, ans) * ans
    return (unbroadcast(np.sum(h * (1.0 - t), axis=axis) / start, start),
            unbroadcast(np.sum(h * t, axis=axis) / stop, stop))
@jvp(np.geomspace)
def geomspace_jvp(dstart, dstop, ans, start, stop, num=50, endpoint=True, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis)
    return (if_inexact(spaced_like(dstart / start, ans, axis) * (1.0 - t) * ans, ans),
            if_inexact(spaced_like(dstop / stop, ans, axis) * t * ans, ans))

# logspace is base ** y, y = linspace(start, stop): d/dy = ans log(base), d/dbase = ans y / base
@vjp(np.logspace)
def logspace_vjp(g, ans, start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    t = spaced_fraction(ans, num, endpoint, axis)
    h = if_inexact(g, ans) * ans
    y = np.linspace(start, stop, num, endpoint, axis=axis)
    return (unbroadcast(np.sum(h * (1.0 - t), axis=axis) * np.log(base), start),
            unbroadcast(np.sum(h * t, axis=axis) * np.log(base), stop), None, None,
            unbroadcast(np.sum(h * y, axis=axis) / base, base))
@jvp(np.logspace)
def logspace_jvp(dstart, dstop, dnum, dendpoint, dbase, ans, start, stop, num=50, endpoint=True, base=10.0, dtype=None,
                 axis=0):
    t = spaced_fraction(ans, num, endpoint, axis)
    y = np.linspace(start, stop, num, endpoint, axis=axis)
    return (if_inexact(spaced_like(dstart * np.log(base), ans, axis) * (1.0 - t) * ans, ans),
            if_inexact(spaced_like(dstop * np.log(base), ans, axis) * t * ans, ans), None, None,
            if_inexact(spaced_like(dbase / base, ans, axis) * y * ans, ans))

@linear(np.concatenate, args=(), kwargs=("axis",))
def concatenate_vjp(g, ans, arrays, axis=0, out=None, dtype=None): return split_like(g, arrays, axis)

@linear(np.stack, args=(), kwargs=("axis",))
def stack_vjp(g, ans, arrays, axis=0, out=None, dtype=None): return unstack(g, axis)

@linear(_opt("unstack"), kwargs=("axis",))
def unstack_np_vjp(g, ans, x, axis=0): return np.stack(fill_pieces(g, ans), axis=axis)

@linear(np.hstack)
def hstack_vjp(g, ans, tup): return split_like(g, tup, 0 if np.ndim(g) == 1 else 1)

@linear((np.vstack, _opt("row_stack")))  # row_stack: vstack's deprecated alias, a function of its own in NumPy 2
def vstack_vjp(g, ans, tup): return split_like(g, tup, 0)

@linear(np.column_stack)
def column_stack_vjp(g, ans, tup): return split_like(g, tup, 1)

@linear(np.dstack)
def dstack_vjp(g, ans, tup): return split_like(g, tup, 2)

structured(*[k for k in (np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit, _opt("unstack")) if k])  # lists


@linear((np.split, np.array_split), kwargs=("axis",), fn="np.array_split")
def split_vjp(g, ans, ary, indices_or_sections, axis=0): return join_like(fill_pieces(g, ans), ary, axis)

@linear(np.hsplit)
def hsplit_vjp(g, ans, ary, indices_or_sections):
    return join_like(fill_pieces(g, ans), ary, 0 if np.ndim(ary) == 1 else 1)

@linear(np.vsplit)
def vsplit_vjp(g, ans, ary, indices_or_sections): return join_like(fill_pieces(g, ans), ary, 0)

@linear(np.dsplit)
def dsplit_vjp(g, ans, ary, indices_or_sections): return join_like(fill_pieces(g, ans), ary, 2)

@linear(np.repeat, kwargs=("axis",))
def repeat_vjp(g, ans, a, repeats, axis=None): return untake(g, repeat_index(a, repeats, axis), a, axis)

@linear(np.tile)
def tile_vjp(g, ans, A, reps):
    return np.reshape(np.sum(np.reshape(g, tile_split_shape(A, reps)), axis=tile_sum_axes(A, reps)), np.shape(A))

self_adjoint(np.flip, lambda d, ans, m, axis=None: np.flip(d, axis))
self_adjoint(np.fliplr, lambda d, ans, m: np.fliplr(d))
self_adjoint(np.flipud, lambda d, ans, m: np.flipud(d))

@linear(np.roll)
def roll_vjp(g, ans, a, shift, axis=None): return np.roll(g, np.negative(shift), axis)

@linear(np.rot90)
def rot90_vjp(g, ans, m, k=1, axes=(0, 1)): return np.rot90(g, -k, axes)

def _pad_refusal(literal, given):
    """A literal ``mode`` that computes the padding (``mean``, ``linear_ramp``, ...) or an odd reflection."""
    mode, kind = literal.get("mode", "constant"), literal.get("reflect_type", "even")
    if mode not in PAD_COPY_MODES or kind != "even":
        return "np.pad with mode=%r, reflect_type=%r has no derivative rule (rules: the modes that copy values)" \
            % (mode, kind)


# constant_values (and other pad options) are constants here
@vjp(np.pad)
@checked(_pad_refusal)
def pad_vjp(g, ans, array, pad_width, mode="constant", constant_values=0, reflect_type="even"):
    return unpad(g, array, pad_width, mode, reflect_type)
@jvp(np.pad)
@checked(_pad_refusal)
def pad_jvp(darray, ans, array, pad_width, mode="constant", constant_values=0, reflect_type="even"):
    return np.pad(darray, pad_width, mode=pad_mode(mode, reflect_type))

@vjp(np.sort)
def sort_vjp(g, ans, a, axis=-1, kind=None, order=None): return untake_along_axis(g, np.argsort(a, axis=axis), a, axis)
@jvp(np.sort)
def sort_jvp(da, ans, a, axis=-1, kind=None, order=None):
    return np.take_along_axis(da, np.argsort(a, axis=axis), axis=axis)

@vjp(np.take)
def take_vjp(g, ans, a, indices, axis=None, out=None, mode="raise"): return untake(g, indices, a, axis)
@jvp(np.take)
def take_jvp(da, ans, a, indices, axis=None, out=None, mode="raise"):  # no axis=None: Dask's take takes none
    return np.take(da, indices) if axis is None else np.take(da, indices, axis=axis)

@linear(np.take_along_axis, kwargs=("axis",))
def take_along_axis_vjp(g, ans, arr, indices, axis=-1): return untake_along_axis(g, indices, arr, axis)

@linear(np.compress, args=(), kwargs=("axis",))
def compress_vjp(g, ans, condition, a, axis=None, out=None): return None, untake(g, np.flatnonzero(condition), a, axis)

@linear(np.extract)
def extract_vjp(g, ans, condition, arr): return None, untake(g, np.flatnonzero(condition), arr, None)

@linear(np.delete, kwargs=("axis",))
def delete_vjp(g, ans, arr, obj, axis=None): return untake(g, np.delete(repeat_index(arr, 1, axis), obj), arr, axis)

def _ends_refusal(literal, given):
    """Values put before or after the differences (their own derivative has no rule)."""
    ends = [p for p in ("prepend", "append", "to_end", "to_begin") if p in given and literal.get(p, 0) is not None]
    if ends:
        return "`%s` has no derivative rule here" % ends[0]


@linear(np.diff, args=(), kwargs=("n", "axis"))
@checked(_ends_refusal)
def diff_vjp(g, ans, a, n=1, axis=-1, prepend=None, append=None): return undiff(g, n, axis, prepend, append)

@linear(np.ediff1d, args=())
@checked(_ends_refusal)
def ediff1d_vjp(g, ans, ary, to_end=None, to_begin=None):
    return np.reshape(undiff(g, 1, -1, to_begin, to_end), np.shape(ary))
