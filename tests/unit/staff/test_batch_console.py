"""autograder/staff/batch_console.py: text for the staff's terminal (no escape sequences, the width
of wide characters) and the final table, whose columns line up for names of any width."""

from types import SimpleNamespace

from autograder import __version__
from autograder.staff.batch_console import grade_table, printable, text_width


def record(sid, score=1.0, status="graded", checks=None, message="", **extra):
    return dict(id=sid, score=score, max_score=10, checks=checks or {"a": 1.0}, status=status, message=message,
                submission_sha256="s" * 4, fixture_set_hash="f" * 4, grader_version=__version__,
                passed=list(extra.pop("passed", [])), **extra)


def test_printable_text_for_the_terminal():
    assert printable("a\x1b[2Jb\nc\td") == "a\\x1b[2Jb c d"
    assert printable("bidi\u202eok") == "bidi\\u202eok" and printable(3) == "3"


def test_text_width_counts_wide_and_combining_characters():
    assert text_width("abc") == 3 and text_width("李明") == 4 and text_width("e\u0301") == 1


def test_the_final_table_lines_up_names_of_any_width():
    config = SimpleNamespace(checks={"a": None, "b": None})
    table = grade_table([record("s1", passed=["a"], student_name="李明"),
                         record("s2", status="invalid", message="no\nconv2d.py", student_name="Bo")], config)
    header, rule, first, second = table.split("\n")
    assert header.startswith("submission  student") and first.endswith("b") and "INVALID: no conv2d.py" in second
    assert text_width(first.split("  ")[1]) == text_width(second.split("  ")[1])
