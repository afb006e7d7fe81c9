"""What course staff read (issue 24): outputs the staff group can open, names beside ids,
a similarity page a TA can use, a Canvas export that fills the roster's own column."""

import os
import stat

import pytest

from autograder.results import write_atomic


# --- 3. outputs readable as the staff's umask allows ------------------------------------------

@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_get_the_mode_a_plain_write_would(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        for name in ("grades.csv", "report.html", "results.json"):
            write_atomic(tmp_path / name, "x\n")
            with open(tmp_path / f"plain-{name}", "w") as f:
                f.write("x\n")
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name
            assert stat.S_IMODE((tmp_path / f"plain-{name}").stat().st_mode) == expected
    finally:
        os.umask(old)


def test_an_atomic_rewrite_keeps_the_files_own_mode(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("old\n")
    path.chmod(0o640)
    write_atomic(path, "new\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "new\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]       # no temp file left


# --- 5. Canvas export: the roster's order, the roster's own column ----------------------------

ROSTER = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Lab 6 (111),Lab 7 (12345),Current Score,Final Score
    Points Possible,,,,,10,100,(read only),(read only)
"Zhou, Bo",601,2001,bo,CS 101 A,9,,90,90
"Álvarez, Lucía",602,2002,lucia,CS 101 A,8,,80,80
陈伟,603,2003,chen,CS 101 A,7,,70,70
"Adams, Ann",604,2004,ann,CS 101 B,6,,60,60
"""
GRADES = ("id,student_name,student_email,student_sid,submitted_at,score,max_score,status\n"
          "s1,Ann Adams,ann@x,2004,,40,100,graded\n"
          "s2,陈伟,chen@x,2003,,70,100,graded\n"
          "s3,Lucía Álvarez,lucia@x,2002,,80,100,graded\n"
          "s4,Bo Zhou,bo@x,2001,,90,100,graded\n")


def canvas(tmp_path, capsys, assignment, roster=ROSTER):
    from autograder import cli
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    (tmp_path / "grades.csv").write_text(GRADES, encoding="utf-8")
    code = cli.main(["export", "canvas", "--grades", str(tmp_path / "grades.csv"), "--roster",
                     str(tmp_path / "roster.csv"), "--assignment", assignment])
    captured = capsys.readouterr()
    import csv
    import io
    return code, list(csv.reader(io.StringIO(captured.out))), captured.err


def test_canvas_rows_keep_the_rosters_order(tmp_path, capsys):
    code, rows, _ = canvas(tmp_path, capsys, "Lab 7")
    assert code == 0
    assert [r[0] for r in rows[2:]] == ["Zhou, Bo", "Álvarez, Lucía", "陈伟", "Adams, Ann"]     # not code-point order
    assert [r[-1] for r in rows[2:]] == ["90", "80", "70", "40"]


@pytest.mark.parametrize("given", ["Lab 7", "lab  7", "Lab 7 (12345)", "12345"])
def test_assignment_fills_the_rosters_existing_column_and_says_so(tmp_path, capsys, given):
    code, rows, err = canvas(tmp_path, capsys, given)
    assert code == 0 and rows[0][-1] == "Lab 7 (12345)"          # Canvas fills assignment 12345, adds none
    assert "matched the roster's column 'Lab 7 (12345)'" in err


def test_assignment_matching_no_column_says_why(tmp_path, capsys):
    code, rows, err = canvas(tmp_path, capsys, "Lab 8")
    assert code == 0 and rows[0][-1] == "Lab 8"
    assert "matched no roster column" in err and "'Lab 7 (12345)'" in err and "NEW assignment" in err
    plain = "name,sid,email\nBo,2001,bo@x\n"
    code, rows, err = canvas(tmp_path, capsys, "Lab 7", roster=plain)
    assert code == 0 and rows[0][-1] == "Lab 7" and "no assignment columns" in err
    assert "Current Score" not in err            # Canvas's totals are never taken for an assignment


def test_assignment_naming_two_columns_is_refused(tmp_path, capsys):
    from autograder import cli
    twice = ROSTER.replace("Lab 6 (111)", "Lab 7 (111)")
    code, rows, err = canvas(tmp_path, capsys, "Lab 7", roster=twice)
    assert code == cli.EXIT_INVALID and rows == []
    assert "matches 2 roster columns" in err and "'Lab 7 (12345)'" in err
    code, rows, err = canvas(tmp_path, capsys, "Lab 7 (111)", roster=twice)
    assert code == 0 and rows[0][-1] == "Lab 7 (111)"
