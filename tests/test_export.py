"""``sd.export`` and ``sourcediff FILE::FUNC --output/--check``: a derivative as a standalone module.

The exported modules are imported in a fresh process in which importing sourcediff fails, and
must give the numbers ``sd.grad`` gives (which the rest of the suite checks against finite
differences).
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.cli import main

CORPUS = '''
import math
import numpy as np

SCALE = 1.5
W = np.array([0.5, -1.0, 2.0])


def poly(x, a, b):
    return (x + a) * (x + b)


def helper(v):
    return np.tanh(v) * SCALE


def mlp(x, w):
    h = helper(x * w)
    return np.sum(h ** 2) + np.mean(np.exp(-x * x))


def loop(y, a):
    for i in range(3):
        y = math.sin(y) * a
    return y


def branches(x):
    s = 0.0
    k = 0
    while k < 4:
        if s > 1.0:
            s = s - x * 0.5
        else:
            s = s + x * x
        k = k + 1
    return s


def lists(x):
    out = []
    for i in range(3):
        out.append(x[i] * W[i])
    return out[0] * out[1] + out[2]


def dicts(p, x):
    return np.sum(p["w"] * x) + p["b"] ** 2


def broadcast(x, m):
    return np.sum(np.log1p((m + x) ** 2) @ W)
'''

CASES = [
    ("poly", (1.0, 2.0, 3.0), ("a", "b")),
    ("mlp", (np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 0.5])), (0, 1)),
    ("loop", (0.7, 1.3), ("y", "a")),
    ("branches", (0.8,), None),
    ("lists", (np.array([0.3, -0.4, 1.2]),), None),
    ("dicts", ({"w": np.array([1.0, 2.0]), "b": 0.5}, np.array([0.3, 0.1])), 0),
    ("broadcast", (np.array([0.2, 0.4, 0.6]), np.array([[1.0], [2.0]])), (0, 1)),
]

RUNNER = '''
import importlib.abc, json, sys
import numpy as np

class NoSourcediff(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "sourcediff":
            raise ImportError("sourcediff must not be imported by an exported module")
        return None

sys.meta_path.insert(0, NoSourcediff())
sys.path = [p for p in sys.path if "sourcediff" not in p]
cases = json.loads(sys.argv[1])
out = {}
for mod, args in cases:
    m = __import__(mod)
    args = [np.array(a) if isinstance(a, list) else {k: np.array(v) if isinstance(v, list) else v for k, v in a.items()}
            if isinstance(a, dict) else a for a in args]
    g = getattr(m, m.__all__[0])(*args)
    out[mod] = g
assert not [k for k in sys.modules if k.startswith("sourcediff")]
def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return np.asarray(v).tolist()
print(json.dumps(plain(out)))
'''


def _jsonable(a):
    if isinstance(a, dict):
        return {k: _jsonable(v) for k, v in a.items()}
    return a.tolist() if isinstance(a, np.ndarray) else a


def _flat(v):
    if isinstance(v, dict):
        return [x for k in sorted(v) for x in _flat(v[k])]
    if isinstance(v, (list, tuple)):
        return [x for e in v for x in _flat(e)]
    return list(np.ravel(v))


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    (tmp_path / "corpus_mod.py").write_text(CORPUS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    sys.modules.pop("corpus_mod", None)
    return importlib.import_module("corpus_mod")


def _run_exported(tmp_path, cases):
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    res = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(cases)], capture_output=True, text=True,
                         env=env, cwd=str(tmp_path), timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_exported_modules_run_without_sourcediff_and_agree(corpus, tmp_path, mode):
    cases, expected = [], {}
    for name, args, wrt in CASES:
        if mode == "forward" and any(isinstance(a, (np.ndarray, dict)) for a in args):
            continue
        fn = getattr(corpus, name)
        path = sd.export(fn, str(tmp_path / ("d_%s.py" % name)), wrt=wrt, mode=mode)
        text = open(path).read()
        imports = [l.strip() for l in text.splitlines() if l.strip().startswith(("import ", "from "))]
        assert not [l for l in imports if "sourcediff" in l or l.startswith("from .")], imports
        assert ("from corpus_mod import" in text) == (name in ("mlp", "lists", "broadcast")), name
        cases.append(("d_%s" % name, [_jsonable(a) for a in args]))
        expected["d_%s" % name] = sd.grad(fn, wrt=wrt, mode=mode)(*args)
    got = _run_exported(tmp_path, cases)
    assert set(got) == set(expected)
    for k, v in expected.items():
        np.testing.assert_allclose(_flat(got[k]), _flat(v), rtol=1e-12, atol=1e-14)


def test_export_header_copies_only_used_helpers(corpus, tmp_path):
    text = open(sd.export(corpus.poly, str(tmp_path / "d.py"), wrt=("a", "b"))).read()
    assert "the derivative of poly, written by sourcediff %s" % sd.__version__ in text
    assert "corpus_mod.py:" in text and "sha256" in text and "wrt=('a', 'b')" in text
    assert "def unbroadcast" in text  # the generic version broadcasts
    assert "def matmul_dx" not in text and "def expand_reduced" not in text
    assert "@vjp" not in text and "@jvp" not in text  # rule registrations are not copied


def test_export_forward_refuses_arrays_clearly(corpus, tmp_path):
    sd.export(corpus.loop, str(tmp_path / "d_fwd.py"), wrt="y", mode="forward")
    sys.path.insert(0, str(tmp_path))
    try:
        import d_fwd
        assert d_fwd.loop_grad(0.7, 1.3) == pytest.approx(sd.grad(corpus.loop)(0.7, 1.3), rel=1e-12)
        with pytest.raises(TypeError, match="mode='reverse'"):
            d_fwd.loop_grad(np.array([0.7, 0.1]), 1.3)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("d_fwd", None)


def test_export_refuses_closure_objects(tmp_path):
    table = {"k": object()}

    def f(x):
        return x * len(table)
    with pytest.raises(sd.SourcediffError, match="closure variable `table`"):
        sd.export(f, str(tmp_path / "d.py"))


def test_export_writes_number_closures_as_literals(tmp_path):
    k = 2.5

    def f(x):
        return x * k
    text = open(sd.export(f, str(tmp_path / "d_closure.py"))).read()
    assert "k = 2.5" in text


def test_cli_output_and_check(corpus, tmp_path, capsys):
    src = str(tmp_path / "corpus_mod.py")
    out = str(tmp_path / "d_cli.py")
    assert main([src + "::poly", "--wrt", "a,b", "--output", out]) == 0
    assert "def poly_grad" in open(out).read()
    assert main([src + "::poly", "--wrt", "a,b", "--check", "1.0,2.0,3.0"]) == 0
    table = capsys.readouterr().out
    assert "central differences" in table and table.strip().endswith("ok")
    assert "4" in table.splitlines()[1]  # d/da = x + b = 4


def test_cli_check_reports_a_mismatch(tmp_path, capsys):
    (tmp_path / "bad_mod.py").write_text(textwrap.dedent('''
        import sourcediff as sd

        def wrong(x):
            return x * x

        sd.defvjp(wrong, lambda g, ans, x: g * 3.0 * x)
        sd.defjvp(wrong, lambda dx, ans, x: dx * 3.0 * x)

        def f(x):
            return wrong(x)
    '''))
    assert main([str(tmp_path / "bad_mod.py") + "::f", "--check", "2.0"]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_cli_check_args_file(corpus, tmp_path, capsys):
    np.savez(str(tmp_path / "args.npz"), x=np.array([0.1, 0.2, 0.3]), w=np.array([1.0, -2.0, 0.5]))
    assert main([str(tmp_path / "corpus_mod.py") + "::mlp", "--wrt", "x,w", "--check-args-file",
                 str(tmp_path / "args.npz")]) == 0
    assert "x[2]" in capsys.readouterr().out


def test_export_refuses_unnamed_rule_functions(tmp_path, monkeypatch):
    (tmp_path / "ruled_mod.py").write_text(textwrap.dedent('''
        import sourcediff as sd

        def cube(x):
            return x ** 3

        sd.defvjp(cube, lambda g, ans, x: g * 3.0 * x * x)
        sd.defjvp(cube, lambda dx, ans, x: dx * 3.0 * x * x)

        def f(x):
            return cube(x) + x
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import ruled_mod
    assert sd.grad(ruled_mod.f)(2.0) == pytest.approx(13.0)
    with pytest.raises(sd.SourcediffError, match="which no module names"):
        sd.export(ruled_mod.f, str(tmp_path / "d.py"))
