"""Front-end fuzzing: generated programs (tests/programs.py) are mutated with constructs
sourcediff may not support (yield, try/except, with, global, lambda, nested def, del, async,
import, walrus, set literals, f-strings, *args, star-unpacking, string ops, comparison chains,
raise/assert, statement deletion/duplication/swapping). The outcome must be

* a ``SourcediffError``, or
* the exception the original function itself raises when called directly (same type), or
* the right value and derivative (vs. central finite differences, where no branch is near a kink),

never another exception from sourcediff's own code and never a hang (``signal.alarm``)."""
import ast
import copy
import os
import warnings

os.environ.setdefault("SOURCEDIFF_CACHE", "0")

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, assume, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import programs as P  # noqa: E402
import sourcediff as sd  # noqa: E402

F_TIMEOUT, SD_TIMEOUT = 3, 20


def _p(src):
    return ast.parse(src).body


def _stmt_lists(fn):
    """Every statement list inside ``fn`` (its body, if/else/loop bodies...)."""
    out = [fn.body]
    for node in ast.walk(fn):
        if node is fn:
            continue
        for field in ("body", "orelse", "finalbody"):
            lst = getattr(node, field, None)
            if isinstance(lst, list) and lst and isinstance(lst[0], ast.stmt):
                out.append(lst)
    return out


def _names(fn):
    return sorted({n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                  | {a.arg for a in fn.args.args})


MUTATIONS = ["yield", "try", "with", "global", "lambda", "nested_def", "del", "async", "import", "walrus",
             "set", "fstring", "varargs", "star_unpack", "strings", "chain", "raise", "assert", "delete",
             "duplicate", "swap", "return_tuple", "while_true_break", "nonlocal", "class", "comprehension"]


def mutate(tree, kind, ch):
    """Apply one mutation of ``kind`` to ``main`` (the last def) in ``tree``; ``ch`` chooses where."""
    fn = tree.body[-1]
    lists = _stmt_lists(fn)
    lst = ch.choice(lists)
    pos = ch.integer(0, len(lst))
    names = _names(fn)
    v = ch.choice(names)
    p0 = fn.args.args[0].arg

    def insert(stmts):
        lst[pos:pos] = stmts

    if kind == "yield":
        insert(_p("yield %s" % v))
    elif kind in ("try", "with") and lst:
        i = min(pos, len(lst) - 1)
        node = ast.parse("try:\n    pass\nexcept Exception:\n    pass" if kind == "try" else
                         "with np.errstate(all='ignore'):\n    pass").body[0]
        node.body = [lst[i]]
        lst[i] = node
    elif kind == "global":
        fn.body[0:0] = _p("global G")
        insert(_p("G = %s" % v))
    elif kind == "lambda":
        insert(_p("lam = lambda t: t * 2.0\n%s = lam(%s)" % (v, v)))
    elif kind == "nested_def":
        insert(_p("def inner(t):\n    return t * t + %s\n%s = inner(%s)" % (p0, v, v)))
    elif kind == "del":
        insert(_p("del %s" % v))
    elif kind == "async":
        new = ast.AsyncFunctionDef(**{f: getattr(fn, f) for f in fn._fields if hasattr(fn, f)})
        tree.body[-1] = ast.copy_location(new, fn)
    elif kind == "import":
        insert(_p("import math as m2\n%s = m2.sin(%s)" % (v, v)))
    elif kind == "walrus":
        insert(_p("%s = (w := %s * 0.5) + w" % (v, v)))
    elif kind == "set":
        insert(_p("s = {1.0, 2.0, %s}\n%s = %s * len(s)" % (p0, v, v)))
    elif kind == "fstring":
        insert(_p("msg = f'{%s:.3f}'\n%s = %s + len(msg) * 0.0" % (v, v, v)))
    elif kind == "varargs":
        fn.args.vararg = ast.arg(arg="rest")
        insert(_p("%s = %s + len(rest)" % (v, v)))
    elif kind == "star_unpack":
        insert(_p("first, *others = [%s, 1.0, 2.0]\n%s = first * len(others)" % (v, v)))
    elif kind == "strings":
        insert(_p("s = ('ab' + 'c').upper() * 2\n%s = %s * len(s.lower())" % (v, v)))
    elif kind == "chain":
        insert(_p("if -0.5 < %s < 0.5 <= 1.0:\n    %s = %s * 2.0" % (p0, v, v)))
    elif kind == "raise":
        insert(_p("if %s > 1.25:\n    raise ValueError('too big')" % p0))
    elif kind == "assert":
        insert(_p("assert %s < 1.25, 'too big'" % p0))
    elif kind == "delete" and lst:
        del lst[min(pos, len(lst) - 1)]
        if not lst:
            lst.append(ast.Pass())
    elif kind == "duplicate" and lst:
        i = min(pos, len(lst) - 1)
        lst.insert(i, copy.deepcopy(lst[i]))
    elif kind == "swap" and len(lst) > 1:
        i = min(pos, len(lst) - 2)
        lst[i], lst[i + 1] = lst[i + 1], lst[i]
    elif kind == "return_tuple":
        insert(_p("return %s, %s" % (p0, p0)))
    elif kind == "while_true_break":
        insert(_p("while True:\n    %s = %s * 0.5\n    break" % (v, v)))
    elif kind == "nonlocal":
        insert(_p("def inner():\n    nonlocal %s\n    %s = 1.0\ninner()" % (v, v)))
    elif kind == "class":
        insert(_p("class K:\n    c = 2.0\n%s = %s * K.c" % (v, v)))
    elif kind == "comprehension":
        insert(_p("%s = sum([%s * k for k in range(3)])" % (v, v)))
    return tree


@st.composite
def mutated(draw):
    ch = P.DataChooser(draw)
    prog = P.Program(*P.ProgramGen(ch, size=3, max_depth=2).generate())
    tree = ast.parse(prog.source)
    kinds = [ch.choice(MUTATIONS) for _ in range(ch.integer(1, 3))]
    for k in kinds:
        tree = mutate(tree, k, ch)
    ast.fix_missing_locations(tree)
    try:
        src = ast.unparse(tree) + "\n"
        compile(src, "<mutated>", "exec")
    except SyntaxError:
        src = None
    return P.Program(src, prog.kinds, prog.args), kinds


def _call(f, args):
    """(value, exception type) of calling ``f`` directly."""
    try:
        with P._Alarm(F_TIMEOUT):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = f(*P._copy(args))
    except TimeoutError:
        return None, TimeoutError
    except Exception as e:
        return None, type(e)
    if hasattr(v, "close"):   # a generator or coroutine
        v.close()
    return v, None


def _is_scalar(v):
    return isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, bool) or \
        (isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind == "f")


def check_mutated(prog, kinds):
    """Returns a problem description, or None."""
    with P.Loaded("G = 0.0\n" + prog.source) as mod:
        f = mod.main
        value, f_exc = _call(f, prog.args)
        if f_exc is TimeoutError:
            return None          # the user's program itself hangs (e.g. a deleted counter increment)
        wrt = tuple(range(len(prog.args)))
        results = {}
        for mode in ("reverse", "forward"):
            try:
                with P._Alarm(SD_TIMEOUT):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        results[mode] = sd.value_and_grad(f, wrt=wrt, mode=mode)(*P._copy(prog.args))
            except sd.SourcediffError:
                results[mode] = "refused"
                event("refused")
            except TimeoutError:
                return "%s mode hangs (> %ds)" % (mode, SD_TIMEOUT)
            except Exception as e:
                if f_exc is not None and isinstance(e, f_exc):
                    results[mode] = "raised"
                    event("raised like main")
                    continue
                return "%s mode raised %s: %s (calling main directly: %s)" % (
                    mode, type(e).__name__, e, f_exc.__name__ if f_exc else "returns %r" % (value,))
    for mode, r in results.items():
        if not isinstance(r, tuple):
            continue
        if f_exc is not None:
            return "%s mode returned %r but calling main directly raises %s" % (mode, r[0], f_exc.__name__)
        if not _is_scalar(value):
            return "%s mode returned %r for a function returning %r" % (mode, r[0], value)
        v, g = r
        event("differentiated")
        if not np.isclose(float(v), float(value), rtol=1e-12, atol=0):
            return "%s mode value %r != main(*args) %r" % (mode, v, value)
        try:
            _, g_fd = P.fd_gradient("G = 0.0\n" + prog.source, prog.args)
        except (P.Rejected, Exception):
            continue          # near a kink / not re-runnable: only exceptions are checked
        ok, err = P._close(P._flat(g), g_fd, P.FD_RTOL)
        if not ok:
            return "%s mode gradient %r disagrees with finite differences %r" % (mode, P._flat(g), g_fd)
    return None


@settings(max_examples=300, deadline=None, derandomize=True, print_blob=False, report_multiple_bugs=False,
          suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutated_programs(case):
    prog, kinds = case
    assume(prog.source is not None)
    problem = check_mutated(prog, kinds)
    assert problem is None, "%s\nmutations: %s\n--- program ---\n%s\nargs = %r" % (problem, kinds, prog.source,
                                                                                   prog.args)
