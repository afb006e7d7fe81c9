"""autograder/staff/lms_export.py on small CSV files written here: reading grades.csv and a roster
(Canvas's or a plain one), matching by SID then email, everyone left over listed, the assignment
column matched as Canvas matches it, and Canvas's import sheet with no live formula."""

import csv
import io

import pytest

from autograder.staff.lms_export import (GradebookError, export, join, match_assignment, read_grades,
                                         read_roster, roster_csv, unmatched_report)

GRADES = """\
id,student_name,student_email,student_sid,submitted_at,score,max_score,status,message
s1,Alice Smith,ALICE@uni.edu,1001,2024-01-01T10:00:00Z,80,100,graded,
s2,Bob; Carol,bob@uni.edu; carol@uni.edu,1002; 1003,2024-01-01T11:00:00Z,60,100,graded,
s3,Dan,dan@uni.edu,,2024-01-01T12:00:00Z,0,100,error,grader error
s4,Eve,eve@uni.edu,9999,2024-01-01T12:00:00Z,50,100,graded,
s5,Alice Smith,alice@uni.edu,1001,2024-01-02T09:00:00Z,90,100,graded,
"""

CANVAS = """\
Student,ID,SIS User ID,SIS Login ID,Section,Lab 7 (555),Lab 8 (556),Current Score
    Points Possible,,,,,100,100,
"Smith, Alice",11,1001,alice@uni.edu,A,,,
"Jones, Bob",12,1002,,A,,,
"Lee, Carol",13,,carol@uni.edu,B,,,
"Kim, Dan",14,1004,dan@uni.edu,B,,,
"Nobody, Zed",15,2000,zed@uni.edu,B,,,
"=cmd|' /C calc'!A0",16,1003,,B,,,
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "grades.csv").write_text(GRADES)
    (tmp_path / "roster.csv").write_text(CANVAS)
    return tmp_path / "grades.csv", tmp_path / "roster.csv"


def test_grades_are_read_one_per_group_member(files):
    grades, notes = read_grades(files[0])
    assert notes == []
    assert [(g.submission, g.name, g.sid, g.email) for g in grades][1:3] == [
        ("s2", "Bob", "1002", "bob@uni.edu"), ("s2", "Carol", "1003", "carol@uni.edu")]
    assert grades[0].score == 80.0 and grades[0].max_score == 100.0 and grades[0].status == "graded"


def test_a_grades_file_without_student_columns_matches_its_ids_as_sids(tmp_path):
    (tmp_path / "g.csv").write_text("id,score,max_score,status\n1001,5,10,graded\n")
    grades, notes = read_grades(tmp_path / "g.csv")
    assert grades[0].sid == "1001" and "no student columns" in notes[0]


@pytest.mark.parametrize("text, words", [("id,score\n1,2\n", "no column max_score, status"),
                                         ("id,score,max_score,status\na,lots,10,graded\n", "line 2: score 'lots'"),
                                         ("", "is empty")])
def test_a_grades_file_that_is_not_one(tmp_path, text, words):
    (tmp_path / "g.csv").write_text(text)
    with pytest.raises(GradebookError, match=words):
        read_grades(tmp_path / "g.csv")


def test_a_file_that_is_not_utf8_says_how_to_save_it(tmp_path):
    (tmp_path / "g.csv").write_bytes("id,score\né,1\n".encode("latin-1"))
    with pytest.raises(GradebookError, match='save it as "CSV UTF-8"'):
        read_grades(tmp_path / "g.csv")


def test_the_roster_skips_canvass_extra_rows_and_keeps_its_own_columns(files):
    roster = read_roster(files[1])
    assert [s.sid for s in roster] == ["1001", "1002", "", "1004", "2000", "1003"]
    assert roster[0].name == "Smith, Alice" and roster[0].row["ID"] == "11"


def test_a_semicolon_roster_and_a_plain_one(tmp_path):
    (tmp_path / "r.csv").write_text("Name;Email\nAlice;alice@uni.edu\n")
    (student,) = read_roster(tmp_path / "r.csv")
    assert (student.name, student.sid, student.email) == ("Alice", "", "alice@uni.edu")
    (tmp_path / "r2.csv").write_text("Name,Phone\nAlice,1\n")
    with pytest.raises(GradebookError, match="no SID or email column"):
        read_roster(tmp_path / "r2.csv")


def test_students_are_matched_by_sid_then_email_and_everyone_left_over_is_listed(files):
    grades, _ = read_grades(files[0])
    joined = join(grades, read_roster(files[1]))
    matched = {s.name: (g.submission, g.score) for s, g in joined.matched}
    assert matched == {"Smith, Alice": ("s5", 90.0), "Jones, Bob": ("s2", 60.0), "Lee, Carol": ("s2", 60.0),
                       "=cmd|' /C calc'!A0": ("s2", 60.0)}
    assert [s.name for s in joined.no_grade] == ["Nobody, Zed"]
    assert [(g.submission, why.split(":")[0]) for g, why in joined.not_exported] == [("s3", "grader error")]
    assert {g.submission for g in joined.not_on_roster} == {"s4"}
    assert any("2 submissions (s1, s5); exported the latest, s5" in n for n in joined.notes)
    assert any("matches 2 roster students" in n for n in joined.notes)      # s2's Carol: by SID and by email


def test_canvas_gets_its_identity_columns_points_possible_and_no_formula(files):
    text, joined = export("canvas", *files, "Lab 7")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 7 (555)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "100"]
    assert rows[2] == ["Smith, Alice", "11", "1001", "alice@uni.edu", "A", "90"]
    assert ["'=cmd|' /C calc'!A0", "16", "1003", "", "B", "60"] in rows
    assert "matched the roster's column 'Lab 7 (555)' (by its title, without the id)" in joined.column_note


def test_the_plain_sheet(files):
    grades, _ = read_grades(files[0])
    joined = join(grades, read_roster(files[1]))
    rows = list(csv.reader(io.StringIO(roster_csv(joined, "Lab 7"))))
    assert rows[0] == ["name", "sid", "email", "Lab 7", "max_score", "submission", "submitted_at", "status"]
    assert rows[1][:6] == ["Smith, Alice", "1001", "alice@uni.edu", "90", "100", "s5"]


@pytest.mark.parametrize("given, column, how", [("Lab 7", "Lab 7 (555)", "its title, without the id"),
                                               ("556", "Lab 8 (556)", "its assignment id"),
                                               ("lab  8 (556)", "Lab 8 (556)", "its assignment id"),
                                               ("Lab 7 (555)", "Lab 7 (555)", "its assignment id")])
def test_the_assignment_is_matched_as_canvas_matches_it(given, column, how):
    header = ["Student", "ID", "SIS User ID", "Lab 7 (555)", "Lab 8 (556)", "Current Score"]
    found, note = match_assignment(header, given)
    assert found == column and f"(by {how})" in note


def test_no_match_writes_a_new_column_and_says_so_and_two_matches_are_refused():
    found, note = match_assignment(["Student", "SIS User ID", "Lab 7 (555)"], "Lab 9")
    assert found == "Lab 9" and "Canvas imports as a NEW assignment" in note and "'Lab 7 (555)'" in note
    with pytest.raises(GradebookError, match="matches 2 roster columns"):
        match_assignment(["Lab 7 (1)", "Lab 7 (2)"], "Lab 7")
    assert match_assignment(["Current Score"], "Current Score")[1].endswith("as a NEW assignment")


def test_the_report_of_leftovers_is_safe_to_print(files):
    _, joined = export("csv", *files, "Lab 7")
    report = unmatched_report(joined)
    assert report.startswith("exported 4 grade(s)") and "1 roster student(s) with no grade" in report
    assert "Nobody, Zed (SID 2000, zed@uni.edu)" in report and "Eve (SID 9999, eve@uni.edu), submission s4" in report
    assert all(c.isprintable() for c in report.replace("\n", ""))


def test_unknown_format_and_empty_assignment(files):
    with pytest.raises(GradebookError, match="unknown LMS format 'moodle'"):
        export("moodle", *files, "Lab 7")
    with pytest.raises(GradebookError, match="--assignment must name"):
        export("canvas", *files, "  ")
