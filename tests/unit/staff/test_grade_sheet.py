"""autograder/staff/grade_sheet.py: grades.csv with one row per entry, sorted, the student columns of a
Gradescope export, one-line messages, and no live formula."""

import csv
import io

from autograder import __version__
from autograder.staff.grade_sheet import GRADE_COLUMNS_AFTER, grades_csv


def record(sid, score=1.0, status="graded", checks=None, message="", **extra):
    return dict(id=sid, score=score, max_score=10, checks=checks or {"a": 1.0}, status=status, message=message,
                submission_sha256="s" * 4, fixture_set_hash="f" * 4, grader_version=__version__,
                passed=list(extra.pop("passed", [])), **extra)


def test_the_grade_sheet_has_one_row_per_entry_sorted_and_no_formula():
    text = grades_csv([record("zed", message="=HYPERLINK(\"x\")", checks={"a": 1.0, "b": 0.5}),
                       record("-alice", note="duplicate id")], ["a", "b"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "score", "max_score", "a", "b", *GRADE_COLUMNS_AFTER]
    assert [r[0] for r in rows[1:]] == ["'-alice", "zed"]
    assert rows[1][3:6] == ["1.0", "0.0", "graded"] and rows[1][6] == "duplicate id"
    assert rows[2][6] == "'=HYPERLINK(\"x\")"


def test_a_gradescope_export_adds_the_student_columns():
    text = grades_csv([record("s1", student_name="Ada", student_email="a@x", student_sid="1",
                              submitted_at="2024")], ["a"])
    header, row = list(csv.reader(io.StringIO(text)))
    assert header[:5] == ["id", "student_name", "student_email", "student_sid", "submitted_at"]
    assert row[:5] == ["s1", "Ada", "a@x", "1", "2024"]


def test_a_long_message_is_one_line_of_at_most_300_characters():
    row = list(csv.reader(io.StringIO(grades_csv([record("x", message="a\n b " * 200)], []))))[1]
    assert len(row[4]) == 300 and "\n" not in row[4]
