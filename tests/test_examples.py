"""The scripts in examples/: each main() runs, asserts its own checks, and prints what it promises."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, EXAMPLES)  # as when an example runs as a script: its folder's _plot module is importable
NAMES = ["walkthrough", "inverse_problem", "projectile", "mlp", "tensor_walkthrough", "loops_and_branches", "scipy_mle",
         "distributed_logistic"]


def load(name):
    path = os.path.join(EXAMPLES, name + ".py")
    spec = importlib.util.spec_from_file_location("sourcediff_example_" + name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_main(name, capsys):
    module = load(name)
    module.main()
    return capsys.readouterr().out


def test_every_example_is_listed():
    found = sorted(f[:-3] for f in os.listdir(EXAMPLES) if f.endswith(".py") and not f.startswith("_"))
    assert found == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_is_a_script_with_a_docstring(name):
    if name == "scipy_mle":
        pytest.importorskip("scipy")
    module = load(name)
    assert module.__doc__ and module.__doc__.strip()
    assert callable(module.main)
    with open(os.path.join(EXAMPLES, name + ".py")) as fh:
        text = fh.read()
    assert any('if __name__ == "__main__":\n    main(%s)' % a in text for a in ("", "sys.argv[1:]"))


def test_walkthrough(capsys):
    out = run_main("walkthrough", capsys)
    for step in ("t0 = x + a", "t1 = x + b", "t2 = t0 * t1"):
        assert step in out
    assert "def f_grad" in out and "def g_grad" in out
    assert "dt2_da" in out          # forward-mode tangents
    assert "dt2 = " in out          # reverse-mode adjoint seed
    assert "math.cos(x1)" in out
    assert out.count("forward mode") >= 2 and out.count("reverse mode") >= 2
    assert "the exported g_grad at" in out and "import numpy as np" in out  # Part 3: sd.export
    assert "All derivatives match the hand derivations." in out


def test_walkthrough_as_a_script():
    # what `make demo` runs
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "walkthrough.py")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "t2 = t0 * t1" in proc.stdout
    assert "All derivatives match the hand derivations." in proc.stdout


def test_inverse_problem(capsys):
    out = run_main("inverse_problem", capsys)
    assert "dx_p = dt1 * 3" in out and "# grad of: return x**3 - 2*x**2 + 3*x - 5" in out
    m = re.search(r"converged after (\d+) steps: x = ([-\d.]+), p\(x\) = ([-\d.]+)", out)
    assert m, out
    assert int(m.group(1)) > 0
    assert abs(float(m.group(3)) - 42.0) < 1e-6


def test_projectile(capsys):
    out = run_main("projectile", capsys)
    m = re.search(r"hit after (\d+) steps: .* miss ([-+.\de]+) m", out)
    assert m, out
    module = sys.modules["sourcediff_example_projectile"]
    assert float(m.group(2)) < 1e-3 * module.TARGET


def test_mlp(capsys):
    out = run_main("mlp", capsys)
    m = re.search(r"loss ([\d.]+) -> ([\d.]+), training accuracy ([\d.]+)", out)
    assert m, out
    first, last, acc = map(float, m.groups())
    assert last < first / 2
    assert acc > 0.9


def test_tensor_walkthrough(capsys):
    out = run_main("tensor_walkthrough", capsys)
    assert "unbroadcast(seed, b)" in out     # the bias adjoint summed over the batch
    for rule in ("dY.sum(axis=1)", "dY @ V.T", "W.T @ dY"):
        assert rule in out
    assert "MISMATCH" not in out
    assert "All adjoints match the hand-derived rules." in out


def test_loops_and_branches(capsys):
    out = run_main("loops_and_branches", capsys)
    assert "tape.pop()" in out and "reversed(" in out
    assert "forward and reverse mode agree with finite differences on every path." in out


def test_scipy_mle(capsys):
    pytest.importorskip("scipy")
    out = run_main("scipy_mle", capsys)
    assert "stats.t.logpdf(x, df, mu, s)" in out and "sp_special.digamma" in out  # the t rule, inlined
    m = re.findall(r"gradient at the start vs central differences: max difference ([\d.e+-]+)", out)
    assert len(m) == 2 and all(float(v) < 1e-4 for v in m), out
    assert "Both fits recover the true parameters." in out


@pytest.mark.parametrize("name", ["inverse_problem", "projectile", "mlp", "scipy_mle"])
def test_plot_writes_a_png(name, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / (name + ".png")
    load(name).main(["--plot", str(path)])
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000  # a drawn figure, not an empty canvas
    assert "saved %s" % path in capsys.readouterr().out
