"""In-place accumulation: ``dW = dW + e`` becomes ``dW += e`` where no one else can see dW's array.

Takes an optimized generated ``FunctionDef`` (array path); gives it back with the adjoint
accumulations that reverse.py marked (annotation ``accumulator``) turned into augmented assignments when
the accumulator provably owns its array. That saves one allocation per accumulation, which
is most of what a loop like an RNN's backward sweep spends beyond the arithmetic.

Before::

    def f(x, W):
        return np.sum(np.tanh(x @ W) * W)

After, in sd.grad(f, wrt="W")::

    def f_grad(x, W):
        t1 = np.tanh(x @ W)
        # grad of: return np.sum(np.tanh(x @ W) * W)
        dt2 = expand_reduced(1.0, t1 * W, None, False)
        dt1 = unbroadcast(dt2 * W, t1)
        dW = unbroadcast(dt2 * t1, W)
        dt0 = dt1 * (1.0 - t1 * t1)
        dW += matmul_dy(dt0, x, W)
        return grad_like(dW, W)

An accumulator qualifies when every value stored in it is new (arithmetic, ``zeros_like``,
a number, ``unbroadcast`` of new arithmetic) and every read of it either makes a new value
(an operand of arithmetic or of a matrix-product helper), is its own accumulation's left
operand, or is in the ``return``. A copy (``t = dW``), a tape push or any other call could
keep the array, so any of those leaves the plain ``dW = dW + e``. The contribution ``e`` is
shaped like W by the rules' contract (``unbroadcast``), so ``+=`` never needs to broadcast dW.
"""
import gast

from . import primitives as P
from .annotations import getanno
from .names import ids, nodes

_NEW = P.names(P.NEW)
_KEEPS_NEW = P.names(P.KEEPS_NEW)
_READS_ONLY = P.names(P.READS_ONLY)


def _new(e):
    t = type(e)
    if t in (gast.BinOp, gast.UnaryOp):
        return True
    if t is gast.Constant:
        return type(e.value) in (int, float)
    if t is gast.Call and isinstance(e.func, gast.Name):
        return e.func.id in _NEW or \
            e.func.id in _KEEPS_NEW and bool(e.args) and type(e.args[0]) in (gast.BinOp, gast.UnaryOp)
    return False


def _is_acc(s):
    if not (type(s) is gast.Assign and type(s.value) is gast.BinOp and type(s.value.op) in (gast.Add, gast.Sub)
            and getanno(s, "accumulator", False)):
        return False
    tg, left = s.targets[0], s.value.left
    return type(tg) is gast.Name and type(left) is gast.Name and left.id == tg.id


def inplace(fn):
    """Turn the qualifying marked accumulations of ``fn`` into ``+=``; returns ``fn``."""
    every = nodes(fn)  # one walk for all below: nothing changes before the rewrite
    accs = [s for s in every if _is_acc(s)]
    cand = {s.targets[0].id for s in accs} - {a.id for a in fn.args.args}
    if not cand:
        return fn
    unsafe = set()  # names read somewhere that could keep their array (judged per parent: nodes are shared)
    in_return = {id(n) for r in every if type(r) is gast.Return and r.value is not None for n in nodes(r.value)}
    for n in every:
        t = type(n)
        if t is gast.Assign and type(n.targets[0]) is gast.Name and not _new(n.value):
            cand.discard(n.targets[0].id)
        elif t is gast.Assign or t is gast.AugAssign:
            if type(n.targets[0] if t is gast.Assign else n.target) is not gast.Name:
                unsafe.update(ids(n.targets[0] if t is gast.Assign else n.target))
        elif t in (gast.For, gast.AnnAssign):
            unsafe.update(ids(n.target))
        if id(n) in in_return or t in (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Return) or \
                t is gast.Call and isinstance(n.func, gast.Name) and n.func.id in _READS_ONLY:
            continue
        for f in n._fields:
            v = getattr(n, f, None)
            for k in v if type(v) is list else [v]:
                if type(k) is gast.Name and type(k.ctx) is gast.Load:
                    unsafe.add(k.id)
    cand -= unsafe
    if cand:
        _rewrite(every, cand)
    return fn


def _rewrite(every, names):
    """``v = v + e`` to ``v += e`` for the accumulators ``names``, in every statement list among the nodes
    ``every`` (statements sit only in lists; a list met twice, through a shared node, is rewritten once)."""
    for n in every:
        if type(n) in _BLOCKS:
            for f in n._fields:
                v = getattr(n, f, None)
                if type(v) is list:
                    for i, s in enumerate(v):
                        if _is_acc(s) and s.targets[0].id in names:
                            v[i] = gast.copy_location(gast.AugAssign(target=s.targets[0], op=s.value.op,
                                                                     value=s.value.right), s)


_BLOCKS = (gast.FunctionDef, gast.If, gast.For, gast.While, gast.With, gast.Try, gast.ExceptHandler, gast.Module,
           gast.AsyncFunctionDef, gast.AsyncFor, gast.AsyncWith, gast.ClassDef) + \
    ((gast.TryStar,) if hasattr(gast, "TryStar") else ()) + ((gast.match_case,) if hasattr(gast, "match_case") else ())
