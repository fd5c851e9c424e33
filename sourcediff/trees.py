"""Nested values (dicts, lists, tuples, structured values of numbers and arrays) as flat vectors and back:
what ``sd.jacobian`` seeds and ``check_grads`` perturbs, in one order."""
import itertools

import numpy as np

from . import runtime


def tree_map(x, leaf):
    """``x`` with each number or array ``v`` in it replaced by ``leaf(v)``, in ``flat`` order: the same
    dict / list / tuple / structured nesting (a structured value's constant children kept)."""
    if isinstance(x, dict):
        return {k: tree_map(x[k], leaf) for k in x}
    if runtime.is_struct(x):
        kids = runtime.struct_children(x)
        return runtime.struct_rebuild(x, [tree_map(c, leaf) if runtime._numeric(c) else c for c in kids])
    if isinstance(x, (list, tuple)):
        return type(x)(tree_map(e, leaf) for e in x)
    return leaf(x)


def basis(x):
    """One-hot tangents with the structure of ``x`` (arrays, floats, dicts, lists, tuples)."""
    zero = runtime.zeros_like(x)
    for j in range(len(flat(x))):
        yield perturb(zero, j, 1.0)


def unflat(x, values):
    """Values in ``flat`` order, put back into the structure of ``x``."""
    it = iter(values)

    def leaf(v):
        a = np.array([next(it) for _ in range(np.size(v))], dtype=float).reshape(np.shape(v))
        return float(a) if not isinstance(v, np.ndarray) else a
    return tree_map(x, leaf)


def flat(x):
    """The numbers in ``x`` (nested containers, structured values, arrays) as one flat list."""
    out = []
    tree_map(x, lambda v: out.extend(np.ravel(np.asarray(v, dtype=float))))
    return out


def perturb(x, j, h):
    """``x`` with its ``j``-th scalar (in ``flat`` order) moved by ``h``."""
    counter = itertools.count()

    def leaf(v):
        a = np.array(v, dtype=float)
        cells = a.reshape(-1)
        for q in range(cells.size):
            if next(counter) == j:
                cells[q] += h
        return float(a) if np.ndim(v) == 0 and not isinstance(v, np.ndarray) else a
    return tree_map(x, leaf)
