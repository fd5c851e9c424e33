"""Logistic regression by gradient descent on a Dask cluster, on data larger than a worker's memory.

The loss is ordinary NumPy code; ``sd.value_and_grad`` differentiates it once, and the generated
derivative runs on Dask arrays as it would on NumPy's: every ``np.`` call it makes builds a lazy
Dask graph. Nothing is computed until ``client.compute`` asks for the loss and the gradient together,
and then the cluster's workers do the work chunk by chunk.

The data set (``X``: rows x features, labels ``y`` in {-1, +1} drawn from a known weight vector)
never exists in one place: each worker generates its chunks from a seed when a step needs them, so
a data set many times larger than a worker's memory streams through it. Only the small weight
vector and the gradient travel between the client and the cluster.

    python examples/distributed_logistic.py                          # a LocalCluster of 2 workers
    python examples/distributed_logistic.py --rows 40000000 --memory 1GiB --steps 10
    python examples/distributed_logistic.py --scheduler tcp://scheduler:8786   # an existing cluster
"""
import argparse
import resource
import sys
import time

import numpy as np

import sourcediff as sd


def loss(w, X, y):
    """The mean logistic loss log(1 + exp(-y x.w)) (``np.logaddexp(0, t)`` is ``log(1 + exp(t))`` without overflow)."""
    return np.mean(np.logaddexp(0.0, -y * (X @ w)))


def make_data(rows, features, chunk_rows, seed=0):
    """``X``, ``y`` as lazy Dask arrays, generated chunk by chunk on the workers from ``seed``."""
    import dask.array as da
    rng = da.random.default_rng(seed)
    X = rng.normal(size=(rows, features), chunks=(chunk_rows, features))
    w_true = np.linspace(-1.0, 1.0, features)
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = da.where(rng.random(size=rows, chunks=chunk_rows) < p, 1.0, -1.0)
    return X, y


def fit(client, rows, features=8, chunk_rows=250_000, steps=8, lr=2.0, seed=0, out=print):
    """Gradient descent from w = 0; each step is one compute of (loss, gradient) on ``client``'s
    cluster. Returns the losses, one per step, and the last weights."""
    X, y = make_data(rows, features, chunk_rows, seed)
    step = sd.value_and_grad(loss)
    w = np.zeros(features)
    losses = []
    for k in range(steps):
        t0 = time.perf_counter()
        value, g = client.compute(step(w, X, y), sync=True)  # built lazily, then run on the cluster
        losses.append(float(value))
        out("step %2d  loss %.6f  |grad| %.2e  (%.1f s)" % (k, value, np.linalg.norm(g), time.perf_counter() - t0))
        w = w - lr * g
    return losses, w


def worker_peak_rss(client):
    """The peak resident memory of each worker process so far, in bytes (Linux reports KiB)."""
    return client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scheduler", help="address of an existing Dask scheduler (default: start a LocalCluster)")
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--chunk-rows", type=int, default=250_000)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory", default="1GiB", help="memory limit of each LocalCluster worker")
    return ap.parse_args(argv)


def main(argv=()):
    from dask.distributed import Client, LocalCluster
    args = parse(list(argv))
    data_bytes = args.rows * (args.features + 1) * 8
    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               memory_limit=args.memory, dashboard_address=None)
        client = Client(cluster)
    try:
        limit = min(w["memory_limit"] for w in client.scheduler_info()["workers"].values())
        print("data: %d rows x %d features = %.2f GB; worker memory limit %.2f GB (data / limit = %.1f)"
              % (args.rows, args.features, data_bytes / 1e9, limit / 1e9, data_bytes / limit))
        t0 = time.perf_counter()
        losses, w = fit(client, args.rows, args.features, args.chunk_rows, args.steps)
        took = time.perf_counter() - t0
        peak = max(worker_peak_rss(client).values())
        print("%d steps in %.1f s; peak worker memory %.0f MB; weights %s"
              % (args.steps, took, peak / 1e6, np.array2string(w, precision=2)))
        assert all(b < a for a, b in zip(losses, losses[1:])), "the loss did not go down at every step"
        print("the loss went down at every step: %.4f -> %.4f" % (losses[0], losses[-1]))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main(sys.argv[1:])
