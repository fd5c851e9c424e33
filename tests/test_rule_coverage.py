"""The rule tables are complete and well-formed.

* every registered rule has a test spec in ``test_rules.SPECS``;
* every VJP has a JVP twin (and vice versa) with the same differentiable arity
  and the same trailing parameters;
* rule bodies reference only their parameters, locals, ``np``, ``math`` and
  helpers, and every function a rule calls has a JVP rule or is ``nondiff``
  (Hessians run forward mode over generated reverse code); ``math`` rules never
  touch ``np``;
* at least 200 NumPy callables have both rules, and (where SciPy imports) at least 60 SciPy callables.
"""
import builtins
import inspect
import math

import gast
import numpy as np

from sourcediff.rules.registry import JVP, NONDIFF, VJP, _key, is_nondiff, lookup, n_diff_args, parsed
from test_rules import SPEC_OF, key_name  # importing sourcediff.rules registers every rule

# NumPy 2.0 added 14 distinct callables that have rules (np.linalg.matmul/tensordot/outer/vecdot/cross/
# trace/diagonal/vector_norm/matrix_norm/matrix_transpose, np.vecdot, np.matrix_transpose, and np.max/np.min
# became functions of their own); on NumPy 1.x the bar is lowered by exactly those. NumPy 2.0 itself
# (the newest Python 3.9 gets) must reach 200 without the 2.1 names (unstack, cumulative_sum/prod) and the 2.2
# ones (matvec, vecmat); NumPy 1.x also lacks np.linalg.svdvals.
MIN_NUMPY = 200 if int(np.__version__.split(".")[0]) >= 2 else 200 - 15
OURS = ("sourcediff.rules.scalar", "sourcediff.rules.numpy_rules", "sourcediff.rules.numpy_linalg",
        "sourcediff.rules.numpy_reductions", "sourcediff.rules.numpy_shapes", "sourcediff.rules.numpy_decomp",
        "sourcediff.rules.numpy_extra", "sourcediff.rules.numpy_stats",
        "sourcediff.rules.fft_helpers", "sourcediff.rules.to_python",
        "sourcediff.rules.helpers",
        "sourcediff.rules.scipy_rules", "sourcediff.rules.scipy_stats")
MIN_SCIPY = 60


def _ours(table):
    """Keys whose rule lives in the derivative rule tables; the compiler's own rules
    (runtime_rules: getitem, containers, tape) are tested with the compiler."""
    return {k for k, f in table.items() if f.__module__ in OURS}


def _numpy_callables():
    objs = {}
    for mod in (np, np.linalg):
        for name in dir(mod):
            if not name.startswith("_"):
                v = getattr(mod, name, None)
                if callable(v) and not isinstance(v, type):
                    objs[id(v)] = v
    return objs


def test_every_rule_has_a_spec():
    spec_keys = {_key(k) for k in SPEC_OF}
    missing = sorted(key_name(k) for k in _ours(VJP) | _ours(JVP) if k not in spec_keys)
    assert not missing, "rules without a test spec in tests/test_rules.py SPECS: %s" % missing


def test_specs_name_registered_rules():
    stray = sorted(key_name(k) for k in SPEC_OF if _key(k) not in VJP)
    assert not stray, "specs for keys with no rule: %s" % stray


def test_vjp_and_jvp_are_twins():
    only_vjp = sorted(key_name(k) for k in _ours(VJP) - set(JVP))
    only_jvp = sorted(key_name(k) for k in _ours(JVP) - set(VJP))
    assert not only_vjp and not only_jvp, "VJP without JVP: %s; JVP without VJP: %s" % (only_vjp, only_jvp)
    for k in _ours(VJP):
        v, j = VJP[k], JVP[k]
        n = n_diff_args(VJP, v)
        assert n == n_diff_args(JVP, j) == len(parsed(j)[3]), key_name(k)
        vp, jp = parsed(v)[0], parsed(j)[0]
        assert vp[:2] == ["g", "ans"] or vp[1] == "ans", key_name(k)
        assert vp[2:] == jp[n + 1:], "%s: VJP and JVP take different arguments" % key_name(k)
    both_nondiff = sorted(key_name(k) for k in (set(VJP) | set(JVP)) & NONDIFF)
    assert not both_nondiff, "keys both differentiable and nondiff: %s" % both_nondiff


def _resolve(node, glb):
    """The object a call's func node names (np.x, np.linalg.x, math.x, helper), or None."""
    if isinstance(node, gast.Name):
        return glb.get(node.id, getattr(builtins, node.id, None))
    if isinstance(node, gast.Attribute):
        base = _resolve(node.value, glb)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _check_body(rule, key):
    params, defaults, body, outs = parsed(rule)
    glb = rule.__globals__
    mod = gast.Module(body=list(body) + [gast.Expr(value=o) for o in outs], type_ignores=[])
    stored = {n.id for n in gast.walk(mod) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    problems = []
    for n in gast.walk(mod):
        if isinstance(n, gast.Return):
            problems.append("a second return")
        if isinstance(n, (gast.Lambda, gast.FunctionDef, gast.ListComp, gast.GeneratorExp)):
            problems.append("a nested function or comprehension")
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            if n.id in params or n.id in stored or n.id in ("np", "math"):
                continue
            obj = glb.get(n.id, getattr(builtins, n.id, None))
            if inspect.ismodule(obj) and obj.__name__.startswith("scipy."):
                continue  # a SciPy module the rule module imports: its calls are checked below
            if obj is None or not callable(obj):
                problems.append("unknown name %r" % n.id)
        if isinstance(n, gast.Call):
            f = _resolve(n.func, glb)
            if f is None:
                problems.append("call of an unresolvable %s" % gast.dump(n.func)[:60])
            elif not (lookup(JVP, f) or is_nondiff(f)):
                problems.append("calls %s, which has no JVP rule and is not nondiff" % key_name(f))
    if isinstance(key, type(math.sin)) and getattr(key, "__module__", "") == "math" or \
            (not isinstance(key, str) and key_name(key).startswith("math.")):
        if any(isinstance(n, gast.Name) and n.id == "np" for n in gast.walk(mod)):
            problems.append("a math rule uses np (generated scalar code must stay plain-float)")
    return problems


def test_rule_bodies_are_inlinable_and_differentiable():
    bad = {}
    for table in (VJP, JVP):
        for k, rule in table.items():
            p = _check_body(rule, k)
            if p:
                bad["%s %s" % ("vjp" if table is VJP else "jvp", key_name(k))] = p
    assert not bad, "\n".join("%s: %s" % kv for kv in sorted(bad.items()))


def test_numpy_coverage():
    objs = _numpy_callables()
    both = sorted({key_name(v) for i, v in objs.items() if lookup(VJP, v) and lookup(JVP, v)})
    nondiff = [v for v in objs.values() if is_nondiff(v)]
    print("\n%d NumPy callables have both a VJP and a JVP rule; %d are declared nondiff" % (len(both), len(nondiff)))
    print(", ".join(both))
    assert len(both) >= MIN_NUMPY, "only %d NumPy functions have both rules" % len(both)


def _scipy_callables():
    """The public callables of the SciPy modules sourcediff has rules for, and the methods of the
    ``scipy.stats`` distributions (bound methods: each access makes a new, equal one)."""
    import pytest
    pytest.importorskip("scipy")
    import scipy.integrate
    import scipy.linalg
    import scipy.signal
    import scipy.special
    import scipy.stats
    objs = {}
    for mod in (scipy.special, scipy.signal, scipy.linalg, scipy.integrate):
        for name in dir(mod):
            v = getattr(mod, name, None)
            if not name.startswith("_") and callable(v) and not isinstance(v, type):
                objs["%s.%s" % (mod.__name__, name)] = v
    for dist in ("norm", "t", "chi2", "gamma", "beta", "poisson", "dirichlet", "multivariate_normal"):
        for meth in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "pmf", "logpmf"):
            v = getattr(getattr(scipy.stats, dist), meth, None)
            if v is not None:
                objs["scipy.stats.%s.%s" % (dist, meth)] = v
    return objs


def test_scipy_coverage():
    objs = _scipy_callables()
    both = sorted(n for n, v in objs.items() if lookup(VJP, v) and lookup(JVP, v))
    distinct = {_key(objs[n]) for n in both}  # psi is digamma, jn is jv: counted once
    print("\n%d SciPy callables (%d names) have both a VJP and a JVP rule:\n%s"
          % (len(distinct), len(both), ", ".join(both)))
    assert len(distinct) >= MIN_SCIPY, "only %d SciPy callables have both rules" % len(distinct)


def test_scipy_refusals_are_located():
    """Every refused SciPy argument is declared with a reason, and each refused key is a real callable."""
    from sourcediff.rules.registry import REFUSED
    objs = _scipy_callables()
    keys = {_key(v) for v in objs.values()}
    refused = [k for k in REFUSED if k in keys]
    assert len(refused) >= 15, refused
    assert all(isinstance(r, str) and len(r) > 20 for k in refused for r in REFUSED[k].values())


def test_rule_names_bind_one_object():
    """Generated code binds what a rule names by that name, and the disk cache binds it again from the
    runtime and rule modules (``build._helpers``): each name must mean one object everywhere."""
    from sourcediff import build
    from sourcediff.rules import BJVP
    env = build._helpers()
    bad = set()
    for table in (VJP, JVP, BJVP):
        for k, rule in table.items():
            params, _, body, outs = parsed(rule)
            mod = gast.Module(body=list(body) + [gast.Expr(value=o) for o in outs], type_ignores=[])
            for n in gast.walk(mod):
                if isinstance(n, gast.Name) and n.id in rule.__globals__ and n.id not in params:
                    if env.get(n.id) is not rule.__globals__[n.id]:
                        bad.add("%s (in %s)" % (n.id, rule.__module__))
    assert not bad, sorted(bad)
