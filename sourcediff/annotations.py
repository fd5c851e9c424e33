"""Annotations: the facts passes attach to IR nodes, each under a key declared here.

A fact about a node that its fields do not say (where a statement comes from, that a name is a
compiler temporary, that a statement is a comment) is an annotation, never a name pattern or an
ad hoc attribute. Every key is declared once below with the type of its value; ``setanno``,
``getanno`` and ``hasanno`` refuse a key that is not, so a misspelt key fails where it is used.
``names.clone`` copies a node's annotations with it (a copy of the dict: the clone's are its own).

    s = assign("t3", value)              # lower.py
    setanno(s, "line", 12)               # the user's line 12
    getanno(s, "line")          -> 12    # reverse.py: its adjoint's ``# grad of:`` comment
    getanno(s, "primal", False) -> False # not set: the default
"""
SLOT = "_sd_anno"  # the one attribute a node keeps its annotations in (names.clone copies it)


class Key:
    """A declared annotation: its name, the type of its value and what it means."""

    def __init__(self, name, kind, doc):
        self.name, self.kind, self.doc = name, kind, doc


KEYS = {k.name: k for k in [
    Key("line", int, "statement: the line of the user's source it computes (lower.py); the adjoint sweep "
                     "heads the statements of each line with a ``# grad of: <line>`` comment"),
    Key("primal", bool, "statement: the user's own step (lower.py): the optimizer may drop it, never rewrite it"),
    Key("callee", object, "call: the object it calls (``np.sin``, a user function, ``abs``), resolved by lower.py"),
    Key("global_ref", bool, "attribute: a chain rooted at a non-local name (``math.pi``): an atom (lower.py)"),
    Key("augmented", bool, "binary operation: ``y += e`` on a name, which writes into an array in place "
                           "(desugar.py); ownership.py checks that nothing else holds it"),
    Key("lambda", bool, "nested def: made of a named lambda (closures.py); frontend.Func takes its tree, not the "
                        "file's"),
    Key("free", tuple, "nested def: the enclosing variables it reads (fence.py), extra parameters of the lifted def"),
    Key("accumulator", bool, "statement ``dx = dx + e`` of the adjoint sweep (reverse.py): inplace.py may make it "
                             "``dx += e``"),
    Key("shape_stand_in", bool, "statement ``v_shape = shape_of(v)`` (reverse.py): saved and restored with the "
                                "statement defining ``v``, never on its own"),
    Key("comment", str, "statement: a comment, printed as ``# <text>`` on its own line (codegen.comment)"),
    Key("temporaries", frozenset, "function: the names of its compiler temporaries (``names.Names.temp``, "
                                  "renamed by splice.py), which the optimizer may write into their one read"),
]}


def _key(key):
    if key not in KEYS:
        raise KeyError("undeclared annotation %r (declared: %s)" % (key, ", ".join(sorted(KEYS))))
    return key


def setanno(node, key, value=True):
    """Annotate ``node`` with ``key`` = ``value`` (of the key's declared type); returns ``node``."""
    kind = KEYS[_key(key)].kind
    if not isinstance(value, kind):
        raise TypeError("annotation %r holds a %s, not %r" % (key, kind.__name__, value))
    d = node.__dict__.get(SLOT)
    if d is None:
        d = node.__dict__[SLOT] = {}
    d[key] = value
    return node


def getanno(node, key, default=None):
    """The value of ``node``'s annotation ``key``, or ``default``."""
    _key(key)
    d = node.__dict__.get(SLOT)
    return default if d is None else d.get(key, default)


def hasanno(node, key):
    _key(key)
    d = node.__dict__.get(SLOT)
    return d is not None and key in d


def copyanno(src, dst, key):
    """Give ``dst`` the annotation ``key`` of ``src``, if it has one; returns ``dst``."""
    if hasanno(src, key):
        setanno(dst, key, getanno(src, key))
    return dst


def is_comment(s):
    """Is statement ``s`` a comment (``codegen.comment``)?"""
    d = s.__dict__.get(SLOT)
    return d is not None and "comment" in d

