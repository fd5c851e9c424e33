"""The Numba backend (``backend="numba"``): the Python backend's gradients, to 1e-12.

On the NumPy end-to-end corpus (``test_numpy_e2e``) and on random programs (``tests/programs.py``) the
compiled derivative (or, where Numba cannot compile it, the Python version it falls back to) gives the
Python backend's numbers. Numba's compile time adds up, so the default suite takes a sample; set
``SOURCEDIFF_NUMBA_FULL=1`` for every e2e case and 300 random programs. Then: the workloads' shapes of
code (scalar loops, elementwise chains, an RNN, a ``while`` with ``break``) compile with no fallback; a
fallback warns once and names the construct; the compiled version never gives what Python would not
(an error where Python raises, a changed global); without Numba a SourcediffError names the extra.
"""
import textwrap
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

numba = pytest.importorskip("numba")

import sourcediff as sd  # noqa: E402
from sourcediff import runtime  # noqa: E402
import programs as P  # noqa: E402
from helpers import write_module  # noqa: E402
from test_numpy_e2e import CASES as E2E, IDS as E2E_IDS, make_case  # noqa: E402

FULL = os.environ.get("SOURCEDIFF_NUMBA_FULL", "").strip().lower() not in ("", "0", "false", "no")
N_E2E, N_PROGRAMS = 16, 20  # the default sample (each compile takes Numba a fraction of a second)


def _sample(items, n):
    return list(items) if FULL else list(items)[::max(1, len(items) // n)]


def _leaves(g):
    if runtime.is_struct(g):
        return [type(g)] + _leaves(list(runtime.struct_children(g)))
    if isinstance(g, (tuple, list)):
        return [x for e in g for x in _leaves(e)]
    if isinstance(g, dict):
        return [x for k in sorted(g) for x in _leaves(g[k])]
    return [g]


def assert_same(py, nb, what=""):
    """The Numba backend's result ``nb`` is the Python backend's ``py``: structure, types and values to 1e-12."""
    a, b = _leaves(py), _leaves(nb)
    assert len(a) == len(b), "%s: %d values, Python gave %d" % (what, len(b), len(a))
    for x, y in zip(a, b):
        if isinstance(x, type):
            assert x is y, "%s: a %s for Python's %s" % (what, y, x)
            continue
        assert isinstance(y, np.ndarray) == isinstance(x, np.ndarray), "%s: %r for Python's %r" % (what, y, x)
        assert np.shape(x) == np.shape(y), "%s: shape %s for Python's %s" % (what, np.shape(y), np.shape(x))
        x, y = np.asarray(x, float), np.asarray(y, float)
        scale = max(1.0, float(np.max(np.abs(x), initial=0.0, where=np.isfinite(x))))
        np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-12 * scale, equal_nan=True, err_msg=what)


def both(op, f, args, **kw):
    """``op(f, **kw)(*args)`` on the Python backend and on the Numba one (a fallback allowed)."""
    py = op(f, **kw)(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nb = op(f, backend="numba", **kw)
        return py, nb(*args), nb(*args)  # the second call: a shape-specialised version may run


@pytest.mark.parametrize("key,case", [pytest.param(k, c, id=i) for (k, c), i in
                                      _sample(list(zip(E2E, E2E_IDS)), N_E2E)])
def test_e2e_corpus(tmp_path, key, case):
    f, values = make_case(tmp_path, key, case)
    wrt = tuple(range(len(values)))
    with np.errstate(all="ignore"):
        for mode in ("reverse", "forward"):
            py, nb1, nb2 = both(sd.grad, f, values, wrt=wrt, mode=mode)
            assert_same(py, nb1, mode)
            assert_same(py, nb2, mode + ", second call")


def _programs():
    n = 300 if FULL else N_PROGRAMS
    return [P.random_program(seed) for seed in range(1000, 1000 + n)]


def test_random_programs():
    """value_and_grad on random programs of the soak grammar: the same values and gradients."""
    compared = 0
    for prog in _programs():
        with P.Loaded(prog.source) as mod, np.errstate(all="ignore"):
            wrt = tuple(range(len(prog.args)))
            try:
                py = sd.value_and_grad(mod.main, wrt=wrt)(*P._copy(prog.args))
            except Exception:
                continue  # refused or raising programs are other tests' business
            try:
                _, nb1, nb2 = both(sd.value_and_grad, mod.main, P._copy(prog.args), wrt=wrt)
            except Exception as e:
                raise AssertionError("the Numba backend raised %s: %s\n%s" % (type(e).__name__, e, prog.source))
            assert_same(py, nb1, prog.source)
            assert_same(py, nb2, prog.source)
            compared += 1
    assert compared >= len(_programs()) // 2


# -- what compiles without falling back ------------------------------------------------------------
def scalar_loop(y, a):
    for i in range(20):
        y = math.sin(y) * a + y * 0.5
    return y


def chain(x):
    return np.sum(np.sin(x) * np.exp(-x ** 2) + np.log1p(x * x))


def rnn(Wx, Wh, b, xs, h0):
    h = h0
    for x_t in xs:
        h = np.tanh(x_t @ Wx + h @ Wh + b)
    return np.sum(h ** 2)


def newton(p, q, a, y):
    total = 0.0
    for i in range(len(a)):
        x = 1.0
        while True:
            step = (x * x * x + p * x - q * a[i]) / (3.0 * x * x + p)
            x = x - step
            if abs(step) < 1e-12:
                break
        total = total + (x - y[i]) ** 2
    return total


def _rnn_args():
    r = np.random.default_rng(0)
    return (r.standard_normal((3, 4)), r.standard_normal((4, 4)) * 0.5, r.standard_normal(4),
            r.standard_normal((5, 2, 3)), np.zeros((2, 4)))


COMPILED = [(scalar_loop, (0, 1), (0.3, 0.9)), (chain, 0, (np.linspace(-2, 2, 9),)),
            (rnn, (0, 1, 2), _rnn_args()), (newton, (0, 1), (2.0, 1.5, np.linspace(0.1, 2, 6), np.ones(6)))]


def _compiled_versions(g):
    versions = list(getattr(g, "specialised", {}).values()) or [g]
    return [getattr(v, "sd_compiled", None) for v in versions]


@pytest.mark.parametrize("f,wrt,args", COMPILED, ids=[c[0].__name__ for c in COMPILED])
def test_compiles_without_fallback(f, wrt, args):
    py = sd.grad(f, wrt=wrt)(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback warns
        g = sd.grad(f, wrt=wrt, backend="numba")
        out = g(*args)
    assert_same(py, out, f.__name__)
    cs = _compiled_versions(g)
    assert cs and all(c is not None and c.off is None for c in cs), "%s runs as Python" % f.__name__


def test_value_and_grad_vjp_jvp_jacobian_hessian():
    x = np.linspace(-1.0, 1.0, 5)
    for op, args, kw in [(sd.value_and_grad, (x,), {}), (sd.vjp, (x, 1.0), {}), (sd.jvp, (x, np.ones(5)), {}),
                         (sd.jacobian, (x,), {"mode": "forward"}), (sd.jacobian, (x,), {}), (sd.hessian, (x,), {}),
                         (sd.grad, (x,), {"mode": "forward"})]:
        py, nb1, nb2 = both(op, chain, args, **kw)
        assert_same(py, nb1, op.__name__)
        assert_same(py, nb2, op.__name__)


# -- falling back, and never another answer than Python's -----------------------------------------
def with_dict(d):
    return d["a"] * math.sin(d["b"])


def test_fallback_warns_once_and_names_the_construct():
    d = {"a": 1.5, "b": 0.25}
    with pytest.warns(RuntimeWarning) as rec:
        g = sd.grad(with_dict, backend="numba")
        first, second = g(d), g(d)
    assert len([w for w in rec if "Numba" in str(w.message)]) == 1
    assert "with_dict_grad" in str(rec[0].message) and "not dict" in str(rec[0].message)
    assert first == second == sd.grad(with_dict)(d)


def sliced(x):
    return np.sum(x[1:3] ** 2)


def test_uncompilable_construct_warns_once_with_its_name():
    x = np.linspace(0.0, 1.0, 4)
    with pytest.warns(RuntimeWarning) as rec:
        g = sd.grad(sliced, backend="numba")
        first, second = g(x), g(x)
    msgs = [str(w.message) for w in rec if "Numba" in str(w.message)]
    assert len(msgs) == 1 and "Numba cannot compile sliced_grad" in msgs[0] and "getitem_vjp" in msgs[0], msgs
    assert_same(sd.grad(sliced)(x), first)
    assert_same(first, second)


def log_of(x):
    return math.log(x) * x


def test_python_errors_stay_python_errors():
    g = sd.grad(log_of, backend="numba")
    assert g(2.0) == sd.grad(log_of)(2.0)
    with pytest.raises(ValueError):  # Numba's log gives nan here; math.log raises
        g(-1.0)


def picks(x, i):
    return x[i] * 2.0


def test_out_of_bounds_index_raises_like_python():
    g = sd.grad(picks, backend="numba")
    assert_same(sd.grad(picks)(np.ones(3), 1), g(np.ones(3), 1))
    with pytest.raises(IndexError):
        g(np.ones(3), 7)


def test_changed_global_is_read_again(tmp_path):
    mod = write_module(tmp_path, "numba_global_mod", "import math\nK = 2.0\n\n\ndef f(x):\n"
                       "    for i in range(3):\n        x = math.sin(x) * K\n    return x\n")
    g = sd.grad(mod.f, backend="numba")
    assert g(0.4) == pytest.approx(sd.grad(mod.f)(0.4), rel=1e-12)
    mod.K = 3.0
    assert g(0.4) == pytest.approx(sd.grad(mod.f)(0.4), rel=1e-12)


def test_unknown_backend_is_refused():
    with pytest.raises(sd.SourcediffError, match="backend must be"):
        sd.grad(chain, backend="jax")


def test_missing_numba_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    with pytest.raises(sd.SourcediffError, match=r"sourcediff\[numba\]"):
        sd.grad(chain, backend="numba")


def test_cli_backend_numba(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("import math\n\n\ndef f(x, y):\n    for i in range(3):\n        x = math.sin(x) * y\n"
                    "    return x\n")
    out = subprocess.run([sys.executable, "-m", "sourcediff", "%s::f" % path, "--backend", "numba", "--no-color"],
                         capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr
    assert "@numba.njit(cache=True, boundscheck=True)" in out.stdout and "tape__0.pop()" in out.stdout


# -- speed: tapes of floats as arrays, a lean path for float calls, NumPy's loops for large arrays -----
def _text(g):
    return _compiled_versions(g)[0].text


def main_of(text, name):
    """The text of function ``name`` in a generated module."""
    start = text.index("def %s(" % name)
    end = text.find("\n\n\n", start)
    return text[start:] if end < 0 else text[start:end]


def counted(y, a, n):
    for i in range(n):
        y = math.sin(y) * a + y * 0.5
        for j in range(2):
            if y > 0.0:
                y = y * a
            y = math.cos(y) + a
    return y


def searched(y, a):
    while y < 10.0:
        y = y + math.exp(a) * 0.5 + 0.1 * math.sin(y)
    return y


@pytest.mark.parametrize("n", [0, 1, 7])
def test_float_tapes_are_arrays_where_the_loop_is_counted(n):
    """Floats a counted loop keeps go to float arrays (room reserved before the loop), not to lists: the same
    gradients, for no turn, one turn and several (inner loops reserve in each outer turn). A ``while`` loop's
    trip count is not known when it starts: its tape stays a list, its answer Python's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        g = sd.grad(counted, wrt=(0, 1), backend="numba")
        out = g(0.3, 0.9, n)
        h = sd.grad(searched, wrt=(0, 1), backend="numba")
        found = h(0.5, 0.2 + n)
    assert_same(sd.grad(counted, wrt=(0, 1))(0.3, 0.9, n), out)
    main = main_of(_text(g), "counted_grad")
    assert "_sd_reserve(" in main and ".append(y)" not in main and ".append(t2)" not in main, main
    assert ".append(t6)" in main  # a bool (y > 0.0) stays in a list
    assert_same(sd.grad(searched, wrt=(0, 1))(0.5, 0.2 + n), found)
    assert ".append(" in main_of(_text(h), "searched_grad")


def log_loop(x):
    for i in range(2):
        x = math.log(x) + 2.0
    return x


def test_float_calls_skip_the_general_path(monkeypatch):
    """A call with floats only goes straight to the compiled code (the general path's checks cost as much as a
    short loop); other calls still take it; answers stay Python's: where Numba's log gives a NaN, math.log
    raises, and the lean path reruns the call in Python too."""
    g = sd.grad(scalar_loop, wrt=(0, 1), backend="numba")
    want = sd.grad(scalar_loop, wrt=(0, 1))
    lg = sd.grad(log_loop, backend="numba")
    with monkeypatch.context() as m:
        m.setattr(sd.backend_numba.Compiled, "__call__", lambda self, *a: pytest.fail("the general path"))
        assert_same(want(0.3, 0.9), g(0.3, 0.9))
        assert lg(3.0) == pytest.approx(sd.grad(log_loop)(3.0), rel=1e-12)
        with pytest.raises(ValueError):
            lg(-1.0)
    assert_same(want(np.float64(0.3), 0.9), g(np.float64(0.3), 0.9))
    assert_same(want(1, 0.9), g(1, 0.9))


def smooth(x):
    return np.sum(np.tanh(x) * np.exp(x * 0.5) + np.log1p(x * x))


@pytest.mark.parametrize("shape", [(7,), (40, 30)])
def test_large_arrays_use_numpys_loops(shape):
    """``np.tanh``/``np.exp``/``np.log1p`` of a large float array run NumPy's own loop (SIMD, 7-20x Numba's),
    small ones Numba's: the Python backend's numbers either way, also for a transposed (Fortran-order) value."""
    x = np.random.default_rng(1).standard_normal(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        g = sd.grad(smooth, backend="numba")
        for v in (x, x.T):
            got = g(v)
            assert_same(sd.grad(smooth)(v), got)
    text = _text(g)
    assert "_sd_np_tanh(" in text and "_sd_np_exp(" in text and "_sd_np_log1p(" not in text, text  # log1p: shapes only


def test_rnn_tanh_runs_numpys_loop():
    args = _rnn_args()
    args = args[:3] + (np.random.default_rng(2).standard_normal((3, 40, 3)), np.zeros((40, 4)))  # 160 per step
    g = sd.grad(rnn, wrt=(0, 1, 2), backend="numba")
    assert_same(sd.grad(rnn, wrt=(0, 1, 2))(*args), g(*args))
    assert "_sd_np_tanh(" in main_of(_text(g), "rnn_grad")


def test_fused_loop_tests_finiteness_in_the_loop():
    """The fused loop returns a NaN flag with its result (no second pass over the result); a value that is not
    finite sends the call to the Python version."""
    g = sd.grad(chain, backend="numba")
    x = np.linspace(-2.0, 2.0, 9)
    assert_same(sd.grad(chain)(x), g(x))
    fused = _compiled_versions(g)[0].fused
    assert fused(x)[1] == 0.0 and math.isnan(fused(np.array([np.inf, 1.0]))[1])


def test_the_fused_modules_example():
    """numba_fused's docstring: its Before, fused, is its After."""
    import ast
    from sourcediff import numba_fused
    doc = numba_fused.__doc__
    before = doc.split("Before (the derivative, in NumPy)::")[1].split("After::")[0]
    after = doc.split("After::")[1]
    got = numba_fused.fused(ast.parse(textwrap.dedent(before)).body[0])
    assert ast.unparse(got) == ast.unparse(ast.parse(textwrap.dedent(after)))
