"""Derivative rule tables; importing this package registers every rule."""
from .registry import JVP, NONDIFF, VJP, jvp, lookup, nondiff, vjp
from . import helpers, scalar, numpy_rules, runtime_rules

__all__ = ["JVP", "NONDIFF", "VJP", "jvp", "lookup", "nondiff", "vjp", "helpers", "scalar", "numpy_rules", "runtime_rules"]
