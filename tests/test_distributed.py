"""sourcediff's derivatives on a dask.distributed cluster that the tests start (2 worker processes,
memory-limited), and examples/distributed_logistic.py at a small size."""
import os
import sys

import numpy as np
import pytest

import sourcediff as sd

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("dask.distributed")

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)
import distributed_logistic as example  # noqa: E402

MEMORY = "600MiB"  # per worker: a worker that goes past it is restarted and its tasks fail


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=MEMORY,
                                       dashboard_address=None)
    c = distributed.Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


def test_cluster_has_two_memory_limited_workers(client):
    workers = client.scheduler_info()["workers"].values()
    assert len(workers) == 2
    assert all(0 < w["memory_limit"] <= 600 * 2 ** 20 for w in workers)
    assert len(set(client.run(os.getpid).values())) == 2  # two processes


def test_gradient_on_the_cluster_matches_the_hand_derivation(client):
    """The loss and gradient run on the workers (data generated there); they match the hand derivation
    on the same data, gathered to the host, to 1e-12."""
    X, y = example.make_data(200_000, 5, 50_000, seed=3)
    w = np.array([0.2, -0.4, 0.1, 0.3, -0.2])
    lazy = sd.value_and_grad(example.loss)(w, X, y)
    assert all(dask.is_dask_collection(a) for a in lazy), "the loss and gradient were computed on the client"
    v, g = client.compute(lazy, sync=True)
    Xn, yn = client.compute((X, y), sync=True)
    t = -yn * (Xn @ w)
    assert v == pytest.approx(np.mean(np.logaddexp(0.0, t)), rel=1e-12)
    np.testing.assert_allclose(g, Xn.T @ (-yn / (1.0 + np.exp(-t))) / len(yn), rtol=1e-12)


def test_example_fit_lowers_the_loss(client):
    out = []
    losses, w = example.fit(client, rows=400_000, features=6, chunk_rows=100_000, steps=4, out=out.append)
    assert len(out) == 4 and all("loss" in line for line in out)
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[0] == pytest.approx(np.log(2.0))  # w = 0 at the start
    assert np.corrcoef(w, np.linspace(-1.0, 1.0, 6))[0, 1] > 0.99  # heading for the weights the labels came from
    assert max(example.worker_peak_rss(client).values()) < 600 * 2 ** 20
