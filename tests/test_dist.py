"""The package builds (wheel and sdist) and installs into a clean virtual environment that then
differentiates a function, finds ``py.typed`` and runs the ``sourcediff`` command."""
import os
import subprocess
import sys
import textwrap
import venv

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE = textwrap.dedent('''
    import os, sys
    import sourcediff as sd
    assert not sd.__file__.startswith(sys.argv[1]), sd.__file__  # the installed copy, not the checkout
    assert os.path.exists(os.path.join(os.path.dirname(sd.__file__), "py.typed"))
    sys.path.insert(0, sys.argv[2])
    import smoke_mod
    assert sd.grad(smoke_mod.f, wrt=("a", "b"))(1.0, 2.0, 3.0) == (4.0, 3.0)
    print("smoke ok", sd.__version__)
''')


def _sh(*cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert res.returncode == 0, "%s\n%s\n%s" % (" ".join(cmd), res.stdout[-2000:], res.stderr[-3000:])
    return res.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    _sh(sys.executable, "-m", "build", "--outdir", str(out), ROOT)
    return out


def test_wheel_and_sdist_install_into_a_clean_venv(built, tmp_path):
    from sourcediff.version import VERSION
    env = tmp_path / "venv"
    venv.create(str(env), with_pip=True)
    py = str(env / "bin" / "python")
    (tmp_path / "smoke_mod.py").write_text("def f(x, a, b):\n    return (x + a) * (x + b)\n")
    for kind in ("whl", "tar.gz"):  # the sdist replaces the wheel's install (its dependencies are there already)
        (art,) = [p for p in built.iterdir() if p.name.endswith("." + kind)]
        assert VERSION in art.name
        _sh(py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps" if kind != "whl" else "-q", str(art))
        out = _sh(py, "-c", SMOKE, ROOT, str(tmp_path), cwd=str(tmp_path))
        assert out.strip() == "smoke ok " + VERSION, kind
        version = _sh(str(env / "bin" / "sourcediff"), "--version")
        assert version.strip() == "sourcediff " + VERSION
