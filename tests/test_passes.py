"""Each pass module's docstring example runs: its ``Before::`` function goes through the pipeline up to
that pass, and the code after the pass (``SOURCEDIFF_DUMP``) must be its ``After::`` block.

The example format, in a module docstring (blank lines inside the code blocks are not compared)::

    Before::

        def f(x):
            ...

    After::                                  the front end: the function after this pass
    After, in sd.grad(f, wrt="a")::          an AD or back-end pass: the code for this derivative
    Refused::                                the lines the SourcediffError's message must contain

The last ``def`` of ``Before`` is the function differentiated; the module around it imports ``np`` and
``math``. ``python -m tests.test_passes MODULE`` prints what a module's example gives now.
"""
import contextlib
import io
import sys
import textwrap

import pytest

from sourcediff import api, build, pipeline
from sourcediff.errors import SourcediffError

PASSES = ["closures", "fence", "desugar", "lower", "ownership", "forward", "reverse", "optimize", "inplace", "splice",
          "codegen"]
FRONT = {p.name for p in pipeline.FRONT_END}


def example(module):
    """(before source, derivative call or None or "refused", after text) of ``module``'s docstring."""
    lines = (sys.modules["sourcediff." + module].__doc__ or "").splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith(("Before::", "After", "Refused::")) and
             line.endswith("::")]
    assert len(heads) == 2 and lines[heads[0]] == "Before::", "no Before::/After:: example in %s's docstring" % module
    block = lambda i: textwrap.dedent("\n".join(_block(lines[i + 1:])))  # noqa: E731
    head = lines[heads[1]]
    call = "refused" if head == "Refused::" else head[len("After, in "):-2] if head.startswith("After, in ") else None
    return block(heads[0]), call, block(heads[1])


def _block(lines):
    out = []
    for line in lines:
        if line.strip() and not line.startswith("    "):
            break
        out.append(line)
    return out


class _Calls:
    """``sd.grad``/``sd.jvp``/``sd.vjp``/``sd.value_and_grad`` as the examples write them: the generated source."""

    def __getattr__(self, kind):
        def call(f, wrt=None, mode="forward" if kind == "jvp" else "reverse", optimize=True):
            idx, many = api._wrt(f, wrt)
            return build.source(f, idx, kind, mode, optimize, many)[0]
        return call


def run(module, tmp_path):
    """What ``module``'s example gives: the code after the pass, or the refusal's message."""
    from tests.helpers import write_module
    before, call, _ = example(module)
    mod = write_module(tmp_path, "passes_" + module, "import math\n\nimport numpy as np\n\n\n" + before)
    f = getattr(mod, [line.split()[1].split("(")[0] for line in before.splitlines() if line.startswith("def ")][-1])
    err, name = io.StringIO(), {"codegen": "codegen"}.get(module, module)
    try:
        with contextlib.redirect_stderr(err), _dumping(name):
            if call is None or call == "refused":
                pipeline.new_gen().prepare(f)
            else:
                eval(call, {"sd": _Calls(), "f": f})
    except SourcediffError as e:
        return str(e)
    return "".join(part.partition(" ----\n")[2] for part in err.getvalue().split("# ---- after ")[1:])


@contextlib.contextmanager
def _dumping(name):
    import os
    old = os.environ.get("SOURCEDIFF_DUMP")
    os.environ["SOURCEDIFF_DUMP"] = name
    try:
        yield
    finally:
        if old is None:
            del os.environ["SOURCEDIFF_DUMP"]
        else:
            os.environ["SOURCEDIFF_DUMP"] = old


def _lines(text):
    return [line.rstrip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("module", PASSES)
def test_docstring_example(module, tmp_path):
    _, call, after = example(module)
    got = run(module, tmp_path)
    if call == "refused":
        assert all(line.strip() in got for line in _lines(after)), got
    else:
        assert _lines(got) == _lines(after)


def test_every_pass_in_the_lists_has_an_example():
    names = [p.name for p in pipeline.FRONT_END + pipeline.FUNCTION_PASSES + pipeline.MODULE_PASSES] + list(pipeline.AD)
    assert set(names) - {"validate", "guard"} <= set(PASSES) and FRONT <= set(names)


if __name__ == "__main__":
    import pathlib
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for m in sys.argv[1:]:
            print("== %s\n%s" % (m, run(m, pathlib.Path(d))))
