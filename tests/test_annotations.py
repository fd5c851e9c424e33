"""annotations.py: the facts on IR nodes are declared keys of declared types, copied by names.clone;
comments are statements annotated as comments (no fake names, no table that only grows)."""
import re

import gast
import pytest

from sourcediff import annotations as anno, codegen
from sourcediff.names import assign, clone, const, load


def test_an_undeclared_key_is_an_error_on_every_access():
    s = assign("t0", const(1.0))
    uses = (lambda: anno.setanno(s, "sd_line", 3), lambda: anno.getanno(s, "lines"), lambda: anno.hasanno(s, "temp"))
    for use in uses:
        with pytest.raises(KeyError, match="undeclared annotation"):
            use()


def test_a_value_of_the_wrong_type_is_an_error():
    with pytest.raises(TypeError, match="'line' holds a int"):
        anno.setanno(assign("t0", const(1.0)), "line", "12")


def test_the_keys_are_the_declared_ones():
    assert set(anno.KEYS) == {"line", "primal", "callee", "global_ref", "augmented", "free", "lambda", "accumulator",
                              "shape_stand_in", "comment", "temporaries"}
    assert all(k.doc and isinstance(k.kind, type) for k in anno.KEYS.values())


def test_clone_copies_annotations_and_the_copy_has_its_own():
    s = anno.setanno(assign("t0", const(1.0)), "line", 4)
    c = clone(s)
    anno.setanno(c, "line", 5)
    anno.setanno(c, "primal")
    assert (anno.getanno(s, "line"), anno.hasanno(s, "primal")) == (4, False)
    assert (anno.getanno(c, "line"), anno.getanno(c, "primal")) == (5, True)


def test_the_package_sets_no_stray_sd_attribute_on_nodes():
    import pathlib
    import sourcediff
    pattern = re.compile(r"\bsd_(line|primal|fn|global|aug|acc|shape_of|counter|user)\b")
    files = pathlib.Path(sourcediff.__file__).parent.rglob("*.py")
    hits = [str(p) for p in files for line in p.read_text().splitlines() if pattern.search(line)]
    assert hits == []


def test_a_comment_is_an_annotated_statement_printed_on_its_own_line():
    body = [assign("y", load("x")), codegen.comment("grad of: y = x"), gast.Return(value=load("y"))]
    fn = gast.FunctionDef(name="f", args=gast.arguments(args=[gast.Name(id="x", ctx=gast.Param(), annotation=None,
                                                                        type_comment=None)],
                                                        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                                                        kwarg=None, defaults=[]),
                          body=body, decorator_list=[], returns=None, type_comment=None, type_params=[])
    assert not any(isinstance(n, gast.Name) and "comment" in n.id for n in gast.walk(fn))  # no fake name in the IR
    assert codegen.to_source(fn) == "def f(x):\n    y = x\n    # grad of: y = x\n    return y\n"
    assert codegen.to_source(fn) == codegen.to_source(clone(fn))  # printing leaves the tree as it was
    assert not any(isinstance(v, dict) for k, v in vars(codegen).items() if not k.startswith("__"))  # no table of texts
