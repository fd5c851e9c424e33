"""The progress bar of ``make soak`` / ``make bench``: drawn on a terminal, silent elsewhere."""
import io

from tests.progress import Progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_silent_off_a_terminal():
    out = io.StringIO()
    bar = Progress(10, stream=out)
    for k in range(11):
        bar.update(k)
    bar.close()
    assert out.getvalue() == ""


def test_draws_on_a_terminal_and_ends_the_line():
    out = _Tty()
    bar = Progress(4, "soak ", stream=out, width=8)
    bar.update(0)
    bar.update(4, "wrong 0")
    bar.close()
    text = out.getvalue()
    assert "\rsoak [........] 0/4" in text and "\rsoak [########] 4/4 wrong 0" in text and text.endswith("\n")
