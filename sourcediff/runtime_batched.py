"""Batched forward mode's runtime helpers: tangents carrying B directions at once.

Generated batched code binds them by name from ``sourcediff.runtime``, which imports them from here.
"""
import numpy as np

from .duck import foreign, spread, zeros_as
from .runtime import is_struct, refusal, tindex, zeros_like

# A batched tangent of a value v is an array of shape (B,) + np.shape(v) (one row per direction),
# the zero marker 0.0 (zero in every direction), or a list/tuple/dict of batched tangents; never
# an array without the batch axis. Every helper below takes and gives the zero marker.

def _bzero(t):
    return t is None or isinstance(t, float) and t == 0.0


def bzeros(x):
    """The batched zero of ``x``: 0.0, kept inside ``x``'s list/tuple/dict structure (``append`` needs a list)."""
    if isinstance(x, (list, tuple)) and not is_struct(x):
        return type(x)(bzeros(v) for v in x)
    if isinstance(x, dict):
        return {k: bzeros(v) for k, v in x.items()}
    return 0.0


def _nbatch(t):
    """B of a batched tangent, or None when it is zero in every direction."""
    if isinstance(t, np.ndarray) or foreign(t):
        return t.shape[0]
    for v in (t.values() if isinstance(t, dict) else t if isinstance(t, (list, tuple)) else ()):
        n = _nbatch(v)
        if n is not None:
            return n
    return None


def bpack(t):
    """A list/tuple of batched tangents as one batched array, as ``np.asarray`` packs the values."""
    if not isinstance(t, (list, tuple)):
        return t
    parts = [bpack(v) for v in t]
    if all(_bzero(p) for p in parts):
        return 0.0
    return np.stack(np.broadcast_arrays(*[0.0 if _bzero(p) else p for p in parts]), axis=1)


def bpad(t, ans):
    """Tangent ``t`` of an operand with ones after the batch axis up to the rank of ``ans``, so an
    elementwise rule broadcasts it like the operand: (B, 3) -> (B, 1, 3) for a (2, 3) result."""
    if isinstance(ans, (list, tuple)):  # `+` and `*` joining or repeating sequences are not elementwise
        raise refusal("a list or tuple joined or repeated with + or * cannot be differentiated in batched forward mode",
                      hint="build it with np.concatenate, np.tile or a list comprehension")
    t = bpack(t)
    if _bzero(t):
        return 0.0
    k = np.ndim(ans) + 1 - t.ndim
    return t.reshape(t.shape[:1] + (1,) * k + t.shape[1:]) if k > 0 else t


def bfix(t, ans):
    """An elementwise rule's batched tangent; 0.0 when no batch axis survived (all its inputs were 0.0)."""
    return t if np.ndim(t) > np.ndim(ans) else 0.0


def _bslice(t, x, b):
    if isinstance(t, np.ndarray) or foreign(t):
        return t[b]
    if isinstance(t, (list, tuple)):
        xs = x if isinstance(x, (list, tuple)) and len(x) == len(t) else [None] * len(t)
        parts = [_bslice(v, xv, b) for v, xv in zip(t, xs)]
        return type(t)(*parts) if is_struct(t) else type(t)(parts)
    if isinstance(t, dict):
        return {k: _bslice(v, x.get(k) if isinstance(x, dict) else None, b) for k, v in t.items()}
    return zeros_like(x)  # the plain rules get the zero a plain sweep would have: shaped like the value


def bdirs(*pairs):
    """The (tangent, value) pairs' tangents one direction at a time (a tuple, or the tangent itself
    for one pair), as the plain forward rules take them; nothing when every tangent is zero (the
    rules are linear in them)."""
    n = next((m for m in (_nbatch(t) for t, _ in pairs) if m is not None), None)
    for b in range(n or 0):
        yield _bslice(*pairs[0], b) if len(pairs) == 1 else tuple(_bslice(t, x, b) for t, x in pairs)


def bstack(rs, ans):
    """Per-direction tangents of ``ans`` stacked on a leading batch axis (0.0 when all are zero)."""
    if all(_bzero(r) for r in rs):
        return 0.0
    if isinstance(ans, (list, tuple)):
        parts = [bstack([tindex(r, i) for r in rs], a) for i, a in enumerate(ans)]
        return type(ans)(*parts) if is_struct(ans) else type(ans)(parts)  # a NamedTuple takes its fields
    if isinstance(ans, dict):
        return {k: bstack([tindex(r, k) for r in rs], a) for k, a in ans.items()}
    shape = np.shape(ans)
    if foreign(ans):  # another library's zeros where a direction has none (Dask: lazy, in the chunks of ans)
        return np.stack([spread(0.0 if _bzero(r) else r, ans) for r in rs])
    return np.stack([np.broadcast_to(0.0 if _bzero(r) else r, shape) for r in rs])


def _moves_front(parts):
    """Whether NumPy puts the advanced-index dimensions of ``x[parts]`` first: they are split by a
    slice, None or ``...``, so a batch axis in front would land behind them."""
    if not any(isinstance(p, (list, np.ndarray)) or foreign(p) for p in parts):
        return False
    adv = [i for i, p in enumerate(parts) if isinstance(p, (list, np.ndarray, int, np.integer, np.bool_)) or foreign(p)]
    return adv[-1] - adv[0] + 1 != len(adv)


def btindex(t, idx):
    """``tindex`` of a batched tangent: an array keeps its batch axis in front (``t[:, idx]``)."""
    if not (isinstance(t, np.ndarray) or foreign(t)):
        return tindex(t, idx)
    parts = idx if isinstance(idx, tuple) else (idx,)
    if _moves_front(parts):
        return np.stack([tb[idx] for tb in t])
    return t[(slice(None),) + parts]


def btsetitem(t, x, idx, v):
    """``tsetitem`` of batched tangents: a copy of ``t`` (zero when None or 0.0) with ``[idx] = v``."""
    if not (isinstance(x, np.ndarray) or foreign(x)):
        t = bzeros(x) if _bzero(t) else t.copy()
        t[idx] = v
        return t
    v = bpack(v)
    if _bzero(t) and _bzero(v):
        return 0.0
    if _bzero(t):
        t = zeros_as(x, v.shape[:1] + x.shape) if foreign(x) else \
            np.zeros(v.shape[:1] + x.shape, dtype=x.dtype if x.dtype.kind in "fc" else np.float64)
    else:
        t = t.copy()
    parts = idx if isinstance(idx, tuple) else (idx,)
    if _moves_front(parts) and foreign(t):  # t[b] is a new array (Dask's): write each row, then stack them
        rows = [t[b].copy() for b in range(len(t))]
        for b, r in enumerate(rows):
            r[idx] = 0.0 if _bzero(v) else v[b]
        t = np.stack(rows)
    elif _moves_front(parts):
        for b in range(len(t)):
            t[b][idx] = 0.0 if _bzero(v) else v[b]
    elif _bzero(v):
        t[(slice(None),) + parts] = 0.0
    else:
        k = np.ndim(x[idx]) + 1 - v.ndim
        t[(slice(None),) + parts] = v.reshape(v.shape[:1] + (1,) * k + v.shape[1:]) if k > 0 else v
    return t
