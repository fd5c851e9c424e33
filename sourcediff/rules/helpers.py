"""Helpers that derivative rules call by plain name, each with its own rules.

Generated reverse code calls these helpers, and ``sd.hessian`` runs forward
mode over that code, so every helper here has a JVP rule (and a VJP rule, so
reverse-over-reverse works too) or is declared ``nondiff`` (it returns only
shapes, indices or strings). Helper names are unique across rule modules
because they are bound by name into generated code.

Sequence conventions: the adjoint (and tangent) of a sequence of arrays, such
as ``concatenate``'s first argument or ``split``'s result, is a tuple holding
one array per element.
"""
import math
import string

import numpy as np

from ..duck import foreign, spread
from ..runtime import not_broadcast, unbroadcast
from .combinators import elementwise, linear
from .registry import jvp, nondiff, structured, vjp


def broadcast_like(g, x):
    """``g`` broadcast to the shape of ``x`` as a fresh array; ``g`` itself when shapes match."""
    xs = np.shape(x)
    if np.shape(g) == xs:
        return g
    if isinstance(g, (list, tuple)):  # the tangent of a list or tuple that `+` joined or `*` repeated
        not_broadcast(np.shape(g), xs)
    if foreign(x) or foreign(g):  # another library's zeros (Dask: lazy, in the chunks of x)
        return spread(g, x)
    return np.zeros(xs, dtype=np.result_type(g, np.float64)) + g


def _promoted(g, x, y):
    """``g, x, y`` with 1-D operands made matrices (x a row, y a column), as matmul treats them."""
    x2 = np.expand_dims(x, 0) if np.ndim(x) == 1 else x
    y2 = np.expand_dims(y, -1) if np.ndim(y) == 1 else y
    g2 = np.expand_dims(g, -1) if np.ndim(y) == 1 else g
    return (np.expand_dims(g2, -2) if np.ndim(x) == 1 else g2), x2, y2


def _zero_marker(g, x, y, other):
    """Is ``other`` (an operand standing for a tangent or adjoint) or ``g`` the bare 0.0 of a zero, not a value
    ``x @ y`` could take or give? matmul takes no 0-d operand, and gives a 0-d result only for two vectors."""
    return np.ndim(other) == 0 or np.ndim(g) == 0 and not (np.ndim(x) == 1 and np.ndim(y) == 1)


def matmul_dx(g, x, y):
    """The adjoint of ``x`` in ``x @ y`` given the result's adjoint ``g`` (matmul's rank rules)."""
    if getattr(x, "ndim", 0) == 2 and getattr(y, "ndim", 0) == 2 and getattr(g, "ndim", 0) == 2:
        return np.matmul(g, y.T)  # the common case: plain matrices
    if _zero_marker(g, x, y, y):
        return broadcast_like(0.0, x)
    g2, x2, y2 = _promoted(g, x, y)
    return np.reshape(unbroadcast(np.matmul(g2, np.swapaxes(y2, -1, -2)), x2), np.shape(x))


def matmul_dy(g, x, y):
    """The adjoint of ``y`` in ``x @ y`` given the result's adjoint ``g`` (matmul's rank rules)."""
    if getattr(x, "ndim", 0) == 2 and getattr(y, "ndim", 0) == 2 and getattr(g, "ndim", 0) == 2:
        return np.matmul(x.T, g)
    if _zero_marker(g, x, y, x):
        return broadcast_like(0.0, y)
    g2, x2, y2 = _promoted(g, x, y)
    return np.reshape(unbroadcast(np.matmul(np.swapaxes(x2, -1, -2), g2), y2), np.shape(y))


def matmul2d(x, y):
    """``x @ y`` for two 2-D arrays: what ``reverse`` differentiates a matmul as in a derivative
    specialised to shapes that say so (its rule needs none of matmul's rank cases)."""
    return x @ y


def keepdims_shape(x, axis=None):
    """The shape of a reduction of ``x`` over ``axis`` with ``keepdims=True``."""
    shape = x.shape if type(x) is np.ndarray else np.shape(x)
    if axis is None:
        return (1,) * len(shape)
    if type(axis) is int and shape:
        a = axis % len(shape)
        return shape[:a] + (1,) + shape[a + 1:]
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = {a % len(shape) for a in axes}
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def expand_reduced(g, x, axis=None, keepdims=False):
    """Expand ``g``, the adjoint of a reduction of ``x`` over ``axis``, back to ``x``'s shape.

    A large result is a read-only view (generated code never writes into adjoints); a small one
    (up to 4096 elements) a fresh copy, which costs less than ``np.broadcast_to``'s set-up.
    """
    shape = x.shape if type(x) is np.ndarray else np.shape(x)
    arr = type(g) is np.ndarray
    if not keepdims and axis is not None:  # after a full reduction g is a number: it broadcasts as it is
        g = g.reshape(keepdims_shape(x, axis)) if arr else np.reshape(g, keepdims_shape(x, axis))
    if foreign(x):  # another library's array, lazy and in the chunks of x for Dask
        return spread(g, x)
    if math.prod(shape) > 4096 or foreign(g):
        return np.broadcast_to(g, shape)
    out = np.empty(shape, g.dtype if arr else np.result_type(g))
    out[...] = g
    return out


def split_like(g, xs, axis=0):
    """Cut ``g`` along ``axis`` into pieces shaped like the arrays of ``xs`` (the adjoint of a join).

    An element of lower rank than ``g`` (a 1-D piece of ``vstack``) spans one slot of ``axis``;
    ``axis=None`` cuts the flattened ``g`` (``concatenate(..., axis=None)``).
    """
    if axis is None:
        g, axis = np.ravel(g), 0
        sizes = [np.size(x) for x in xs]
    else:
        sizes = [np.shape(x)[axis] if np.ndim(x) == np.ndim(g) else 1 for x in xs]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis) if not foreign(g) else _cut(g, sizes, axis)
    return tuple(np.reshape(p, np.shape(x)) for p, x in zip(pieces, xs))


def _cut(g, sizes, axis):
    """``np.split`` by slicing, for array types without it (Dask: a lazy slice per piece)."""
    lead, ends = (slice(None),) * (axis % np.ndim(g)), np.cumsum([0] + list(sizes))
    return [g[lead + (slice(int(a), int(b)),)] for a, b in zip(ends[:-1], ends[1:])]


def join_like(hs, g, axis=0):
    """Inverse of ``split_like``: glue the pieces ``hs`` back into an array shaped like ``g``."""
    if axis is None:
        return np.reshape(np.concatenate([np.ravel(h) for h in hs]), np.shape(g))
    nd = np.ndim(g)
    rest = [s for i, s in enumerate(np.shape(g)) if i != axis % nd]
    pieces = [h if np.ndim(h) == nd else np.expand_dims(np.reshape(h, rest), axis) for h in hs]
    return np.reshape(np.concatenate(pieces, axis=axis), np.shape(g))


def undiagonal(g, x, offset=0, axis1=0, axis2=1):
    """The adjoint of ``np.diagonal(x, offset, axis1, axis2)``: ``g`` written onto that diagonal of zeros."""
    out = np.zeros(np.shape(x), dtype=np.result_type(g, np.float64))
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    n1, n2 = view.shape[-2:]
    i = np.arange(max(0, -offset), min(n1, n2 - offset))
    view[..., i, i + offset] = g
    return out


def unstack(g, axis=0):
    """The pieces of ``g`` along ``axis``, as a tuple (the adjoint of ``stack``)."""
    return tuple(np.moveaxis(g, axis, 0))


def fill_pieces(hs, xs):
    """A list/tuple adjoint with its sparse zeros (a 0.0 entry, or 0.0 for all of it) made zero arrays
    shaped like the pieces ``xs``, as ``np.stack`` and ``join_like`` need them."""
    hs = hs if isinstance(hs, (list, tuple)) else [hs] * len(xs)
    return tuple(broadcast_like(h, x) for h, x in zip(hs, xs))


def fanout(g, xs):
    """The adjoint of ``sum(xs)``: ``g`` for every element of a list/tuple, or broadcast over an array's first axis."""
    if isinstance(xs, (list, tuple)):
        return tuple(g for _ in xs)
    return broadcast_like(g, xs)


def fanin(hs, g):
    """Transpose of ``fanout``: sum the pieces back to ``g``'s shape."""
    if isinstance(hs, (list, tuple)):
        return unbroadcast(sum(hs), g)
    return unbroadcast(hs, g)


def hypot_seq(xs):
    """``math.hypot(*xs)``: lowering gives ``math.hypot`` of other than two values (and ``math.dist``) one sequence."""
    return math.hypot(*xs)


def scaled(xs, c):
    """Each number of the sequence ``xs`` times ``c``, as a tuple (the zero marker 0.0 stays 0.0)."""
    if isinstance(xs, float):
        return 0.0
    return tuple(x * c for x in xs)


def dotted(xs, ys):
    """The sum of the products of two sequences of numbers (0.0 where either is the zero marker)."""
    if isinstance(xs, float) or isinstance(ys, float):
        return 0.0
    return sum(x * y for x, y in zip(xs, ys))


structured(split_like, unstack, fill_pieces, fanout, scaled)  # they return tuples and lists of pieces


def untake(g, indices, x, axis=None):
    """The adjoint of ``np.take(x, indices, axis)``: scatter-add ``g`` into zeros shaped like ``x``."""
    dtype = np.result_type(g, np.float64)
    if axis is None:
        out = np.zeros(np.size(x), dtype=dtype)
        np.add.at(out, indices, g)
        return np.reshape(out, np.shape(x))
    axis = axis % np.ndim(x)
    out = np.zeros(np.shape(x), dtype=dtype)
    k = np.ndim(indices)
    gm = np.moveaxis(g, list(range(axis, axis + k)), list(range(k)))
    np.add.at(np.moveaxis(out, axis, 0), indices, gm)
    return out


def untake_along_axis(g, indices, x, axis=-1):
    """The adjoint of ``np.take_along_axis(x, indices, axis)`` (scatter-add)."""
    dtype = np.result_type(g, np.float64)
    if axis is None:
        out = np.zeros(np.size(x), dtype=dtype)
        np.add.at(out, indices, g)
        return np.reshape(out, np.shape(x))
    out = np.zeros(np.shape(x), dtype=dtype)
    grid = list(np.indices(np.shape(indices), sparse=True))
    grid[axis] = indices
    np.add.at(out, tuple(grid), g)
    return out


PAD_COPY_MODES = ("constant", "edge", "reflect", "symmetric", "wrap", "empty")


def unpad(g, x, pad_width, mode="constant", reflect_type="even"):
    """The adjoint of ``np.pad(x, pad_width, mode)`` for the modes that copy values.

    Pads an index array the same way and adds each output's adjoint into its source.
    """
    pad_mode(mode, reflect_type)
    n = np.size(x)
    src = np.reshape(np.arange(n), np.shape(x))
    idx = (np.pad(src, pad_width, mode="constant", constant_values=-1) if mode in ("constant", "empty") else
           np.pad(src, pad_width, mode=mode))
    keep = idx >= 0
    return np.reshape(np.bincount(idx[keep], weights=np.asarray(g)[keep], minlength=n), np.shape(x))


def pad_mode(mode, reflect_type="even"):
    """The mode that pads a tangent as ``np.pad(x, ..., mode)`` pads ``x``: the same, for the modes that
    copy values (``empty`` pads with zeros); NotImplementedError for the others (their padding is computed)."""
    if mode not in PAD_COPY_MODES or reflect_type != "even":
        raise NotImplementedError("sourcediff: np.pad mode=%r has no derivative rule" % (mode,))
    return "constant" if mode == "empty" else mode


def undiff(g, n=1, axis=-1, prepend=None, append=None):
    """The adjoint of ``np.diff(x, n, axis)``: ``n`` times minus the difference of the zero-padded adjoint."""
    if prepend is not None or append is not None:
        raise NotImplementedError("sourcediff: np.diff with prepend/append has no derivative rule")
    for _ in range(n):
        width = [(0, 0)] * np.ndim(g)
        width[axis] = (1, 1)
        g = -np.diff(np.pad(g, width), axis=axis)
    return g


def repeat_index(a, repeats, axis=None):
    """Indices ``i`` with ``np.repeat(a, repeats, axis) == np.take(a, i, axis)``."""
    return np.repeat(np.arange(np.size(a) if axis is None else np.shape(a)[axis]), repeats)


def tile_split_shape(a, reps):
    """``np.tile(a, reps)``'s shape split into interleaved (repeat, original) pairs."""
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    d = max(np.ndim(a), len(reps))
    shape = (1,) * (d - np.ndim(a)) + np.shape(a)
    reps = (1,) * (d - len(reps)) + reps
    return tuple(v for r, s in zip(reps, shape) for v in (r, s))


def tile_sum_axes(a, reps):
    """The repeat axes of ``tile_split_shape``."""
    return tuple(range(0, len(tile_split_shape(a, reps)), 2))


def rollaxis_dest(a, axis, start=0):
    """Where ``np.rollaxis(a, axis, start)`` puts ``axis``."""
    n = np.ndim(a)
    axis, start = axis % n, (start % n if start < 0 else start)
    return start - 1 if start > axis else start


def tensordot_axes(a, b, axes=2):
    """``tensordot``'s ``axes`` as two lists of nonnegative axes of ``a`` and ``b``."""
    na, nb = np.ndim(a), np.ndim(b)
    if np.ndim(axes) == 0:
        ia, ib = list(range(na - axes, na)), list(range(axes))
    else:
        ia, ib = axes
        ia = [ia] if np.ndim(ia) == 0 else list(ia)
        ib = [ib] if np.ndim(ib) == 0 else list(ib)
    return [i % na for i in ia], [i % nb for i in ib]


def tensordot_adjoint_axes(a, b, axes, which):
    """The ``axes`` of the tensordot giving the adjoint of operand ``which`` (0: ``a``, 1: ``b``).

    Operand 0: ``tensordot(g, b, axes)``; operand 1: ``tensordot(a, g, axes)``.
    """
    ia, ib = tensordot_axes(a, b, axes)
    fa = [i for i in range(np.ndim(a)) if i not in ia]
    fb = [i for i in range(np.ndim(b)) if i not in ib]
    if which == 0:
        return list(range(len(fa), len(fa) + len(fb))), fb
    return fa, list(range(len(fa)))


def tensordot_adjoint_perm(a, b, axes, which):
    """The transpose that puts ``tensordot_adjoint_axes``'s result in operand ``which``'s axis order."""
    ia, ib = tensordot_axes(a, b, axes)
    if which == 0:
        fa = [i for i in range(np.ndim(a)) if i not in ia]
        order = fa + [ia[ib.index(j)] for j in sorted(ib)]
    else:
        fb = [i for i in range(np.ndim(b)) if i not in ib]
        order = [ib[ia.index(i)] for i in sorted(ia)] + fb
    return tuple(int(k) for k in np.argsort(order))


def dot_axes(a, b, kind="dot"):
    """The tensordot ``axes`` that ``np.dot`` (or ``np.inner``, kind="inner") contracts."""
    if kind == "inner":
        return [np.ndim(a) - 1], [np.ndim(b) - 1]
    return [np.ndim(a) - 1], [max(np.ndim(b) - 2, 0)]


def kron_split_shape(a, b):
    """``np.kron(a, b)``'s shape split into interleaved (a, b) pairs (operands of equal rank)."""
    return tuple(v for s, t in zip(np.shape(a), np.shape(b)) for v in (s, t))


def kron_shape(a, b):
    """``a``'s shape with ones in front up to ``b``'s rank: how ``np.kron`` reads the operand of lower rank."""
    return (1,) * max(0, np.ndim(b) - np.ndim(a)) + np.shape(a)


def kron_axes(a, which=None):
    """The axes of ``kron_split_shape`` that belong to operand ``which`` (0: even, 1: odd); None: ``a``'s own axes."""
    return list(range(np.ndim(a))) if which is None else list(range(which, 2 * np.ndim(a), 2))


def einsum_adjoint_spec(subscripts, which, *ops):
    """The einsum spec giving operand ``which``'s adjoint: ``"out,others...,target->target"``.

    The adjoint is ``einsum(spec, g, *other operands, ones_like(target))``, summed down to the
    operand's shape (``unbroadcast``: size-1 axes broadcast); the ones operand supplies indices that
    occur only in the target. An ellipsis is spelled out in letters of its own, as NumPy aligns it
    (from the right). A repeated index within one operand is not supported (a NotImplementedError,
    never a wrong derivative).
    """
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    ins = ins.split(",")
    if len(ins) != len(ops):
        raise ValueError("einsum: %d operands for %r" % (len(ops), subscripts))
    if not arrow:  # NumPy's implicit output: the ellipsis, then the indices used once, sorted
        letters = "".join(ins).replace(".", "")
        out = "..." * ("..." in s) + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if "..." in s:
        ins, out = _spell_ellipsis(ins, out, ops)
    if any(len(set(t)) != len(t) for t in ins):
        raise NotImplementedError("sourcediff: einsum with a repeated index in one operand has no derivative rule")
    target = ins[which]
    others = [t for i, t in enumerate(ins) if i != which]
    return ",".join([out] + others + [target]) + "->" + target


def _spell_ellipsis(ins, out, ops):
    """``ins`` and ``out`` with each ``...`` replaced by unused letters, one per axis it stands for
    in that operand, right-aligned with the others' (the output's: as many as the most)."""
    ranks = [np.ndim(o) - len(t.replace("...", "")) for t, o in zip(ins, ops)]
    n = max(ranks + [0])
    used = set("".join(ins) + out)
    free = "".join(c for c in string.ascii_letters if c not in used)[:n]
    return [t.replace("...", free[n - r:]) for t, r in zip(ins, ranks)], out.replace("...", free)


def norm_order(x, ord=None, axis=None, vector=False):
    """The p of the vector p-norm that ``np.linalg.norm(x, ord, axis)`` computes (Frobenius: 2).

    Raises NotImplementedError for norms without a rule (matrix 1/2/inf/nuc norms, p < 1, inf).
    """
    matrix = not vector and ((axis is None and np.ndim(x) == 2 and ord is not None) or
                             (isinstance(axis, (tuple, list)) and len(axis) == 2))
    if matrix:
        if ord in (None, "fro"):
            return 2.0
        raise NotImplementedError("sourcediff: no derivative rule for the matrix norm ord=%r" % (ord,))
    if ord is None:
        return 2.0
    if isinstance(ord, str) or not (1 <= ord < math.inf):
        raise NotImplementedError("sourcediff: no derivative rule for the vector norm ord=%r" % (ord,))
    return float(ord)


def reduced_count(x, axis=None):
    """How many elements of ``x`` a reduction over ``axis`` puts into each element of its result."""
    shape = np.shape(x)
    return math.prod(shape) if axis is None else \
        math.prod(shape[a] for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))


def xlogy(a, x):
    """``a * log(x)``, and 0 where ``a == 0``. The derivative of ``x ** y`` in ``y`` is ``xlogy(x ** y, x)``:
    0 at ``x == 0 < y`` (``0 ** y`` stays 0 there), where ``ans * log(x)`` gives ``0 * -inf``."""
    if type(a) is float and type(x) in (float, int):  # the float fast path: math, no arrays
        return 0.0 if a == 0.0 else a * math.log(x) if x > 0 else math.nan
    zero = np.equal(a, 0)
    return np.where(zero, 0.0, np.multiply(a, np.log(np.where(zero, 1.0, x))))[()]


def masked(v, x):
    """``v``, and 0 where ``x == 0``: ``xlogy(a, x)``'s derivative in ``a`` is ``xlogy(masked(g, x), x)``.
    In the power rules ``a = x ** y`` is 0 wherever ``x`` is, so the ``log(0)`` there multiplies a zero
    change of ``a``: the product is 0 (``-inf * 0`` would make it nan)."""
    if type(v) is float and type(x) in (float, int):
        return 0.0 if x == 0 else v
    return np.where(np.equal(x, 0), 0.0, v)[()]


def xdivy(a, x):
    """``a / x``, and 0 where ``a == 0``: ``xlogy``'s derivative in ``x``, which stays 0 where ``xlogy`` is
    0 for every ``x`` (a second derivative of ``0.0 ** y`` is 0, not ``0 / 0``)."""
    if type(a) is float and type(x) in (float, int):
        return 0.0 if a == 0.0 else a / x
    zero = np.equal(a, 0)
    return np.where(zero, 0.0, np.divide(a, np.where(zero, 1.0, x)))[()]


_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def polygamma(x, n=0):
    """The polygamma function psi^(n)(x) for a float ``x`` (digamma for n=0), in plain ``math``.

    Shifts ``x`` up past 20 with the recurrence, then sums the asymptotic series.
    """
    fact = math.factorial(n)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)**(n+1)
    acc = 0.0
    while x < 20.0:
        acc += sign * fact / x ** (n + 1)  # psi(x) = psi(x+1) + (-1)**(n+1) n! / x**(n+1)
        x += 1.0
    if n == 0:
        s = math.log(x) - 0.5 / x
        for k, b in enumerate(_BERNOULLI, 1):
            s -= b / (2 * k * x ** (2 * k))
        return acc + s
    s = math.factorial(n - 1) / x ** n + fact / (2 * x ** (n + 1))
    for k, b in enumerate(_BERNOULLI, 1):
        s += b * math.factorial(2 * k + n - 1) / (math.factorial(2 * k) * x ** (2 * k + n))
    return acc + sign * s


def spaced_fraction(ans, num, endpoint, axis, retstep=False):
    """Where each value of ``np.linspace/geomspace/logspace(start, stop, num, endpoint, axis=axis)``
    lies between start (0.0) and stop (1.0), shaped to broadcast against ``ans``."""
    if retstep:
        raise NotImplementedError("the derivative of np.linspace(..., retstep=True) is not supported")
    shape = [1] * np.ndim(ans)
    shape[axis] = num
    return np.linspace(0.0, 1.0, num, endpoint).reshape(shape)


def spaced_like(d, like, axis):
    """``d`` (a start or stop of ``np.linspace``/``geomspace``/``logspace`` whose result is ``like``)
    broadcast to the result's shape less ``axis``, with ``axis`` put back as size 1."""
    return np.expand_dims(broadcast_like(d, np.take(like, 0, axis=axis)), axis)


def if_inexact(g, ans):
    """``g`` where ``ans`` holds floats; zero where it holds integers (a cast to them is piecewise constant)."""
    return g if np.result_type(ans).kind in "fc" else 0.0 * g


nondiff(spaced_fraction)


# norm_order is the float ord itself (or a constant): the rule's p moves with it
elementwise(norm_order, lambda d, ans, x, ord=None, axis=None, vector=False: (None, d))


@linear(spaced_like)
def spaced_like_vjp(h, ans, d, like, axis): return unbroadcast(np.sum(h, axis=axis), d)


@linear(if_inexact)
def if_inexact_vjp(h, ans, g, x): return if_inexact(h, x)


nondiff(keepdims_shape, einsum_adjoint_spec, pad_mode, reduced_count, repeat_index, tile_split_shape,
        tile_sum_axes, rollaxis_dest, tensordot_axes, tensordot_adjoint_axes, tensordot_adjoint_perm, dot_axes,
        kron_split_shape, kron_shape, kron_axes)


# --- rules of the helpers (and of the runtime's unbroadcast) ---------------------------------

@linear(unbroadcast)
def unbroadcast_vjp(h, ans, g, x): return broadcast_like(h, g)


@linear(broadcast_like)
def broadcast_like_vjp(h, ans, g, x): return unbroadcast(h, g)


@linear(expand_reduced)
def expand_reduced_vjp(h, ans, g, x, axis=None, keepdims=False):
    return unbroadcast(np.sum(h, axis=axis, keepdims=keepdims), g)


# matmul_dx / matmul_dy are bilinear: in (g, y) and in (g, x) respectively; the other operand gives only a shape
@linear(matmul_dx)
def matmul_dx_vjp(h, ans, g, x, y): return np.matmul(h, y), None, matmul_dy(g, h, y)


@linear(matmul_dy)
def matmul_dy_vjp(h, ans, g, x, y): return np.matmul(x, h), matmul_dx(g, x, h), None


@linear(split_like)
def split_like_vjp(h, ans, g, xs, axis=0): return join_like(fill_pieces(h, ans), g, axis)


@linear(join_like)
def join_like_vjp(h, ans, hs, g, axis=0): return split_like(h, hs, axis)


@linear(unstack)
def unstack_vjp(h, ans, g, axis=0): return np.stack(fill_pieces(h, ans), axis=axis)


# linear in hs; the entries it fills were constant zeros, so its adjoint is h as it is
@linear(fill_pieces)
def fill_pieces_vjp(h, ans, hs, xs): return h


@linear(fanout)
def fanout_vjp(h, ans, g, xs): return fanin(h, g)


@linear(fanin)
def fanin_vjp(h, ans, hs, g): return fanout(h, hs)


@vjp(scaled)
def scaled_vjp(h, ans, xs, c): return scaled(h, c), dotted(xs, h)
@jvp(scaled)
def scaled_jvp(dxs, dc, ans, xs, c): return scaled(dxs, c), scaled(xs, dc)


@vjp(dotted)
def dotted_vjp(h, ans, xs, ys): return scaled(ys, h), scaled(xs, h)
@jvp(dotted)
def dotted_jvp(dxs, dys, ans, xs, ys): return dotted(dxs, ys), dotted(xs, dys)


# the gradient of the Euclidean norm is the vector over the norm (nan at 0, a kink, as math.hypot's own rule)
@vjp(hypot_seq)
def hypot_seq_vjp(g, ans, xs): return scaled(xs, g / ans)
@jvp(hypot_seq)
def hypot_seq_jvp(dxs, ans, xs): return dotted(xs, dxs) / ans


@linear(untake)
def untake_vjp(h, ans, g, indices, x, axis=None): return np.take(h, indices, axis=axis)


@linear(untake_along_axis)
def untake_along_axis_vjp(h, ans, g, indices, x, axis=-1): return np.take_along_axis(h, indices, axis=axis)


@linear(unpad)
def unpad_vjp(h, ans, g, x, pad_width, mode="constant", reflect_type="even"):
    return np.pad(h, pad_width, mode="constant" if mode == "empty" else mode)


@linear(undiff)
def undiff_vjp(h, ans, g, n=1, axis=-1, prepend=None, append=None): return np.diff(h, n=n, axis=axis)


@linear(undiagonal)
def undiagonal_vjp(h, ans, g, x, offset=0, axis1=0, axis2=1): return np.diagonal(h, offset, axis1, axis2)


elementwise(polygamma, lambda d, ans, x, n=0: d * polygamma(x, n + 1))


def diagonal_index(a):
    """The index ``np.fill_diagonal(a, v)`` writes (``wrap=False``): ``a[diagonal_index(a)] = v``."""
    shape = np.shape(a)
    if len(shape) < 2 or len(shape) > 2 and len(set(shape)) != 1:
        raise ValueError("fill_diagonal needs a 2-d array or one whose dimensions are all equal")
    k = np.arange(min(shape))
    return (k,) * len(shape)


nondiff(diagonal_index)


def of_type(x, kind, error):
    """``x``, where it is a ``kind``; else raise ``error`` (a located SourcediffError) at the first call
    that would be differentiated wrongly: ``y.sort()`` is lowered as ``y[...] = np.sort(y)``, right
    for an array only; ``np.einsum(s, ...)`` is differentiated for subscripts ``s`` given as a string."""
    if not isinstance(x, kind):
        raise error
    return x


def fit_axis(x, m, axis):
    """``x`` cut or zero-padded to length ``m`` along ``axis``."""
    k = x.shape[axis]
    if k >= m:
        return np.take(x, np.arange(m), axis=axis)
    pad = [(0, 0)] * x.ndim
    pad[axis] = (0, m - k)
    return np.pad(x, pad)


def unshared(x, error):
    """``x``, where ``x += e`` rebinds it (a number, a tuple); else raise ``error``: on an array or a list
    ``+=`` writes in place, and another name holds the value (``z = y; y += x``: ``z`` changes too)."""
    if isinstance(x, (np.ndarray, list, dict, set, bytearray)):
        raise error
    return x


unshared.sd_scalar = True  # the float fast path keeps it: a number passes through


elementwise(unshared, lambda d, ans, x, error=None: d)


elementwise(of_type, lambda d, ans, x, kind=None, error=None: d)


elementwise(xlogy, lambda d, ans, a, x: (xlogy(masked(d, x), x), xdivy(d * a, x)), broadcasting=True)
elementwise(masked, lambda d, ans, v, x: masked(d, x), broadcasting=True)
elementwise(xdivy, lambda d, ans, a, x: (xdivy(d, x), -xdivy(d * a, x * x)), broadcasting=True)
