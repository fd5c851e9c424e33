"""NumPy breadth (issue #15) through the compiler, against central differences: ``x.item()``/``x.tolist()``,
``np.einsum`` of three or more operands, ``np.fromiter``, ``np.vectorize`` and the further NumPy callables."""
import numpy as np
import pytest

import sourcediff as sd

H = 1e-6


def fd_grad(f, x):
    return np.array([(f(x + H * e) - f(x - H * e)) / (2 * H) for e in np.eye(np.size(x))]).reshape(np.shape(x))


def fd_jac(f, x):
    return np.transpose([(f(x + H * e) - f(x - H * e)) / (2 * H) for e in np.eye(np.size(x))])


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


MODES = ["reverse", "forward"]


# --- ndarray.item and ndarray.tolist -------------------------------------------------------------------------

def items(x):
    a = np.sum(x[:1] * 2.0).item()
    b = x.item(2)
    c = (x * x).reshape(2, 2).item((1, 0))
    rows = np.reshape(x, (2, 2)).tolist()
    return a * b + c + rows[0][1] * rows[1][0] + sum(rows[1]) + np.sin(x)[1:2].item()


def listed(x):
    r = np.reshape(x * x, (2, 2)).tolist()
    return np.array([r[1][0], r[1][1] * r[0][0], x.item(0)])


@pytest.mark.parametrize("mode", MODES)
def test_item_and_tolist(mode):
    x = np.array([0.3, -1.2, 0.8, 2.0])
    close(sd.grad(items, mode=mode)(x), fd_grad(items, x))
    close(sd.jacobian(listed, mode=mode)(x), fd_jac(listed, x))  # forward: the batched sweep


def item_of_many(x):
    return x.item() * 2.0


def test_item_of_an_array_of_several_elements_raises_as_numpy_does():
    with pytest.raises(ValueError):
        sd.grad(item_of_many)(np.array([1.0, 2.0]))
    close(sd.grad(item_of_many)(np.array([[1.5]])), [[2.0]])
