"""The primitive table (sourcediff/primitives.py): each key declared once, facts known and consistent, and every
pass's table a query of it."""
import builtins
import inspect

import numpy as np
import pytest

from sourcediff import effects, inplace, primitives as P, runtime, runtime_batched, shapes
from sourcediff.lower import ATTRS, METHODS, NONDIFF_ATTRS, VARIADIC_SHAPE, Lower
from sourcediff.rules import batched, helpers, registry as R


def test_each_key_is_declared_once_with_known_facts():
    assert len(P.STEPS) + len(P.CALLABLES) + len(P.HELPERS) == len(P.TABLE)
    with pytest.raises(ValueError, match="declared twice"):
        P._declare([], np.sum, P.READS)
    with pytest.raises(ValueError, match="unknown facts"):
        P._declare([], "NoSuchStep", "fast")
    with pytest.raises(ValueError, match="same_shape implies elementwise"):
        P._declare([], "NoSuchStep", P.SAME_SHAPE)
    assert "NoSuchStep" not in P.TABLE
    for facts in P.TABLE.values():
        assert set(facts) <= set(P.FLAGS) | set(P.VALUED)


def test_every_fact_is_documented_and_used():
    for fact in P.FLAGS + P.VALUED:
        assert "\n  %s " % fact in P.__doc__ or "\n  %s=" % fact in P.__doc__, fact
        assert P.table(fact), fact


def test_every_method_is_an_ndarray_method_lowered_to_a_numpy_function_with_a_rule():
    assert {"sum", "flatten", "astype", "conjugate", "reshape"} <= set(METHODS)
    for name, fn in METHODS.items():
        assert callable(getattr(np.ndarray, name, None)), name
        assert getattr(np, fn.__name__) is fn, name
        assert R.lookup(R.VJP, fn) is not None or R.is_nondiff(fn), name
    assert VARIADIC_SHAPE == {"reshape", "transpose"}
    for name in set(ATTRS) | NONDIFF_ATTRS:
        assert hasattr(np.ndarray, name), name
    for name, fn in ATTRS.items():
        assert R.lookup(R.VJP, fn) is not None or name in NONDIFF_ATTRS, name  # x.imag: constant on real arrays


def test_every_helper_is_a_runtime_or_rule_helper_function():
    for name in P.HELPERS:
        fn = getattr(runtime, name, None) or getattr(runtime_batched, name, None) or getattr(helpers, name, None)
        assert inspect.isfunction(fn), name
        assert P.has(fn, P.PURE_CALL) == P.has(name, P.PURE_CALL), name  # the object is looked up by its name
    assert P.UNBROADCAST == runtime.unbroadcast.__name__ and P.UNBROADCAST in P.HELPERS
    for name in P.names(P.PURE_CALL) - set(P.HELPERS):
        assert getattr(builtins, name, None) is not None, name


def test_shape_argument_positions_exist():
    for name, positions in P.by_name(P.SHAPE_ARGS).items():
        fn = getattr(runtime, name, None) or getattr(runtime_batched, name, None) or getattr(helpers, name, None) \
            or getattr(np, name)
        params = inspect.signature(fn).parameters
        assert all(i < len(params) for i in positions), name


def test_one_elementwise_query():
    """The shape analysis and the batched sweep ask the same table (they once had an elementwise() each)."""
    assert batched.elementwise is P.elementwise and shapes.elementwise is P.same_shape
    ufuncs = [getattr(np, n) for n in dir(np) if isinstance(getattr(np, n), np.ufunc)]
    for k in list(P.TABLE) + ufuncs:
        assert not P.same_shape(k) or P.elementwise(k), k
    assert P.same_shape(np.sin) and P.same_shape("Mult") and not P.same_shape(np.matmul) and not P.same_shape(np.modf)
    assert P.elementwise(np.modf) and not P.elementwise(np.matmul) and not P.elementwise("FloorDiv")
    import math
    assert P.elementwise(math.exp) and not P.elementwise(math.fsum) and P.elementwise(helpers.broadcast_like)


def test_elementwise_callables_have_forward_rules():
    for k in P.CALLABLES:
        if P.has(k, P.ELEMENTWISE):
            assert R.lookup(R.JVP, k) is not None, k


def test_effect_facts():
    lowerings = inspect.getsource(Lower.writer)
    for fn, (pos, how) in effects.WRITERS.items():
        assert pos == 0 and (how is None or 'how == "%s"' % how in lowerings), fn
        assert effects.effect(fn) == effects.WRITES, fn
    for fn in P.keys(P.WRITES_NOTHING):
        assert R.lookup(R.VJP, fn) is None and effects.effect(fn) == effects.PURE, fn
    assert not set(effects.METHOD_WRITES) & set(METHODS)
    assert {m for m, how in effects.METHOD_WRITES.items() if how == P.LIST_STEP} == {"append", "pop"}


def test_fresh_and_reads():
    """A fresh callable is also read without keeping its arguments; a list display is fresh but holds its items."""
    for k in P.CALLABLES:
        assert not P.has(k, P.FRESH) or P.has(k, P.READS), k
    assert P.has("list", P.FRESH) and not P.has("list", P.READS) and P.has(builtins.list, P.READS)
    assert P.has(np.sin, P.FRESH) and P.has(np.add, P.READS)  # the ufunc family


def test_structural_steps_and_inplace_names():
    assert set(P.by_name(P.STRUCT)) <= set(P.STEPS)
    assert inplace._NEW == {"zeros_like"} and inplace._KEEPS_NEW == {P.UNBROADCAST}
    assert inplace._READS_ONLY == {"matmul_dx", "matmul_dy"}


def test_every_pass_table_is_a_query_of_the_primitive_table():
    """The passes' own names for their tables stay, as queries: none is a hand-written copy that could drift."""
    import importlib
    context, lower, optimize, pipeline, reverse = [importlib.import_module("sourcediff." + m)
                                                   for m in ("context", "lower", "optimize", "pipeline", "reverse")]
    assert lower.METHODS == P.methods() and lower.ATTRS is P.ATTRS and lower.NONDIFF_ATTRS is P.NONDIFF_ATTRS
    assert context.NONDIFF_ATTR_KEYS == {"attr." + a for a in P.NONDIFF_ATTRS} == P.keys(P.CONSTANT_ATTR)
    assert context.STRUCT == P.by_name(P.STRUCT) and reverse.SHAPE_ARGS == P.by_name(P.SHAPE_ARGS)
    assert reverse.NUM_KEYS == P.keys(P.NUMBER) and pipeline.SCALAR_KEYS == P.keys(P.SCALAR)
    assert pipeline.PURE == P.names(P.PURE_CALL) and pipeline.SHAPE_HELPERS == P.names(P.SHAPE_HELPER)
    assert effects.WRITERS == P.table(P.WRITES) and effects.NUMPY_PURE == P.keys(P.WRITES_NOTHING)
    assert optimize._MUTATORS == {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis", "shuffle"}
    assert set(optimize._PURE_ATTRS) == {"append", "pop"}
