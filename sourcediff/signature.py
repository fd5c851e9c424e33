"""Signatures with ``*args``, keyword-only parameters and ``**kwargs``: one parameter each.

The front end (``frontend.flatten``) makes every parameter of such a function a plain one, in its
signature's order: ``def f(x, *ys, scale=2.0, **opts)`` is differentiated as ``f(x, ys, scale, opts)``
with ``ys`` a tuple and ``opts`` a dict (containers, which ``wrt`` can name: their gradients are a tuple
and a dict). The generated functions take those plain parameters; ``bind`` turns a call as the user
writes it into them, ``call`` calls the user's function with them, ``packing`` puts ``bind`` in front of
a generated function.
"""
import functools
import inspect

from .frontend import unwrap

_P = inspect.Parameter
_PACKED = (_P.VAR_POSITIONAL, _P.KEYWORD_ONLY, _P.VAR_KEYWORD)
_SEEN = {}


def _target(f):
    """The function differentiated for ``f``: a forwarding decorator's wrapper (``def w(*a): return f(*a)``)
    is followed to the function it calls, as the front end follows it."""
    return unwrap(f, refuse=False) if inspect.isfunction(f) else f


def packed(f):
    """Does ``f`` (the function it forwards to) take ``*args``, ``**kwargs`` or keyword-only parameters?"""
    try:
        got = _SEEN.get(f)
    except TypeError:  # unhashable
        got = None
    if got is None:
        try:
            got = any(p.kind in _PACKED for p in inspect.signature(_target(f)).parameters.values())
        except (TypeError, ValueError):
            got = False
        try:
            _SEEN[f] = got
        except TypeError:
            pass
    return got


def bind(f, args, kw):
    """The plain parameters of ``f`` for the call ``f(*args, **kw)``, defaults filled in (``()`` and ``{}``
    for ``*args`` and ``**kwargs``)."""
    b = inspect.signature(_target(f)).bind(*args, **kw)
    b.apply_defaults()
    return [b.arguments[p] for p in b.signature.parameters]


def call(f, params):
    """``f`` called with its plain parameters ``params`` (as ``bind`` gives them)."""
    pos, kw = [], {}
    f = _target(f)
    for (name, p), v in zip(inspect.signature(f).parameters.items(), params):
        if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD):
            pos.append(v)
        elif p.kind is _P.VAR_POSITIONAL:
            pos.extend(v)
        elif p.kind is _P.KEYWORD_ONLY:
            kw[name] = v
        else:
            kw.update(v)
    return f(*pos, **kw)


def packing(fn, f):
    """``fn`` (taking ``f``'s plain parameters) called as ``f`` is; its attributes kept."""
    @functools.wraps(fn)
    def packed_call(*args, **kw):
        return fn(*bind(f, args, kw))
    del packed_call.__wrapped__
    return packed_call
