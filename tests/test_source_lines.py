"""frontend.source_lines reads a definition without tokenizing: same lines as inspect's."""
import inspect
import textwrap

import pytest

import sourcediff as sd
from sourcediff.frontend import _block, source_lines


def _deco(f):
    return f


@_deco
def decorated(x):
    return x * x  # a comment that belongs to the body
    # a trailing comment in the body


def with_string(x):
    s = """
not indented
"""
    return x * len(s)


def continued(x):
    return (x *
x)


CASES = [decorated, with_string, continued, source_lines]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_block_is_inspects_block(fn):
    lines, start = inspect.findsource(fn)
    ours = "".join(_block(lines[fn.__code__.co_firstlineno - 1:]))
    assert ours.rstrip() == inspect.getsource(fn).rstrip().replace("\n    # a trailing comment in the body", "")


def test_block_stops_before_the_next_statement():
    lines = textwrap.dedent('''\
        def f(x):
            return x

        # between
        y = 1
        ''').splitlines(True)
    assert _block(lines) == lines[:2]


def test_lambda_falls_back_to_inspect():
    lines = ["g = lambda x: (x *\n", "     2)\n", "z = 3\n"]
    assert _block(lines) == lines[:2]


def test_derivatives_of_these_functions():
    assert sd.grad(decorated)(3.0) == pytest.approx(6.0)
    assert sd.grad(with_string)(2.0) == pytest.approx(len('\nnot indented\n'))
    assert sd.grad(continued)(1.5) == pytest.approx(3.0)
