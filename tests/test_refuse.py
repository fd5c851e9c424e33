"""``rules.refuse``: an argument a rule declares underivable is refused, located at the user's line, when the
derivative is built and the argument is active (never a silent zero); and a differentiable parameter passed
by keyword is refused rather than dropped. Needs no SciPy (``test_scipy.py`` covers SciPy's refusals)."""
import numpy as np
import pytest

import sourcediff as sd
from sourcediff.rules import registry as R
from helpers import write_module


def scaled(a, x):
    """a * x, whose rule pretends the derivative in ``a`` has no closed form."""
    return a * x


SRC = '''
import numpy as np
from test_refuse import scaled


def direct(a, x):
    return scaled(a, x) + x


def through_local(a, x):
    b = a * 2.0
    return scaled(b, x)


def clip_keyword(x, lo):
    return np.sum(np.clip(x, a_min=lo, a_max=2.0))
'''


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    R.vjp(scaled)(_scaled_vjp)
    R.jvp(scaled)(_scaled_jvp)
    R.refuse(scaled, "pretend there is no closed form", 0)
    yield write_module(tmp_path_factory.mktemp("refuse"), "refuse_prog", SRC)
    for table in (R.VJP, R.JVP, R.REFUSED):
        table.pop(scaled, None)


def _scaled_vjp(g, ans, a, x): return None, g * a
def _scaled_jvp(da, dx, ans, a, x): return None, dx * a


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("name", ["direct", "through_local"])
def test_active_refused_argument_is_refused_at_build_time(mod, name, mode):
    with pytest.raises(sd.SourcediffError) as e:
        sd.grad(getattr(mod, name), wrt=0, mode=mode)
    msg = str(e.value)
    assert "argument 1 of `scaled`: pretend there is no closed form" in msg and "refuse_prog.py:" in msg, msg


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_inactive_refused_argument_differentiates(mod, mode):
    assert sd.grad(mod.direct, wrt=1, mode=mode)(3.0, 0.5) == pytest.approx(4.0)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_keyword_passed_differentiable_parameter_is_refused(mod, mode):
    """np.clip(x, a_min=lo) with lo active: refused (it used to be silently zero), not dropped."""
    with pytest.raises(sd.SourcediffError, match="pass `a_min` positionally"):
        sd.grad(mod.clip_keyword, wrt=1, mode=mode)(np.array([0.1, -1.0]), -0.5)


# -- a read before any assignment, on the path every call runs: the call raises, the derivative must not return ----
UNBOUND = """
def read_before_assigned(x):
    msg = f"{v:.3f}"
    v = len(msg) * 0.0
    v = x * x
    return v


def read_before_assigned_in_a_branch(x):  # valid: the branch is not taken on the first iteration
    s = 0.0
    for i in range(3):
        if i > 0:
            s = s + prev * x
        prev = x * i
    return s
"""


@pytest.fixture(scope="module")
def unbound(tmp_path_factory):
    return write_module(tmp_path_factory.mktemp("unbound"), "unbound_prog", UNBOUND)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_read_before_assignment_is_refused_at_its_line(unbound, mode):
    with pytest.raises(sd.SourcediffError, match="`v` is read before it is assigned") as e:
        sd.grad(unbound.read_before_assigned, mode=mode)(1.5)
    assert "f\"{v:.3f}\"" in str(e.value)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_read_in_a_branch_before_the_assignment_is_differentiated(unbound, mode):
    assert sd.grad(unbound.read_before_assigned_in_a_branch, mode=mode)(1.5) == pytest.approx(2 * 1.5)
