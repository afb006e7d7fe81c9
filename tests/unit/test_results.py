"""autograder/results.py on hand-made reports: a check's score, Gradescope's and PrairieLearn's
results.json (fields, what an invalid submission gets, what the top shows, PrairieLearn's size bound
whatever was printed), feedback.md's table and escaping, and atomic writes."""

import json
import os
import stat

import pytest

from autograder import __version__
from autograder.failures import Failure
from autograder.results import (CheckOutcome, GradeReport, check_markdown, plain_write_mode, write_atomic,
                                write_prairielearn, write_report)


def outcome(name, points=4, passed=0, total=None, failures=(), blocked=(), visibility="visible", title=None):
    failures = list(failures)
    return CheckOutcome(name, title or f"Title {name}", points, visibility, "cat", f"hint {name}", passed=passed,
                        total=len(failures) + len(blocked) + passed if total is None else total,
                        failures=failures, blocked=list(blocked))


def wrong(case="N=1", function="Conv2d.backward", problem="dX: 1 of 4 values are wrong"):
    return Failure(case=case, problem=problem, function=function)


def report(checks, status="graded", message="Graded.", printed="", extra=None):
    return GradeReport(status=status, message=message, checks=checks, max_score=sum(c.points for c in checks),
                       execution_time=1.23456,
                       extra=extra or {"fixture_set_hash": "abcdef0123456789", "isolation": "bwrap"},
                       student_output=printed)


# --- CheckOutcome -----------------------------------------------------------------------------------

@pytest.mark.parametrize("points, passed, total, score", [(4, 3, 4, 3.0), (3, 1, 3, 1.0), (10, 2, 3, 6.67),
                                                          (4, 0, 0, 0.0), (4, 5, 5, 4.0)])
def test_a_checks_score_is_its_share_of_cases_passed(points, passed, total, score):
    assert outcome("a", points=points, passed=passed, total=total).score == score


def test_ok_needs_at_least_one_case_and_every_one_passed():
    assert outcome("a", passed=2).ok and not outcome("a", passed=1, total=2).ok and not outcome("a", total=0).ok


def test_the_report_score_adds_the_checks():
    assert report([outcome("a", points=4, passed=1, total=3), outcome("b", points=2, passed=2)]).score == 3.33


# --- Gradescope ------------------------------------------------------------------------------------

def test_gradescope_gets_one_test_per_check_with_its_data():
    r = report([outcome("a", passed=2), outcome("b", failures=[wrong()], passed=1, visibility="after_due_date")])
    data = r.to_gradescope()
    assert data["score"] == 6.0 and data["execution_time"] == 1.235 and data["output_format"] == "md"
    assert data["stdout_visibility"] == "hidden"
    a, b = data["tests"]
    assert (a["name"], a["number"], a["score"], a["max_score"], a["status"], a["tags"], a["visibility"]) == (
        "Title a", "1", 4.0, 4, "passed", ["cat"], "visible")
    assert (b["status"], b["visibility"], b["score"]) == ("failed", "after_due_date", 2.0)
    assert b["extra_data"] == {"check": "b", "cases_passed": 1, "cases": 2, "blocked": [],
                               "failures": [wrong().to_data()]}
    assert data["extra_data"]["grader_version"] == __version__ and data["extra_data"]["isolation"] == "bwrap"
    assert data["extra_data"]["root_causes"][0]["function"] == "Conv2d.backward"


def test_the_top_shows_only_what_visible_checks_found():
    hidden = outcome("h", failures=[wrong(function="col2im")], visibility="hidden")
    data = report([outcome("a", passed=1), hidden]).to_gradescope()
    assert "Start here" not in data["output"]
    assert [c["function"] for c in data["extra_data"]["root_causes"]] == ["col2im"]     # the staff see all
    data = report([outcome("v", failures=[wrong(function="col2im")]), hidden]).to_gradescope()
    assert "**Start here**" in data["output"] and "col2im" in data["output"]


def test_an_invalid_submission_gets_its_refusal_and_no_tests():
    data = report([outcome("a", total=0)], status="invalid", message="no conv2d.py found").to_gradescope()
    assert data["tests"] == [] and data["output"] == "no conv2d.py found" and data["extra_data"]["root_causes"] == []


def test_the_message_is_never_markup():
    data = report([outcome("a", passed=1)], message="# Hi <img src=x>\x1b[2J").to_gradescope()
    assert data["output"].startswith("```") and "\x1b" not in data["output"]
    assert data["extra_data"]["message"] == "# Hi <img src=x>[2J"


def test_check_markdown_keeps_the_summary_as_a_paragraph_and_the_rest_in_a_block():
    assert check_markdown("Passed all 3 case(s).") == "Passed all 3 case(s)."
    text = check_markdown("Passed 1 of 2 case(s).\n- [N=1] *x*\n  X.\n  ..")
    summary, rest = text.split("\n\n", 1)
    assert summary == "Passed 1 of 2 case(s)." and rest.startswith("```text\n- [N=1] *x*\n  X.") and rest.endswith("```")


# --- PrairieLearn ----------------------------------------------------------------------------------

def test_prairielearn_gets_a_fraction_and_every_check():
    data = report([outcome("a", passed=2), outcome("b", failures=[wrong()], total=4, passed=3,
                                                  visibility="hidden")]).to_prairielearn()
    assert data["gradable"] is True and data["score"] == pytest.approx(7 / 8)
    assert [t["name"] for t in data["tests"]] == ["Title a", "Title b"]
    assert data["tests"][1]["points"] == 3.0 and data["tests"][1]["max_points"] == 4
    assert data["tests"][1]["message"] == "Passed 3 of 4 case(s)." and "Start here:" in data["message"]
    assert data["extra_data"]["isolation"] == "bwrap" and "root_causes" not in data["extra_data"]


def test_prairielearn_never_shows_what_the_code_printed():
    data = report([outcome("a", passed=1)], printed="the secret input: 0.123456789").to_prairielearn()
    assert "0.123456789" not in json.dumps(data) and "printed 29 characters" in data["output"]


def test_an_invalid_submission_is_not_gradable_and_uses_no_attempt():
    data = report([outcome("a", total=0)], status="invalid", message="a syntax error").to_prairielearn()
    assert data["gradable"] is False and data["format_errors"] == ["a syntax error"] and data["tests"] == []


def test_prairielearns_file_stays_under_its_bound_whatever_the_student_reaches():
    # problems, maps, exception text and printed output reach the file; titles are the staff's config
    checks = [outcome(f"c{i}", failures=[Failure(case=f"N={i}", problem="dX: " + "\u00e9" * 100_000,
                                                 function="Conv2d.backward", detail="X." * 50_000)])
              for i in range(40)]
    data = report(checks, message="m" * 500_000, printed="x" * 10**6).to_prairielearn(max_bytes=200_000)
    assert len(json.dumps(data)) <= 200_000 and data["gradable"] is True and len(data["tests"]) == 40
    assert all(len(t["output"]) > 100 for t in data["tests"][1:])      # clipped, not dropped


def test_write_prairielearn_writes_results_json(tmp_path):
    write_prairielearn(report([outcome("a", passed=1)]), tmp_path)
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 1.0


# --- feedback.md -------------------------------------------------------------------------------------

def test_feedback_md_has_the_score_start_here_and_one_row_per_check():
    r = report([outcome("a", passed=2), outcome("b", failures=[wrong()], passed=1, title="dX | *values*")])
    text = r.to_markdown()
    assert text.startswith("# Feedback: 6 / 8 points\n\nGraded.\n")
    assert "## Start here" in text
    assert "| PASS Title a | 4 / 4 | 2 / 2 |  |" in text
    assert "| FAIL dX \\| \\*values\\* | 2 / 4 | 1 / 2 | see Start here (1) |" in text
    assert text.rstrip().endswith("<sub>grader " + __version__ + "; fixture set abcdef012345; isolation bwrap</sub>")


def test_a_failure_no_root_cause_tells_gets_its_own_section():
    internal = Failure(case="N=1", problem="the grader hit an internal error", kind="internal")
    text = report([outcome("a", failures=[internal], title="Crop")]).to_markdown()
    assert "### Crop" in text and "the grader hit an internal error" in text


def test_feedback_md_of_a_refused_submission_is_its_refusal_only():
    text = report([outcome("a", total=0)], status="invalid", message="the zip is empty").to_markdown()
    assert "the zip is empty" in text and "| check |" not in text and "Start here" not in text


def test_what_the_code_printed_is_in_a_code_block_when_graded():
    text = report([outcome("a", passed=1)], printed="```\n# not a heading\n").to_markdown()
    section = text.split("## What your code printed (first part)\n\n", 1)[1]
    assert section.startswith("````text\n```\n# not a heading\n````")


def test_the_footer_escapes_what_the_extra_data_holds():
    text = report([outcome("a", passed=1)], extra={"fixture_set_hash": "<b>x", "isolation": "<script>"}).to_markdown()
    assert "<script>" not in text and "&lt;script&gt;" in text


# --- writing ------------------------------------------------------------------------------------------

def test_write_report_writes_both_files(tmp_path):
    write_report(report([outcome("a", passed=1)]), tmp_path / "out")
    assert json.loads((tmp_path / "out" / "results.json").read_text())["score"] == 4.0
    assert (tmp_path / "out" / "feedback.md").read_text().startswith("# Feedback: 4 / 4 points")


def test_write_atomic_replaces_a_file_leaving_no_temp_file_and_keeping_its_mode(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_atomic(path, "new\n")
    assert path.read_text() == "new\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_write_atomic_replaces_a_link_instead_of_writing_through_it(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "out.json").symlink_to(target)
    write_atomic(tmp_path / "out.json", "{}")
    assert target.read_text() == "keep" and not (tmp_path / "out.json").is_symlink()


def test_a_new_files_mode_is_what_the_umask_allows(tmp_path):
    old = os.umask(0o027)
    try:
        assert plain_write_mode(tmp_path / "new") == 0o640
    finally:
        os.umask(old)
