"""Activity analysis: which names vary with the inputs and are useful for the output.

Takes a lowered ``FunctionDef``, the names of the active parameters and a rule oracle;
gives the set of *active* names (varied and useful). Only active names get tangents
or adjoints; everything else is a constant to the derivative.

A name is *varied* when some differentiable operand of a step assigning it is varied
(flow-insensitive, so loops are handled by iterating to a fixpoint); *useful* when the
returned value depends on it differentiably.

    def f(x, n):            varied {x, t0, y}   useful {y, t0, x}   active {x, t0, y}
        t0 = x * 2          (n only feeds range(), so it is never active)
        y = t0 + 1
        return y
"""
from .lower import classify, walk
from .names import ids


def _names(e):
    return ids(e) if e is not None else set()


def _io(p, diff_positions):
    """(name a step defines, names its differentiable operands read)."""
    tgt = p.args[0].id if p.key == "append" else p.target
    pos = diff_positions(p)
    ins = set().union(*[_names(p.args[i]) for i in pos if isinstance(i, int) and i < len(p.args)]) | \
        set().union(*[_names(v) for k, v in p.kwargs.items() if k in pos])
    return tgt, ins


def analyse(node, active_params, diff_positions, ret):
    """Active names of ``node`` returning ``ret``; ``diff_positions(prim)`` -> differentiable operands."""
    flows = [_io(p, diff_positions) for p in (classify(s) for s in walk(node.body)) if p is not None]
    flows = [(t, ins) for t, ins in flows if t is not None]
    varied, changed = set(active_params), True
    while changed:
        changed = False
        for t, ins in flows:
            if t not in varied and ins & varied:
                varied.add(t)
                changed = True
    useful, changed = _names(ret), True
    while changed:
        changed = False
        for t, ins in flows:
            if t in useful and not ins <= useful:
                useful |= ins
                changed = True
    return varied & useful
