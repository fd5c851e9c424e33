#!/usr/bin/env python
"""sourcediff benchmark suite.

    python benchmarks/run.py                 # full run (make bench)
    python benchmarks/run.py --quick         # smoke run, < 60 s
    python benchmarks/run.py --only W1,W4    # a subset of workloads
    python benchmarks/run.py --check         # verify the hand-written gradients (finite differences)

For every workload: check each contender's gradient against the hand-written
one, then time all contenders in INTERLEAVED rounds (each round times every
contender once; each sample repeats the call enough times to take ~20 ms;
2 ms with --quick) and report medians over rounds and the ratio to the
hand-written gradient. The summary compares sourcediff with the target ratios.
See benchmarks/README.md.
"""
# --- one thread everywhere: must happen before NumPy / JAX / torch are imported ---
import os

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_k] = "1"
_xla = os.environ.get("XLA_FLAGS", "")
if "xla_cpu_multi_thread_eigen" not in _xla:
    os.environ["XLA_FLAGS"] = (_xla + " --xla_cpu_multi_thread_eigen=false"
                               " intra_op_parallelism_threads=1").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _steady_heap():
    """Fix glibc's heap thresholds. By default a free that leaves more than a few MB at the
    top of the heap hands it back to the OS, and the next call faults it in again; whether
    that happens every call depends on the process's allocation history, so the same W4
    gradient measured 1.1x in one process and 1.7x in the next. Fixed thresholds treat every
    contender alike and make runs repeatable (no effect off glibc)."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)   # M_MMAP_THRESHOLD (glibc's largest)
    except (OSError, AttributeError):
        pass


_steady_heap()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402
import tracemalloc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import workloads as W  # noqa: E402  (also puts the repo root on sys.path)
from tests.progress import Progress  # noqa: E402

HAND = "hand-written"
SD = "sourcediff"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _flatten(x, path="g"):
    """Gradient structure -> list of (path, float64 ndarray), deterministic order."""
    if isinstance(x, dict):
        out = []
        for k in sorted(x, key=str):
            out += _flatten(x[k], "%s[%r]" % (path, k))
        return out
    if isinstance(x, (tuple, list)):
        out = []
        for i, v in enumerate(x):
            out += _flatten(v, "%s[%d]" % (path, i))
        return out
    return [(path, np.asarray(x, dtype=np.float64))]


def _structure(x):
    if isinstance(x, dict):
        return {k: _structure(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return tuple(_structure(v) for v in x)
    return np.shape(x)


def compare_grads(ref, got, rtol=1e-6, atol_rel=1e-9):
    """Return None when ``got`` matches ``ref``; otherwise a description."""
    try:
        if _structure(ref) != _structure(got):
            # a tuple vs list or float vs 0-d array is fine; shapes/keys are not
            fr, fg = _flatten(ref), _flatten(got)
            if [p for p, _ in fr] != [p for p, _ in fg] or \
                    [a.shape for _, a in fr] != [a.shape for _, a in fg]:
                return "structure differs: expected %s, got %s" % (
                    _structure(ref), _structure(got))
        worst = None
        for (path, a), (_, b) in zip(_flatten(ref), _flatten(got)):
            scale = max(1.0, float(np.max(np.abs(a))) if a.size else 1.0)
            if not np.all(np.isfinite(b)):
                return "%s has non-finite values" % path
            if not np.allclose(b, a, rtol=rtol, atol=atol_rel * scale):
                err = float(np.max(np.abs(b - a)))
                if worst is None or err > worst[1]:
                    worst = (path, err, float(np.max(np.abs(a))))
        if worst:
            return "max |diff| %.3g in %s (max |expected| %.3g)" % (worst[1], worst[0], worst[2])
        return None
    except Exception as e:  # noqa: BLE001
        return "could not compare: %s" % W._short_exc(e)


def _make_timer(fn, args):
    """A timeit.Timer calling fn(a0, a1, ...) with everything bound as locals."""
    names = ["_a%d" % i for i in range(len(args))]
    g = {"_fn": fn}
    g.update(zip(names, args))
    setup = "; ".join(["f = _fn"] + ["%s = %s" % (n[1:], n) for n in names])
    stmt = "f(%s)" % ", ".join(n[1:] for n in names)
    return timeit.Timer(stmt=stmt, setup=setup, globals=g)


def _fmt_time(sec, unit):
    if sec is None:
        return "-"
    if unit == "ms" or sec >= 1e-3:
        return "%.3f ms" % (sec * 1e3)
    return "%.2f us" % (sec * 1e6)


def _fmt_bytes(n):
    if n is None:
        return "-"
    if n >= 1 << 20:
        return "%.2f MiB" % (n / (1 << 20))
    return "%.1f KiB" % (n / 1024)


class Row:
    def __init__(self, name):
        self.name = name
        self.status = "ok"          # ok | unavailable | error | wrong
        self.short = ""             # what the table shows when not ok
        self.note = ""
        self.contender = None
        self.timer = None
        self.number = 1
        self.samples = []
        self.setup_s = None         # build + first call (transformation / compilation)
        self.peak = None

    @property
    def median(self):
        return statistics.median(self.samples) if self.samples else None


# ---------------------------------------------------------------------------
# one case
# ---------------------------------------------------------------------------
def run_case(case, cfg):
    print()
    print("=" * 100)
    print(case.title)
    print("=" * 100)
    data = case.make_data()
    builders = [(HAND, case.hand)] + [
        (n, b) for n, b in case.contenders
        if cfg.peers or n.startswith((SD, HAND))]
    rows = []
    ref = None
    for name, build in builders:
        row = Row(name)
        rows.append(row)
        try:
            t0 = time.perf_counter()
            c = build(data)
            out = c.fn(*c.args)
            row.setup_s = time.perf_counter() - t0
            outs = [out, c.fn(*c.args)]  # a second call may run another version (sourcediff specialises to shapes)
            if c.to_numpy is not None:
                outs = [c.to_numpy(o) for o in outs]
            out = outs[0]
            row.contender = c
        except W.Unavailable as u:
            row.status, row.short, row.note = "unavailable", u.short, u.reason
            continue
        except Exception as e:  # noqa: BLE001 - a broken contender must not stop the suite
            row.status, row.short, row.note = "error", "n/a" if name.startswith(SD) else "error", \
                W._short_exc(e)
            continue
        if name == HAND:
            ref = out
            continue
        if ref is None:
            row.status, row.short, row.note = "error", "n/a", "no hand-written reference"
            continue
        problem = compare_grads(ref, outs[0]) or compare_grads(ref, outs[1])
        if problem:
            row.status, row.short = "wrong", "WRONG GRADIENT"
            row.note = "!!! gradient MISMATCH vs hand-written: " + problem
            print("!!! %s: %s gives a WRONG gradient: %s" % (case.key, name, problem))
    if ref is None:
        print("hand-written reference failed: %s" % rows[0].note)
        return rows

    live = [r for r in rows if r.status == "ok"]
    # warm-up, then choose the inner repetition count (timeit.autorange style)
    def _failed(r, e):
        r.status, r.short = "error", "n/a" if r.name.startswith(SD) else "error"
        r.note = "raised while being timed: " + W._short_exc(e)
        r.samples = []

    for r in live:
        c = r.contender
        r.timer = _make_timer(c.fn, c.args)
        try:
            t_end = time.perf_counter() + cfg.warmup_s
            r.timer.timeit(1)
            while time.perf_counter() < t_end:
                r.timer.timeit(1)
            t = r.timer.timeit(1)
            n = 1
            while t < cfg.sample_s and n < 10**7:
                n = max(n * 2, int(n * cfg.sample_s / max(t, 1e-9) * 1.1))
                t = r.timer.timeit(n)
            r.number = n
        except Exception as e:  # noqa: BLE001
            _failed(r, e)
    live = [r for r in live if r.status == "ok"]
    # interleaved rounds, order rotated every round
    rounds = min(cfg.rounds, case.max_rounds or cfg.rounds)
    bar = Progress(rounds, "%s rounds " % case.key)
    for k in range(rounds):
        bar.update(k)
        order = live[k % len(live):] + live[:k % len(live)] if live else []
        for r in order:
            if r.status != "ok":
                continue
            gc.collect()
            try:
                r.samples.append(r.timer.timeit(r.number) / r.number)
            except Exception as e:  # noqa: BLE001
                _failed(r, e)
    bar.update(rounds)
    bar.close()
    live = [r for r in live if r.status == "ok"]

    if case.memory:
        for r in live:
            if r.name in case.memory and r.contender.traced_memory:
                try:
                    r.peak = measure_peak(r.contender)
                except Exception as e:  # noqa: BLE001
                    r.note = (r.note + "; " if r.note else "") + "memory: " + W._short_exc(e)

    print_table(case, rows)
    if case.memory:
        print_memory(rows, case)
    return rows


def measure_peak(c):
    """tracemalloc peak (bytes above the baseline) of ONE gradient call."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = c.fn(*c.args)
        peak = tracemalloc.get_traced_memory()[1]
        del out
    finally:
        tracemalloc.stop()
    return peak - base


def print_table(case, rows):
    hand = rows[0].median
    w = max(24, max(len(r.name) for r in rows) + 2)
    print("%-*s %14s %9s %9s %9s  %s" % (w, "contender", "median/call", "vs hand", "spread",
                                        "reps", "build+1st call"))
    print("-" * (w + 62))
    for r in rows:
        if r.status != "ok":
            print("%-*s %14s" % (w, r.name, r.short))
            continue
        m = r.median
        q = statistics.quantiles(r.samples, n=4) if len(r.samples) >= 2 else [m, m, m]
        spread = "+-%.1f%%" % (50.0 * (q[2] - q[0]) / m) if m else "-"
        ratio = "%.2fx" % (m / hand) if hand else "-"
        print("%-*s %14s %9s %9s %9d  %s" % (w, r.name, _fmt_time(m, case.time_unit), ratio,
                                            spread, r.number, _fmt_time(r.setup_s, "ms")))
    # peers that are simply not installed are already named in the header
    notes = [r for r in rows if r.note and r.short != "not installed"]
    for r in notes:
        print("  note [%s]: %s" % (r.name, r.note))


def print_memory(rows, case):
    hand = rows[0].peak
    print("peak memory of one gradient call (tracemalloc, forward + reverse sweep):")
    for r in rows:
        if r.name not in case.memory and r.status == "ok":
            continue
        if r.status != "ok":
            if r.name in case.memory:
                print("  %-24s %12s" % (r.name, r.short))
            continue
        ratio = ("%.2fx" % (r.peak / hand)) if (hand and r.peak is not None) else "-"
        print("  %-24s %12s %8s" % (r.name, _fmt_bytes(r.peak), ratio))
    print("  (jax / torch allocate outside the Python allocator; tracemalloc cannot see them)")


# ---------------------------------------------------------------------------
# W4 transformation time, in fresh subprocesses
# ---------------------------------------------------------------------------
def probe_transform_main():
    """Child process: time sd.grad(mlp_loss) + the first call; print one JSON line."""
    res = {}
    try:
        s = W.require_sd()  # sourcediff itself was imported with workloads (not timed)
        d = W.make_mlp_data()
        args = (d["params"], d["x"], d["y"])
        t1 = time.perf_counter()
        g = s.grad(W.mlp_loss)
        t2 = time.perf_counter()
        g(*args)
        t3 = time.perf_counter()
        g(*args)
        t4 = time.perf_counter()
        res.update(grad_ms=(t2 - t1) * 1e3, first_call_ms=(t3 - t2) * 1e3,
                   second_call_ms=(t4 - t3) * 1e3, total_ms=(t3 - t1) * 1e3)
    except W.Unavailable as u:
        res["error"] = u.reason
    except Exception as e:  # noqa: BLE001
        res["error"] = W._short_exc(e)
    print("PROBE " + json.dumps(res))


def _probe_once(env):
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--_probe-transform"],
                       env=env, capture_output=True, text=True, timeout=300)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("PROBE ")]
    if not line:
        raise RuntimeError("probe failed (rc=%d): %s" % (p.returncode, " ".join(p.stderr.split())[-300:]))
    return json.loads(line[-1][6:])


TRANSFORM_TARGETS_MS = {"cold (empty cache dir)": 50.0, "warm-from-disk": 5.0}  # label -> sd.grad target


def run_transform_probe(repeats=5):
    """Median over `repeats` pairs of fresh processes: one on an empty cache dir, one reading it."""
    print("transformation time of sd.grad(mlp_loss) (fresh subprocess each, median of %d):" % repeats)
    samples = {label: [] for label in TRANSFORM_TARGETS_MS}
    for _ in range(repeats):
        cache = tempfile.mkdtemp(prefix="sourcediff-bench-cache-")
        try:
            env = dict(os.environ, SOURCEDIFF_CACHE_DIR=cache)
            env.pop("SOURCEDIFF_CACHE", None)
            for label, got in samples.items():
                try:
                    got.append(_probe_once(env))
                except Exception as e:  # noqa: BLE001
                    got.append({"error": W._short_exc(e)})
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    results = {}
    for label, got in samples.items():
        bad = [r["error"] for r in got if "error" in r]
        if bad:
            results[label] = {"error": bad[0]}
            print("  %-24s n/a (%s)" % (label, bad[0]))
            continue
        r = {k: float(np.median([g[k] for g in got])) for k in got[0]}
        r["all_grad_ms"] = sorted(g["grad_ms"] for g in got)
        results[label] = r
        print("  %-24s sd.grad %6.1f ms (all: %s ms); then its first call %.1f ms, the next %.1f ms" % (
            label, r["grad_ms"], " ".join("%.1f" % t for t in r["all_grad_ms"]), r["first_call_ms"],
            r["second_call_ms"]))
    return results


# ---------------------------------------------------------------------------
# transformation time against function size, each size in a fresh subprocess
# ---------------------------------------------------------------------------
CURVE_SIZES = (200, 400, 800)
CURVE_TARGET_MS_PER_STMT = 1.0  # at the largest size
W4_TOTAL_TARGET_MS = 15.0  # sd.grad(mlp_loss) + its first call, fresh process, empty cache dir


def probe_curve_main(n):
    """Child process: time sd.grad + the first call of a straight-line function of n statements; one JSON line."""
    res = {}
    try:
        s = W.require_sd()
        with tempfile.TemporaryDirectory(prefix="sourcediff-curve-") as d:
            f = W.straight_line_function(n, d)
            x, y = np.linspace(0.1, 1.0, 5), np.linspace(0.2, 2.0, 5)
            t0 = time.perf_counter()
            g = s.grad(f, wrt=(0, 1))
            g(x, y)
            res["s"] = time.perf_counter() - t0
    except W.Unavailable as u:
        res["error"] = u.reason
    except Exception as e:  # noqa: BLE001
        res["error"] = W._short_exc(e)
    print("PROBE " + json.dumps(res))


def run_transform_curve(repeats=3):
    """sd.grad + first call of straight-line NumPy functions (cache off), best of `repeats` fresh processes each."""
    print("transformation time against function size (straight-line NumPy code, SOURCEDIFF_CACHE=0, "
          "fresh process each, best of %d):" % repeats)
    env = dict(os.environ, SOURCEDIFF_CACHE="0")
    out = {}
    for n in CURVE_SIZES:
        got = []
        for _ in range(repeats):
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "--_probe-curve", str(n)], env=env,
                               capture_output=True, text=True, timeout=600)
            line = [ln for ln in p.stdout.splitlines() if ln.startswith("PROBE ")]
            got.append(json.loads(line[-1][6:]) if line else {"error": " ".join(p.stderr.split())[-300:]})
        ok = [g["s"] for g in got if "s" in g]
        if not ok:
            out[n] = {"error": got[0].get("error", "?")}
            print("  %4d statements: n/a (%s)" % (n, out[n]["error"]))
            continue
        out[n] = {"s": min(ok), "ms_per_stmt": min(ok) / n * 1e3}
        print("  %4d statements: %7.3f s  (%.2f ms per statement)" % (n, out[n]["s"], out[n]["ms_per_stmt"]))
    return out


def _curve_summary(curve):
    """Summary lines (text, passed) for the curve: the ms per statement at the largest size."""
    big = curve.get(CURVE_SIZES[-1], {})
    if "s" not in big:
        return [("curve  transformation at %d statements: n/a" % CURVE_SIZES[-1], False)]
    ok = big["ms_per_stmt"] <= CURVE_TARGET_MS_PER_STMT
    steps = " -> ".join("%d: %.2f s" % (n, curve[n]["s"]) for n in CURVE_SIZES if "s" in curve.get(n, {}))
    return [("curve  transformation %s; at %d statements %.2f ms/stmt  target <= %.1f  %s" % (
        steps, CURVE_SIZES[-1], big["ms_per_stmt"], CURVE_TARGET_MS_PER_STMT, "PASS" if ok else "FAIL"), ok)]


# ---------------------------------------------------------------------------
# the Numba backend's targets (issue 16)
# ---------------------------------------------------------------------------
NUMBA_VS_JAX = ("W2", "W3", "W5", "W6", "W7")  # sourcediff+numba faster than jax.jit (W7: jax cannot jit it)
NUMBA_VS_HAND = {"W2": 1.2, "W5": 1.2}  # sourcediff+numba / hand-written Numba gradient at most this


def _median(report, key, name):
    row = report["cases"].get(key, {}).get("rows", {}).get(name)
    return row["median_s"] if row and row["status"] == "ok" else None


def numba_summary(report):
    """PASS/FAIL lines for the Numba backend's targets, and its compile times; returns whether one failed."""
    print("-" * 100)
    print("Numba backend (%s): run time ratios in this run; compile = transformation + Numba compile at the first "
          "call, cold cache" % W.SD_NUMBA)
    bad = False
    checks = [(k, "jax", 1.0, "jax.jit" if k != "W7" else "jax (eager: jax.jit cannot trace while/break)")
              for k in NUMBA_VS_JAX] + [(k, "hand-written numba", t, "hand-written Numba") for k, t in
                                        NUMBA_VS_HAND.items()]
    for key, other, limit, label in checks:
        if key not in report["cases"]:
            continue
        mine, ref = _median(report, key, W.SD_NUMBA), _median(report, key, other)
        if mine is None or ref is None:
            print("%-6s sourcediff+numba / %-45s n/a (a row did not run)" % (key, label))
            continue
        ok = mine / ref < limit if limit == 1.0 else mine / ref <= limit
        bad |= not ok
        print("%-6s sourcediff+numba / %-45s = %6.2fx  target %s %.1f  %s" % (
            key, label, mine / ref, "<" if limit == 1.0 else "<=", limit, "PASS" if ok else "FAIL"))
    for key, sec in W.NUMBA_COMPILE_S.items():
        print("%-6s sourcediff+numba compile %8.0f ms" % (key, sec * 1e3))
    report["numba_compile_s"] = dict(W.NUMBA_COMPILE_S)
    return bad


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
class Cfg:
    pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few rounds, short samples (< 60 s)")
    ap.add_argument("--only", default="", help="comma-separated workload ids, e.g. W1,W4")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 21; 3 with --quick)")
    ap.add_argument("--sample-ms", type=float, default=None,
                    help="target duration of one timing sample (default 20; 2 with --quick)")
    ap.add_argument("--no-peers", action="store_true", help="skip autograd / jax / torch")
    ap.add_argument("--no-transform", action="store_true", help="skip the W4 transformation-time subprocesses")
    ap.add_argument("--check", action="store_true",
                    help="only verify the hand-written gradients against finite differences")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a target is missed or any gradient is wrong")
    ap.add_argument("--list", action="store_true", help="list workloads and exit")
    ap.add_argument("--no-curve", action="store_true",
                    help="skip the transformation-time curve (straight-line functions of %s statements)"
                    % "/".join(map(str, CURVE_SIZES)))
    ap.add_argument("--_probe-transform", dest="probe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_probe-curve", dest="probe_curve", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.probe:
        probe_transform_main()
        return 0
    if a.probe_curve:
        probe_curve_main(a.probe_curve)
        return 0
    if a.check:
        import check_handwritten
        return check_handwritten.main()
    if a.list:
        for c in W.CASES:
            print("%-6s target <= %.2f  %s" % (c.key, c.target, c.title))
        return 0

    cfg = Cfg()
    cfg.rounds = a.rounds or (3 if a.quick else 21)
    cfg.sample_s = (a.sample_ms if a.sample_ms is not None else (2.0 if a.quick else 20.0)) / 1e3
    cfg.warmup_s = 0.05 if a.quick else 0.3
    cfg.peers = not a.no_peers
    only = {s.strip().upper() for s in a.only.split(",") if s.strip()}
    unknown = only - set(W.WORKLOAD_IDS)
    if unknown:
        ap.error("unknown workload(s) %s; known: %s" % (",".join(sorted(unknown)), ",".join(W.WORKLOAD_IDS)))
    cases = [c for c in W.CASES if not only or c.wid in only]

    print("sourcediff benchmarks  (%s mode: %d interleaved rounds, ~%.0f ms samples)" % (
        "quick" if a.quick else "full", cfg.rounds, cfg.sample_s * 1e3))
    print("python %s, numpy %s, %s; threads: OMP/OPENBLAS/MKL=1" % (
        platform.python_version(), np.__version__, platform.machine()))
    sd_ver = "n/a (%s)" % W.SD_ERROR if W.sd is None else getattr(W.sd, "__version__", "?")
    print("sourcediff: %s" % sd_ver)
    if cfg.peers:
        print("peers: autograd %s, jax %s, torch %s" % tuple(
            W.peer_version(n) for n in ("autograd", "jax", "torch")))

    t_start = time.perf_counter()
    summary = []
    report = {"sourcediff": sd_ver, "quick": a.quick, "cases": {}}
    for case in cases:
        rows = run_case(case, cfg)
        probe = None
        if case.transform_probe and not a.no_transform:
            probe = run_transform_probe()
        if case.transform_probe and not a.no_curve:
            report["curve"] = run_transform_curve(1 if a.quick else 3)
        hand, sdr = rows[0], next((r for r in rows if r.name == SD), None)
        if sdr is None or sdr.status == "unavailable":
            verdict, ratio = "n/a", None
        elif sdr.status == "error":
            verdict, ratio = "n/a (sourcediff raised an error, see the note above)", None
        elif sdr.status == "wrong":
            verdict, ratio = "FAIL (WRONG GRADIENT)", None
        elif hand.median is None:
            verdict, ratio = "n/a", None
        else:
            ratio = sdr.median / hand.median
            verdict = "PASS" if ratio <= case.target else "FAIL"
            verdict = "(no target for the Python backend)" if case.target == float("inf") else verdict
        summary.append((case, ratio, verdict))
        report["cases"][case.key] = {
            "title": case.title, "target": case.target, "ratio": ratio, "verdict": verdict,
            "rows": {r.name: {"status": r.status, "median_s": r.median, "reps": r.number,
                              "setup_s": r.setup_s, "peak_bytes": r.peak, "note": r.note}
                     for r in rows},
            "transform_probe": probe,
        }

    print()
    print("=" * 100)
    print("SUMMARY  (sourcediff time / hand-written time; lower is better)")
    print("=" * 100)
    any_bad = False
    for case, ratio, verdict in summary:
        rs = "%.2fx" % ratio if ratio is not None else "n/a"
        print("%-6s sourcediff/hand = %-7s target <= %.2f  %s" % (case.key, rs, case.target, verdict))
        any_bad |= verdict.startswith("FAIL")
        probe = report["cases"][case.key]["transform_probe"] or {}
        for label, limit in TRANSFORM_TARGETS_MS.items():
            ms = probe.get(label, {}).get("grad_ms")
            if ms is not None:
                ok = ms < limit
                print("%-6s sd.grad %-23s = %5.1f ms  target <  %2.0f ms  %s" % (
                    case.key, label, ms, limit, "PASS" if ok else "FAIL"))
                any_bad |= not ok
        total = probe.get("cold (empty cache dir)", {}).get("total_ms")
        if total is not None:
            ok = total < W4_TOTAL_TARGET_MS
            print("%-6s sd.grad %-23s = %5.1f ms  target <  %2.0f ms  %s" % (
                case.key, "+ first call, cold", total, W4_TOTAL_TARGET_MS, "PASS" if ok else "FAIL"))
            any_bad |= not ok
    for line, ok in _curve_summary(report["curve"]) if report.get("curve") else []:
        print(line)
        any_bad |= not ok
    wrong = [(c.key, r["rows"]) for c, _, _ in summary for r in [report["cases"][c.key]]]
    for key, rws in wrong:
        for name, info in rws.items():
            if info["status"] == "wrong":
                any_bad = True
                print("!!! %s: %s computed a WRONG gradient (%s)" % (key, name, info["note"]))
    any_bad |= numba_summary(report)
    print("total wall time %.1f s" % (time.perf_counter() - t_start))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2, default=str)
        print("wrote %s" % a.json)
    return 1 if (a.strict and any_bad) else 0


if __name__ == "__main__":
    sys.exit(main())
