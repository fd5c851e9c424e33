"""Rule combinators: a VJP and a JVP written once, as one derivative (after autograd's ``defjvp`` and
``deflinear``).

Most rules are the same derivative twice: ``sin``'s reverse rule is ``g * np.cos(x)`` and its forward
rule ``dx * np.cos(x)``. A combinator takes that derivative once, with the seed (the adjoint ``g`` or
the tangent ``dx``) as its first parameter, and writes both rules as source text, so they inline into
generated code exactly as the hand-written pair did::

    elementwise(np.sin, lambda d, ans, x: d * np.cos(x))

    def sin_vjp(g, ans, x): return g * np.cos(x)       def sin_jvp(dx, ans, x): return dx * np.cos(x)

* ``elementwise(keys, fn, broadcasting=False)``: ``fn(d, ans, *args)`` returns one expression per
  differentiable argument (a tuple for several, ``None`` for an argument without a derivative); in
  output ``i`` the seed stands for the adjoint in the VJP and for argument ``i``'s tangent in the JVP.
  ``broadcasting=True`` sums each adjoint back to its argument's shape (``unbroadcast(e, x)``), for
  arguments that broadcast against each other. ``fn`` is a lambda or, when it needs statements before
  its return, a ``def`` (then ``elementwise(keys, broadcasting=...)`` decorates it). The statements
  must not read the seed.
  ``math_twin=math.sin`` also writes the rules of the ``math`` function, with ``math`` for ``np``.
* ``self_adjoint(keys, fn)``: the same, for linear maps that are their own adjoint (``np.tril(d, k)``).
* ``linear(keys, args=None, kwargs=())`` decorates a hand-written VJP of a function linear in its
  differentiable arguments and derives the JVP: the function applied to each argument's tangent in
  that argument's place, followed by the parameters ``args`` (when None, all the others not in ``kwargs``)
  and the keywords ``kwargs`` (``np.sum(da, axis=axis, keepdims=keepdims)``).

The rules are real functions of the calling module (runnable, named ``<name>_vjp``/``<name>_jvp``,
with that module's globals); ``registry.parsed`` reads their generated source (``sd_source``).
"""
import ast
import builtins
import copy
import functools
import linecache
import sys

from ..runtime import unbroadcast
from .registry import checked, jvp, vjp


def _keys(keys):
    """``keys`` as a tuple without the None entries (NumPy names this NumPy lacks)."""
    return tuple(k for k in (keys if isinstance(keys, tuple) else (keys,)) if k is not None)


@functools.lru_cache(maxsize=None)
def _module_tree(filename):
    return ast.parse("".join(linecache.getlines(filename)), filename)


@functools.lru_cache(maxsize=None)
def _module_lambdas(filename):
    """{line: [code object of each lambda starting there, in source order]} of a module, compiled as a whole
    (as the module was: a lambda compiled alone can differ, NumPy's ``np`` then being no known import)."""
    out, todo = {}, [compile("".join(linecache.getlines(filename)), filename, "exec")]
    while todo:
        code = todo.pop(0)
        kids = [c for c in code.co_consts if hasattr(c, "co_code")]
        for c in kids:
            if c.co_name == "<lambda>":
                out.setdefault(c.co_firstlineno, []).append(c)
        todo += kids
    return out


def _same(a, b):
    return (a.co_code, a.co_consts, a.co_names, a.co_varnames) == (b.co_code, b.co_consts, b.co_names, b.co_varnames)


def _definition(fn):
    """(arguments, body statements, returned expression) of the lambda or ``def`` ``fn``, from its source."""
    code = fn.__code__
    tree = _module_tree(code.co_filename)
    if fn.__name__ == "<lambda>":
        line = code.co_firstlineno
        nodes = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == line),
                       key=lambda n: n.col_offset)
        codes = _module_lambdas(code.co_filename).get(line, [])
        found = [n for n, c in zip(nodes, codes) if _same(c, code)]
        assert len(nodes) == len(codes) and found, "no source for the lambda at %s:%d" % (code.co_filename, line)
        return found[0].args, [], found[0].body
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == fn.__name__ and
             code.co_firstlineno in [n.lineno] + [d.lineno for d in n.decorator_list]]
    assert found, "no source for %s at %s:%d" % (fn.__name__, code.co_filename, code.co_firstlineno)
    *body, ret = found[0].body
    assert isinstance(ret, ast.Return), "%s must end in its only return" % fn.__name__
    return found[0].args, body, ret.value


class _Rename(ast.NodeTransformer):
    def __init__(self, old, new):
        self.old, self.new = old, new

    def visit_Name(self, node):
        return ast.Name(id=self.new, ctx=node.ctx) if node.id == self.old else node


def _rename(node, old, new):
    return _Rename(old, new).visit(_copy(node))


def _copy(node):
    return copy.deepcopy(node)


def _name(key):
    """The base of a rule's name from its first key (``np.sin`` -> ``sin``, ``math.sin`` -> ``math_sin``)."""
    key = next(k for k in key if not isinstance(k, str))
    owner = getattr(key, "__self__", None)
    if type(owner).__module__.startswith("scipy.stats"):  # a distribution's method
        return "sc_%s_%s" % (type(owner).__name__[:-4], key.__name__)
    mod = getattr(key, "__module__", None) or ""
    return {"math": "math_"}.get(mod, "sc_" if mod.startswith("scipy") else "") + key.__name__


def _define(home, name, args, body, value):
    """The function ``def name(args): body; return value`` made in module ``home``, its source kept."""
    fdef = ast.FunctionDef(name=name, args=args, body=body + [ast.Return(value=value)], decorator_list=[],
                           returns=None, type_comment=None)
    src = ast.unparse(ast.fix_missing_locations(ast.Module(body=[fdef], type_ignores=[])))
    glb = vars(sys.modules[home])
    glb.setdefault("unbroadcast", unbroadcast)  # what broadcasting=True writes, whether or not ``home`` imports it
    exec(compile(src, "<rule %s.%s>" % (home, name), "exec"), glb)
    rule = glb[name]
    rule.sd_source = src
    return rule


def _args(args, params):
    """A copy of the ``ast.arguments`` ``args`` with these positional parameter names."""
    new = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None, kwonlyargs=[],
                        kw_defaults=[], kwarg=None, defaults=[_copy(d) for d in args.defaults])
    return new


def _outputs(value):
    return list(value.elts) if isinstance(value, ast.Tuple) else [value]


def _pack(outs):
    return outs[0] if len(outs) == 1 else ast.Tuple(elts=outs, ctx=ast.Load())


def _none(e):
    return isinstance(e, ast.Constant) and e.value is None


def _register(keys, vjp_rule, jvp_rule, check=None):
    if check is not None:
        checked(check)(vjp_rule)
        checked(check)(jvp_rule)
    vjp(*keys)(vjp_rule)
    jvp(*keys)(jvp_rule)
    return vjp_rule, jvp_rule


def _substitute(args, body, value, subs):
    """The template ``fn`` with its keyword-only parameters replaced by the source texts ``subs`` gives them
    (``dist`` -> ``sp_stats.t``), and positional parameters renamed (``shape`` -> ``df``)."""
    args = _copy(args)
    named = {a.arg for a in args.kwonlyargs}
    assert set(subs) <= named | {a.arg for a in args.args} and named <= set(subs), "%s for %s" % (subs, named)
    args.kwonlyargs, args.kw_defaults = [], []
    for a in args.args:
        a.arg = subs.get(a.arg, a.arg)

    class Fill(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.parse(subs[node.id], mode="eval").body if node.id in subs else node
    return args, [Fill().visit(_copy(s)) for s in body], Fill().visit(_copy(value))


def elementwise(keys, fn=None, broadcasting=False, name=None, home=None, subs=None, math_twin=None):
    """Register the VJP and JVP of ``keys`` from one derivative ``fn(d, ans, *args)`` (see the module
    docstring); without ``fn``, a decorator taking it. ``subs`` fills a template ``fn`` (``_substitute``);
    ``math_twin`` (``math.sin`` for ``np.sin``) gets the same rules with ``math`` for ``np``, so generated
    float code stays plain Python. Returns (vjp rule, jvp rule)."""
    home = home or sys._getframe(1).f_globals["__name__"]
    if fn is None:
        return lambda f: elementwise(keys, f, broadcasting, name, home, subs, math_twin) and f
    keys = _keys(keys)
    if not keys:
        return None
    args, body, value = _definition(fn)
    if subs:
        args, body, value = _substitute(args, body, value, subs)
    if _keys(math_twin):
        _pair(_keys(math_twin), _rename(args, "np", "math"), [_rename(s, "np", "math") for s in body],
              _rename(value, "np", "math"), broadcasting, None, home)
    return _pair(keys, args, body, value, broadcasting, name, home)


def _pair(keys, args, body, value, broadcasting, name, home):
    """Define and register the VJP and JVP of ``keys`` from the derivative ``args: body; return value``."""
    seed, params = args.args[0].arg, [a.arg for a in args.args[1:]]
    assert params[0] == "ans" and not any(isinstance(n, ast.Name) and n.id == seed for s in body for n in ast.walk(s))
    outs = _outputs(value)
    base = name or _name(keys)
    back = [e if _none(e) else _rename(e, seed, "g") for e in outs]
    if broadcasting:
        back = [e if _none(e) else ast.Call(func=ast.Name(id="unbroadcast", ctx=ast.Load()),
                                            args=[e, ast.Name(id=p, ctx=ast.Load())], keywords=[])
                for e, p in zip(back, params[1:])]
    tangents = ["d" + p for p in params[1:len(outs) + 1]]
    forward = [e if _none(e) else _rename(e, seed, t) for e, t in zip(outs, tangents)]
    return _register(keys, _define(home, base + "_vjp", _args(args, ["g"] + params), body, _pack(back)),
                     _define(home, base + "_jvp", _args(args, tangents + params), body, _pack(forward)))


def self_adjoint(keys, fn, name=None):
    """``elementwise`` for a linear map that is its own adjoint: ``fn(d, ans, *args)`` applies it to ``d``."""
    return elementwise(keys, fn, name=name, home=sys._getframe(1).f_globals["__name__"])


def _path(key, glb):
    """The source text naming ``key`` in the module globals ``glb`` (``np.tril``, ``np.linalg.trace``)."""
    if glb.get(key.__name__, getattr(builtins, key.__name__, None)) is key:
        return key.__name__
    for n, mod in sorted(glb.items()):
        if isinstance(mod, type(sys)):
            for sub in (mod, getattr(mod, "linalg", None)):
                if sub is not None and getattr(sub, key.__name__, None) is key:
                    return n + (".linalg." if sub is not mod else ".") + key.__name__
    raise AssertionError("%r is not named by its module's globals" % key)


def linear(keys, args=None, kwargs=(), fn=None):
    """Decorate the VJP of ``keys``, a function linear in its differentiable arguments; register it and
    derive the JVP: ``fn`` (the first key when None) applied to each tangent (see the module docstring)."""
    keys = _keys(keys)

    def deco(rule):
        if not keys:
            return rule
        glb = rule.__globals__
        fdef = _module_tree(rule.__code__.co_filename)
        fdef = next(n for n in ast.walk(fdef) if isinstance(n, ast.FunctionDef) and n.name == rule.__name__)
        params = [a.arg for a in fdef.args.args[2:]]
        outs = _outputs(fdef.body[-1].value)
        rest = [p for p in params[len(outs):] if p not in kwargs] if args is None else list(args)
        func = ast.parse(fn or _path(next(k for k in keys if not isinstance(k, str)), glb), mode="eval").body
        tangents = ["d" + p for p in params[:len(outs)]]
        forward = []
        for i, e in enumerate(outs):
            call = [ast.Name(id=tangents[i] if j == i else p, ctx=ast.Load()) for j, p in enumerate(params[:len(outs)])]
            forward.append(e if _none(e) else ast.Call(
                func=_copy(func), args=call + [ast.Name(id=p, ctx=ast.Load()) for p in rest],
                keywords=[ast.keyword(arg=k, value=ast.Name(id=k, ctx=ast.Load())) for k in kwargs]))
        home = glb["__name__"]
        name = rule.__name__[:-4] + "_jvp" if rule.__name__.endswith("_vjp") else rule.__name__ + "_jvp"
        tangent_rule = _define(home, name, _args(fdef.args, tangents + ["ans"] + params), [], _pack(forward))
        _register(keys, rule, tangent_rule, getattr(rule, "sd_check", None))
        return rule
    return deco
