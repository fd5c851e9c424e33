"""The same generated derivatives on a GPU: the NumPy end-to-end corpus with CuPy arrays.

Every case of test_numpy_e2e (one NumPy function, operator or builtin per case; the SciPy cases are left
out: CuPy arrays do not dispatch ``scipy.*``) is written as a module whose constants live on the device,
differentiated in both modes with CuPy arguments, and compared with the gradient of the same program
on the host (NumPy arguments) to 1e-10; a gradient of an array argument must be a CuPy array (it stayed
on the device). W4 (an MLP) and W5 (an elementwise sum over 1e6 numbers) of benchmarks/ are checked
against their hand gradients and timed (``-s`` prints the times).

Marked ``gpu``: skipped where CuPy or a CUDA device is missing. On a GPU machine:

    pip install cupy-cuda12x && python -m pytest -m gpu -s tests/test_cupy.py

``SOURCEDIFF_GPU_STANDIN=duck`` runs the same harness on the CPU with tests/duck_array.py's Duck type
standing in for CuPy (to check the harness itself where no GPU is).
"""
import os
import sys
import time

import numpy as np
import pytest

import sourcediff as sd

pytestmark = pytest.mark.gpu
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # test_numpy_e2e imports its neighbours by plain name


class Backend:
    """The device library: ``to_device``/``to_host`` of arrays, its array type, the module text that names it."""

    def __init__(self, name):
        self.name = name
        if name == "duck":
            from tests.duck_array import Duck, unwrap
            self.array, self.host, self.sync = Duck, unwrap, lambda: None
            self.device = Duck
            self.header = "from tests.duck_array import Duck as _device"
        else:
            import cupy
            self.array, self.host = cupy.ndarray, cupy.asnumpy
            self.sync = cupy.cuda.Device().synchronize
            self.device = cupy.asarray
            self.header = "import cupy\n_device = cupy.asarray"


def _backend():
    standin = os.environ.get("SOURCEDIFF_GPU_STANDIN")
    if standin:
        return Backend(standin)
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device", allow_module_level=True)
    except cupy.cuda.runtime.CUDARuntimeError as e:
        pytest.skip("no CUDA device (%s)" % e, allow_module_level=True)
    return Backend("cupy")


B = _backend()

import test_numpy_e2e as e2e  # noqa: E402 (after the skip: it builds the whole corpus)

CASES = [(k, c) for k, c in e2e.CASES if not e2e.key_name(k).startswith("scipy.")]
IDS = ["%s[%r]" % (e2e.key_name(k), c) for k, c in CASES]


def to_device(v):
    if isinstance(v, np.ndarray):
        return B.device(v)
    if isinstance(v, (list, tuple)):
        return type(v)(to_device(e) for e in v)
    return v


def to_host(v):
    if isinstance(v, tuple):
        return tuple(to_host(e) for e in v)
    return B.host(v) if isinstance(v, B.array) else v


def device_case(tmp_path, key, case, monkeypatch):
    """test_numpy_e2e's program for ``case`` with every array constant made a device array."""
    host_lit, host_load = e2e.lit, e2e.load_module

    def lit(v):
        return "_device(%s)" % host_lit(v) if isinstance(v, np.ndarray) else host_lit(v)

    def load(path, text):
        return host_load(path, B.header + "\n" + text)
    monkeypatch.setattr(e2e, "lit", lit)
    monkeypatch.setattr(e2e, "load_module", load)
    f, values = e2e.make_case(tmp_path, key, case)
    monkeypatch.setattr(e2e, "lit", host_lit)
    monkeypatch.setattr(e2e, "load_module", host_load)
    return f, values


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("key,case", [pytest.param(k, c, id=i) for (k, c), i in zip(CASES, IDS)])
def test_corpus_on_device(tmp_path, key, case, mode, monkeypatch):
    f_host, values = e2e.make_case(tmp_path, key, case)
    f_dev, _ = device_case(tmp_path, key, case, monkeypatch)
    wrt = tuple(range(len(values)))
    with np.errstate(all="ignore"):
        want = sd.grad(f_host, wrt=wrt, mode=mode)(*values)
        got = sd.grad(f_dev, wrt=wrt, mode=mode)(*to_device(values))
    for i, (g, w, x) in enumerate(zip(got, want, values)):
        if isinstance(x, np.ndarray):
            assert isinstance(g, B.array), "argument %d: its gradient is a %s, not a device array" % (i, type(g))
        np.testing.assert_allclose(np.asarray(to_host(g), float), np.asarray(w, float), rtol=1e-10, atol=1e-10,
                                   err_msg="%s mode, argument %d: device and host gradients differ" % (mode, i))


def _workloads():
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "benchmarks"))
    import workloads
    return workloads


def _median_time(fn, *args, repeat=20):
    fn(*args)  # warm-up: generation, CuPy kernel compilation
    B.sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        B.sync()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def test_w4_mlp_on_device():
    w = _workloads()
    d = w.make_mlp_data()
    params, x, y = d["params"], d["x"], d["y"]
    dev = ({k: B.device(v) for k, v in params.items()}, B.device(x), B.device(y))
    g = sd.grad(w.mlp_loss)(*dev)
    want = w.mlp_hand_grad(params, x, y)
    for k in want:
        assert isinstance(g[k], B.array)
        np.testing.assert_allclose(to_host(g[k]), want[k], rtol=1e-10, atol=1e-12, err_msg=k)
    t_dev = _median_time(sd.grad(w.mlp_loss), *dev)
    t_host = _median_time(sd.grad(w.mlp_loss), params, x, y)
    print("\nW4 MLP gradient (batch 128): %s %.3f ms, NumPy on the host %.3f ms" % (B.name, t_dev * 1e3, t_host * 1e3))


def test_w5_elementwise_on_device():
    w = _workloads()
    x = w.make_w5_data()["x"]
    xd = B.device(x)
    g = sd.grad(w.w5_f)(xd)
    assert isinstance(g, B.array)
    np.testing.assert_allclose(to_host(g), w.w5_hand_grad(x), rtol=1e-10, atol=1e-12)
    t_dev = _median_time(sd.grad(w.w5_f), xd)
    t_host = _median_time(sd.grad(w.w5_f), x)
    print("\nW5 gradient (1e6 float64): %s %.3f ms, NumPy on the host %.3f ms" % (B.name, t_dev * 1e3, t_host * 1e3))
