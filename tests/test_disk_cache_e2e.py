"""The disk cache end to end: a second Python process finds the derivative on disk instead of
transforming again; editing the function (or a callee) invalidates it; SOURCEDIFF_CACHE=0 writes nothing.

Each child process imports a user module from a file, optionally replaces
``sourcediff.pipeline.generate`` (the transformation) with a counting or raising
stand-in, and prints the derivative it computes as JSON.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHILD = r'''
import importlib.util, json, sys
import numpy as np
path, op, mode, patch = sys.argv[1:5]
import sourcediff as sd
import sourcediff.pipeline as P
calls = [0]
real = P.generate
if patch == "raise":
    def generate(*a, **k):
        raise RuntimeError("transformation ran (generate was called)")
    P.generate = generate
elif patch == "count":
    def generate(*a, **k):
        calls[0] += 1
        return real(*a, **k)
    P.generate = generate
spec = importlib.util.spec_from_file_location("usermod", path)
m = importlib.util.module_from_spec(spec)
sys.modules["usermod"] = m
spec.loader.exec_module(m)
x = np.array([0.5, -1.0, 2.0]) if getattr(m, "ARRAY", False) else 1.5
if op == "grad":
    out = sd.grad(m.f, mode=mode)(x)
elif op == "value_and_grad":
    out = sd.value_and_grad(m.f, mode=mode)(x)[1]
elif op == "jvp":
    out = sd.jvp(m.f)(x, np.ones_like(x) if isinstance(x, np.ndarray) else 1.0)[1]
else:
    out = sd.vjp(m.f)(x, 1.0)[1]
print(json.dumps({"grad": np.ravel(out).tolist(), "generate_calls": calls[0]}))
'''

V1 = '''
def helper(x):
    return x * x


def f(x):
    s = 0.0
    for i in range(3):
        s = s + helper(x) * (i + 1.0)
    return s
'''
# d/dx 6 x^2 = 12 x
V2 = V1.replace("return x * x", "return x * x * x")   # edit the callee: 6 x^3 -> 18 x^2
V3 = V1.replace("(i + 1.0)", "(i + 2.0)")             # edit f itself: 9 x^2 -> 18 x


def run_child(tmp_path, module_text, cache_dir, op="grad", mode="reverse", patch="count", cache_on=True,
              expect_ok=True):
    mod = tmp_path / "usermod.py"
    mod.write_text(textwrap.dedent(module_text))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1",
               SOURCEDIFF_CACHE_DIR=str(cache_dir))
    env.pop("SOURCEDIFF_CACHE", None)
    if not cache_on:
        env["SOURCEDIFF_CACHE"] = "0"
    p = subprocess.run([sys.executable, str(script), str(mod), op, mode, patch],
                       capture_output=True, text=True, env=env, timeout=180)
    if expect_ok:
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.strip().splitlines()[-1])
    assert p.returncode != 0, p.stdout
    return p.stderr


def entries(d):
    return sorted(q.name for q in d.iterdir() if not q.name.startswith(".")) if d.is_dir() else []


@pytest.fixture
def cdir(tmp_path):
    return tmp_path / "cache"


def test_raising_generate_fails_without_a_cache(tmp_path, cdir):
    """Control: the stand-in really replaces the transformation."""
    err = run_child(tmp_path, V1, cdir, patch="raise", expect_ok=False)
    assert "generate was called" in err


@pytest.mark.parametrize("op,mode", [("grad", "reverse"), ("grad", "forward"), ("value_and_grad", "reverse"),
                                     ("jvp", "forward"), ("vjp", "reverse")])
def test_second_process_uses_disk_cache(tmp_path, cdir, op, mode):
    first = run_child(tmp_path, V1, cdir, op=op, mode=mode, patch="count")
    assert first["generate_calls"] >= 1
    assert first["grad"] == pytest.approx([12 * 1.5], rel=1e-12)
    assert entries(cdir), "nothing written to the disk cache"
    again = run_child(tmp_path, V1, cdir, op=op, mode=mode, patch="count")
    assert again["generate_calls"] == 0
    assert again["grad"] == first["grad"]
    raised = run_child(tmp_path, V1, cdir, op=op, mode=mode, patch="raise")
    assert raised["grad"] == first["grad"]


def test_array_program_from_disk_cache(tmp_path, cdir):
    text = "import numpy as np\nARRAY = True\n\ndef f(x):\n    return np.sum(np.sin(x) * x)\n"
    first = run_child(tmp_path, text, cdir)
    second = run_child(tmp_path, text, cdir, patch="raise")
    assert second["grad"] == first["grad"]
    import numpy as np
    x = np.array([0.5, -1.0, 2.0])
    assert second["grad"] == pytest.approx(list(np.cos(x) * x + np.sin(x)), rel=1e-12)


def test_editing_the_function_invalidates(tmp_path, cdir):
    run_child(tmp_path, V1, cdir)
    n1 = len(entries(cdir))
    err = run_child(tmp_path, V3, cdir, patch="raise", expect_ok=False)
    assert "generate was called" in err
    out = run_child(tmp_path, V3, cdir, patch="count")
    assert out["generate_calls"] >= 1
    assert out["grad"] == pytest.approx([18 * 1.5], rel=1e-12)
    assert len(entries(cdir)) > n1
    assert run_child(tmp_path, V3, cdir, patch="raise")["grad"] == out["grad"]
    # the old version is still cached too
    assert run_child(tmp_path, V1, cdir, patch="raise")["grad"] == pytest.approx([12 * 1.5], rel=1e-12)


def test_editing_a_callee_invalidates(tmp_path, cdir):
    run_child(tmp_path, V1, cdir)
    err = run_child(tmp_path, V2, cdir, patch="raise", expect_ok=False)
    assert "generate was called" in err
    out = run_child(tmp_path, V2, cdir, patch="count")
    assert out["generate_calls"] >= 1
    assert out["grad"] == pytest.approx([18 * 1.5 ** 2], rel=1e-12)


def test_different_options_are_different_entries(tmp_path, cdir):
    run_child(tmp_path, V1, cdir, mode="reverse")
    err = run_child(tmp_path, V1, cdir, mode="forward", patch="raise", expect_ok=False)
    assert "generate was called" in err


def test_cache_disabled_writes_nothing(tmp_path, cdir):
    out = run_child(tmp_path, V1, cdir, cache_on=False)
    assert out["generate_calls"] >= 1
    assert entries(cdir) == []
    out = run_child(tmp_path, V1, cdir, cache_on=False)
    assert out["generate_calls"] >= 1
    assert entries(cdir) == []
    err = run_child(tmp_path, V1, cdir, cache_on=False, patch="raise", expect_ok=False)
    assert "generate was called" in err
