"""The rule tables: one small runnable Python function per primitive.

A key is the callable itself (``np.sin``, ``math.sin``, ``abs``) or, for
Python syntax, the gast node name (``"Add"``, ``"Mult"``, ``"USub"``,
``"MatMult"``), ``"getitem"`` or ``"attr.T"``.

Reverse rule (``@vjp(key)``)::

    def multiply(g, ans, x, y):            # g: adjoint of ans; then the primal args
        return unbroadcast(g * y, x), unbroadcast(g * x, y)

It returns one entry per *differentiable leading* positional argument (a bare
expression when there is one); ``None`` marks an argument that has no
derivative (``where``'s condition). Keyword parameters with defaults follow
and receive the call's keywords.

Forward rule (``@jvp(key)``)::

    def multiply(dx, dy, ans, x, y):       # one tangent per differentiable arg, then ans, then args
        return dx * y, x * dy               # one contribution per argument, summed by the caller

Batched forward rule (``@bjvp(key)``): the forward rule's signature, but every
tangent carries a leading batch axis (``(B,) + np.shape(value)``, or the zero
marker ``0.0``, or a container of those), so one sweep carries B directions.
Only keys whose plain forward rule would misread that axis need one; see
``batched.py`` for how a batched sweep picks among the three ways.

Rules are inlined into generated code (parameters renamed, temporaries given
fresh names), so a rule body may use only its parameters, ``np``, ``math``
and helpers from ``sourcediff.runtime``, and must end in its only ``return``.
``nondiff(*keys)`` declares functions whose outputs carry no derivative; ``structured(*keys)``
functions whose values may be containers (their contributions add with ``runtime.add``).

``refuse(key, reason, *positions)`` declares that argument ``positions`` of
``key`` (every argument when none are given) have no derivative sourcediff can
give (no closed form): the rule returns ``None`` for them, and a derivative
whose call has such an argument active is refused when it is built.
"""
import contextlib
import functools
import textwrap

import gast

VJP, JVP, BJVP, NONDIFF, STRUCTURED, REFUSED = {}, {}, {}, set(), set(), {}
# Complex numbers (``complex_rules.py``): the keys whose rules are right for complex values, and the
# rules that replace the real ones while a derivative is built in complex mode (``complex_build``).
COMPLEX_OK, CVJP, CJVP, _COMPLEX = set(), {}, {}, [False]


def _key(k):
    try:
        hash(k)
        return k
    except TypeError:
        return ("id", id(k))


def _registrar(table, what):
    def register(*keys):
        def deco(fn):
            for k in keys:
                if k is not None:  # a NumPy name this NumPy lacks (``numpy_rules._opt``)
                    table[_key(k)] = fn
            return fn
        return deco
    register.__doc__ = "Register the decorated function as the %s rule of every key." % what
    return register


vjp, jvp, bjvp = _registrar(VJP, "reverse"), _registrar(JVP, "forward"), _registrar(BJVP, "batched forward")
cvjp, cjvp = _registrar(CVJP, "complex reverse"), _registrar(CJVP, "complex forward")


def checked(check):
    """Give a rule ``check(literals, given)``, run when a derivative is built: ``literals`` maps the
    rule's parameters bound to literals at the call to their values, ``given`` names every parameter
    the call binds; it returns why the rule cannot differentiate this call (a located refusal), or None."""
    def deco(rule):
        rule.sd_check = check
        return rule
    return deco


def nondiff(*keys):
    """Declare functions (or node names) whose outputs have zero derivative."""
    for k in keys:
        NONDIFF.add(_key(k))


def structured(*keys):
    """Declare functions whose values may be containers (lists, tuples, dicts of adjoints): their
    tangent contributions, and the adjoints of their results, add with ``runtime.add``, not ``+``."""
    for k in keys:
        STRUCTURED.add(_key(k))


def is_structured(key):
    try:
        return _key(key) in STRUCTURED
    except TypeError:
        return False


def refuse(key, reason, *positions):
    """Declare argument ``positions`` of ``key`` (all when none) underivable, for ``reason``."""
    REFUSED.setdefault(_key(key), {}).update({p: reason for p in positions or ("*",)})


def refused(key, positions):
    """The reason a derivative through argument ``positions`` of ``key`` is refused, or None."""
    try:
        why = REFUSED.get(_key(key), {})
    except TypeError:
        return None
    for p in positions:
        if p in why or "*" in why:
            return why.get(p, why.get("*"))
    return None


def lookup(table, key):
    """The rule for ``key`` in ``table`` (VJP, JVP or BJVP), or None; while a derivative is built in
    complex mode, a key's complex rule first (a batched sweep then pads its plain complex JVP)."""
    try:
        k = _key(key)
        if _COMPLEX[-1] and (k in CVJP or k in CJVP):
            return {id(VJP): CVJP, id(JVP): CJVP}.get(id(table), {}).get(k)
        return table.get(k)
    except TypeError:
        return None


def complex_ok(*keys):
    """Declare the rules of ``keys`` right for complex values (JAX's convention, ``complex_rules.py``)."""
    COMPLEX_OK.update(_key(k) for k in keys)


def is_complex_ok(key):
    try:
        return _key(key) in COMPLEX_OK
    except TypeError:
        return False


def has_complex_rule(key):
    try:
        return _key(key) in CVJP
    except TypeError:
        return False


def in_complex():
    """Is a derivative being built in complex mode?"""
    return _COMPLEX[-1]


@contextlib.contextmanager
def complex_build(on):
    """Build in complex mode (``on``) or not: complex rules replace real ones, only ``COMPLEX_OK`` keys
    differentiate."""
    _COMPLEX.append(bool(on))
    try:
        yield
    finally:
        _COMPLEX.pop()


def is_nondiff(key):
    try:
        return _key(key) in NONDIFF
    except TypeError:
        return False


@functools.lru_cache(maxsize=None)
def parsed(rule):
    """(params, defaults, body statements, returned expressions) of a rule, parsed once (from the
    source a combinator wrote, ``sd_source``, or else from the rule's file)."""
    from ..frontend import parse_def, source_lines
    src = getattr(rule, "sd_source", None) or "".join(source_lines(rule.__code__)[0])
    fdef = parse_def(textwrap.dedent(src)).body[0]
    while fdef.decorator_list:
        fdef.decorator_list = []
    args = fdef.args
    params = [a.id for a in args.args]
    defaults = dict(zip(params[len(params) - len(args.defaults):], args.defaults))
    *body, ret = fdef.body
    assert isinstance(ret, gast.Return), "rule %s must end in its only return" % rule.__name__
    outs = list(ret.value.elts) if isinstance(ret.value, gast.Tuple) else [ret.value]
    return params, defaults, body, outs


def n_diff_args(table, rule):
    """How many leading positional arguments the rule differentiates."""
    params, _, _, outs = parsed(rule)
    return len(outs) if table is VJP else params.index("ans")
