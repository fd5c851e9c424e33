"""A two-layer neural network classifier trained with sourcediff gradients.

The data are two interleaved spirals in the plane (class 0 and class 1),
generated from a fixed seed.  The model is

    hidden = tanh(X @ W1 + b1)          (N, H)
    logits = hidden @ W2 + b2           (N, 2)

and the loss is the mean softmax cross-entropy, computed stably with the
log-sum-exp trick (the row maximum is subtracted before exponentiating).

The parameters live in a dict, and ``sd.value_and_grad`` returns the loss and
a gradient dict with the same keys and shapes from one forward and one
backward sweep.  Plain gradient descent does the rest.
"""
import sys

import numpy as np

import sourcediff as sd
from _plot import plot_path, save_curve


def make_spirals(n_per_class=100, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1.0, n_per_class)) * 2.5 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (2.5 * np.pi)
    X = np.concatenate([arm, -arm]) + noise * rng.normal(size=(2 * n_per_class, 2)) / 3
    labels = np.concatenate([np.zeros(n_per_class, dtype=int), np.ones(n_per_class, dtype=int)])
    return X, labels


def init_params(n_in=2, n_hidden=32, n_out=2, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(size=(n_hidden, n_out)) / np.sqrt(n_hidden),
        "b2": np.zeros(n_out),
    }


def logits(params, X):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]


def loss(params, X, Y):
    """Mean cross-entropy; Y is the one-hot label matrix (N, classes)."""
    z = logits(params, X)
    z = z - np.max(z, axis=1, keepdims=True)
    log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * log_probs) / X.shape[0]


def accuracy(params, X, labels):
    return np.mean(np.argmax(logits(params, X), axis=1) == labels)


def train(params, X, Y, steps=1000, learning_rate=0.3, report_every=100):
    loss_and_grad = sd.value_and_grad(loss)
    history = []
    for step in range(steps + 1):
        value, grads = loss_and_grad(params, X, Y)
        history.append(value)
        if step % report_every == 0:
            print("step %5d   loss %.4f" % (step, value))
        if step < steps:
            params = {k: params[k] - learning_rate * grads[k] for k in params}
    return params, history


def main(argv=()):
    plot = plot_path(argv, __doc__.splitlines()[0])
    X, labels = make_spirals()
    Y = np.eye(2)[labels]
    params = init_params()
    print("%d points, 2 classes; parameters: %s" % (
        X.shape[0], ", ".join("%s%s" % (k, v.shape) for k, v in params.items())))

    # The gradient dict mirrors the parameter dict; check it once against finite differences.
    sd.check_grads(loss, params, X[:20], Y[:20], modes=("reverse",))
    print("initial accuracy %.3f" % accuracy(params, X, labels))
    print()

    params, history = train(params, X, Y)
    acc = accuracy(params, X, labels)
    print()
    print("loss %.4f -> %.4f, training accuracy %.3f" % (history[0], history[-1], acc))
    assert history[-1] < history[0] / 2
    assert acc > 0.9
    if plot:
        save_curve(plot, history, "MLP on two spirals: training loss", "cross-entropy")


if __name__ == "__main__":
    main(sys.argv[1:])
