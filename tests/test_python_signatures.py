"""Signatures with ``*args``, keyword-only parameters and ``**kwargs`` (signature.py, frontend.flatten): each is
one parameter (a tuple, a value, a dict) that ``wrt`` can name, in both modes, ``value_and_grad``, ``jvp``,
``vjp``, the forward Jacobian and the Hessian, against central differences."""
import numpy as np
import pytest

import sourcediff as sd
from tests.helpers import assert_tree_close, num_grad, num_jacobian


def spread(x, *ys, scale=2.0, **opts):
    total = scale * np.sin(x)
    for y in ys:
        total = total + y * y * x
    for k, v in opts.items():
        total = total + v * x * x
    return total


def keyword_only(x, *, a, b=1.5):
    return np.sum(a * x * x + b * np.sin(x))


def as_call(f, names, plain):
    """``f`` of its plain parameters (what central differences perturb), called as the user calls it."""
    def g(*vals):
        pos, kw = [], {}
        for n, v in zip(names, vals):
            if n == "ys":
                pos += list(v)
            elif n == "opts":
                kw.update(v)
            elif n in plain:
                pos.append(v)
            else:
                kw[n] = v
        return f(*pos, **kw)
    return g


ARGS = (0.7, (2.0, -0.5), 0.5, {"p": 4.0, "q": -1.0})
NAMES = ("x", "ys", "scale", "opts")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_star_args_keyword_only_and_star_kwargs(mode):
    g = as_call(spread, NAMES, ("x",))
    want = tuple(num_grad(g, list(ARGS), i) for i in range(4))
    got = sd.grad(spread, wrt=NAMES, mode=mode)(0.7, 2.0, -0.5, scale=0.5, p=4.0, q=-1.0)
    assert_tree_close(got, want, rtol=1e-7)
    v, g1 = sd.value_and_grad(spread, wrt="ys", mode=mode)(0.7, 2.0, -0.5, scale=0.5, p=4.0, q=-1.0)
    assert v == spread(0.7, 2.0, -0.5, scale=0.5, p=4.0, q=-1.0)
    assert_tree_close(g1, want[1], rtol=1e-7)
    assert sd.grad(spread, mode=mode)(0.7) == pytest.approx(2.0 * np.cos(0.7))  # the defaults: (), 2.0, {}


def test_keyword_only_every_operator():
    x = np.array([0.3, -0.7, 1.1])
    f = lambda v: keyword_only(v, a=2.0)  # noqa: E731
    want = num_grad(f, [x], 0)
    for mode in ("reverse", "forward"):
        assert_tree_close(sd.grad(keyword_only, mode=mode)(x, a=2.0), want)
        assert_tree_close(sd.grad(keyword_only, wrt="a", mode=mode)(x, a=2.0),
                          num_grad(lambda a: keyword_only(x, a=a), [2.0], 0))
    np.testing.assert_allclose(sd.jacobian(keyword_only, mode="forward")(x, a=2.0), want, rtol=1e-7)
    np.testing.assert_allclose(sd.hessian(keyword_only)(x, a=2.0),
                               num_jacobian(lambda v: num_grad(f, [v], 0), [x], 0), rtol=1e-5, atol=1e-6)
    val, tan = sd.jvp(keyword_only)(x, np.ones(3), a=2.0)
    assert val == f(x) and tan == pytest.approx(np.sum(want))
    val, ct = sd.vjp(keyword_only)(x, 1.0, a=2.0)
    assert_tree_close(ct, want)


def takes_star(x, *rest):
    return x * len(rest)


def calls_star(x):
    return takes_star(x, x)


def test_calling_such_a_function_inside_is_refused_located():
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError, match=r"takes \*args, \*\*kwargs or keyword-only") as err:
            sd.grad(calls_star, mode=mode)
        assert "test_python_signatures.py:" in str(err.value)
