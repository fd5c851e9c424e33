"""Value-neutral code: statements left in numerical code that change no value, allow-listed.

* Calls made for what they print or log (``logging.info(...)``, ``logger.debug(...)`` of a
  ``logging.Logger``, ``warnings.warn(...)``) run where the function's code runs them, with no derivative
  (``neutral_call``; ``print`` is such a call already: ``primitives``).
* ``with`` a context manager from ``CONTEXTS`` (no ``as`` target) is its body: ``np.errstate`` whose
  settings are literals other than ``'raise'``/``'call'`` (those turn a floating-point warning into an
  exception or a call, which the body without them would not make), ``np.printoptions``,
  ``warnings.catch_warnings()`` (the ``warnings.simplefilter``/``filterwarnings``/``resetwarnings`` calls
  inside it are dropped: without the ``with`` to undo them they would change the warnings filters for
  good), ``contextlib.nullcontext()``. Any other ``with`` stays refused (fence.py).

Before::                                   After (desugared)::
    with np.errstate(divide="ignore"):         y = np.log(x)
        y = np.log(x)
"""
import contextlib
import logging
import warnings

import gast
import numpy as np

from .names import ids

_LOG = {"debug", "info", "warning", "warn", "error", "critical", "exception", "log"}
_FILTERS = (warnings.simplefilter, warnings.filterwarnings, warnings.resetwarnings)


def neutral(fn):
    """Is ``fn`` (a resolved callee) a call made only for what it prints, logs or warns?"""
    if fn is warnings.warn or getattr(fn, "__module__", None) == "logging" and getattr(fn, "__name__", "") in _LOG \
            and getattr(logging, fn.__name__, None) is fn:
        return True
    owner = getattr(fn, "__self__", None)
    return isinstance(owner, (logging.Logger, logging.LoggerAdapter)) and getattr(fn, "__name__", "") in _LOG


def neutral_call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` for its output alone (``neutral``); a constant to every derivative."""
    fn(*args, **kwargs)


def _errstate(call):
    return not call.args and all(isinstance(k.value, gast.Constant) and k.value.value not in ("raise", "call")
                                 for k in call.keywords)


def _no_args(call):
    return not call.args and not call.keywords


def _catch(call):
    return not call.args and all(k.arg == "record" and isinstance(k.value, gast.Constant) and k.value.value is False
                                 for k in call.keywords)


CONTEXTS = {np.errstate: _errstate, np.printoptions: lambda call: True, warnings.catch_warnings: _catch,
            contextlib.nullcontext: _no_args}


def context(func, item):
    """The allow-listed context manager of one ``with`` item (None when it is not one)."""
    e = item.context_expr
    if item.optional_vars is not None or not isinstance(e, gast.Call):
        return None
    root = e.func
    while isinstance(root, gast.Attribute):
        root = root.value
    if isinstance(root, gast.Name) and root.id in ids(func.node, gast.Store):
        return None  # a local value, not the module
    fn = _resolve(func, e.func)
    ok = CONTEXTS.get(fn) if fn is not None and hashable(fn) else None
    return fn if ok is not None and ok(e) else None


def body(func, s):
    """The statements a value-neutral ``with`` statement stands for: its body, less the warnings-filter calls
    (at any depth) when it catches warnings."""
    if not any(context(func, item) is warnings.catch_warnings for item in s.items):
        return s.body
    return _unfiltered(func, s.body)


def _unfiltered(func, stmts):
    out = []
    for x in stmts:
        if isinstance(x, gast.Expr) and isinstance(x.value, gast.Call) and _resolve(func, x.value.func) in _FILTERS:
            continue
        for field in ("body", "orelse"):
            if isinstance(getattr(x, field, None), list):
                setattr(x, field, _unfiltered(func, getattr(x, field)))
        out.append(x)
    return out


def hashable(fn):
    """Can ``fn`` be a dict key (a table lookup of an unhashable callable would raise)?"""
    try:
        hash(fn)
        return True
    except TypeError:
        return False


def _resolve(func, e):
    """The global object a callee expression (``np.errstate``, ``warnings.simplefilter``) names, or None."""
    if isinstance(e, gast.Name):
        return func.resolve(e.id, None)
    if isinstance(e, gast.Attribute):
        base = _resolve(func, e.value)
        return getattr(base, e.attr, None) if base is not None else None
    return None
