"""Conversions between Python's ``ast`` trees and ``gast`` trees, as ``gast.ast_to_gast`` and ``gast.gast_to_ast``
make them, at a fraction of their cost (one call per node, no visitor dispatch, no keyword dicts): the front
end converts every parsed function and rule template, and the printer every generated module.

The trees are the same, field for field and location for location (``tests/test_convert.py`` compares them);
on Python versions whose ``ast`` this module was not written against (before 3.10, 3.12 on) gast's own
converters run.
"""
import ast
import sys

import gast

_FAST = (3, 10) <= sys.version_info[:2] < (3, 12)
_TO_GAST, _TO_AST = {}, {}  # node class -> (class of the other tree, fields, location attributes), or None


def to_gast(node):
    """``gast.ast_to_gast(node)``."""
    return _gast(node) if _FAST else gast.ast_to_gast(node)


def to_ast(node):
    """``gast.gast_to_ast(node)``."""
    return _ast(node) if _FAST else gast.gast_to_ast(node)


def _info(t, target, table):
    """(class of the other tree, the fields and location attributes to copy, their class-level defaults)."""
    cls = getattr(target, t.__name__, None)
    names = t._fields + t._attributes
    table[t] = None if cls is None else (cls, names, {f: getattr(t, f) for f in names if hasattr(t, f)})
    return table[t]


def _value(v, conv):
    if isinstance(v, ast.AST):
        return conv(v)
    if isinstance(v, list):
        return [_value(x, conv) for x in v]
    return v


_LOCATION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def _located(new, node):
    """``ast.copy_location(new, node)`` for nodes that both have the four location attributes."""
    src, d = node.__dict__, new.__dict__
    for a in ("lineno", "col_offset"):
        v = src.get(a)
        if v is not None:
            d[a] = v
    for a in ("end_lineno", "end_col_offset"):
        if a in src or hasattr(node, a):
            d[a] = getattr(node, a)
    return new


def _generic(node, conv, target, table):
    """The node of the other tree's class of the same name, its fields converted, its location attributes kept
    (what gast's ``generic_visit`` makes: each field the node has, with a class-level default or its own)."""
    t = type(node)
    info = table.get(t) or _info(t, target, table)
    if info is None:
        return None
    cls, names, defaults = info
    src = {**defaults, **node.__dict__} if defaults else node.__dict__
    new = cls.__new__(cls)
    d = new.__dict__
    AST = ast.AST
    for f in names:
        if f in src:
            v = src[f]
            if type(v) is list:
                d[f] = [conv(x) if isinstance(x, AST) else _value(x, conv) for x in v]
            elif isinstance(v, AST):
                d[f] = conv(v)
            else:
                d[f] = v
    return new


# -- ast -> gast --------------------------------------------------------------------------------
def _g_name(node):
    return _located(gast.Name(node.id, _gast(node.ctx), None, None), node)


def _g_arg(node):
    return _located(gast.Name(node.arg, gast.Param(), _value(node.annotation, _gast),
                              _value(node.type_comment, _gast)), node)


def _g_handler(node):
    if not node.name:
        return _generic(node, _gast, gast, _TO_GAST)
    return _located(gast.ExceptHandler(_value(node.type, _gast), gast.Name(node.name, gast.Store(), None, None),
                                       _value(node.body, _gast)), node)


def _g_def(kind):
    def conv(node):
        return _located(kind(_value(node.name, _gast), _value(node.args, _gast), _value(node.body, _gast),
                             _value(node.decorator_list, _gast), _value(node.returns, _gast),
                             _value(node.type_comment, _gast), []), node)
    return conv


def _g_class(node):
    return _located(gast.ClassDef(_value(node.name, _gast), _value(node.bases, _gast), _value(node.keywords, _gast),
                                  _value(node.body, _gast), _value(node.decorator_list, _gast), []), node)


_G_SPECIAL = {ast.Name: _g_name, ast.arg: _g_arg, ast.ExceptHandler: _g_handler, ast.ClassDef: _g_class,
              ast.FunctionDef: _g_def(gast.FunctionDef), ast.AsyncFunctionDef: _g_def(gast.AsyncFunctionDef)}


def _gast(node):
    special = _G_SPECIAL.get(type(node))
    return special(node) if special is not None else _generic(node, _gast, gast, _TO_GAST)


# -- gast -> ast --------------------------------------------------------------------------------
def _make_arg(node):
    if node is None:
        return None
    return _located(ast.arg(_value(node.id, _ast), _value(node.annotation, _ast), _value(node.type_comment, _ast)),
                    node)


def _a_arguments(node):
    return ast.arguments([_make_arg(a) for a in node.posonlyargs], [_make_arg(a) for a in node.args],
                         _make_arg(node.vararg), [_make_arg(a) for a in node.kwonlyargs],
                         _value(node.kw_defaults, _ast), _make_arg(node.kwarg), _value(node.defaults, _ast))


def _a_name(node):
    return _located(ast.Name(_value(node.id, _ast), _ast(node.ctx)), node)


def _a_handler(node):
    if not node.name:
        return _generic(node, _ast, ast, _TO_AST)
    return _located(ast.ExceptHandler(_value(node.type, _ast), node.name.id, _value(node.body, _ast)), node)


def _a_assign(node):
    return _located(ast.Assign(_value(node.targets, _ast), _value(node.value, _ast)), node)


def _a_def(kind):
    def conv(node):
        return _located(kind(_value(node.name, _ast), _value(node.args, _ast), _value(node.body, _ast),
                             _value(node.decorator_list, _ast), _value(node.returns, _ast),
                             _value(node.type_comment, _ast)), node)
    return conv


def _a_class(node):
    return _located(ast.ClassDef(_value(node.name, _ast), _value(node.bases, _ast), _value(node.keywords, _ast),
                                 _value(node.body, _ast), _value(node.decorator_list, _ast)), node)


_A_SPECIAL = {gast.Name: _a_name, gast.arguments: _a_arguments, gast.ExceptHandler: _a_handler,
              gast.Assign: _a_assign, gast.ClassDef: _a_class,
              gast.FunctionDef: _a_def(ast.FunctionDef), gast.AsyncFunctionDef: _a_def(ast.AsyncFunctionDef)}


def _ast(node):
    special = _A_SPECIAL.get(type(node))
    return special(node) if special is not None else _generic(node, _ast, ast, _TO_AST)
