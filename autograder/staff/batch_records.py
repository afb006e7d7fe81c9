"""The batch's record of one submission: submissions/<id>/batch.json, written last.

A record says which entry was graded (its name and input sha256), against which fixture
set and grader version, and how it went (status, score, the checks passed and failed),
taken from the grade record (results.GradeReport) in the grading process that built it,
never from a rendered results.json. Its being there, beside a grade.json of this grader's
version, means the grade is final: a later run keeps it while nothing it depends on has
changed (finished_record), and an error is always graded again. A folder from a grader
that wrote no grade.json is graded again.
"""

import json

from autograder import __version__
from autograder.feedback import status_word
from autograder.results import GRADE_FILE, GradeRecordError, GradeReport, write_atomic
from autograder.staff.batch_entries import safe_id
from autograder.text import inert


def new_record(entry, fixture_hash):
    return dict(id=entry.id, source=safe_id(entry.path.name), input_sha256=entry.sha256,
                fixture_set_hash=fixture_hash, grader_version=__version__)


def finish_record(record, sub_dir, report, seconds, problem=""):
    """Completes a record from the submission's grade record `report` (None, with `problem`, when
    grading failed) and writes batch.json (last)."""
    if report is None:
        status, problem = "error", problem or "the grader gave no grade"
        (sub_dir / GRADE_FILE).unlink(missing_ok=True)      # an earlier run's grade must not speak for this row
    else:
        status = "error" if problem else report.status
    checks = report.checks if report is not None and report.status != "invalid" else ()   # a refusal checks nothing
    record.update(status=status, seconds=round(seconds, 3), score=report.score if report else 0.0,
                  max_score=report.max_score if report else 0,
                  # the one-line message; the feedback goes on with the root causes for the student
                  message=problem or inert(report.message),
                  submission_sha256=report.extra.get("submission_sha256", "") if report else "",
                  checks={c.name: c.score for c in checks},
                  passed=[c.name for c in checks if c.ok],
                  # failing on their own (not only blocked by another check's bug: autograder/attribution.py)
                  failed=[c.name for c in checks if status_word(c) == "FAIL"])
    write_atomic(sub_dir / "batch.json", json.dumps(record, indent=1) + "\n")
    return record


def earlier_record(entry, out_dir):
    """The record this entry's folder holds from an earlier run, if it is this entry's and its grade
    record (grade.json) is one this grader reads; else None."""
    sub_dir = out_dir / "submissions" / entry.id
    try:
        record = json.loads((sub_dir / "batch.json").read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("source") != safe_id(entry.path.name):
        return None
    try:
        GradeReport.read(sub_dir)
    except GradeRecordError:
        return None
    return record


def finished_record(entry, out_dir, fixture_hash):
    """The earlier record of this submission if it is still valid, else None."""
    record = earlier_record(entry, out_dir)
    if record is None or not entry.sha256:
        return None
    same = (record.get("fixture_set_hash") == fixture_hash and record.get("grader_version") == __version__
            and record.get("input_sha256") == entry.sha256 and record.get("status") != "error")
    return record if same else None
