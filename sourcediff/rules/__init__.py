"""Derivative rule tables; importing this package registers every rule."""
from .registry import BJVP, JVP, NONDIFF, VJP, bjvp, jvp, lookup, nondiff, vjp
from . import helpers, scalar, numpy_rules, runtime_rules, batched

__all__ = ["BJVP", "JVP", "NONDIFF", "VJP", "bjvp", "jvp", "lookup", "nondiff", "vjp", "helpers", "scalar", "numpy_rules",
           "runtime_rules", "batched"]
