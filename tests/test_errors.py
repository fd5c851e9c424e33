"""Refusals: every unsupported construct raises sd.SourcediffError with file:line, the offending
source line and a hint -- from a real module file, so the line numbers are known exactly."""
import sys
import textwrap

import numpy as np
import pytest

import sourcediff as sd
from helpers import write_module

MODULE = '''
import operator
import numpy as np

SCALE = 2.0
store = {"last": 0.0}


class Box:
    pass


def good(x):
    return x * x + SCALE


def f_yield(x):
    y = x * 2.0
    yield y  # HERE


async def f_async(x):  # HERE
    return x * 2.0


def f_try(x):
    try:  # HERE
        y = x * 2.0
    except ValueError:
        y = x
    return y


def f_with(x):
    with open("/dev/null") as fh:  # HERE
        y = x * 2.0
    return y


def f_global(x):
    global SCALE  # HERE
    SCALE = x
    return x * 2.0


def make_nonlocal():
    count = 0.0

    def bump(x):
        nonlocal count  # HERE
        count = count + x
        return x * 2.0
    return bump


def f_exec(x):
    exec("y = 1")  # HERE
    return x * 2.0


def f_eval(x):
    y = eval("x * 2.0")  # HERE
    return y


def f_class(x):
    class Local:  # HERE
        pass
    return x * 2.0


def f_attr(x, box):
    y = x * 3.0
    box.value = y  # HERE
    return y


def f_norule(x):
    y = x + 1.0
    return operator.mul(y, x)  # HERE


def f_nested(x):
    k = 2.0
    def helper(y):
        return y * k
    h = helper  # HERE
    return h(x)


def star_callee(x, *rest):
    return x * 2.0


def f_star(x):
    return star_callee(x, x)  # HERE


def f_calls_bad(x):
    return f_norule(x) + x


def f_lambda_inside(x):
    fs = [lambda v: v * v]  # HERE
    return fs[0](x)
'''

MATCH_MODULE = '''
def f_match(x):
    y = x * 2.0
    match y:  # HERE
        case 1.0:
            return y
        case _:
            return y * y
'''


def marked_line(text, func):
    """The 1-based line of the ``# HERE`` marker inside ``def func`` in ``text``."""
    lines = textwrap.dedent(text).splitlines()
    start = next(i for i, ln in enumerate(lines) if ("def %s(" % func) in ln)
    for i in range(start, len(lines)):
        if "# HERE" in lines[i]:
            return i + 1, lines[i].split("#")[0].strip()
    raise AssertionError("no marker for %s" % func)


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCEDIFF_CACHE_DIR", str(tmp_path_factory.mktemp("sdcache")))
    d = tmp_path_factory.mktemp("errmod")
    m = write_module(d, "refused", MODULE)
    m.__path_for_test__ = str(d / "refused.py")
    yield m
    mp.undo()


CASES = [
    ("f_yield", lambda m: m.f_yield, (1.5,), "yield"),
    ("f_async", lambda m: m.f_async, (1.5,), "async"),
    ("f_try", lambda m: m.f_try, (1.5,), "try"),
    ("f_with", lambda m: m.f_with, (1.5,), "with"),
    ("f_global", lambda m: m.f_global, (1.5,), "global"),
    ("bump", lambda m: m.make_nonlocal(), (1.5,), "nonlocal"),
    ("f_exec", lambda m: m.f_exec, (1.5,), "exec"),
    ("f_eval", lambda m: m.f_eval, (1.5,), "eval"),
    ("f_class", lambda m: m.f_class, (1.5,), "class"),
    ("f_attr", lambda m: m.f_attr, (1.5, None), "attribute"),
    ("f_norule", lambda m: m.f_norule, (1.5,), "mul"),
    ("f_nested", lambda m: m.f_nested, (1.5,), "k"),
    ("f_star", lambda m: m.f_star, (1.5,), "*args"),
    ("f_lambda_inside", lambda m: m.f_lambda_inside, (1.5,), "lambda"),
]


def assert_located(err, path, line, code, word=None):
    msg = str(err)
    assert "%s:%d" % (path, line) in msg, msg
    assert code in msg, msg
    assert "hint:" in msg, msg
    hint = msg.split("hint:", 1)[1].strip()
    assert len(hint) > 5, msg
    if word:
        assert word.lower() in msg.lower(), msg


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("name,get,args,word", CASES, ids=[c[0] for c in CASES])
def test_refusal_is_located_with_hint(mod, name, get, args, word, mode):
    fn = get(mod)
    line, code = marked_line(MODULE, name)
    args = tuple(mod.Box() if a is None else a for a in args)
    with pytest.raises(sd.SourcediffError) as e:
        sd.grad(fn, mode=mode)(*args)
    assert_located(e.value, mod.__path_for_test__, line, code, word)


@pytest.mark.parametrize("op", ["source", "value_and_grad", "jvp", "vjp", "jacobian", "hessian"])
def test_refusal_from_every_operator(mod, op):
    line, code = marked_line(MODULE, "f_try")
    with pytest.raises(sd.SourcediffError) as e:
        if op == "source":
            sd.source(mod.f_try)
        elif op == "jvp":
            sd.jvp(mod.f_try)(1.5, 1.0)
        elif op == "vjp":
            sd.vjp(mod.f_try)(1.5, 1.0)
        else:
            getattr(sd, op)(mod.f_try)(1.5)
    assert_located(e.value, mod.__path_for_test__, line, code, "try")


def test_refusal_in_a_called_function_points_at_the_callee(mod):
    line, code = marked_line(MODULE, "f_norule")
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError) as e:
            sd.grad(mod.f_calls_bad, mode=mode)(1.5)
        assert_located(e.value, mod.__path_for_test__, line, code)


@pytest.mark.skipif(sys.version_info < (3, 10), reason="`match` needs Python 3.10")
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_match_refused(tmp_path, mode):
    m = write_module(tmp_path, "matchmod", MATCH_MODULE)
    line, code = marked_line(MATCH_MODULE, "f_match")
    with pytest.raises(sd.SourcediffError) as e:
        sd.grad(m.f_match, mode=mode)(1.5)
    assert_located(e.value, str(tmp_path / "matchmod.py"), line, code, "match")


def test_error_is_a_sourcediff_error_subclass_of_exception(mod):
    with pytest.raises(Exception) as e:
        sd.grad(mod.f_try)(1.5)
    assert isinstance(e.value, sd.SourcediffError)
    assert issubclass(sd.SourcediffError, Exception)


def test_error_leaves_no_broken_state(mod):
    for _ in range(2):  # refused again, not cached as a success
        with pytest.raises(sd.SourcediffError):
            sd.grad(mod.f_try)(1.5)
        with pytest.raises(sd.SourcediffError):
            sd.grad(mod.f_norule, mode="forward")(1.5)
    assert sd.grad(mod.good)(1.5) == 3.0
    assert sd.grad(mod.good, mode="forward")(1.5) == 3.0
    assert sd.value_and_grad(mod.good)(2.0) == (6.0, 4.0)

    def fine(x):
        return np.sum(x ** 2)
    np.testing.assert_allclose(sd.grad(fine)(np.array([1.0, 2.0])), [2.0, 4.0])


def test_refused_function_in_the_middle_of_good_calls(mod):
    assert sd.grad(mod.good)(1.0) == 2.0
    with pytest.raises(sd.SourcediffError):
        sd.grad(mod.f_with)(1.0)
    assert sd.grad(mod.good)(4.0) == 8.0


def test_missing_source_raises_sourcediff_error_not_oserror():
    ns = {}
    exec("def g(x):\n    return x * x\n", ns)
    for mode in ("reverse", "forward"):
        with pytest.raises(sd.SourcediffError) as e:
            sd.grad(ns["g"], mode=mode)(1.0)
        assert not isinstance(e.value, OSError)
        assert "hint:" in str(e.value)
    with pytest.raises(sd.SourcediffError):
        sd.source(ns["g"])
    with pytest.raises(sd.SourcediffError):
        sd.lower(ns["g"])


def test_missing_source_of_a_callee_raises_sourcediff_error(tmp_path):
    ns = {}
    exec("def inner(x):\n    return x * x\n", ns)
    m = write_module(tmp_path, "callsexec", '''
        inner = None

        def outer(x):
            return inner(x) + x
    ''')
    m.inner = ns["inner"]
    with pytest.raises(sd.SourcediffError) as e:
        sd.grad(m.outer)(1.0)
    assert not isinstance(e.value, OSError)


def test_builtin_without_source_is_refused():
    with pytest.raises(sd.SourcediffError):
        sd.grad(len)([1.0])


# -- command line ------------------------------------------------------------------------------

def test_cli_prints_source(mod, capsys):
    from sourcediff.cli import main
    rc = main([mod.__path_for_test__ + "::good"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "def " in out
    assert "Traceback" not in err


def test_cli_prints_lowered_and_forward(mod, capsys):
    from sourcediff.cli import main
    assert main([mod.__path_for_test__ + "::good", "--lowered"]) == 0
    out, _ = capsys.readouterr()
    assert "t0 = x * x" in out
    assert main([mod.__path_for_test__ + "::good", "--mode", "forward"]) == 0
    out, _ = capsys.readouterr()
    assert "def " in out


@pytest.mark.parametrize("name", ["f_try", "f_norule", "f_star", "f_yield"])
def test_cli_refused_function(mod, capsys, name):
    from sourcediff.cli import main
    rc = main([mod.__path_for_test__ + "::" + name])
    out, err = capsys.readouterr()
    assert rc == 1
    line, code = marked_line(MODULE, name)
    assert "%s:%d" % (mod.__path_for_test__, line) in err
    assert code in err and "hint:" in err
    assert "Traceback" not in err and "Traceback" not in out
    assert out == ""

