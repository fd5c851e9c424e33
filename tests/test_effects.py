"""Calls that write into their arguments (effects.py): modelled as in-place writes or refused.

References are central finite differences (``helpers.check``); each case gave a wrong
gradient (zeros, or the value before the write) before calls were classified by effect.
"""
import inspect

import numpy as np
import pytest

import sourcediff as sd
from sourcediff import effects
from sourcediff.rules import registry as R

from helpers import check

X = np.array([0.7, 0.3, 1.1])


def out_keyword(x):
    y = np.zeros(3)
    np.add(x, x, out=y)
    print("y:", y)  # pure: a call made for its effect that writes into nothing
    return np.sum(y * y)


def out_positional_ufunc(x):
    y = x * 1.0
    np.sin(x, y)
    return np.sum(y * x)


def out_positional(x):
    y = np.empty(3)
    np.cumsum(x, 0, None, y)
    return np.sum(y * y)


def out_result_used(x):
    y = np.empty(3)
    z = np.multiply(x, x, out=y)
    return np.sum(y * z)


def out_method(x):
    y = np.zeros(())
    x.sum(0, None, y)
    return y * y


def out_in_loop(x):
    y = np.ones(3)
    for i in range(3):
        np.multiply(y, x, out=y)
    return np.sum(y)


def copyto(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y * x)


def copyto_broadcast(x):
    y = np.zeros((2, 3))
    np.copyto(y, x[1])
    return np.sum(y * np.arange(6.0).reshape(2, 3)) + x[0]


def fill_diagonal(x):
    m = np.outer(x, x)
    np.fill_diagonal(m, x * 3.0)
    return np.sum(m * np.arange(9.0).reshape(3, 3))


def fill_diagonal_scalar(x):
    m = np.outer(x, x)
    np.fill_diagonal(m, x[1])
    return np.sum(m * np.arange(9.0).reshape(3, 3))


def sort_method(x):
    y = x * 1.0
    y.sort()
    return np.sum(y * np.arange(3.0))


def sort_method_axis(x):
    y = np.outer(x, x[::-1])
    y.sort(axis=0)
    return np.sum(y * np.arange(9.0).reshape(3, 3))


def fill_method(x):
    y = x * 2.0
    y.fill(x[0])
    return np.sum(y * x)


def helper_with_out(x, out=None):
    return x * 2.0 if out is None else x * out


def user_out(x):
    y = np.ones(3) * 3.0
    z = helper_with_out(x, out=y)
    return np.sum(z * y)


@pytest.mark.parametrize("f", [user_out, out_keyword, out_positional_ufunc, out_positional, out_result_used, out_method,
                               out_in_loop, copyto, copyto_broadcast, fill_diagonal, fill_diagonal_scalar, sort_method,
                               sort_method_axis, fill_method])
def test_writes_are_differentiated(f):
    check(f, X.copy())
    src = sd.lower(f)  # the lowered form follows the grammar (lower.validate) and writes by index
    assert f is user_out or "out=" not in src


def put(x):
    y = x * 1.0
    np.put(y, [0], x[1])
    return np.sum(y)


def putmask(x):
    y = x * 1.0
    np.putmask(y, x > 0.5, x)
    return np.sum(y)


def place(x):
    y = x * 1.0
    np.place(y, x > 0.5, [1.0])
    return np.sum(y)


def shuffle(x):
    y = x * 1.0
    np.random.shuffle(y)
    return np.sum(y)


def out_into_argument(x):
    np.sin(x, out=x)
    return np.sum(x)


def out_into_view(x):
    y = np.zeros(4)
    np.add(x, 1.0, out=y[1:])
    return np.sum(y)


def list_sort_key(x):
    y = [x[0], x[2], x[1]]
    y.sort(key=abs)
    return y[0]


def unknown_statement(x):
    y = x * 1.0
    np.ndarray.partition(y, 1)
    return np.sum(y)


def unknown_local(x):
    y = x * 1.0
    GLOBAL.view(y)
    return np.sum(y)


GLOBAL = np.array([3.0, 1.0, 2.0])


def global_sort(x):
    GLOBAL.sort()
    return np.sum(x * GLOBAL)


@pytest.mark.parametrize("f,words", [(put, "writes into its argument"), (putmask, "writes into its argument"),
                                     (place, "writes into its argument"), (shuffle, "writes into its argument"),
                                     (out_into_view, "only local names"), (list_sort_key, "`.sort()` with `key`"),
                                     (unknown_statement, "writes into its argument"),
                                     (unknown_local, "may write into `y`"),
                                     (global_sort, "may write into the value")])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_writes_refused_when_built(f, words, mode):
    with pytest.raises(sd.SourcediffError, match=words.replace("(", r"\(").replace(")", r"\)")) as e:
        sd.grad(f, mode=mode)
    assert "test_effects.py" in str(e.value)


def out_argument(x, y):
    np.sin(x, out=y)
    np.sum(x, 0, None, y)
    return np.sum(x)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_out_into_argument_refused_when_it_runs(mode):
    g = sd.grad(out_into_argument, mode=mode)
    with pytest.raises(sd.SourcediffError, match="belongs to the caller") as e:
        g(X.copy())
    assert "test_effects.py" in str(e.value)
    assert np.allclose(sd.grad(out_argument, mode=mode)(X.copy(), None), np.ones(3))  # out=None writes nothing


def aug_alias(x):
    y = x * 1.0
    z = y
    y += x  # in place: z changes too
    return np.sum(z * x)


def aug_list_alias(x):
    L = [x[0]]
    M = L
    L += [x[1]]
    return M[-1] * 2.0


def aug_view_in_loop(x):
    y = x * 1.0
    r = 0.0
    for i in range(2):
        v = y[0:2]
        y *= x
        r = r + np.sum(v)
    return r


@pytest.mark.parametrize("f", [aug_alias, aug_list_alias, aug_view_in_loop])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_augmented_assignment_into_shared_value_refused_when_it_runs(f, mode):
    g = sd.grad(f, mode=mode)
    with pytest.raises(sd.SourcediffError, match="another name also holds") as e:
        g(X.copy())
    assert "test_effects.py" in str(e.value)


def aug_owned(x):
    acc = np.zeros(3)
    s = x[0]
    t = s
    for i in range(3):
        acc += x * i
        s *= x[1]
        r = np.sum(acc) * 2.0
    r = r + acc[0]
    return r + s * t


def test_augmented_assignment_unshared():
    check(aug_owned, X.copy())


def list_sort(x):
    y = [x[0] * 1.0, x[2] * 1.0, x[1] * 1.0]
    y.sort()
    return y[0] * 2.0 + y[1]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_list_sort_refused_when_it_runs(mode):
    g = sd.grad(list_sort, mode=mode)
    with pytest.raises(sd.SourcediffError, match="NumPy arrays only") as e:
        g(X.copy())
    assert "test_effects.py" in str(e.value)


def _numpy_keys():
    """Every NumPy callable a rule or a constant declaration is keyed by."""
    keys = set(R.VJP) | set(R.JVP) | set(R.BJVP) | set(R.NONDIFF)
    return sorted((k for k in keys if callable(k) and (getattr(k, "__module__", "") or "").startswith("numpy")
                   or isinstance(k, np.ufunc)), key=repr)


def test_effect_table_covers_every_numpy_callable():
    """Each NumPy callable used by a rule or declared constant is pure, writes into nothing, and where
    it can write its result into an output array, ``effects.out_position`` knows where."""
    keys = _numpy_keys()
    assert len(keys) > 150
    for k in keys:
        assert effects.effect(k) == effects.PURE, k
        assert k not in effects.WRITERS, k
        try:
            params = inspect.signature(k).parameters
        except (TypeError, ValueError):
            params = None
        if isinstance(k, np.ufunc):
            assert effects.out_position(k) == k.nin
        elif params is None:
            assert k.__name__ in effects.OUT_POSITION or "out" not in (k.__doc__ or "").split("(")[1].split(")")[0], k
        elif "out" in params and params["out"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            assert effects.out_position(k) == list(params).index("out"), k


def test_writers_are_not_rules_or_constants():
    for k in effects.WRITERS:
        assert effects.effect(k) == effects.WRITES
        assert R.lookup(R.VJP, k) is None and R.lookup(R.JVP, k) is None and not R.is_nondiff(k), k


def test_methods_are_an_allow_list():
    from sourcediff.lower import METHODS
    for name in METHODS:
        assert getattr(np.ndarray, name, None) is not None, name
        assert name not in effects.METHOD_WRITES, name
    assert set(effects.METHOD_WRITES) == {"append", "pop", "sort", "fill"}


def test_numpy_calls_inside_rules_are_pure():
    """Every NumPy callable a rule body calls (inlined into generated code) is in the effect table as pure."""
    import gast
    seen = set()
    for table in (R.VJP, R.JVP):
        for rule in set(table.values()):
            _, _, body, outs = R.parsed(rule)
            mod = gast.Module(body=list(body) + [gast.Expr(value=o) for o in outs], type_ignores=[])
            for n in gast.walk(mod):
                if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute):
                    chain, f = [], n.func
                    while isinstance(f, gast.Attribute):
                        chain.insert(0, f.attr)
                        f = f.value
                    if isinstance(f, gast.Name) and f.id == "np":
                        obj = np
                        for part in chain:
                            obj = getattr(obj, part)
                        seen.add(obj)
                        assert effects.effect(obj) == effects.PURE, (rule.__name__, ".".join(chain))
    assert np.sum in seen and len(seen) > 50


def aug_callee(p0, p1):
    t = p0
    p0 += p1
    return p0 * t


def aug_caller(x):
    p0 = x[0]
    u = p0
    p0 += 1.0
    return aug_callee(p0, x[1]) * u + aug_callee(x[2], 0.5)


def test_guards_of_two_functions_have_their_own_names():
    check(aug_caller, X.copy())
