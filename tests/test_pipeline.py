"""pipeline.py: the passes run from lists, with one Options value; SOURCEDIFF_DUMP shows the code between them."""
import dataclasses

import numpy as np
import pytest

from sourcediff import pipeline


def _fresh():
    def f(x, y):  # a new function each call: the front end runs (and dumps) once per function and process
        return np.sum(np.sin(x) * y)
    return f


def _dumped(err):
    """[(pass name, code after it)] from SOURCEDIFF_DUMP's stderr text."""
    out = []
    for chunk in err.split("# ---- after ")[1:]:
        name, _, code = chunk.partition(" ----\n")
        out.append((name, code))
    return out


def test_dump_prints_the_named_passes_in_order(monkeypatch, capsys):
    monkeypatch.setenv("SOURCEDIFF_DUMP", "lower,reverse,optimize,codegen")
    src = pipeline.generate(_fresh(), (0,), "grad", "reverse").source
    got = _dumped(capsys.readouterr().err)
    assert [n for n, _ in got] == ["lower", "reverse", "optimize", "codegen"]
    lowered, reverse, optimized, final = [c for _, c in got]
    assert "t0 = np.sin(x)" in lowered and "return" in lowered and "def f(x, y):" in lowered
    assert "dx" in reverse and "dx" in optimized and len(optimized) <= len(reverse)
    assert final == src


def test_dump_is_off_unless_asked(monkeypatch, capsys):
    monkeypatch.delenv("SOURCEDIFF_DUMP", raising=False)
    pipeline.generate(_fresh(), (0,), "grad", "reverse")
    assert capsys.readouterr().err == ""


def test_dump_of_a_callee_and_forward_mode(monkeypatch, capsys):
    monkeypatch.setenv("SOURCEDIFF_DUMP", "forward")
    inner = _fresh()

    def outer(x, y):
        return inner(x, y) * 2.0
    pipeline.generate(outer, (0,), "jvp", "forward")
    got = _dumped(capsys.readouterr().err)
    assert [n for n, _ in got] == ["forward", "forward"]  # the callee's jvp, then the main function
    assert "def f_jvp(" in got[0][1] and "def outer_jvp" in got[1][1]  # (outer_jvp_1: np.outer's rule has the name)


def test_options_are_frozen_and_passes_are_lists():
    with pytest.raises(dataclasses.FrozenInstanceError):
        pipeline.Options().scalar = True
    names = [p.name for p in pipeline.FRONT_END + pipeline.FUNCTION_PASSES + pipeline.MODULE_PASSES]
    assert names == ["closures", "fence", "desugar", "lower", "validate", "ownership", "optimize", "inplace", "splice",
                     "guard"]
    assert set(pipeline.AD) == {"forward", "reverse"}


def test_a_pass_added_to_a_list_runs(monkeypatch):
    seen = []
    monkeypatch.setattr(pipeline, "FUNCTION_PASSES", pipeline.FUNCTION_PASSES + [
        pipeline.Pass("count", lambda gen, fdef: seen.append(fdef.name))])
    pipeline.generate(_fresh(), (0,), "grad", "reverse")
    assert seen == ["f_grad"]


@pytest.mark.parametrize("on", ["1", "0"])
def test_validation_after_lowering_follows_the_environment(monkeypatch, on):
    seen = []
    monkeypatch.setattr(pipeline, "validate", lambda node: seen.append(node.name))
    monkeypatch.setenv("SOURCEDIFF_VALIDATE", on)
    pipeline.generate(_fresh(), (0,), "grad", "reverse")
    assert seen == (["f"] if on == "1" else [])


def test_the_validator_takes_a_users_own_self_copy():
    import sys
    import gast
    lower = sys.modules["sourcediff.lower"]  # (``sourcediff.lower`` the attribute is ``sd.lower``)
    fn = gast.parse("def f(x):\n    x = x\n    t0 = x + 1\n    return t0\n").body[0]
    assert lower.validate(fn)
    bad = gast.parse("def f(x):\n    x = x + 1\n    return x\n").body[0]
    with pytest.raises(AssertionError, match="reads the name it assigns"):
        lower.validate(bad)


def test_the_validator_takes_an_f_string_kept_as_written():
    import sys
    import gast
    lower = sys.modules["sourcediff.lower"]
    assert lower.validate(gast.parse("def f(x):\n    msg = f'{x:.3f}'\n    return x\n").body[0])
