"""Lower: flatten a desugared function into three-address primitive steps.

Takes a desugared ``FunctionDef``; gives one whose statements follow this grammar
(``a`` is an atom: a local name, a constant, or a reference to a global such as
``math.pi``; a statement never reads the name it assigns, but for the user's own ``v = v``)::

    v = a                     v = a op a          v = op a           v = a cmp a
    v = f(a, ..., k=a)        v = a[index]        v = a.attr         v = (a, ...) | [a, ...] | {a: a}
    v[index] = a              a.append(a)         raise ...          pass
    if v: ...  else: ...      for v in v: ...     while v: ...        return a
    break                     (only as the last statement of a loop body, inside ``if v:``)
    v = f"..."                (a string, kept as written: no derivative flows through it)

``index`` is atoms, slices of atoms, ``None`` and ``...``. Each call's callee is resolved
now: the ``callee`` annotation of ``node.value`` holds the object (``np.sin``, a user function, ``abs``).
User variables keep their names; temporaries are ``t0, t1, ...`` in order.

Before::

    def f(x, a, b):
        return (x + a) * (x + b)

After::

    def f(x, a, b):
        t0 = x + a
        t1 = x + b
        t2 = t0 * t1
        return t2
"""
import gast

from . import effects
from .annotations import getanno, hasanno, setanno
from .primitives import ATTRS, NONDIFF_ATTRS  # imported, not assigned: export copies primitives' own statements
from .names import assign, const, load, nodes, store, ids
from .lower_calls import METHODS, SEQ, VARIADIC_SHAPE, Calls, keywords_in_place
from .lower_iter import Iters

# lower's names for the other modules; METHODS, VARIADIC_SHAPE and keywords_in_place live with the calls' lowering
__all__ = ["ATTRS", "ATTR_KEYS", "BIN", "METHODS", "NONDIFF_ATTRS", "SEQ", "VARIADIC_SHAPE", "Lower", "Prim",
           "classify", "defined_at", "field_read", "is_atom", "keywords_in_place", "lower", "validate", "walk"]


ATTR_KEYS = {"attr." + a: f for a, f in ATTRS.items()}  # `x.T` differentiates like np.transpose(x)
BIN = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.FloorDiv, gast.Mod, gast.Pow, gast.MatMult,
       gast.BitAnd, gast.BitOr, gast.BitXor, gast.LShift, gast.RShift)


def field_read(key):
    """The attribute a step ``v = a.attr`` reads when it is none of an array's (``ATTRS``, ``NONDIFF_ATTRS``):
    a child of a structured value (NamedTuple, dataclass, registered container); else None."""
    if type(key) is str and key.startswith("attr.") and key[5:] not in ATTRS and key[5:] not in NONDIFF_ATTRS:
        return key[5:]
    return None


def is_atom(e):
    return isinstance(e, (gast.Name, gast.Constant)) or \
        (isinstance(e, gast.Attribute) and getanno(e, "global_ref", False))


class Lower(Iters, Calls):
    def __init__(self, func, names):
        self.func, self.names = func, names
        node = func.node
        self.params = [a.id for a in node.args.args]
        self.locals = set(self.params) | ids(node, gast.Store)
        self.seqs = _sequences(node)
        self.out = None

    def emit(self, s, at):
        gast.copy_location(s, at)
        line = getanno(at, "line") or getattr(at, "lineno", None)
        if line is not None:
            setanno(s, "line", line)
        setanno(s, "primal")  # the user's own step: the optimizer may drop it, never rewrite it
        self.out.append(s)
        return s

    # -- statements ------------------------------------------------------------------------
    def block(self, stmts):
        saved, self.out = self.out, []
        for s in stmts:
            self.stmt(s)
        out, self.out = self.out, saved
        return out

    def stmt(self, s):
        t = type(s)
        if t is gast.Assign:
            tg = s.targets[0]
            if isinstance(tg, gast.Name):
                self.expr(s.value, s, target=tg.id)
            elif isinstance(tg, gast.Subscript):
                base = self.name_of(tg.value, s)
                idx = self.index(tg.slice, s)
                val = self.atom(s.value, s)
                self.emit(assign(gast.Subscript(value=load(base), slice=idx, ctx=gast.Store()), val), s)
            else:
                raise self.func.error("cannot assign to this target", tg, hint="assign to a name or a subscript")
        elif t is gast.If:
            test = self.atom(s.test, s, name=True)
            self.emit(gast.If(test=test, body=self.block(s.body) or [gast.Pass()], orelse=self.block(s.orelse)), s)
        elif t is gast.For:
            it = self.atom(s.iter, s, name=True)
            self.emit(gast.For(target=store(s.target.id), iter=it, body=self.block(s.body) or [gast.Pass()],
                               orelse=[], type_comment=None), s)
        elif t is gast.While:
            tname = self.names.temp()
            self.expr(s.test, s, target=tname)
            body = self.block(s.body)
            saved, self.out = self.out, body
            self.expr(s.test, s, target=tname)
            self.out = saved
            self.emit(gast.While(test=load(tname), body=body, orelse=[]), s)
        elif t is gast.Return:
            self.emit(gast.Return(value=self.atom(s.value, s) if s.value is not None else const(None)), s)
        elif t is gast.Expr:
            v = s.value
            if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) and v.func.attr == "append" \
                    and len(v.args) == 1 \
                    and isinstance(v.func.value, gast.Name) and v.func.value.id in self.locals:
                self.emit(gast.Expr(value=gast.Call(func=gast.Attribute(value=load(v.func.value.id), attr="append",
                                                                        ctx=gast.Load()),
                                                    args=[self.atom(v.args[0], s)], keywords=[])), s)
            elif isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) and v.func.attr == "pop" \
                    and not v.args \
                    and self.resolve(v.func) is None:
                self.expr(v, s, target=self.names.temp())  # a bare `l.pop()`: its value goes somewhere derivatives see
            elif isinstance(v, gast.Call):
                self.unknown_statement(v)
                self.expr(v, s, target=None)
            else:
                self.atom(v, s)
        elif t in (gast.Pass, gast.Break, gast.Raise):
            self.emit(s, s)
        elif t is gast.FunctionDef:  # a nested helper: a function of its own, called like a global one
            self.func.local_function(s)
        else:
            raise self.func.error("`%s` statements are not supported" % t.__name__, s)

    # -- expressions -------------------------------------------------------------------------
    def atom(self, e, at, name=False):
        """Lower ``e`` to an atom (a name when ``name``)."""
        if isinstance(e, gast.Name):
            return load(e.id)
        if isinstance(e, gast.Constant) and not name:
            return e
        g = self.global_ref(e)
        if g is not None and not name:
            return g
        rhs = None if isinstance(e, (gast.BoolOp, gast.IfExp, gast.ListComp, gast.DictComp)) \
            or isinstance(e, gast.Compare) and len(e.ops) > 1 \
            else self.rhs(e, at, None)
        t = self.names.temp()
        if rhs is None:
            self.expr(e, at, target=t)
        else:
            self.emit(assign(t, rhs), at)
        return load(t)

    def name_of(self, e, at):
        if isinstance(e, gast.Name) and e.id in self.locals:
            return e.id
        raise self.func.error("only local names can be written into", at, hint="copy the value into a local first")

    def global_ref(self, e):
        """An attribute chain rooted at a non-local name (``math.pi``, ``np.newaxis``) as an atom."""
        chain = e
        while isinstance(chain, gast.Attribute):
            chain = chain.value
        if isinstance(chain, gast.Name) and chain.id not in self.locals and isinstance(e, gast.Attribute):
            setanno(e, "global_ref")
            return e
        return None

    def resolve(self, e):
        """The object a callee expression names, or None for a local value."""
        if isinstance(e, gast.Name):
            return None if e.id in self.locals else self.func.resolve(e.id, None)
        if isinstance(e, gast.Attribute):
            base = self.resolve(e.value)
            return getattr(base, e.attr, None) if base is not None else None
        return None

    def expr(self, e, at, target):
        """Emit the steps of ``e``; the last one assigns ``target`` (a temp when the target is read)."""
        if target is not None and target in ids(e) \
                and not is_atom(e):
            t = self.names.temp()
            self.expr(e, at, t)
            return self.emit(assign(target, load(t)), at)
        rhs = self.rhs(e, at, target)
        if rhs is None:  # the value was assigned inside control flow already
            return None
        if target is None:  # a call lowered to a write (``np.copyto(y, x)``) leaves no call to emit
            return self.emit(gast.Expr(value=rhs), at) if isinstance(rhs, gast.Call) else None
        return self.emit(assign(target, rhs), at)

    def rhs(self, e, at, target):
        t = type(e)
        if is_atom(e) or self.global_ref(e) is not None and t is gast.Attribute:
            return e
        if t is gast.BinOp:
            if not isinstance(e.op, BIN):
                raise self.func.error("operator not supported", e)
            node = gast.BinOp(left=self.atom(e.left, at), op=e.op, right=self.atom(e.right, at))
            setanno(node, "augmented", getanno(e, "augmented", False))
            return node
        if t is gast.UnaryOp:
            return gast.UnaryOp(op=e.op, operand=self.atom(e.operand, at))
        if t is gast.Compare:
            if len(e.ops) == 1:
                return gast.Compare(left=self.atom(e.left, at), ops=e.ops,
                                    comparators=[self.atom(e.comparators[0], at)])
            parts, left = [], e.left
            for op, right in zip(e.ops, e.comparators):
                parts.append(gast.Compare(left=left, ops=[op], comparators=[right]))
                left = right
            return self.rhs(gast.BoolOp(op=gast.And(), values=parts), at, target)
        if t in (gast.BoolOp, gast.IfExp):
            target = target or self.names.temp()
            if t is gast.IfExp:
                test = self.atom(e.test, at, name=True)
                body = self.block_expr(e.body, at, target)
                orelse = self.block_expr(e.orelse, at, target)
                self.emit(gast.If(test=test, body=body, orelse=orelse), at)
                return None
            first, rest = e.values[0], e.values[1:]
            self.expr(first, at, target)
            if rest:
                more = gast.BoolOp(op=e.op, values=rest) if len(rest) > 1 else rest[0]
                body = self.block_expr(more, at, target)
                test = load(target)
                if isinstance(e.op, gast.Or):
                    t2 = self.names.temp()
                    self.emit(assign(t2, gast.UnaryOp(op=gast.Not(), operand=load(target))), at)
                    test = load(t2)
                self.emit(gast.If(test=test, body=body, orelse=[]), at)
            return None
        if t is gast.Call:
            return self.call(e, at)
        if t is gast.Subscript:
            if isinstance(self.resolve(e.value), effects.INDEX_TRICKS):
                return self.index_trick(self.resolve(e.value), e, at)
            return gast.Subscript(value=self.atom(e.value, at, name=True), slice=self.index(e.slice, at),
                                  ctx=gast.Load())
        if t is gast.Attribute:
            return gast.Attribute(value=self.atom(e.value, at, name=True), attr=e.attr, ctx=gast.Load())
        if t in (gast.Tuple, gast.List):
            return t(elts=[self.atom(x, at) for x in e.elts], ctx=gast.Load())
        if t is gast.Dict:
            return gast.Dict(keys=[self.atom(k, at) for k in e.keys], values=[self.atom(v, at) for v in e.values])
        if t is gast.ListComp:
            return self.listcomp(e, at, target)
        if t is gast.DictComp:
            return self.dictcomp(e, at, target)
        if t is gast.JoinedStr:
            return e
        raise self.func.error("`%s` expressions are not supported in differentiated code" % t.__name__, e)

    def block_expr(self, e, at, target):
        saved, self.out = self.out, []
        self.expr(e, at, target)
        out, self.out = self.out, saved
        return out

    def index(self, sl, at):
        t = type(sl)
        if t is gast.Slice:
            return gast.Slice(**{k: (self.atom(getattr(sl, k), at) if getattr(sl, k) is not None else None)
                                 for k in ("lower", "upper", "step")})
        if t is gast.Tuple:
            return gast.Tuple(elts=[self.index(x, at) for x in sl.elts], ctx=gast.Load())
        return self.atom(sl, at)


def _sequences(node):
    """The names some assignment may give a list or tuple: a display, a comprehension, or such a name."""
    pairs = [(s.targets[0].id, s.value) for s in nodes(node)
             if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)]
    out, grew = set(), True
    while grew:
        new = {t for t, v in pairs if isinstance(v, SEQ) or isinstance(v, gast.Name) and v.id in out}
        grew, out = bool(new - out), out | new
    return out


def lower(func, names):
    """Lower ``func.node`` (already desugared) in place; returns it."""
    lw = Lower(func, names)
    func.node.body = lw.block(func.node.body)
    func.params = lw.params
    return func.node


# -- reading the IR back --------------------------------------------------------------------
def defined_at(body, params):
    """For each compound statement, the names certainly assigned whenever it starts; for an ``if``, also
    at the end of each branch (keys ``(id, 0)``: its body, ``(id, 1)``: its ``else``)."""
    out = {}

    def block(stmts, defined):
        defined = set(defined)
        for s in stmts:
            if isinstance(s, (gast.If, gast.For, gast.While)):
                out[id(s)] = set(defined)
                if isinstance(s, gast.If):
                    out[id(s), 0], out[id(s), 1] = block(s.body, defined), block(s.orelse, defined)
                    defined |= out[id(s), 0] & out[id(s), 1]
                else:
                    block(s.body, defined | ({s.target.id} if isinstance(s, gast.For) else set()))
            elif isinstance(s, gast.Assign):
                defined |= ids(s.targets[0], gast.Store)
        return defined
    block(body, params)
    return out


def walk(body):
    """Every statement of a block, nested ones included, in program order."""
    for s in body:
        yield s
        if isinstance(s, (gast.If, gast.For, gast.While)):
            yield from walk(s.body)
            yield from walk(getattr(s, "orelse", []))


class Prim:
    """One primitive step: ``target = key(args, **kwargs)``; ``key`` indexes the rule tables."""
    __slots__ = ("target", "key", "args", "kwargs", "node", "extra")

    def __init__(self, target, key, args, kwargs=None, node=None, extra=None):
        self.target, self.key, self.args, self.kwargs, self.node, self.extra = target, key, args, kwargs \
                or {}, node, extra


def classify(s):
    """The ``Prim`` of an assignment or call statement (None for control flow)."""
    if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
        c = s.value
        if isinstance(c.func, gast.Attribute) and c.func.attr == "append" and not hasanno(c, "callee"):
            return Prim(None, "append", [c.func.value, c.args[0]], node=s)
        return Prim(None, getanno(c, "callee"), list(c.args), {k.arg: k.value for k in c.keywords}, s)
    if not isinstance(s, gast.Assign):
        return None
    tg, v = s.targets[0], s.value
    if isinstance(tg, gast.Subscript):
        return Prim(tg.value.id, "setitem", [tg.value, v], node=s, extra=tg.slice)
    tv = tg.id
    t = type(v)
    if is_atom(v):
        return Prim(tv, "copy", [v], node=s)
    if t is gast.BinOp:
        return Prim(tv, type(v.op).__name__, [v.left, v.right], node=s)
    if t is gast.UnaryOp:
        return Prim(tv, type(v.op).__name__, [v.operand], node=s)
    if t is gast.Compare:
        return Prim(tv, type(v.ops[0]).__name__, [v.left, v.comparators[0]], node=s)
    if t is gast.Call:
        if isinstance(v.func, gast.Attribute) and v.func.attr == "pop" and not hasanno(v, "callee"):
            return Prim(tv, "pop", [v.func.value], node=s)
        return Prim(tv, getanno(v, "callee"), list(v.args), {k.arg: k.value for k in v.keywords}, s)
    if t is gast.Subscript:
        return Prim(tv, "getitem", [v.value], node=s, extra=v.slice)
    if t is gast.Attribute:
        return Prim(tv, "attr." + v.attr, [v.value], node=s)
    if t in (gast.Tuple, gast.List):
        return Prim(tv, t.__name__.lower(), list(v.elts), node=s)
    if t is gast.Dict:
        return Prim(tv, "dict", list(v.values), node=s, extra=v.keys)
    return Prim(tv, "opaque", [], node=s)


def _self_copy(s):
    """``v = v``: the user's own no-op (``x0 = x0``), kept as written; it reads no value it overwrites."""
    return type(s.value) is gast.Name and type(s.targets[0]) is gast.Name and s.value.id == s.targets[0].id


def validate(node):
    """Check that a lowered function follows the grammar above; raises AssertionError."""
    def ok_index(i):
        if isinstance(i, gast.Slice):
            return all(x is None or is_atom(x) for x in (i.lower, i.upper, i.step))
        if isinstance(i, gast.Tuple):
            return all(ok_index(x) for x in i.elts)
        return is_atom(i)

    def check(stmts, in_loop):
        for k, s in enumerate(stmts):
            t = type(s)
            if t is gast.Assign and type(s.value) is gast.JoinedStr:
                continue  # ``v = f"..."``: a string, kept as written (no derivative flows through it)
            if t is gast.Assign:
                p = classify(s)
                assert p.key != "opaque", "not a primitive step: %s" % gast.dump(s)
                assert all(is_atom(a) for a in p.args), "operands must be atoms: %s" % gast.dump(s)
                if p.extra is not None and p.key in ("getitem", "setitem"):
                    assert ok_index(p.extra)
                if p.key != "setitem" and not _self_copy(s):
                    reads = set().union(*[ids(a) for a in p.args])
                    assert p.target not in reads, "a step reads the name it assigns: %s" % p.target
            elif t is gast.If:
                assert isinstance(s.test, gast.Name)
                check(s.body, in_loop)
                check(s.orelse, in_loop)
            elif t in (gast.For, gast.While):
                assert isinstance(s.iter if t is gast.For else s.test, gast.Name)
                check(s.body, True)
            elif t is gast.Return:
                assert is_atom(s.value)
            elif t is gast.Break:
                assert in_loop
            elif t is gast.Expr:
                assert isinstance(s.value, gast.Call) and all(is_atom(a) for a in s.value.args)
            else:
                assert t in (gast.Pass, gast.Raise), "unexpected statement %s" % t.__name__
    check(node.body, False)
    return True
