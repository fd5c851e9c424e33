"""Compiler temporaries are known by how they were made (``Names.temp``, renamed by splice.py), not by
their names: a user variable called ``t5`` keeps its line, as the same variable called ``h`` does."""
import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import write_module

SRC = '''
import numpy as np

def inner(x):
    VAR = x * 3.0
    return np.exp(VAR) + np.exp(x + 1.0)

def f(x):
    VAR = x * 2.0
    s = np.tanh(VAR) + inner(x)
    return np.sum(s)

def f_scalar(x):
    VAR = x * 2.0
    return np.tanh(VAR)
'''


def _module(tmp_path, var):
    return write_module(tmp_path, "temps_%s" % var, SRC.replace("VAR", var))


@pytest.mark.parametrize("name, how", [("f", dict()), ("f", dict(mode="forward")), ("f_scalar", dict())])
def test_a_user_variable_named_like_a_temporary_keeps_its_line(tmp_path, name, how):
    t5, h = _module(tmp_path, "t5"), _module(tmp_path, "h")
    x = np.array([0.3, -1.2, 0.8]) if name == "f" else 0.7
    src_t5, src_h = (sd.grad(getattr(m, name), **how) for m in (t5, h))
    src_t5, src_h = src_t5.source, src_h.source
    assert "t5 = x * 2.0" in src_t5 and ("t5_inner = x * 3.0" in src_t5 or name != "f" or how)
    assert src_t5.replace("t5", "h") == src_h  # the same code, whatever the variable is called
    got = sd.grad(getattr(t5, name), **how)(x)
    e = 1e-6
    fd = [(getattr(t5, name)(x + e * d) - getattr(t5, name)(x - e * d)) / (2 * e)
          for d in (np.eye(3) if name == "f" else [1.0])]
    assert np.allclose(got, fd if name == "f" else fd[0], rtol=1e-6, atol=1e-8)


SPLICED = '''
import numpy as np

def leaf(a, b):
    return np.sin(a) * 2.0

def mid(x):
    return leaf(x, x * 3.0) + x

def top(x):
    return np.sum(np.cos(mid(x)))
'''


def test_temporaries_of_spliced_callees_are_the_callers_temporaries(tmp_path):
    """leaf is spliced into mid, then mid into top: mid's temporaries (``t0 = x * 3.0``, the zero adjoint
    ``leaf``'s backward half returns for ``b``), renamed ``t0_mid``..., still go into their one read."""
    m = write_module(tmp_path, "spliced", SPLICED)
    g = sd.grad(m.top)
    assert "_fwd(" not in g.source and "_bwd(" not in g.source
    assert "res_mid = x, x * 3.0" in g.source and "unbroadcast(zeros_like(b_leaf_mid) * 3.0, x)" in g.source
    x, e = np.array([0.4, -0.9]), 1e-6
    fd = [(m.top(x + e * d) - m.top(x - e * d)) / (2 * e) for d in np.eye(2)]
    assert np.allclose(g(x), fd, rtol=1e-6, atol=1e-8)


def test_a_derivative_of_a_derivative_keeps_the_inner_temporaries_from_memory_and_from_disk(tmp_path, monkeypatch):
    """The inner derivative's temporaries stay temporaries for the outer one (one-use values written into their
    read, as the inner optimizer would), whether the inner one was generated here or read from the disk cache."""
    from sourcediff import cache, frontend, pipeline
    monkeypatch.setenv("SOURCEDIFF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SOURCEDIFF_CACHE", raising=False)
    texts = []
    for _ in range(2):
        cache.clear_memory()
        g = sd.grad(_module(tmp_path, "h").f)
        vg = sd.vjp(g)
        vg(np.array([0.3, 0.5]), np.array([1.0, -2.0]))
        texts.append(vg.source)
        inner = frontend.temporaries_of(g)
        assert {"t0", "t3"} <= set(inner)  # np.tanh(h) and dh_inner * 3.0 in f_grad
        assert set(inner) <= set(pipeline.run_front_end(g.sd_generated, False)[1].temps)
    assert texts[0] == texts[1]
