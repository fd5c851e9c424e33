"""Inverse problem: which x makes p(x) = 42?

Running p forwards is easy; running it backwards is not.  Instead we pose the
question as a minimisation: the squared error

    loss(x) = (p(x) - 42) ** 2

is zero exactly at a solution, so we walk downhill on it with gradient descent,
starting at x = 3, until |p(x) - 42| < 1e-6.

The loss calls p, a separate user function.  sourcediff differentiates through
the call: p is split into a forward half (compute p and keep what its
derivative will need) and a backward half (turn the adjoint of p's result into
the adjoint of x).  Called once, outside any loop, both halves are pasted into
loss's gradient (their names end in ``_p``); called from a loop they would stay
a pair of functions, ``p_fwd`` and ``p_bwd``.
"""
import sys

import numpy as np

import sourcediff as sd
from _plot import plot_path, save_curve

TARGET = 42.0


def p(x):
    return x**3 - 2*x**2 + 3*x - 5


def loss(x):
    return (p(x) - TARGET) ** 2


def solve(x=3.0, learning_rate=3e-4, tol=1e-6, max_steps=200, history=None):
    """Gradient descent on loss; returns (x, number of steps taken); appends each |residual| to ``history``."""
    dloss = sd.grad(loss)
    for step in range(max_steps):
        residual = p(x) - TARGET
        print("step %3d   x = %.12f   p(x) - 42 = %+.3e" % (step, x, residual))
        if history is not None:
            history.append(abs(residual))
        if abs(residual) < tol:
            return x, step
        x = x - learning_rate * dloss(x)
    raise RuntimeError("gradient descent did not converge in %d steps" % max_steps)


def main(argv=()):
    plot = plot_path(argv, __doc__.splitlines()[0])
    print("generated reverse-mode source of loss (p's halves pasted in, names ending in _p):")
    print()
    print(sd.source(loss))

    print("gradient descent from x = 3:")
    history = []
    x, steps = solve(history=history)
    print()
    print("converged after %d steps: x = %.10f, p(x) = %.10f" % (steps, x, p(x)))

    # The cubic p(x) - 42 has exactly one real root; compare with NumPy's.
    roots = np.roots([1.0, -2.0, 3.0, -5.0 - TARGET])
    real_root = roots[np.argmin(abs(roots.imag))].real
    print("numpy.roots gives        x = %.10f" % real_root)
    assert abs(p(x) - TARGET) < 1e-6
    assert abs(x - real_root) < 1e-7
    if plot:
        save_curve(plot, history, "Gradient descent on (p(x) - 42)^2", "|p(x) - 42|", log=True)


if __name__ == "__main__":
    main(sys.argv[1:])
