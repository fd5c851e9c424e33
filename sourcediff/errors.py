"""One exception type and one formatter for everything sourcediff refuses.

Every refusal reads ``file:line:col: what is wrong``, then the offending source
line with a caret under the column, then ``hint: what to do instead``.
"""


class SourcediffError(Exception):
    """Raised for anything sourcediff cannot differentiate correctly."""

    def __init__(self, message, filename=None, lineno=None, col=0, line=None, hint=None):
        self.filename, self.lineno, self.col, self.line, self.hint = filename, lineno, col, line, hint
        self.message = message
        super().__init__(format_error(message, filename, lineno, col, line, hint))


def format_error(message, filename=None, lineno=None, col=0, line=None, hint=None):
    """Render ``file:line:col: message``, the source line with a caret, and the hint."""
    where = "%s:%s:%s: " % (filename, lineno, (col or 0) + 1) if filename and lineno is not None else ""
    out = [where + message]
    if line is not None:
        stripped = line.rstrip()
        indent = len(stripped) - len(stripped.lstrip())
        out.append("    " + stripped.lstrip())
        out.append("    " + " " * max((col or 0) - indent, 0) + "^")
    if hint:
        out.append("hint: " + hint)
    return "\n".join(out)
