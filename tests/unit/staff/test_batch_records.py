"""autograder/staff/batch_records.py, without grading anything: a record completed from the grade
record (a GradeReport) and written last, and an earlier grade reused only when nothing it depends on
changed and its grade.json is one this grader reads."""

import json

import pytest

from autograder import __version__
from autograder.failures import Failure
from autograder.results import CheckOutcome, GradeReport, write_report
from autograder.staff.batch_entries import Entry
from autograder.staff.batch_records import finish_record, finished_record, new_record


def check(name, passed, total, failures=(), blocked=()):
    return CheckOutcome(name, f"title {name}", 4, "visible", "c", "hint", passed=passed, total=total,
                        failures=failures, blocked=blocked)


def grade(status="graded", message="graded"):
    blocked = Failure(case="x", problem="p", blocked_by="a")
    return GradeReport(status=status, message=message, max_score=12, extra={"submission_sha256": "abc"},
                       checks=[check("a", 2, 2), check("b", 1, 2, failures=[Failure(case="y", problem="q")]),
                               check("c", 1, 2, blocked=[blocked])])


def graded_folder(folder):
    """folder as a grading process leaves it (grade.json, results.json, feedback.md); its GradeReport."""
    report = grade()
    write_report(report, folder)
    return report


def test_a_record_is_completed_from_the_grade_record_and_written_last(tmp_path):
    entry = Entry("alice", tmp_path / "alice.zip", "in-sha")
    done = finish_record(new_record(entry, "fixhash"), tmp_path, grade(), 1.23456)
    assert done == {"id": "alice", "source": "alice.zip", "input_sha256": "in-sha", "fixture_set_hash": "fixhash",
                    "grader_version": __version__, "status": "graded", "seconds": 1.235, "score": 8.0,
                    "max_score": 12, "message": "graded", "submission_sha256": "abc",
                    "checks": {"a": 4.0, "b": 2.0, "c": 2.0}, "passed": ["a"], "failed": ["b"]}
    assert json.loads((tmp_path / "batch.json").read_text()) == done


def test_a_refused_submission_has_no_check_results(tmp_path):
    done = finish_record(new_record(Entry("x", tmp_path / "x", ""), "h"), tmp_path, grade("invalid", "no"), 0.5)
    assert (done["status"], done["message"], done["checks"], done["passed"], done["failed"]) == (
        "invalid", "no", {}, [], [])


def test_without_a_grade_record_the_record_is_an_error(tmp_path):
    done = finish_record(new_record(Entry("x", tmp_path / "x", ""), "h"), tmp_path, None, 0.5, "it hung")
    assert (done["status"], done["message"], done["score"], done["checks"]) == ("error", "it hung", 0.0, {})
    assert finish_record(new_record(Entry("x", tmp_path / "x", ""), "h"), tmp_path, None, 0.5)["status"] == "error"


def test_a_grader_problem_makes_a_graded_report_an_error(tmp_path):
    done = finish_record(new_record(Entry("x", tmp_path / "x", ""), "h"), tmp_path, grade(), 0.5, "it failed")
    assert (done["status"], done["message"]) == ("error", "it failed")


def test_an_earlier_grade_is_reused_only_when_nothing_changed(tmp_path):
    entry = Entry("alice", tmp_path / "alice.zip", "in-sha")
    sub = tmp_path / "out" / "submissions" / "alice"
    finish_record(new_record(entry, "fix"), sub, graded_folder(sub), 1.0)
    out = tmp_path / "out"
    assert finished_record(entry, out, "fix")["score"] == 8.0
    assert finished_record(entry, out, "other-fixtures") is None
    assert finished_record(Entry("alice", entry.path, "changed"), out, "fix") is None
    assert finished_record(Entry("alice", entry.path, ""), out, "fix") is None            # not hashed: regrade
    assert finished_record(Entry("alice", tmp_path / "alice.py", "in-sha"), out, "fix") is None   # another entry


@pytest.mark.parametrize("damage", ["delete", "old version", "malformed"])
def test_a_grade_without_a_readable_record_is_regraded(tmp_path, damage):
    """A folder from a grader before grade.json (results.json only), of another record version or
    edited by hand is not a grade this run can keep."""
    entry = Entry("alice", tmp_path / "alice.zip", "in-sha")
    sub = tmp_path / "out" / "submissions" / "alice"
    finish_record(new_record(entry, "fix"), sub, graded_folder(sub), 1.0)
    record = json.loads((sub / "grade.json").read_text())
    if damage == "delete":
        (sub / "grade.json").unlink()
    else:
        record.update({"version": record["version"] + 1} if damage == "old version" else {"score": 99})
        (sub / "grade.json").write_text(json.dumps(record))
    assert (sub / "results.json").is_file() and finished_record(entry, tmp_path / "out", "fix") is None


def test_an_earlier_error_is_always_regraded(tmp_path):
    entry = Entry("bob", tmp_path / "bob.zip", "sha")
    sub = tmp_path / "out" / "submissions" / "bob"
    graded_folder(sub)                                                      # an earlier run's record stays
    finish_record(new_record(entry, "fix"), sub, None, 1.0, "the grading process died")
    assert finished_record(entry, tmp_path / "out", "fix") is None
    assert not (sub / "grade.json").exists()            # the reports count nothing of the earlier grade
