"""autograder/staff/integrity.py's pure parts, on sources written here: code as Python decodes it,
code normalised so that comments and layout never matter, identical groups, untouched templates
(the conv lab's STUDENT_PARTS), files that cannot be compared, and the flags each id gets."""

import pytest

from autograder.staff.integrity import (SIMILARITY_MAX_BYTES, IntegrityReport, NotComparable, SimilarPair,
                                        code_view, identical_groups, is_not_attempted, normalised_code,
                                        python_text, readable_views)

PARTS = ("col2im", "Conv2d.backward")        # the conv lab's STUDENT_PARTS
TEMPLATE = '''\
import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """Fold columns back."""
    raise NotImplementedError("col2im is not implemented yet")


class Conv2d:
    def forward(self, x):
        return x

    def backward(self, dY):
        """Gradients."""
        raise NotImplementedError("backward is not implemented yet")
'''


def test_comments_layout_and_blank_lines_do_not_change_the_code():
    a = "def f(x):\n    return x + 1  # add one\n"
    b = "# header\n\ndef f( x ):\n\n    return x+1\n"
    assert normalised_code(a) == normalised_code(b)


def test_nesting_and_names_do_change_it():
    flat = "if a:\n    b()\nc()\n"
    nested = "if a:\n    b()\n    c()\n"
    assert normalised_code(flat) != normalised_code(nested)
    assert normalised_code("x = 1\n") != normalised_code("y = 1\n")


def test_text_that_is_not_python_is_compared_by_its_words():
    assert normalised_code("def f(:\n  '''unclosed") == "def f(: '''unclosed"


def test_identical_groups_largest_first():
    sources = {"a": "x = 1  # a\n", "b": "x=1\n", "c": "y = 2\n", "d": "y = 2\n\n", "e": "x = 1\n", "f": "z = 3\n"}
    assert identical_groups(sources) == [["a", "b", "e"], ["c", "d"]]


def test_code_is_compared_as_python_decodes_it():
    plain = "x = 1\n"
    assert python_text(plain) == plain
    hidden = "# coding: utf-7\nx = 1 +AF8-\n"          # +AF8- decodes to '_'
    assert python_text(hidden) == "# coding: utf-7\nx = 1 _\n"


@pytest.mark.parametrize("source, why", [
    ("def col2im():\n    return " + "+".join(["0"] * 1500) + "\n", "nested too deeply"),   # compiles; ast.dump recurses
    ("# coding: klingon\nx = 1\n", "coding declaration names no codec"),
    ("# coding: utf-7\nx = '+2D0-'\n", "not valid text in its declared encoding"),       # a lone surrogate
])
def test_a_file_that_cannot_be_compared_says_why(source, why):
    with pytest.raises(NotComparable, match=why):
        code_view(source, PARTS)
    views, left_out = readable_views({"ok": "x = 1\n", "bad": source}, PARTS)
    assert list(views) == ["ok"] and list(left_out) == ["bad"]
    assert left_out["bad"].startswith("could not be compared: ") and why in left_out["bad"]


def test_a_code_view_holds_what_each_comparison_reads():
    view = code_view(TEMPLATE, PARTS)
    assert view.text == TEMPLATE and view.size == len(TEMPLATE.encode()) and view.code == normalised_code(TEMPLATE)
    assert set(view.parts) == {"col2im", "Conv2d.backward"}


def test_the_untouched_template_is_not_attempted_whatever_its_comments():
    reformatted = TEMPLATE.replace('"""Fold columns back."""', '"""My docstring."""').replace(
        "import numpy as np", "import numpy as np  # mine\nimport math")
    assert is_not_attempted(TEMPLATE, TEMPLATE, PARTS) and is_not_attempted(reformatted, TEMPLATE, PARTS)


def test_one_written_part_is_an_attempt():
    written = TEMPLATE.replace('raise NotImplementedError("col2im is not implemented yet")', "return X_col.sum()")
    assert not is_not_attempted(written, TEMPLATE, PARTS)
    assert not is_not_attempted("def col2im(:\n", TEMPLATE, PARTS)          # does not parse: not judged untouched


def test_flags_name_the_other_ids_and_the_highest_share():
    report = IntegrityReport(threshold=0.8, not_attempted=["t"], identical=[["a", "b"]], too_large=["big"],
                             not_compared={"odd": "could not be compared: nested too deeply"},
                             similar=[SimilarPair("a", "c", 0.9, 0.85), SimilarPair("c", "d", 0.5, 0.95)])
    flags = report.flags_by_id(label=lambda sid: sid.upper())
    assert flags["t"] == ["not attempted"]
    assert flags["a"] == ["identical to B", "similar to C (90%)"] and flags["b"] == ["identical to A"]
    assert flags["c"] == ["similar to 2 others (up to 95%)"] and flags["d"] == ["similar to C (95%)"]
    assert flags["big"] == [f"too large to compare (over {SIMILARITY_MAX_BYTES // 1024} KiB)"]
    assert flags["odd"] == ["could not be compared: nested too deeply"]


def test_a_pairs_score_is_its_larger_share():
    assert SimilarPair("a", "b", 0.3, 0.7).score == 0.7
