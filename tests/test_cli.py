"""The command line, driven through ``sourcediff.cli.main(argv)``.

``sourcediff.source`` / ``sourcediff.lower`` are replaced by recording fakes,
so these tests pin argument handling, ``FILE::FUNC`` resolution, exit codes and
stderr text independently of the compiler. One test at the end runs the real
compiler when it is present.
"""
import os
import subprocess
import sys
import textwrap

import pytest

import sourcediff
from sourcediff.cli import main
from sourcediff.errors import SourcediffError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = '''
import helper_mod_for_cli_test as helper

def f(x, a, b):
    return (x + a) * (x + b)

def g(x):
    return helper.scale * x

class Model:
    def loss(self, w):
        return w * w

    class Inner:
        @staticmethod
        def h(z):
            return z

value = 3
print("printed at import")
if __name__ == "__main__":
    raise RuntimeError("must not run")
'''


@pytest.fixture
def fakes(monkeypatch):
    """Install fake ``source``/``lower`` that record their calls; returns the call list."""
    calls = []

    def source(func, wrt=None, mode="reverse", optimize=True):
        calls.append(("source", func, wrt, mode, optimize))
        return "def d%s(x):\n    return 1.0" % func.__name__

    def lower(func):
        calls.append(("lower", func))
        return "def %s(x):\n    t0 = x\n    return t0\n" % func.__name__

    monkeypatch.setattr(sourcediff, "source", source, raising=False)
    monkeypatch.setattr(sourcediff, "lower", lower, raising=False)
    return calls


@pytest.fixture
def mod(tmp_path):
    (tmp_path / "helper_mod_for_cli_test.py").write_text("scale = 2.0\n")
    p = tmp_path / "model.py"
    p.write_text(MODULE)
    return str(p)


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


def test_source_defaults(fakes, mod, capsys):
    rc, out, err = run(capsys, mod + "::f")
    assert rc == 0 and out == "def df(x):\n    return 1.0\n"
    (kind, func, wrt, mode, optimize), = fakes
    assert (kind, func.__name__, wrt, mode, optimize) == ("source", "f", None, "reverse", True)
    assert func(1.0, 2.0, 3.0) == 12.0
    assert "printed at import" in err  # module output kept off stdout


def test_options_are_passed(fakes, mod, capsys):
    rc, out, _ = run(capsys, mod + "::f", "--mode", "forward", "--wrt", "a,b", "--no-optimize")
    assert rc == 0
    assert fakes[0][2:] == (("a", "b"), "forward", False)


@pytest.mark.parametrize("wrt, expected", [("x", "x"), ("0", 0), ("2", 2), ("0,b", (0, "b")), (" a , 1 ", ("a", 1))])
def test_wrt_parsing(fakes, mod, capsys, wrt, expected):
    assert run(capsys, mod + "::f", "--wrt", wrt)[0] == 0
    assert fakes[0][2] == expected


def test_lowered(fakes, mod, capsys):
    rc, out, err = run(capsys, mod + "::f", "--lowered")
    assert rc == 0 and out.startswith("def f(x):\n    t0 = x") and out.endswith("return t0\n")
    assert fakes[0][0] == "lower" and len(fakes) == 1
    rc, out, err = run(capsys, mod + "::f", "--lowered", "--wrt", "x")
    assert rc == 0 and "--wrt ignored" in err


def test_module_imports_neighbours_and_path_restored(fakes, mod, capsys):
    before = list(sys.path)
    assert run(capsys, mod + "::g")[0] == 0
    assert fakes[0][1](1.0) == 2.0  # helper next to the file was importable
    assert sys.path == before


def test_methods_and_nested(fakes, mod, capsys):
    assert run(capsys, mod + "::Model.loss")[0] == 0
    assert run(capsys, mod + "::Model.Inner.h")[0] == 0
    assert [c[1].__name__ for c in fakes] == ["loss", "h"]


def test_module_is_findable_by_inspect(fakes, mod, capsys):
    import inspect
    assert run(capsys, mod + "::f")[0] == 0
    func = fakes[0][1]
    assert "return (x + a) * (x + b)" in inspect.getsource(func)
    assert sys.modules[func.__module__].__file__ == os.path.abspath(mod)


def test_each_run_gets_a_fresh_module(fakes, mod, capsys):
    run(capsys, mod + "::f")
    run(capsys, mod + "::f")
    assert fakes[0][1].__module__ != fakes[1][1].__module__


@pytest.mark.parametrize("spec, msg", [
    ("{mod}", "expected FILE::FUNC"),
    ("{mod}::", "expected FILE::FUNC"),
    ("::f", "expected FILE::FUNC"),
    ("{mod}::1f", "is not a function name"),
    ("{mod}::f.", "is not a function name"),
    ("{mod}::missing", "has no attribute 'missing'"),
    ("{mod}::Model.nope", "has no attribute 'nope'"),
    ("{mod}::value", "is not a function"),
    ("{dir}/absent.py::f", "no such file"),
    ("{dir}::f", "not a file"),
])
def test_bad_targets_exit_2(fakes, mod, capsys, spec, msg):
    rc, out, err = run(capsys, spec.format(mod=mod, dir=os.path.dirname(mod)))
    assert rc == 2 and out == "" and not fakes
    assert "sourcediff: error: " in err and msg in err


@pytest.mark.parametrize("argv, msg", [
    ([], "required"),
    (["--mode", "sideways"], "invalid choice"),
    (["--wrt", "a-b"], "--wrt expects"),
    (["--wrt", "a,,b"], "--wrt expects"),
    (["--frobnicate"], "unrecognized arguments"),
])
def test_bad_arguments_exit_2(fakes, mod, capsys, argv, msg):
    argv = [mod + "::f"] + argv if argv else argv
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and msg in err and "usage: sourcediff" in err


def test_module_that_fails_to_import(fakes, tmp_path, capsys):
    (tmp_path / "bad.py").write_text("import no_such_module_xyz\n")
    (tmp_path / "syn.py").write_text("def f(:\n")
    (tmp_path / "exits.py").write_text("raise SystemExit(5)\n")
    rc, _, err = run(capsys, str(tmp_path / "bad.py") + "::f")
    assert rc == 2 and "cannot import" in err and "no_such_module_xyz" in err
    rc, _, err = run(capsys, str(tmp_path / "syn.py") + "::f")
    assert rc == 2 and "syn.py:1" in err
    rc, _, err = run(capsys, str(tmp_path / "exits.py") + "::f")
    assert rc == 2 and "SystemExit" in err


def test_sourcediff_error_exit_1(mod, capsys, monkeypatch):
    def refuse(func, **kw):
        raise SourcediffError("cannot differentiate this", filename="model.py", lineno=4, col=4,
                              line="    return x", hint="do something else")
    monkeypatch.setattr(sourcediff, "source", refuse, raising=False)
    rc, out, err = run(capsys, mod + "::f")
    assert rc == 1 and out == ""
    assert "printed at import\nmodel.py:4:5: cannot differentiate this\n" in err and "hint: do something else" in err


def test_internal_error_exit_3(mod, capsys, monkeypatch):
    monkeypatch.setattr(sourcediff, "source", lambda *a, **k: 1 / 0, raising=False)
    rc, out, err = run(capsys, mod + "::f")
    assert rc == 3 and out == "" and "\nsourcediff: internal error: ZeroDivisionError" in err


def test_help_and_version(capsys):
    rc, out, _ = run(capsys, "--help")
    assert rc == 0 and "FILE::FUNC" in out and "--lowered" in out
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.strip() == "sourcediff " + sourcediff.__version__


def test_python_dash_m_entry_point(tmp_path):
    """``python -m sourcediff`` runs main() in a fresh process and exits with its status, no traceback."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "sourcediff", str(tmp_path / "absent.py") + "::f"],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert p.returncode == 2 and "no such file" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([sys.executable, "-m", "sourcediff", "--version"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and p.stdout.strip() == "sourcediff " + sourcediff.__version__


@pytest.mark.skipif(not (hasattr(sourcediff, "source") and hasattr(sourcediff, "lower")),
                    reason="compiler (sourcediff.source/lower) not present yet")
def test_real_compiler_walkthrough(tmp_path, capsys):
    p = tmp_path / "w.py"
    p.write_text(textwrap.dedent("""
        def f(x, a, b):
            return (x + a) * (x + b)
    """))
    rc, out, err = run(capsys, str(p) + "::f", "--lowered")
    assert rc == 0 and "t2 = t0 * t1" in out, err
    for mode in ("reverse", "forward"):
        rc, out, err = run(capsys, str(p) + "::f", "--mode", mode, "--wrt", "a,b")
        assert rc == 0 and (out.startswith("def ") or "\ndef " in out), err
        compile(out, "<cli>", "exec")
