"""Tensor walkthrough: reverse-mode rules for the basic array operations.

For an array-valued step Y = op(...), the adjoint dY has Y's shape, and
reverse mode must turn it into adjoints with the shapes of the inputs.  We ask
sourcediff for the vector-Jacobian product of each operation (``sd.vjp``: given
dY, return the input adjoints), print the code it generates, and compare the
numbers with the rules derived by hand from the index form:

    vector addition     Y[i]   = U[i] + V[i]           dU = dY, dV = dY
    bias over a batch   Y[i,n] = U[i,n] + B[i]         dB = sum_n dY[:, n]
    matrix @ vector     Y[i]   = sum_j W[i,j] V[j]     dW = outer(dY, V), dV = W.T @ dY
    matrix @ batch      Y[i,n] = sum_j W[i,j] V[j,n]   dW = dY @ V.T,     dV = W.T @ dY

The bias case is the one that needs care: B was broadcast along the batch
axis n, so each B[i] fed N outputs and its adjoint is the sum of theirs.  In
the generated code that sum is an ``unbroadcast`` call, which reduces an
adjoint over the axes its input was broadcast along: in ``U + B[:, None]``,
``unbroadcast(seed, t0)`` sums the (I, N) adjoint down to t0's shape (I, 1)
and ``getitem_vjp`` then drops the inserted axis; in the row-major layer
``X @ W + b``, ``unbroadcast(seed, b)`` sums over the batch rows.
"""
import inspect

import numpy as np

import sourcediff as sd

I, J, N = 3, 4, 5  # output size, input size, batch size


def add_vectors(U, V):
    return U + V


def add_bias(U, B):
    return U + B[:, None]


def dense(X, W, b):
    # the row-major layer of most libraries: a batch of rows times W, plus b
    return X @ W + b


def matvec(W, V):
    return W @ V


def matmat(W, V):
    return W @ V


def section(title, f, wrt, args, seed, expected):
    """Print f, its generated VJP, and check the adjoints against `expected`."""
    print()
    print("=" * 72)
    print(title)
    print("=" * 72)
    print(inspect.getsource(f).rstrip())
    vjp = sd.vjp(f, wrt=wrt)
    print()
    print("--- sd.vjp(%s, wrt=%r).source ---" % (f.__name__, wrt))
    print(vjp.source.rstrip())
    value, adjoints = vjp(*args, seed)
    assert np.allclose(value, f(*args))
    print()
    for name, got, (formula, want) in zip(wrt, adjoints, expected):
        ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-12, atol=1e-12)
        print("d%-3s shape %-8s matches %-18s %s" % (name, got.shape, formula, "ok" if ok else "MISMATCH"))
        assert ok, (name, got, want)


def main():
    rng = np.random.default_rng(0)

    U, V, dY = rng.normal(size=(3, I))
    section("Vector addition: Y = U + V", add_vectors, ("U", "V"), (U, V), dY,
            [("dY", dY), ("dY", dY)])

    U, dY = rng.normal(size=(2, I, N))
    B = rng.normal(size=I)
    section("Bias broadcast over a batch: Y = U + B[:, None]", add_bias, ("U", "B"), (U, B), dY,
            [("dY", dY), ("dY.sum(axis=1)", dY.sum(axis=1))])

    X = rng.normal(size=(N, J))
    W = rng.normal(size=(J, I))
    b = rng.normal(size=I)
    dY = rng.normal(size=(N, I))
    section("Dense layer, batch along rows: Y = X @ W + b", dense, ("X", "W", "b"), (X, W, b), dY,
            [("dY @ W.T", dY @ W.T), ("X.T @ dY", X.T @ dY), ("dY.sum(axis=0)", dY.sum(axis=0))])

    W = rng.normal(size=(I, J))
    V = rng.normal(size=J)
    dY = rng.normal(size=I)
    section("Matrix times vector: Y = W @ V", matvec, ("W", "V"), (W, V), dY,
            [("np.outer(dY, V)", np.outer(dY, V)), ("W.T @ dY", W.T @ dY)])

    V = rng.normal(size=(J, N))
    dY = rng.normal(size=(I, N))
    section("Matrix times a batch of vectors: Y = W @ V", matmat, ("W", "V"), (W, V), dY,
            [("dY @ V.T", dY @ V.T), ("W.T @ dY", W.T @ dY)])

    print()
    print("All adjoints match the hand-derived rules.")


if __name__ == "__main__":
    main()
