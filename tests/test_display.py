"""Reading generated code: ``.source`` as highlighted HTML, ``sd.show``, the CLI's colours and ``--diff``,
and a real notebook run through a kernel."""
import io
import textwrap

import pytest

import sourcediff as sd
from sourcediff import display
from sourcediff.cli import main


def poly(x, a, b):
    return (x + a) * (x + b)


def test_source_is_a_str_that_renders_as_html():
    g = sd.grad(poly, wrt=("a", "b"))
    assert isinstance(g.source, str) and isinstance(g.source, display.Source)
    assert g.source == str(g.source) and "def poly_grad" in g.source
    page = g.source._repr_html_()
    assert page.startswith('<div class="sourcediff">') and "<span" in page  # highlighted, not just escaped
    assert "poly_grad" in page and "&gt;" not in g.source
    assert isinstance(sd.source(poly), display.Source)


def test_html_escapes_without_pygments(monkeypatch):
    monkeypatch.setattr(display, "_pygments", lambda: None)
    assert display.to_html("a < b") == '<pre class="sourcediff">a &lt; b</pre>'


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_show_prints_plain_text_off_a_terminal_and_colours_on_one(monkeypatch):
    out = io.StringIO()
    sd.show(poly, wrt="a", file=out)
    assert out.getvalue() == sd.source(poly, wrt="a") and "\x1b[" not in out.getvalue()
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = _Tty()
    sd.show(sd.grad(poly), file=tty)
    assert "\x1b[" in tty.getvalue() and "poly_grad" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    tty = _Tty()
    sd.show(sd.grad(poly), file=tty)
    assert "\x1b[" not in tty.getvalue()


def test_side_by_side_ties_statements_to_their_line():
    text = display.side_by_side("def poly(x, a, b):\n    return (x + a) * (x + b)\n",
                                sd.source(poly, wrt=("a", "b")))
    lines = text.splitlines()
    assert lines[0].startswith("def poly(x, a, b):") and lines[0].rstrip().endswith("|")
    assert lines[1].startswith("    return (x + a) * (x + b) | return x + b, x + a")


def test_cli_diff_and_no_color(tmp_path, capsys):
    (tmp_path / "m_disp.py").write_text(textwrap.dedent('''
        import math

        def s(x, y):
            z = 0.0
            for i in range(3):
                z = z + math.sin(x * y)
            return z
    '''))
    target = str(tmp_path / "m_disp.py") + "::s"
    assert main([target, "--wrt", "x,y", "--diff"]) == 0
    out = capsys.readouterr().out
    row = [l for l in out.splitlines() if "z = z + math.sin(x * y)" in l][0]
    assert row.split("|")[1].strip() == "dt2 = math.cos(t2)"
    assert main([target, "--no-color"]) == 0
    assert "\x1b[" not in capsys.readouterr().out


NOTEBOOK_CELLS = [
    "import sourcediff as sd\n\ndef f(x):\n    return x * x + 3.0 * x",
    "g = sd.grad(f)\nprint(g(2.0))",
    "g.source",
    "sd.show(f)",
]


def test_notebook_cells_differentiate_and_render_html(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [c.outputs for c in nb.cells]
    assert outputs[1][0]["text"].strip() == "7.0"  # d/dx (x^2 + 3x) at 2
    html = outputs[2][0]["data"]["text/html"]
    assert 'class="sourcediff"' in html and "f_grad" in html and "<span" in html
    shown = outputs[3][0]["data"]["text/html"]
    assert "f_grad" in shown
