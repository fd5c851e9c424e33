"""Codegen: gast -> Python source text -> a compiled function, registered for tracebacks.

``to_source`` is the one printer (astor, falling back to ``ast.unparse`` where astor
cannot print a node). ``comment(text)`` makes a statement that prints as ``# text``: a
no-op statement annotated ``comment`` (annotations.py).
``compile_module`` compiles a module of generated ``def``s inside a factory whose
parameters bind the helpers the code calls; ``instantiate`` runs it with the user's module as
globals and registers the text in ``linecache`` so tracebacks, ``pdb`` and ``inspect`` see it.

Before::

    def f(x):
        return np.sum(np.sin(x))

After, in sd.grad(f)::

    def f_grad(x):
        # grad of: return np.sum(np.sin(x))
        dx = np.cos(x)
        return grad_like(dx, x)
"""
import ast
import hashlib
import linecache
import re
import types
import warnings

import gast

from .annotations import getanno, is_comment, setanno
from .convert import to_ast
from .names import inner_nodes

with warnings.catch_warnings():  # astor 0.8 reads ast.Num & co. at import: deprecated since Python 3.12
    warnings.simplefilter("ignore", DeprecationWarning)
    import astor

_MARK = "__sd_comment_%d__"  # what a comment is printed as first (the printers know no comments), then replaced
_MARK_RE = re.compile(r"^(\s*)__sd_comment_(\d+)__\s*$", re.M)


def comment(text):
    """A statement that prints as ``# text``: ``None`` as a statement, annotated with the text."""
    return setanno(gast.Expr(value=gast.Constant(value=None, kind=None)), "comment", text)


def to_source(node):
    """Python source text of a gast (or ast) node."""
    every = inner_nodes(node) if isinstance(node, gast.AST) else []
    notes = [n for n in every if is_comment(n)]
    for k, n in enumerate(notes):  # for the printer only: the k-th comment reads the name _MARK % k
        n.value = gast.Name(id=_MARK % k, ctx=gast.Load(), annotation=None, type_comment=None)
    bases = _negative_bases_gast(every)
    try:
        tree = to_ast(node) if isinstance(node, gast.AST) else node
    finally:
        for n in notes:
            n.value = gast.Constant(value=None, kind=None)
        for n, left in bases:
            n.left = left
    if not isinstance(node, gast.AST):
        _negative_bases(tree)
    try:
        src = astor.to_source(tree)
    except Exception:  # astor lags behind new node types
        src = ast.unparse(tree) + "\n"
    if not notes:
        return src
    return _MARK_RE.sub(lambda m: "%s# %s" % (m.group(1), getanno(notes[int(m.group(2))], "comment")), src)


def _negative_bases(tree):
    """A negative number folded into the base of ``**`` prints as ``-0.75 ** 2``, which Python reads as
    ``-(0.75 ** 2)``: written as a negation of the number, the printers put it in parentheses."""
    for n in ast.walk(tree):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) and isinstance(n.left, ast.Constant) and \
                type(n.left.value) in (int, float) and n.left.value < 0:
            n.left = ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-n.left.value))


def _negative_bases_gast(every):
    """``_negative_bases`` on gast nodes ``every``, for the printer only: [(node, its own base)] to put back."""
    out, seen = [], set()
    for n in every:
        if type(n) is gast.BinOp and type(n.op) is gast.Pow and type(n.left) is gast.Constant and \
                type(n.left.value) in (int, float) and n.left.value < 0 and id(n) not in seen:
            seen.add(id(n))
            out.append((n, n.left))
            n.left = gast.UnaryOp(op=gast.USub(), operand=gast.Constant(value=-n.left.value, kind=None))
    return out


def compile_module(src, main, names):
    """(code object, file name) of the factory that binds ``names`` around the defs of ``src``."""
    factory = "def __sd_make__(%s):\n%s\n    return %s\n" % (", ".join(names), "".join(_indented(src)).rstrip("\n"),
                                                             main)
    filename = "<sourcediff %s %s>" % (main, hashlib.sha256(src.encode()).hexdigest()[:10])
    return _up_one_line(compile(factory, filename, "exec")), filename


def _indented(src):
    """The lines of ``src`` as the factory holds them (linecache gets them so too: traceback carets
    count columns in the compiled text)."""
    return ["    " + l if l.strip() else "\n" for l in src.splitlines(True)]


def _up_one_line(code):
    """``code`` with every line number one less (generated line k is file line k, not k + 1
    under the factory's ``def``): line tables count from ``co_firstlineno``."""
    consts = tuple(_up_one_line(c) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_firstlineno=max(code.co_firstlineno - 1, 1), co_consts=consts)


def instantiate(code, filename, src, module_globals, bindings):
    """The main function of a compiled factory, its source registered for tracebacks."""
    make = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    linecache.cache[filename] = (len(src), None, _indented(src), filename)
    return types.FunctionType(make, module_globals)(*[bindings[n] for n in sorted(bindings)])
