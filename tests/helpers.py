"""Test helpers: structure-aware central finite differences and mode checks.

References here never come from sourcediff itself: ``num_grad`` perturbs each
scalar of an argument and takes a fourth-order central difference of ``f``.
"""
import inspect
import os

import numpy as np

import sourcediff as sd


# -- structures ----------------------------------------------------------------

def leaves(x):
    """The scalars of ``x`` (floats, arrays, nested dict/list/tuple) in a fixed order."""
    if isinstance(x, dict):
        return [v for k in x for v in leaves(x[k])]
    if isinstance(x, (list, tuple)):
        return [v for e in x for v in leaves(e)]
    return [float(v) for v in np.ravel(np.asarray(x, dtype=float))]


def perturb(x, j, h):
    """A copy of ``x`` whose ``j``-th scalar (in ``leaves`` order) is moved by ``h``."""
    count = [0]

    def go(v):
        if isinstance(v, dict):
            return {k: go(v[k]) for k in v}
        if isinstance(v, (list, tuple)):
            return type(v)(go(e) for e in v)
        a = np.array(v, dtype=float)
        flat = a.reshape(-1)
        for q in range(flat.size):
            if count[0] == j:
                flat[q] += h
            count[0] += 1
        if isinstance(v, np.ndarray):
            return a
        return float(a)
    return go(x)


def unflatten(like, values):
    """``values`` (in ``leaves`` order) put back into the structure of ``like``; floats for scalars."""
    it = iter(values)

    def go(v):
        if isinstance(v, dict):
            return {k: go(v[k]) for k in v}
        if isinstance(v, (list, tuple)):
            return type(v)(go(e) for e in v)
        a = np.array([next(it) for _ in range(np.size(v))], dtype=float).reshape(np.shape(v))
        return a if isinstance(v, np.ndarray) else float(a)
    return go(like)


def same_structure(a, b, path="g"):
    """Assert ``a`` and ``b`` have the same dict/list/tuple nesting, array shapes and scalar kinds."""
    if isinstance(b, dict):
        assert isinstance(a, dict), "%s: expected dict, got %r" % (path, type(a))
        assert list(a) == list(b), "%s: keys %r != %r" % (path, list(a), list(b))
        for k in b:
            same_structure(a[k], b[k], "%s[%r]" % (path, k))
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b), "%s: expected %s, got %r" % (path, type(b).__name__, type(a))
        assert len(a) == len(b), "%s: length %d != %d" % (path, len(a), len(b))
        for i, (u, v) in enumerate(zip(a, b)):
            same_structure(u, v, "%s[%d]" % (path, i))
    elif isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray), "%s: expected ndarray, got %r" % (path, type(a))
        assert a.shape == b.shape, "%s: shape %r != %r" % (path, a.shape, b.shape)
        assert a.dtype.kind == "f", "%s: dtype %r is not floating" % (path, a.dtype)
    else:
        assert np.ndim(a) == 0, "%s: expected a scalar, got %r" % (path, a)


def assert_tree_close(a, b, rtol=1e-7, atol=1e-8, structure=True):
    if structure:
        same_structure(a, b)
    np.testing.assert_allclose(np.array(leaves(a)), np.array(leaves(b)), rtol=rtol, atol=atol)


# -- finite differences --------------------------------------------------------

def num_grad(f, args, i, h=1e-3, kwargs=None):
    """Fourth-order central differences of scalar ``f`` w.r.t. ``args[i]``, shaped like ``args[i]``."""
    kwargs = kwargs or {}
    n = len(leaves(args[i]))
    out = []
    for j in range(n):
        vals = []
        for step in (2 * h, h, -h, -2 * h):
            a = list(args)
            a[i] = perturb(args[i], j, step)
            vals.append(float(np.sum(f(*a, **kwargs))))
        out.append((-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h))
    return unflatten(args[i], out)


def num_second(f, x, h=1e-4):
    """Second-order central second derivative of scalar ``f`` at float ``x``."""
    return (f(x + h) - 2 * f(x) + f(x - h)) / (h * h)


def num_jacobian(f, args, i, h=1e-3):
    """d f(args) / d args[i] with shape ``O + I`` by fourth-order central differences."""
    x = args[i]
    y0 = np.asarray(f(*args), dtype=float)
    cols = []
    for j in range(len(leaves(x))):
        vals = []
        for step in (2 * h, h, -h, -2 * h):
            a = list(args)
            a[i] = perturb(x, j, step)
            vals.append(np.asarray(f(*a), dtype=float))
        cols.append((-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h))
    J = np.stack(cols, axis=-1)
    return J.reshape(y0.shape + np.shape(x))


# -- the checks every program gets -----------------------------------------------

def positions(f, wrt):
    """(indices, many) for ``wrt`` resolved against ``f``'s signature (independently of sourcediff)."""
    params = list(inspect.signature(f).parameters)
    many = isinstance(wrt, tuple)
    ws = wrt if many else (0 if wrt is None else wrt,)
    idx = [params.index(w) if isinstance(w, str) else w % len(params) for w in ws]
    return idx, many


def check(f, *args, wrt=None, rtol=1e-7, atol=1e-8, kwargs=None, value=True):
    """Forward and reverse ``sd.grad`` of ``f`` at ``args``: agree with each other to 1e-10, with
    finite differences to ``rtol``/``atol``, and have the structure of the arguments.
    ``value_and_grad`` (both modes; reverse only when ``value``) returns exactly ``f(*args)`` and the same
    gradient. Returns the reverse gradient."""
    kwargs = kwargs or {}
    idx, many = positions(f, wrt)
    fwd = sd.grad(f, wrt=wrt, mode="forward")(*args, **kwargs)
    rev = sd.grad(f, wrt=wrt, mode="reverse")(*args, **kwargs)
    refs = [num_grad(f, args, i, kwargs=kwargs) for i in idx]
    ref = tuple(refs) if many else refs[0]
    if many:
        assert isinstance(rev, tuple) and len(rev) == len(idx), rev
        assert isinstance(fwd, tuple) and len(fwd) == len(idx), fwd
    same_structure(rev, ref)
    same_structure(fwd, ref)
    np.testing.assert_allclose(np.array(leaves(fwd)), np.array(leaves(rev)), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.array(leaves(rev)), np.array(leaves(ref)), rtol=rtol, atol=atol)
    np.testing.assert_allclose(np.array(leaves(fwd)), np.array(leaves(ref)), rtol=rtol, atol=atol)
    want = f(*args, **kwargs)
    for mode in ("reverse", "forward"):
        v, g = sd.value_and_grad(f, wrt=wrt, mode=mode)(*args, **kwargs)
        if value or mode == "forward":
            assert np.array_equal(np.asarray(v), np.asarray(want)), (mode, v, want)
        np.testing.assert_allclose(np.array(leaves(g)), np.array(leaves(rev)), rtol=1e-10, atol=1e-12)
    return rev


def write_module(tmp_path, name, text):
    """Write ``text`` to ``tmp_path/name.py``, import it under a unique module name and return it."""
    import importlib.util
    import sys
    import textwrap
    path = tmp_path / (name + ".py")
    path.write_text(textwrap.dedent(text))
    modname = "_sd_test_%s_%d" % (name, abs(hash(str(path))))
    spec = importlib.util.spec_from_file_location(modname, str(path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


def isolated_cache_env(tmp_dir):
    """Environment changes that point the disk cache at ``tmp_dir`` (for ``monkeypatch``)."""
    return {"SOURCEDIFF_CACHE_DIR": os.fspath(tmp_dir)}
