"""What the user declares: rules (``sd.defvjp``/``sd.defjvp``), checkpoints (``sd.checkpoint``), and which
functions are differentiated from their source. Below every pass (``effects`` and ``lower`` ask it too)."""
import inspect

from .rules import registry as R

USER_VJP, USER_JVP = {}, {}


class CHECKPOINT:
    """What ``sd.checkpoint(g)`` returns: calls ``g``; differentiated code recomputes it."""

    def __init__(self, fn):
        self.fn = fn
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", "checkpointed")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args, **kw):
        return self.fn(*args, **kw)

    def __repr__(self):
        return "checkpoint(%r)" % (self.fn,)


def is_user_function(obj):
    """A Python function whose source is differentiated (no rule of any kind, not ours)."""
    return inspect.isfunction(obj) and R.lookup(R.VJP, obj) is None and R.lookup(R.JVP, obj) is None and \
        not R.is_nondiff(obj) and not R.has_complex_rule(obj) and obj not in USER_VJP and obj not in USER_JVP and \
        R.refused(obj, ("*",)) is None and \
        not (getattr(obj, "__module__", None) or "").startswith("sourcediff.")
