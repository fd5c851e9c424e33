"""Control flow: how reverse mode handles loops, branches, break and return.

``series`` sums an alternating mixture of the terms x**k / k! with a ``for``
loop.  It has every kind of control flow the reverse sweep must undo:

* an ``if`` that chooses what to add in each iteration,
* a ``break`` once the terms are negligible,
* an early ``return`` before the loop, and another from inside it.

The generated reverse code runs the function forwards once, recording the
loop's trip count and pushing every value it is about to overwrite (and every
branch decision) onto a tape.  It then runs the loop backwards the recorded
number of times, popping the tape to restore each value and replay the
branches taken, and accumulates the adjoints.  Print it and see.

Each exit path is checked against central finite differences with
``sd.check_grads`` in both forward and reverse mode.
"""
import inspect

import sourcediff as sd


def series(x, y):
    if y <= 0.0:
        return x * x                  # early return before the loop
    total = 0.0
    term = 1.0
    for k in range(1, 40):
        term = term * x / k           # term == x**k / k!
        if abs(term) < 1e-10:
            break                     # the remaining terms are negligible
        if k % 2 == 1:
            total = total + y * term
        else:
            total = total - term * term
        if total > 100.0:
            return total / y          # early return from inside the loop
    return total


POINTS = [
    ("y <= 0: returns before the loop", 1.3, -2.0),
    ("small x: loop ends at the break", 0.7, 1.5),
    ("large total: returns inside the loop", 2.0, 40.0),
    ("negative x: the terms alternate in sign", -1.2, 0.8),
]


def main():
    print(inspect.getsource(series))
    print("--- generated reverse-mode source: sd.source(series, wrt=(\"x\", \"y\")) ---")
    print(sd.source(series, wrt=("x", "y")))

    dseries = sd.grad(series, wrt=("x", "y"))
    print("%-42s %6s %6s %14s %14s %14s" % ("exit path", "x", "y", "series", "d/dx", "d/dy"))
    for label, x, y in POINTS:
        sd.check_grads(series, x, y, wrt=("x", "y"))  # raises AssertionError on a mismatch
        dx, dy = dseries(x, y)
        print("%-42s %6.2f %6.2f %14.8f %14.8f %14.8f" % (label, x, y, series(x, y), dx, dy))
    print()
    print("forward and reverse mode agree with finite differences on every path.")


if __name__ == "__main__":
    main()
