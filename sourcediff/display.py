"""Showing generated code to a person: highlighted on a terminal, as HTML in a notebook, side by side.

``Source`` is the ``str`` behind every ``.source``: a plain string everywhere, and highlighted HTML
where Jupyter/IPython asks for ``_repr_html_``. Highlighting uses Pygments where it is installed
(the ``color`` extra) and plain text otherwise. ``side_by_side`` pairs each line of the user's
function with the derivative statements that the ``# grad of: <line>`` comments tie to it.
"""
import html
import os
import sys
from typing import Optional, TextIO

_COMMENT = "# grad of: "


class Source(str):
    """Generated source text: a ``str`` that notebooks render as highlighted HTML."""

    def _repr_html_(self):
        return to_html(self)


def _pygments():
    try:
        import pygments
        from pygments import formatters, lexers
    except ImportError:
        return None
    return pygments, lexers.PythonLexer(), formatters


def to_html(text):
    """``text`` as highlighted HTML (inline styles, so it needs no stylesheet); escaped ``<pre>`` without Pygments."""
    p = _pygments()
    if p is None:
        return '<pre class="sourcediff">%s</pre>' % html.escape(text)
    pygments, lexer, formatters = p
    body = pygments.highlight(text, lexer, formatters.HtmlFormatter(noclasses=True, nobackground=True))
    return '<div class="sourcediff">%s</div>' % body


def color_wanted(stream, no_color=False):
    """Whether to highlight for ``stream``: a terminal, ``NO_COLOR`` unset, and no ``--no-color``."""
    return not no_color and not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty() \
        and _pygments() is not None


def to_terminal(text):
    """``text`` with ANSI colours (Pygments' terminal formatter), or as it is without Pygments."""
    p = _pygments()
    if p is None:
        return text
    pygments, lexer, formatters = p
    return pygments.highlight(text, lexer, formatters.TerminalFormatter())


def side_by_side(primal, derivative):
    """Each line of ``primal`` (the user's source) beside the derivative statements for it.

    Statements are tied to a line by the ``# grad of: <line>`` comment that heads them in the main
    (first) generated function; the primal sweep before the first comment is left out, lines of
    called functions follow under ``(called)``.
    """
    blocks, current, seen_def = {}, None, False
    for line in derivative.splitlines():
        stripped = line.strip()
        if stripped.startswith("def "):
            if seen_def:
                break
            seen_def = True
        elif stripped.startswith(_COMMENT):
            current = blocks.setdefault(stripped[len(_COMMENT):].strip(), [])
        elif stripped and current is not None:
            current.append(stripped)
    width = max([len(l.rstrip()) for l in primal.splitlines()] + [20])
    rows = [(line.rstrip(), blocks.pop(line.strip(), [])) for line in primal.splitlines()]
    rows += [("  (called) " + text, stmts) for text, stmts in blocks.items()]
    out = []
    for text, stmts in rows:
        out.append("%-*s | %s" % (width, text, stmts[0] if stmts else ""))
        out += ["%-*s | %s" % (width, "", s) for s in stmts[1:]]
    return "\n".join(l.rstrip() for l in out) + "\n"


def _in_notebook():
    ip = sys.modules.get("IPython")
    shell = ip.get_ipython() if ip is not None and hasattr(ip, "get_ipython") else None
    return shell is not None and hasattr(shell, "kernel")


def show_text(text: str, file: Optional[TextIO] = None) -> None:
    """Display generated source ``text`` (``sd.show``): highlighted HTML in a notebook, coloured text on a
    terminal, plain text elsewhere."""
    text = Source(text)
    if file is None and _in_notebook():
        from IPython.display import HTML, display
        display(HTML(text._repr_html_()))
        return
    stream = file if file is not None else sys.stdout
    stream.write(to_terminal(text) if color_wanted(stream) else text)
