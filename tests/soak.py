"""Soak run: ``python -m tests.soak --n N [--seed S] [--jobs J] [--size K]``.

Draws N random programs from the grammar in tests/programs.py with a seeded
``random.Random`` (no hypothesis: full speed), checks each (forward == reverse,
both == finite differences, value == f(*args)), and prints

    programs: N, wrong: W, errors: E

wrong: derivative or value mismatches; errors: exceptions other than a
``SourcediffError`` refusal (refusals are counted on their own line). Inputs
near a kink are redrawn. Exits 1 if W or E > 0. The first few failures are
printed with their source.
"""
import argparse
import os
import sys
import time
import traceback

os.environ.setdefault("SOURCEDIFF_CACHE", "0")
os.environ.setdefault("SOURCEDIFF_VALIDATE", "1")  # every lowered program checked against the IR grammar

try:
    from tests import programs as P
    from tests.progress import Progress
except ImportError:  # run as a script from tests/
    import programs as P
    from progress import Progress

import sourcediff as sd


def _category(e):
    """A short label for grouping failures: the exception type and the first words of its message."""
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    words = [w for w in first.split() if not any(ch.isdigit() for ch in w)][:6]
    return "%s: %s" % (type(e).__name__, " ".join(words))


def check_seed(job):
    """(seed, outcome, detail, category): outcome is ok / wrong / error / refused / rejected, or
    nested_refused (first derivatives right, a composition of the operators refused)."""
    seed, size = job
    for attempt in range(8):
        s = seed * 8 + attempt
        prog = P.random_program(s, size=size)
        try:
            before = len(P.NESTED_REFUSED)
            P.check_program(prog)
            return seed, "ok" if len(P.NESTED_REFUSED) == before else "nested_refused", None, None
        except P.Rejected:
            continue
        except P.Mismatch as e:
            return seed, "wrong", "%s\n--- program (seed %d) ---\n%sargs = %r" % (e, s, prog.source, prog.args), \
                _category(e)
        except sd.SourcediffError as e:
            return seed, "refused", "%s\n--- program (seed %d) ---\n%sargs = %r" % (e, s, prog.source, prog.args), \
                _category(e)
        except Exception as e:
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__)[-6:])
            return seed, "error", "%s--- program (seed %d) ---\n%sargs = %r" % (tb, s, prog.source, prog.args), \
                _category(e)
    return seed, "rejected", None, None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="number of programs")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--size", type=int, default=6, help="most statements in main's body")
    ap.add_argument("--show", type=int, default=3, help="failures printed in full")
    a = ap.parse_args(argv)
    jobs = [(a.seed + i, a.size) for i in range(a.n)]
    counts = {"ok": 0, "wrong": 0, "error": 0, "refused": 0, "rejected": 0, "nested_refused": 0}
    shown = 0
    t0 = time.time()
    if a.jobs > 1:
        import multiprocessing
        pool = multiprocessing.Pool(a.jobs, maxtasksperchild=250)  # fresh workers: memos stay small
        results = pool.imap_unordered(check_seed, jobs, chunksize=4)
    else:
        pool, results = None, map(check_seed, jobs)
    cats = {}
    bar = Progress(a.n, "soak ")
    for done, (seed, outcome, detail, cat) in enumerate(results, 1):
        bar.update(done, "wrong %d, errors %d" % (counts["wrong"], counts["error"]))
        counts[outcome] += 1
        if cat:
            cats.setdefault((outcome, cat), []).append(seed)
        if detail and shown < a.show:
            shown += 1
            print("=== %s (program %d)\n%s\n" % (outcome, seed, detail), flush=True)
        if done % 500 == 0 and not bar.on:
            print("... %d programs, %.1f/s, wrong %d, errors %d, refused %d" % (
                done, done / (time.time() - t0), counts["wrong"], counts["error"], counts["refused"]), file=sys.stderr,
                  flush=True)
    bar.close()
    if pool:
        pool.close()
        pool.join()
    dt = time.time() - t0
    for (outcome, cat), seeds in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        print("%5d %-7s %s  (programs %s)" % (len(seeds), outcome, cat, ", ".join(map(str, sorted(seeds)[:5]))))
    print("refused (SourcediffError): %d, rejected (kinks/overflow after 8 draws): %d, nested compositions refused: %d"
          % (counts["refused"], counts["rejected"], counts["nested_refused"]))
    print("elapsed: %.1f s (%.2f programs/s)" % (dt, a.n / dt if dt else 0.0))
    print("programs: %d, wrong: %d, errors: %d" % (a.n, counts["wrong"], counts["error"]))
    return 1 if counts["wrong"] or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
