"""Derivative rule tables; importing this package registers every rule."""
from .registry import JVP, NONDIFF, VJP, jvp, lookup, nondiff, vjp  # noqa: F401
from . import helpers, scalar, numpy_rules, runtime_rules  # noqa: F401,E402
