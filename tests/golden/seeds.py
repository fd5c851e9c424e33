"""The seed functions whose generated source the golden tests pin."""
import math

import numpy as np


def walkthrough(x, a, b):
    return (x + a) * (x + b)


def wiki(x1, x2):
    y = x1 * x2 + math.sin(x1)
    return y


def wiki_np(x1, x2):
    y = x1 * x2 + np.sin(x1)
    return y


def poly(x):
    return x**3 - 2 * x**2 + 3 * x - 5


def poly_loss(x):
    return (poly(x) - 42.0) ** 2


def poly_in_loop(x):
    s = 0.0
    for i in range(3):
        s = s + poly(x + i)  # the tape keeps poly's residual tuple per iteration
    return s


def loop(y, a):
    for i in range(3):
        y = math.sin(y) * a
    return y


def const_arg(x, n):
    return x * x + float(n)


def batched(x, W):
    h = np.tanh(W @ x)
    return np.cumsum(h) * x.sum()
