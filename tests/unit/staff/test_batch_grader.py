"""autograder/staff/batch_grader.py's grading of one entry, in this process, with the grading function
faked: the record taken from the grade record (batch.json written), a grader failure kept to its row
(an earlier grade.json removed), a symbolic link refused without grading what it points to.
(Its process serving stdin/stdout within a batch: tests/e2e/test_batch.py.)"""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder import grading
from autograder.config import CheckSpec
from autograder.results import CheckOutcome, GradeReport, write_report
from autograder.staff.batch_entries import Entry
from autograder.staff.batch_grader import grade_in_process

SPECS = {name: CheckSpec(name=name, title=name.upper(), points=2.0, visibility="visible", public=True,
                         category="c", hint="h") for name in ("a", "b")}
LAB = SimpleNamespace(config=SimpleNamespace(checks=SPECS, max_score=4.0))


@pytest.fixture
def graded(monkeypatch):
    """grade_submission faked: check a passes, b fails; the calls it got."""
    calls = []

    def grade_submission(lab, path, sub_dir, fixture_set=None):
        calls.append((lab, path, sub_dir, fixture_set))
        report = GradeReport(status="graded", message="Graded.", max_score=4.0, extra={"submission_sha256": "f00"},
                             checks=[CheckOutcome("a", "A", 2.0, "visible", "c", "h", passed=3, total=3),
                                     CheckOutcome("b", "B", 2.0, "visible", "c", "h", passed=1, total=2)])
        write_report(report, sub_dir)
        return report
    monkeypatch.setattr(grading, "grade_submission", grade_submission)
    return calls


def entry(tmp_path, name="alice.zip"):
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"zip")
    return Entry("alice", path, "abc")


def test_the_record_is_the_grade_records(tmp_path, graded):
    out = tmp_path / "out"
    sub = entry(tmp_path)
    record = grade_in_process(LAB, sub, out, "set-hash", fixture_set="the set")
    assert graded == [(LAB, sub.path, out / "submissions" / "alice", "the set")]
    assert {k: record[k] for k in ("id", "source", "input_sha256", "fixture_set_hash", "status", "score",
                                   "max_score", "checks", "passed", "failed", "submission_sha256")} == dict(
        id="alice", source="alice.zip", input_sha256="abc", fixture_set_hash="set-hash", status="graded",
        score=3.0, max_score=4.0, checks={"a": 2.0, "b": 1.0}, passed=["a"], failed=["b"], submission_sha256="f00")
    assert json.loads((out / "submissions" / "alice" / "batch.json").read_text()) == record


def test_a_grader_failure_is_one_error_row(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("x" * 1000)
    monkeypatch.setattr(grading, "grade_submission", broken)
    sub_dir = tmp_path / "out" / "submissions" / "alice"
    sub_dir.mkdir(parents=True)
    (sub_dir / "grade.json").write_text("{}")                          # an earlier run's grade
    record = grade_in_process(LAB, entry(tmp_path), tmp_path / "out", "h")
    assert record["status"] == "error" and record["score"] == 0.0
    assert record["message"].startswith("the grader failed: RuntimeError('xxx") and len(record["message"]) == 500
    assert not (sub_dir / "grade.json").exists() and (sub_dir / "batch.json").exists()


def test_a_symbolic_link_is_refused_unread(tmp_path, graded):
    target = entry(tmp_path).path
    link = tmp_path / "in" / "bob.zip"
    link.symlink_to(target)
    record = grade_in_process(LAB, Entry("bob", link, ""), tmp_path / "out", "h")
    assert graded == []
    assert record["status"] == "invalid" and "bob.zip is a symbolic link" in record["message"]
    report = GradeReport.read(Path(tmp_path / "out" / "submissions" / "bob"))
    assert (report.status, report.score, [c.name for c in report.checks]) == ("invalid", 0, ["a", "b"])
    assert report.message.startswith("Your submission could not be graded: bob.zip is a symbolic link")
