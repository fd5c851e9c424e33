"""Value-neutral statements left in numerical code (neutral.py): ``assert``, ``print``, logging and
``warnings.warn`` calls, and allow-listed context managers, in both modes, the forward Jacobian and the
Hessian, against central differences; other context managers stay refused, located."""
import contextlib
import logging
import warnings

import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import check, num_grad, num_jacobian

X = np.array([0.3, -0.7, 1.1])
log = logging.getLogger("sourcediff.test_neutral")


def chatty(x):
    print(np.all(x > -5.0))  # (an `assert` works too; pytest rewrites those in test modules)
    print("x is", x)
    logging.debug("x %s", x)
    log.info("sum %s", np.sum(x))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(x * x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if y[0] < 100.0:
            warnings.filterwarnings("ignore", message="only")
            warnings.warn("only a warning")
        z = np.sum(y * x)
    with contextlib.nullcontext(), np.printoptions(precision=3):
        z = z * 2.0
    return z


def test_value_neutral_statements(caplog):
    before = list(warnings.filters)
    with caplog.at_level(logging.INFO, logger=log.name), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        check(chatty, X)
        np.testing.assert_allclose(sd.jacobian(chatty, mode="forward")(X), num_grad(chatty, [X], 0), rtol=1e-7)
        want = num_jacobian(lambda v: num_grad(chatty, [v], 0), [X], 0)
        np.testing.assert_allclose(sd.hessian(chatty)(X), want, rtol=1e-4, atol=1e-5)
    assert any("sum" in r.getMessage() for r in caplog.records)  # the derivative logs as the function does
    assert any("only a warning" in str(w.message) for w in seen)  # the filter calls were dropped, the warning kept
    assert warnings.filters == before


def errstate_raise(x):
    with np.errstate(divide="raise"):
        y = np.log(x)
    return np.sum(y)


def opens(x):
    with open("/dev/null"):
        y = x * 2.0
    return np.sum(y)


def records(x):
    with warnings.catch_warnings(record=True) as w:
        y = x * 2.0
    return np.sum(y) + len(w)


@pytest.mark.parametrize("f, message", [
    (errstate_raise, "value-neutral context managers"),
    (opens, "value-neutral context managers"),
    (records, "value-neutral context managers"),
], ids=lambda v: getattr(v, "__name__", "msg"))
def test_other_context_managers_refused(f, message):
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError, match=message) as err:
            sd.grad(f, mode=mode)
        assert "test_python_neutral.py:" in str(err.value)
