"""Deterministic, collision-free names for temporaries, flags and derivatives."""
import gast

from .annotations import SLOT


class Names:
    """Hands out ``t0, t1, ...`` and readable fresh names that avoid every name in use.

    ``temps`` lists the temporaries ``temp`` handed out (and ``rewind`` did not take back): the
    compiler's temporaries are known by how they were made, never by what their names look like
    (a user's variable may be called ``t5``)."""

    def __init__(self, used=()):
        self.used = set(used)
        self.n = 0
        self.temps = []

    def copy(self):
        """Names that go on from these: the same names in use, temporaries and count."""
        new = Names(self.used)
        new.n, new.temps = self.n, list(self.temps)
        return new

    def temp(self):
        while "t%d" % self.n in self.used:
            self.n += 1
        name = "t%d" % self.n
        self.used.add(name)
        self.temps.append(name)
        self.n += 1
        return name

    def mark(self):
        """A point to ``rewind`` to: a trial generation pass gives its temporaries back."""
        return self.n, len(self.temps)

    def rewind(self, mark):
        self.n, k = mark
        self.used.difference_update(self.temps[k:])
        del self.temps[k:]

    def fresh(self, base):
        name, k = base, 1
        while name in self.used:
            name, k = "%s_%d" % (base, k), k + 1
        self.used.add(name)
        return name


def clone(node):
    """A deep copy of an AST (much cheaper than ``copy.deepcopy``); non-AST attributes are shared, but
    not the dict of annotations (``annotations.py``): the copy gets its own."""
    if isinstance(node, list):
        return [clone(x) for x in node]
    if not isinstance(node, gast.AST):
        return node
    new = node.__class__.__new__(node.__class__)
    d = node.__dict__
    new.__dict__.update({k: clone(v) if isinstance(v, (list, gast.AST)) else v for k, v in d.items()})
    if SLOT in d:
        new.__dict__[SLOT] = dict(d[SLOT])
    return new


# fields that hold a string, number or flag, never a node: the walks below skip them
_LEAF_FIELDS = frozenset(("id", "attr", "arg", "kind", "type_comment", "module", "level", "is_async", "conversion",
                          "tag", "simple"))
_KIDS = {}  # node class -> the fields a walk looks into
_NAME_KIDS = {}  # the same without contexts and operators, which hold no names
_NAME_SKIP = _LEAF_FIELDS | {"ctx", "op"}


def _kids(cls, table, skip):
    fields = table[cls] = tuple(f for f in cls._fields if f not in skip)
    return fields


def nodes(node):
    """Every node under ``node`` (itself included), depth first, as a list: ``gast.walk``
    without its per-field generator overhead (this is the compiler's hottest loop)."""
    return _walk(node, _KIDS, _LEAF_FIELDS)


def inner_nodes(node):
    """``nodes`` less the contexts and operators (``Load``, ``Add``: leaves that no pass counts)."""
    return _walk(node, _NAME_KIDS, _NAME_SKIP)


def _walk(node, kids, skip):
    out, todo, AST = [], [node], gast.AST
    add, pop, push, extend = out.append, todo.pop, todo.append, todo.extend
    while todo:
        n = pop()
        add(n)
        d = n.__dict__
        fields = kids.get(type(n))
        if fields is None:
            fields = _kids(type(n), kids, skip)
        for f in fields:
            v = d.get(f)
            if v is None:
                continue
            if type(v) is list:
                if v:
                    extend([x for x in reversed(v) if isinstance(x, AST)])
            elif isinstance(v, AST):
                push(v)
    return out


def bfs(node):
    """Every node under ``node`` in ``gast.walk``'s (breadth-first) order, as a list, at a fraction of its cost."""
    out, AST, kids = [node], gast.AST, _KIDS
    add, i = out.append, 0
    while i < len(out):
        n = out[i]
        i += 1
        d = n.__dict__
        fields = kids.get(type(n))
        if fields is None:
            fields = _kids(type(n), kids, _LEAF_FIELDS)
        for f in fields:
            v = d.get(f)
            if v is None:
                continue
            if type(v) is list:
                for x in v:
                    if isinstance(x, AST):
                        add(x)
            elif isinstance(v, AST):
                add(v)
    return out


def name_nodes(node):
    """The ``gast.Name`` nodes under ``node``, in no particular order (``nodes`` less the other nodes, faster)."""
    out, todo, AST, kids, Name = [], [node], gast.AST, _NAME_KIDS, gast.Name
    add, pop, push, extend = out.append, todo.pop, todo.append, todo.extend
    while todo:
        n = pop()
        if type(n) is Name:
            add(n)
            if n.annotation is None:
                continue
        d = n.__dict__
        fields = kids.get(type(n))
        if fields is None:
            fields = _kids(type(n), kids, _NAME_SKIP)
        for f in fields:
            v = d.get(f)
            if v is None:
                continue
            if type(v) is list:
                if v:
                    extend([x for x in v if isinstance(x, AST)])
            elif isinstance(v, AST):
                push(v)
    return out


def ids(node, ctx=None):
    """The set of names read or written (``ctx`` = ``gast.Load``/``gast.Store``) under ``node``."""
    return {n.id for n in name_nodes(node) if ctx is None or isinstance(n.ctx, ctx)}


def names_in(node):
    return ids(node) | {a.id for n in nodes(node) if isinstance(n, gast.arguments) for a in n.args
                        if isinstance(a, gast.Name)}


def load(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def const(v):
    return gast.Constant(value=v, kind=None)


def assign(target, value):
    return gast.Assign(targets=[store(target) if isinstance(target, str) else target], value=value, type_comment=None)


def call(fn, *args, **kw):
    f = load(fn) if isinstance(fn, str) else fn
    return gast.Call(func=f, args=list(args), keywords=[gast.keyword(arg=k, value=v) for k, v in kw.items()])
