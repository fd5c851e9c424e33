"""The docs are true: every ``python`` block of docs/tutorial.md and docs/cookbook.md runs (its asserts
check the numbers), and docs/api.md describes every public name."""
import importlib.util
import os
import re

import pytest

import sourcediff

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def _blocks(name):
    with open(os.path.join(DOCS, name)) as fh:
        return re.findall(r"```python\n(.*?)```", fh.read(), re.S)


def _run_as_module(code, path):
    """Run ``code`` from a real file, as a user's script is (sourcediff reads functions' source)."""
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(path.stem, str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


@pytest.mark.parametrize("i", range(len(_blocks("cookbook.md"))))
def test_cookbook_recipe_runs(i, tmp_path):
    _run_as_module(_blocks("cookbook.md")[i], tmp_path / ("recipe_%d.py" % i))


def test_tutorial_runs_top_to_bottom(tmp_path):
    _run_as_module("\n\n".join(_blocks("tutorial.md")), tmp_path / "tutorial_page.py")


def test_cookbook_has_the_five_recipes():
    assert len(_blocks("cookbook.md")) == 5


def test_api_page_names_every_public_name():
    with open(os.path.join(DOCS, "api.md")) as fh:
        page = fh.read()
    missing = [n for n in sourcediff.__all__ if "`sd.%s" % n not in page]
    assert not missing, missing


def test_public_callables_are_typed():
    import typing
    assert os.path.exists(os.path.join(os.path.dirname(sourcediff.__file__), "py.typed"))
    for name in sourcediff.__all__:
        obj = getattr(sourcediff, name)
        if callable(obj) and not isinstance(obj, type):
            hints = typing.get_type_hints(obj)
            assert "return" in hints, name
