"""Calling complex-mode derivatives (``rules/complex_rules.py``): finding complex values among the arguments,
sending a call that has them to the complex-mode derivative, and refusing a complex value cast to a real one."""
import functools
import warnings

import numpy as np

from . import runtime
from .errors import SourcediffError

_COMPLEX_WARNING = getattr(np, "exceptions", np).ComplexWarning  # np.ComplexWarning before NumPy 1.25


def has_complex(v):
    """Does ``v`` (a value, or a list, tuple or dict of values) hold a complex number?"""
    if isinstance(v, dict):
        return any(has_complex(e) for e in v.values())
    if isinstance(v, (list, tuple)):
        return any(has_complex(e) for e in v)
    return runtime.is_complex(v)


def no_casts(fn, f, where):
    """A complex-mode derivative ``fn`` refusing, at ``f``'s definition (``where``: SourcediffError keywords), a
    complex value cast to a real one on the way (NumPy's ComplexWarning: ``math.sin`` of a NumPy complex scalar,
    a complex value stored into a real array): the imaginary part dropped there would not be dropped from the
    derivative."""
    @functools.wraps(fn)
    def complex_mode(*args, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("error", _COMPLEX_WARNING)
            try:
                return fn(*args, **kw)
            except _COMPLEX_WARNING:
                pass
        raise SourcediffError("a complex value is cast to a real one in %s (its imaginary part dropped), which "
                              "the derivative would not follow" % getattr(f, "__qualname__", f), **where,
                              hint="take np.real(...) of the value explicitly where a real one is meant")
    complex_mode.sd_generated, complex_mode.source, complex_mode.sd_shaped = fn, fn.source, ""
    return complex_mode


def switch(fn, make):
    """``fn``, sending a call with a complex argument to the complex-mode derivative ``make()`` builds at the
    first such call (its refusals then name the user's line); ``fn`` itself where it is in complex mode."""
    if getattr(fn, "sd_complex", False):
        return fn
    built = []

    @functools.wraps(fn)
    def complex_switch(*args, **kw):
        if has_complex(args) or kw and has_complex(kw):
            if not built:
                built.append(make())
            return built[0](*args, **kw)
        return fn(*args, **kw)
    complex_switch.sd_generated = getattr(fn, "sd_generated", fn)  # what differentiating it again transforms
    return complex_switch
