"""Every source text the compiler generates for N random programs, for refactors that must not change it.

    python -m tests.dump_generated --n 2000 --out DIR            # write DIR/<seed>.py
    python -m tests.dump_generated --n 2000 --compare DIR        # the same, compared with DIR

Each program of ``tests/programs.py`` is drawn and checked as the soak does it (seeds ``s * 8 + k``,
redrawn when rejected); every text handed to ``codegen.compile_module`` on the way (grad, forward, specialised,
nested compositions) is written, in order, to one file per seed, with the outcome at the end.
``--compare`` prints the seeds whose texts differ and exits 1 if any do.
"""
import argparse
import difflib
import os
import pathlib
import re
import sys

os.environ.setdefault("SOURCEDIFF_CACHE", "0")

from sourcediff import codegen  # noqa: E402
from tests import programs as P  # noqa: E402

_SEEN = []
_compile = codegen.compile_module


def _capture(src, main, names):
    _SEEN.append(src)
    return _compile(src, main, names)


def texts(seed):
    """The generated sources of program ``seed`` joined, and the check's outcome."""
    codegen.compile_module = _capture
    del _SEEN[:]
    for attempt in range(8):
        try:
            P.check_program(P.random_program(seed * 8 + attempt))
            outcome = "ok"
        except P.Rejected:
            outcome = "rejected"
            continue
        except Exception as e:  # refusals and mismatches are part of what must not change
            outcome = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        break
    text = "".join("# ---- text %d\n%s" % (i, s) for i, s in enumerate(_SEEN)) + "# ---- outcome: %s\n" % outcome
    return seed, normalised(text)


def normalised(text):
    """``text`` without what varies from run to run: temporary program file names (reused when a program's
    source repeats) and the hashes of generated module names made from texts holding them."""
    text = re.sub(r"\S*sdprog_\d+_\d+\.py", "PROGRAM.py", text)
    return re.sub(r"<sourcediff (\S+) [0-9a-f]{10}>", r"<sourcediff \1 HASH>", text)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.dump_generated", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--out")
    g.add_argument("--compare")
    a = ap.parse_args(argv)
    seeds = range(a.seed, a.seed + a.n)
    if a.jobs > 1:
        import multiprocessing
        results = multiprocessing.Pool(a.jobs, maxtasksperchild=250).imap(texts, seeds, chunksize=8)
    else:
        results = map(texts, seeds)
    if a.out:
        pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
        for seed, text in results:
            pathlib.Path(a.out, "%d.py" % seed).write_text(text)
        print("wrote %d files to %s" % (a.n, a.out))
        return 0
    differ = []
    for seed, text in results:
        old = pathlib.Path(a.compare, "%d.py" % seed)
        before = normalised(old.read_text()) if old.exists() else ""
        if text != before:
            differ.append(seed)
            if len(differ) <= 3:
                sys.stdout.writelines(difflib.unified_diff(before.splitlines(True), text.splitlines(True),
                                                           "before/%d.py" % seed, "after/%d.py" % seed, n=2))
    print("programs: %d, generated code differs: %d%s" % (a.n, len(differ),
                                                          " (seeds %s)" % differ[:20] if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
