"""The Numba backend's elementwise code as one loop: a derivative whose every statement is elementwise (names,
numbers, arithmetic, elementwise NumPy functions) written as one loop over the elements, without temporaries
(``fused``; ``backend_numba.Compiled`` runs it for calls whose arguments are float arrays of one shape).

Before (the derivative, in NumPy)::

    def f_grad(x):
        t0 = np.sin(x)
        dx = np.cos(x)
        return grad_like(dx, x)

After::

    def f_grad__fused(x):
        _n = x.size
        x__f = x.reshape(-1)
        _o0 = np.empty(_n)
        _nan = 0.0
        for _k in range(_n):
            x__e = x__f[_k]
            t0 = np.sin(x__e)
            dx = np.cos(x__e)
            _o0[_k] = dx
            _nan += _o0[_k] * 0.0
        return (_o0.reshape(x.shape), _nan)
"""
import ast

ELEMENTWISE = {"sin", "cos", "tan", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "tanh", "sinh", "cosh",
               "arctan", "arcsin", "arccos", "arcsinh", "arctanh", "square", "negative", "absolute", "abs", "sign"}
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def _elementwise(e):
    """Is ``e`` made of names, numbers, arithmetic and elementwise NumPy functions only?"""
    if isinstance(e, ast.Name) or isinstance(e, ast.Constant) and type(e.value) in (int, float):
        return True
    if isinstance(e, ast.BinOp):
        return isinstance(e.op, _OPS) and _elementwise(e.left) and _elementwise(e.right)
    if isinstance(e, ast.UnaryOp):
        return isinstance(e.op, (ast.USub, ast.UAdd)) and _elementwise(e.operand)
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and isinstance(e.func.value, ast.Name) and \
        e.func.value.id == "np" and e.func.attr in ELEMENTWISE and not e.keywords and all(map(_elementwise, e.args))


def _outputs(ret, params, arrays):
    """The names ``return`` gives (each ``grad_like(name, param)`` or a name computed from the arrays), or None."""
    elts = ret.elts if isinstance(ret, ast.Tuple) else [ret]
    out = []
    for e in elts:
        if isinstance(e, ast.Call) and getattr(e.func, "id", None) == "grad_like" and len(e.args) == 2 and \
                isinstance(e.args[0], ast.Name) and isinstance(e.args[1], ast.Name) and e.args[1].id in params:
            out.append(e.args[0].id)
        elif isinstance(e, ast.Name) and e.id in arrays:
            out.append(e.id)
        else:
            return None
    return out


def fused(fdef):
    """``fdef``'s body as one loop over the elements, for calls whose arguments are all float arrays of one
    shape (``Compiled`` checks): where every statement is elementwise (``_elementwise``), what NumPy does
    array by array is the same arithmetic element by element, without the temporaries. None elsewhere.
    It returns ``(fdef's result, 0.0 or NaN)``: the sum of its values times zero, NaN where one of them is not
    finite (the test done in the loop, not in another pass over the result)."""
    params = [a.arg for a in fdef.args.args]
    body, ret = fdef.body[:-1], fdef.body[-1]
    if not params or fdef.args.defaults or not isinstance(ret, ast.Return) or ret.value is None:
        return None
    arrays = set(params)
    for st in body:
        tgt = st.targets[0] if isinstance(st, ast.Assign) and len(st.targets) == 1 else \
            st.target if isinstance(st, ast.AugAssign) and isinstance(st.op, (ast.Add, ast.Sub)) else None
        if not isinstance(tgt, ast.Name) or tgt.id in params or not _elementwise(st.value):
            return None
        if {n.id for n in ast.walk(st.value) if isinstance(n, ast.Name)} & arrays:
            arrays.add(tgt.id)
    outs = _outputs(ret.value, params, arrays)
    if outs is None:
        return None
    scalar = {p: "%s__e" % p for p in params}
    loop = ["_n = %s.size" % params[0]] + ["%s__f = %s.reshape(-1)" % (p, p) for p in params]
    loop += ["_o%d = np.empty(_n)" % i for i in range(len(outs))] + ["_nan = 0.0", "for _k in range(_n):"]
    loop += ["    %s = %s__f[_k]" % (scalar[p], p) for p in params]
    for st in body:
        for n in ast.walk(st):
            if isinstance(n, ast.Name) and n.id in scalar:
                n.id = scalar[n.id]
        loop.append("    " + ast.unparse(st))
    for i, o in enumerate(outs):
        loop += ["    _o%d[_k] = %s" % (i, scalar.get(o, o)), "    _nan += _o%d[_k] * 0.0" % i]
    res = ["_o%d.reshape(%s.shape)" % (i, params[0]) for i in range(len(outs))]
    loop.append("return (%s), _nan" % (", ".join(res) + "," if isinstance(ret.value, ast.Tuple) else res[0]))
    text = "def %s__fused(%s):\n%s\n" % (fdef.name, ", ".join(params), "".join("    %s\n" % ln for ln in loop))
    return ast.parse(text).body[0]


