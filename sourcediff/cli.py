"""The ``sourcediff`` command line: print a function's derivative source.

    sourcediff FILE::FUNC [--mode forward|reverse] [--wrt NAME[,NAME...]] [--lowered] [--no-optimize]
                          [--backend python|numba] [--output FILE] [--check V1,V2,... | --check-args-file ARGS.npz]
                          [--diff] [--no-color]
    python -m sourcediff ...        # the same

``--output`` writes a standalone module (``sourcediff.export``); ``--check`` compares the
derivative with central differences at the given arguments (exit 1 on a mismatch); ``--diff``
shows each line beside its derivative statements; ``--backend numba`` prints the module Numba
compiles (the derivative rewritten for it) and checks the compiled derivative; on a terminal the source is highlighted
(Pygments) unless ``--no-color`` or ``NO_COLOR`` is set.

FILE is imported as a fresh module (its ``if __name__ == "__main__"`` block does
not run; anything it prints goes to stderr so stdout holds only the source).
FUNC may be dotted (``Class.method``). ``--wrt`` takes parameter names or
positions (``--wrt 0,b``); one name gives a single ``wrt``, several a tuple.

Exit status: 0 the source is on stdout; 1 sourcediff refused the function (the
``SourcediffError`` message is on stderr); 2 usage errors (bad ``FILE::FUNC``,
missing file or function, FILE fails to import); 3 an internal error. No
tracebacks are printed.
"""
import argparse
import contextlib
import importlib.machinery
import importlib.util
import itertools
import os
import sys

from . import display
from .version import VERSION

__all__ = ["main"]

_counter = itertools.count()


class UsageError(Exception):
    """A user mistake on the command line: reported as ``sourcediff: error: ...``, exit 2."""

    def __init__(self, message, usage=False):
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would sys.exit(2) itself; let main() decide
        raise UsageError(message, usage=True)


def _parser():
    p = _Parser(prog="sourcediff", description="Print the generated derivative source of a Python function.",
                epilog="exit status: 0 ok, 1 sourcediff refused the function, 2 usage error, 3 internal error")
    p.add_argument("target", metavar="FILE::FUNC", help="a Python file and a function in it, e.g. model.py::loss")
    p.add_argument("--mode", choices=("forward", "reverse"), default=None, help="derivative mode (default: reverse)")
    p.add_argument("--wrt", metavar="NAME[,NAME...]", default=None,
                   help="parameters to differentiate with respect to: names or positions (default: the first)")
    p.add_argument("--backend", choices=("python", "numba"), default="python",
                   help="what runs the derivative: Python (default) or Numba (needs sourcediff[numba])")
    p.add_argument("--lowered", action="store_true", help="print the three-address form (sourcediff.lower) instead")
    p.add_argument("--no-optimize", action="store_true", help="skip the optimisation passes")
    p.add_argument("--output", metavar="FILE", default=None,
                   help="write the derivative as a standalone module (sourcediff.export) instead of printing it")
    p.add_argument("--check", metavar="V1,V2,...", default=None,
                   help="evaluate the derivative at these argument values and compare with central differences")
    p.add_argument("--check-args-file", metavar="ARGS.npz", default=None,
                   help="like --check, the arguments read from an .npz file (by parameter name, or arr_0, arr_1, ...)")
    p.add_argument("--diff", action="store_true",
                   help="show each line of the function beside the derivative statements for it")
    p.add_argument("--no-color", action="store_true", help="never highlight (also: the NO_COLOR environment variable)")
    p.add_argument("--version", action="version", version="sourcediff " + VERSION)
    return p


def parse_target(spec):
    """``'path/f.py::Cls.meth'`` -> ``('path/f.py', ['Cls', 'meth'])``; UsageError when malformed."""
    path, sep, func = spec.rpartition("::")
    if not sep or not path or not func:
        raise UsageError("expected FILE::FUNC (for example model.py::loss), got %r" % spec, usage=True)
    names = func.split(".")
    if not all(n.isidentifier() for n in names):
        raise UsageError("%r is not a function name (use FUNC or Class.method)" % func)
    return path, names


def parse_wrt(text):
    """``None`` -> None; ``'x'`` -> 'x'; ``'0'`` -> 0; ``'a, 1'`` -> ('a', 1)."""
    if text is None:
        return None
    items = [s.strip() for s in text.split(",")]
    out = []
    for s in items:
        if s.isdigit():
            out.append(int(s))
        elif s.isidentifier():
            out.append(s)
        else:
            raise UsageError("--wrt expects parameter names or positions separated by commas, got %r" % text,
                             usage=True)
    return out[0] if len(out) == 1 else tuple(out)


def load_function(path, names):
    """Import ``path`` as a uniquely named module and return the object at ``names``.

    The module stays in ``sys.modules`` (``inspect`` needs it to find sources)
    and its directory is on ``sys.path`` only while it executes.
    """
    if not os.path.exists(path):
        raise UsageError("no such file: %s" % path)
    if not os.path.isfile(path):
        raise UsageError("not a file: %s" % path)
    path = os.path.abspath(path)
    stem = "".join(c if c.isalnum() else "_" for c in os.path.splitext(os.path.basename(path))[0])
    modname = "_sourcediff_cli_%s_%d" % (stem, next(_counter))
    loader = importlib.machinery.SourceFileLoader(modname, path)
    spec = importlib.util.spec_from_file_location(modname, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            spec.loader.exec_module(module)
    except SyntaxError as e:
        sys.modules.pop(modname, None)
        raise UsageError("cannot import %s: %s:%s: %s" % (path, e.filename or path, e.lineno, e.msg))
    except (Exception, SystemExit) as e:
        sys.modules.pop(modname, None)
        from .errors import SourcediffError
        if isinstance(e, SourcediffError):  # e.g. a decorator refused a function at import time
            raise
        raise UsageError("cannot import %s: %s: %s" % (path, type(e).__name__, e))
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    obj = module
    for i, n in enumerate(names):
        try:
            obj = getattr(obj, n)
        except AttributeError:
            where = path if i == 0 else "%s::%s" % (path, ".".join(names[:i]))
            raise UsageError("%s has no attribute %r" % (where, n))
        except Exception as e:
            raise UsageError("cannot get %s: %s: %s" % (".".join(names[:i + 1]), type(e).__name__, e))
    if not callable(obj):
        raise UsageError("%s::%s is not a function (it is a %s)" % (path, ".".join(names), type(obj).__name__))
    return obj


def _check_args(func, args):
    """The argument values of ``--check`` (numbers) or ``--check-args-file`` (an .npz of arrays)."""
    import inspect
    import numpy as np
    params = list(inspect.signature(func).parameters)
    if args.check is not None:
        try:
            return [float(v) for v in args.check.split(",")]
        except ValueError:
            raise UsageError("--check expects numbers separated by commas, got %r" % args.check)
    try:
        with np.load(args.check_args_file) as data:
            named = [data[p] for p in params if p in data.files]
            values = named if named else [data["arr_%d" % i] for i in range(len(data.files))]
    except (OSError, ValueError, KeyError) as e:
        raise UsageError("cannot read %s: %s" % (args.check_args_file, e))
    return [float(v) if v.ndim == 0 else v for v in values]


def check(func, wrt, mode, values, backend="python"):
    """Print the derivative beside central differences at ``values``; 0 when they agree, 1 otherwise."""
    import numpy as np
    import sourcediff
    from sourcediff import api, inspection, trees
    idx, _ = api._wrt(func, wrt)
    got = sourcediff.grad(func, wrt=tuple(idx), mode=mode, backend=backend)(*values)
    params = api._params(func)
    print("%-16s %22s %22s %12s" % ("argument", mode + " mode", "central differences", "error"))
    ok = True
    for k, i in enumerate(idx):
        ref = inspection.numerical_grad(func, values, i)
        mine = np.array(trees.flat(got[k]))
        for j, (a, b) in enumerate(zip(mine, ref)):
            bad = not abs(a - b) <= 1e-6 + 1e-5 * abs(b)
            ok = ok and not bad
            label = params[i] if ref.size == 1 else "%s[%d]" % (params[i], j)
            print("%-16s %22.12g %22.12g %12.3g%s" % (label, a, b, abs(a - b), "  MISMATCH" if bad else ""))
    print("ok" if ok else "mismatch")
    return 0 if ok else 1


def _numba_text(func, wrt, mode, optimize):
    """The module Numba compiles for the derivative (``backend_numba``), or the reason it would fall back."""
    from . import api, backend_numba
    backend_numba.require()
    idx, many = api._wrt(func, wrt)
    gen = api._derivative(func, idx, "grad", api._mode(mode), optimize, many)
    try:
        return backend_numba.numba_source(gen)[0].replace("cache=CACHE", "cache=True")
    except backend_numba.Unsupported as e:
        print("sourcediff: note: Numba cannot compile this derivative (%s); it runs as Python:" % e, file=sys.stderr)
        return gen.source


def _run(argv):
    args = _parser().parse_args(argv)
    path, names = parse_target(args.target)
    wrt = parse_wrt(args.wrt)
    func = load_function(path, names)
    import sourcediff
    mode = args.mode or "reverse"
    if args.check is not None or args.check_args_file is not None:
        return check(func, wrt, mode, _check_args(func, args), args.backend)
    if args.output:
        sourcediff.export(func, args.output, wrt=wrt, mode=mode, optimize=not args.no_optimize)
        print("sourcediff: wrote %s" % args.output, file=sys.stderr)
        return 0
    if args.lowered:
        ignored = [o for o, v in (("--mode", args.mode), ("--wrt", args.wrt), ("--no-optimize", args.no_optimize)) if v]
        if ignored:
            print("sourcediff: note: %s ignored with --lowered" % ", ".join(ignored), file=sys.stderr)
        text = sourcediff.lower(func)
    else:
        text = sourcediff.source(func, wrt=wrt, mode=mode, optimize=not args.no_optimize)
        if args.backend == "numba":
            text = _numba_text(func, wrt, mode, not args.no_optimize)
    text = str(text)
    text = text if text.endswith("\n") else text + "\n"
    if args.diff and not args.lowered:
        import inspect
        text = display.side_by_side(inspect.getsource(func), text)
    elif display.color_wanted(sys.stdout, args.no_color):
        text = display.to_terminal(text)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        from .errors import SourcediffError
    except Exception:  # pragma: no cover - only while the package is broken
        SourcediffError = ()
    try:
        return _run(argv)
    except SystemExit as e:  # --help / --version from argparse
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except UsageError as e:
        if e.usage:
            print("usage: sourcediff FILE::FUNC [--mode forward|reverse] [--wrt NAME[,NAME...]] [--lowered] "
                  "[--no-optimize] [--backend python|numba] [--output FILE] [--check V1,V2,...] [--diff] [--no-color]",
                  file=sys.stderr)
        print("sourcediff: error: %s" % e, file=sys.stderr)
        return 2
    except SourcediffError as e:
        print(str(e), file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `sourcediff f.py::f | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("sourcediff: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        print("sourcediff: internal error: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
