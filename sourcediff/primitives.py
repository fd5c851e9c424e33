"""Primitives: every fact the passes know about a primitive, declared once, in one table.

A *key* is what a lowered step does (``lower.classify(s).key``) or what generated code calls:

* an operator or structural step: ``"Add"``, ``"getitem"``, ``"attr.T"`` (``STEPS``);
* a NumPy, ``math`` or builtin callable: ``np.sum``, ``abs`` (``CALLABLES``);
* the name generated code calls a runtime helper by: ``"unbroadcast"`` (``HELPERS``; a helper
  object, ``runtime.unbroadcast``, is looked up by its name).

Derivatives are not here: they are the rules in ``rules/`` (``rules.registry``). This table holds
the other facts, each read by the pass named:

flags
  elementwise         each result element depends only on the matching (broadcast) elements of the
                      operands: a batched sweep pads the tangents and runs the plain forward rule
                      (``rules.batched.how``)
  same_shape          the result is an array of the operands' broadcast shape: the step joins a
                      parameter's shape class (``shapes``); also ``elementwise``
  not_a_sequence      a list or tuple operand raises: an operand of the step is not one (``shapes``)
  reduce              a whole-array reduction taking ``axis``/``keepdims`` (``shapes.concrete``)
  fresh               the result is a new value the function owns and may write into (``ownership``)
  reads               reads its arguments without any name or container holding them afterwards
                      (``ownership``: a write into an argument after it needs no alias check)
  number              the result is certainly a number or an array: adjoints add with ``+`` (``reverse``)
  scalar              runs unchanged on Python floats: the float fast path may use it (``pipeline``)
  constant_attr       ``attr.NAME`` for each of ``NONDIFF_ATTRS``: its value has no derivative (``context``)
  writes_nothing      writes into nothing, though it has no rule: the primal runs (``effects``)
  pure_call           a call of it by this name in generated code has no effect and depends only on its
                      arguments: ``optimize`` may share, move or drop it (``pipeline``)
  shape_helper        a helper a derivative specialised to its arguments' shapes can leave out (``pipeline``)
  new                 its result is a new array no one else holds (``inplace``)
  keeps_new           its result is its first argument or a new array: new where that argument is new
                      arithmetic (``inplace``)
  reads_only          reads its array arguments without keeping them (``inplace``)
  number_identity     on Python numbers ``f(e, x)`` is ``e``: scalar-mode inlining keeps ``e`` (``inline``)
  math_on_tangent     a ``math`` function whose forward rule calls ``math`` on the tangent itself, so it is
                      not elementwise in a batch (``rules.batched``)
  variadic_shape      its method takes the shape as separate arguments: ``x.reshape(2, 3)`` (``lower``)

valued facts
  method=NAMES        the ndarray methods lowered to this NumPy function (``lower.METHODS``)
  shape_args=POS      argument positions read only for their shape (``reverse``: a shape class's parameter
                      or a stand-in of the known shape is read instead)
  struct=POS          a structural step: the positions its derivative passes through (None: all)
                      (``context.diff_positions``)
  writes=(POS, HOW)   writes into argument POS; HOW names its lowering in ``lower.Lower`` (None: refused)
                      (``effects.WRITERS``)
  method_writes=HOW   a method of a local value that writes into it, and how it is lowered
                      (``effects.METHOD_WRITES``)
  out=POS             where a NumPy C function without an introspectable signature takes ``out`` (``effects``)

ndarray attributes (``ATTRS``, ``NONDIFF_ATTRS``, read by ``lower`` and ``runtime._check_attrs``) are two plain
statements, so that ``export`` can copy them into a standalone module.

families (facts of whole kinds of callables, not listed one by one)
  * a NumPy ufunc is ``fresh`` and ``reads``; ``elementwise`` unless it has a core signature
    (``np.matmul``); ``same_shape`` when it is also one-output.
  * a ``math`` function is ``elementwise`` unless it is ``math_on_tangent``.

Passes ask ``has(key, fact)`` (families included; ``elementwise`` and ``same_shape`` are its two shape
questions), or take a table once: ``keys``/``table`` by key, ``names``/``by_name`` by the name generated code
calls, ``methods()``. A new primitive is one ``_step``/``_fn``/``_helper`` line in its group below; declaring a
key twice, or an unknown fact, fails at import (``tests/test_primitives.py`` checks the rest).
"""
import builtins
import math
import types

import numpy as np

FLAGS = ("elementwise", "same_shape", "not_a_sequence", "reduce", "fresh", "reads", "number", "scalar",
         "constant_attr", "writes_nothing", "pure_call", "shape_helper", "new", "keeps_new", "reads_only",
         "number_identity", "math_on_tangent", "variadic_shape")
VALUED = ("method", "shape_args", "struct", "writes", "method_writes", "out")
(ELEMENTWISE, SAME_SHAPE, NOT_A_SEQUENCE, REDUCE, FRESH, READS, NUMBER, SCALAR, CONSTANT_ATTR, WRITES_NOTHING,
 PURE_CALL, SHAPE_HELPER, NEW, KEEPS_NEW, READS_ONLY, NUMBER_IDENTITY, MATH_ON_TANGENT, VARIADIC_SHAPE) = FLAGS
METHOD, SHAPE_ARGS, STRUCT, WRITES, METHOD_WRITES, OUT = VALUED

UNBROADCAST = "unbroadcast"  # the one helper every rule sums a broadcast adjoint back through
LIST_STEP = "list step"  # method_writes of append/pop: lowered as list steps of their own

TABLE = {}  # key -> {fact: value} (a flag's value is True)
STEPS, CALLABLES, HELPERS = [], [], []  # the keys of each kind, in declaration order


def _declare(kind, key, *flags, **valued):
    if key in TABLE:
        raise ValueError("primitive %r declared twice" % (key,))
    unknown = [f for f in flags if f not in FLAGS] + [f for f in valued if f not in VALUED]
    if unknown:
        raise ValueError("unknown facts %s for %r" % (unknown, key))
    if ELEMENTWISE not in flags and SAME_SHAPE in flags:
        raise ValueError("%r: same_shape implies elementwise" % (key,))
    facts = dict.fromkeys(flags, True)
    facts.update(valued)
    TABLE[key] = facts
    kind.append(key)


def _step(key, *flags, **valued):
    _declare(STEPS, key, *flags, **valued)


def _fn(obj, *flags, **valued):
    if obj is not None:  # not in this NumPy
        if isinstance(valued.get(METHOD), str):
            valued[METHOD] = (valued[METHOD],)
        _declare(CALLABLES, obj, *flags, **valued)


def _helper(name, *flags, **valued):
    _declare(HELPERS, name, *flags, **valued)


def _opt(obj, path):
    """``obj.path`` where this NumPy has it, else None."""
    for part in path.split("."):
        obj = getattr(obj, part, None)
    return obj


# --- ndarray attributes: name -> the NumPy function it differentiates like (``x.T`` as np.transpose(x)) --------
ATTRS = {"T": np.transpose, "real": np.real, "imag": np.imag}
if hasattr(np, "matrix_transpose"):
    ATTRS["mT"] = np.matrix_transpose
# constant attributes (integers, a dtype); any other attribute of a differentiated value is refused
NONDIFF_ATTRS = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides", "imag"}

# --- operators and structural steps -----------------------------------------------------------
_ARITH = (ELEMENTWISE, SAME_SHAPE, FRESH, READS, NUMBER, SCALAR)
_step("Add", *_ARITH)
_step("Sub", *_ARITH, NOT_A_SEQUENCE)
_step("Mult", *_ARITH)
_step("Div", *_ARITH, NOT_A_SEQUENCE)
_step("Pow", *_ARITH, NOT_A_SEQUENCE)
_step("USub", *_ARITH, NOT_A_SEQUENCE)
_step("UAdd", *_ARITH, NOT_A_SEQUENCE)
_step("Mod", ELEMENTWISE, FRESH, READS, NUMBER, SCALAR)  # not same_shape: shape classes have never taken `%`
_step("FloorDiv", FRESH, READS, NUMBER, SCALAR)
_step("MatMult", FRESH, READS, NUMBER)
for _k in ("Eq", "NotEq", "Lt", "LtE", "Gt", "GtE", "Not"):
    _step(_k, READS, SCALAR)
for _k in ("Is", "IsNot", "And", "Or"):
    _step(_k, SCALAR)
_step("copy", SCALAR, struct=None)
_step("tuple", struct=None)
_step("list", FRESH, struct=None)  # a list display holds its items
_step("dict", FRESH, struct=None)
_step("getitem", struct=[0])
_step("setitem", struct=[0, 1])
_step("append", struct=[0, 1], method_writes=LIST_STEP)
_step("pop", struct=[0], method_writes=LIST_STEP)
_step("attr.T", struct=[0])
_step("attr.real", struct=[0])
for _a in sorted(NONDIFF_ATTRS):
    _step("attr." + _a, CONSTANT_ATTR)

# --- NumPy: creation (a new array) -------------------------------------------------------------
for _f in (np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.array,
           np.linspace, np.eye, np.identity, np.stack, np.hstack, np.vstack, np.outer, np.tile, np.diag):
    _fn(_f, FRESH, READS)
_fn(np.concatenate, FRESH, READS, out=2)
_fn(np.arange, FRESH, READS, WRITES_NOTHING)
_fn(np.copy, FRESH, READS, method="copy")
_fn(np.matmul, FRESH, READS)
_fn(np.dot, FRESH, READS, method="dot", out=2)
_fn(np.repeat, FRESH, READS, method="repeat")
_fn(np.cumsum, FRESH, READS, method="cumsum")
_fn(np.cumprod, FRESH, READS, method="cumprod")
_fn(builtins.list, FRESH, READS)  # list(x) copies x's items
_fn(builtins.dict, FRESH, READS)
_fn(np.asarray, method="astype")

# --- NumPy: reductions and products that read without keeping ------------------------------------
_fn(np.sum, READS, REDUCE, method="sum")
_fn(np.mean, READS, REDUCE, method="mean")
_fn(np.prod, READS, REDUCE, method="prod")
_fn(np.max, READS, REDUCE, method="max")
_fn(np.min, READS, REDUCE, method="min")
_fn(np.amax, REDUCE)
_fn(np.amin, REDUCE)
_fn(np.std, READS, method="std")
_fn(np.var, READS, method="var")
_fn(np.trace, READS, method="trace")
for _f in (np.linalg.norm, np.linalg.det, np.linalg.inv, np.linalg.solve, np.einsum, np.tensordot, np.kron, np.inner,
           np.vdot):
    _fn(_f, READS)

# --- NumPy: other methods and attributes ----------------------------------------------------------
_fn(np.ravel, method=("ravel", "flatten"))
_fn(np.transpose, VARIADIC_SHAPE, method="transpose")
_fn(np.reshape, VARIADIC_SHAPE, method="reshape")
for _m in ("squeeze", "swapaxes", "diagonal", "round", "argmax", "argmin", "all", "any", "nonzero", "take", "argsort",
           "searchsorted", "argpartition"):
    _fn(getattr(np, _m), method=_m)
_fn(np.clip, ELEMENTWISE, method="clip")
_fn(np.conj, method=("conj", "conjugate"))  # a ufunc
_fn(np.real, ELEMENTWISE)

# --- NumPy: elementwise functions that are not ufuncs --------------------------------------------
for _f in (np.where, np.sinc, np.nan_to_num):
    _fn(_f, ELEMENTWISE)

# --- NumPy: shape queries, random numbers, writers -------------------------------------------------
for _f in (np.shape, np.ndim, np.size):
    _fn(_f, shape_args=(0,))
for _f in (np.random.normal, np.random.uniform, np.random.rand, np.random.randn, np.random.randint,
           np.random.random, np.random.choice, np.random.permutation, np.random.seed):
    _fn(_f, WRITES_NOTHING)
_fn(np.copyto, writes=(0, "copyto"))
_fn(np.fill_diagonal, writes=(0, "fill_diagonal"))
for _f in (np.put, np.place, np.putmask, np.random.shuffle, _opt(np, "put_along_axis")):
    _fn(_f, writes=(0, None))
_fn(np.ndarray.sort, writes=(0, None), method_writes="y[...] = np.sort(y)")
_fn(np.ndarray.fill, writes=(0, None), method_writes="y[...] = v")
for _m in ("put", "partition", "resize", "itemset", "setfield", "setflags", "byteswap"):
    _fn(_opt(np.ndarray, _m), writes=(0, None))

# --- math and builtins -----------------------------------------------------------------------------
_fn(math.fsum, MATH_ON_TANGENT)
_fn(math.ldexp, MATH_ON_TANGENT)
for _f in (builtins.abs, builtins.min, builtins.max):
    _fn(_f, ELEMENTWISE, PURE_CALL)
_fn(builtins.pow, ELEMENTWISE)
for _f in (builtins.range, builtins.len, builtins.slice):
    _fn(_f, PURE_CALL, WRITES_NOTHING)
_fn(builtins.reversed, PURE_CALL)
_fn(builtins.float, PURE_CALL)
_fn(builtins.print, WRITES_NOTHING)
_fn(builtins.isinstance, WRITES_NOTHING)

# --- runtime helpers, by the name generated code calls them ------------------------------------------
_helper(UNBROADCAST, PURE_CALL, SHAPE_HELPER, KEEPS_NEW, NUMBER_IDENTITY, shape_args=(1,))
_helper("broadcast_like", ELEMENTWISE, NUMBER_IDENTITY, shape_args=(1,))
_helper("zeros_like", PURE_CALL, NEW)
_helper("setitem_vjp", PURE_CALL, shape_args=(2,))
_helper("expand_reduced", shape_args=(1,))
_helper("keepdims_shape", shape_args=(0,))
_helper("reduced_count", shape_args=(0,))
_helper("shape_of", SHAPE_HELPER)
_helper("matmul_dx", SHAPE_HELPER, READS_ONLY)
_helper("matmul_dy", SHAPE_HELPER, READS_ONLY)
_helper("tindex", PURE_CALL, shape_args=(2,))
for _h in ("getitem_vjp", "getitem_copy", "add", "grad_like", "tsetitem", "seed_one",
           "bzeros", "bpad", "bfix", "bstack", "btindex", "btsetitem", "bdirs"):
    _helper(_h, PURE_CALL)


# --- queries -----------------------------------------------------------------------------------------

def name_of(key):
    """The name generated code calls ``key`` by: a string key itself, a callable's ``__name__``."""
    return key if isinstance(key, str) else key.__name__


def _facts(key):
    if type(key) is types.FunctionType and (key.__module__ or "").startswith("sourcediff.") and key.__name__ in HELPERS:
        key = key.__name__  # a runtime helper object: declared by the name generated code calls it
    try:
        return TABLE.get(key, {})
    except TypeError:  # unhashable
        return {}


def has(key, fact):
    """Does ``key`` have the flag ``fact``, declared or by its family (a ufunc, a ``math`` function)?"""
    if fact in _facts(key):
        return True
    if isinstance(key, np.ufunc):
        return fact in (FRESH, READS) or fact == ELEMENTWISE and key.signature is None or \
            fact == SAME_SHAPE and key.signature is None and key.nout == 1
    return fact == ELEMENTWISE and getattr(key, "__module__", None) == "math" and not has(key, MATH_ON_TANGENT)


def elementwise(key):
    """Is ``key``'s forward rule elementwise (broadcasting) in every tangent?"""
    return has(key, ELEMENTWISE)


def same_shape(key):
    """Is ``key`` a primitive whose result has the broadcast shape of its operands?"""
    return has(key, SAME_SHAPE)


def table(fact):
    """``{key: value}`` for the declared keys with ``fact`` (families not included)."""
    return {k: f[fact] for k, f in TABLE.items() if fact in f}


def keys(fact):
    """The declared keys with ``fact``."""
    return set(table(fact))


def by_name(fact):
    """``{name: value}`` for the declared keys with ``fact``, by the name generated code calls them."""
    out = {}
    for k, v in table(fact).items():
        if name_of(k) in out:
            raise ValueError("two keys with %r are named %r" % (fact, name_of(k)))
        out[name_of(k)] = v
    return out


def names(fact):
    """The names of the declared keys with ``fact``."""
    return set(by_name(fact))


def methods():
    """``{ndarray method name: the NumPy function it is lowered to}``."""
    return {m: k for k, f in TABLE.items() for m in f.get(METHOD, ())}


def is_method(key):
    """Is ``key`` an ndarray method (``np.ndarray.sort``) rather than a function?"""
    return getattr(key, "__objclass__", None) is np.ndarray
