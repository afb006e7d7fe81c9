"""The batch's record of one submission: submissions/<id>/batch.json, written last.

A record says which entry was graded (its name and input sha256), against which fixture
set and grader version, and how it went (status, score, the checks passed and failed).
Its being there means the grade is final: a later run keeps it while nothing it depends
on has changed (finished_record), and an error is always graded again.
"""

import json

from autograder import __version__
from autograder.results import write_atomic
from autograder.staff.batch_entries import safe_id


def new_record(entry, fixture_hash):
    return dict(id=entry.id, source=safe_id(entry.path.name), input_sha256=entry.sha256,
                fixture_set_hash=fixture_hash, grader_version=__version__)


def finish_record(record, sub_dir, status, seconds, problem=""):
    """Completes a record from the submission's results.json and writes batch.json (last)."""
    results = _read_results(sub_dir / "results.json")
    if results is None:
        status, problem = "error", problem or "the grader wrote no results.json"
    extra = (results or {}).get("extra_data", {})
    record.update(status=status, seconds=round(seconds, 3),
                  score=results["score"] if results else 0.0, max_score=extra.get("max_score", 0),
                  # the one-line message; results' output goes on with the root causes for the student
                  message=problem or (str(extra.get("message") or results["output"]) if results else ""),
                  submission_sha256=extra.get("submission_sha256", ""),
                  checks={t["extra_data"]["check"]: t["score"] for t in results["tests"]} if results else {},
                  passed=[t["extra_data"]["check"] for t in results["tests"] if t["status"] == "passed"]
                  if results else [],
                  # failing on their own (not only blocked by another check's bug: autograder/attribution.py)
                  failed=[t["extra_data"]["check"] for t in results["tests"] if t["status"] != "passed" and (
                      t["extra_data"].get("failures") or not t["extra_data"].get("blocked"))] if results else [])
    write_atomic(sub_dir / "batch.json", json.dumps(record, indent=1) + "\n")
    return record


def _read_results(path):
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) and "tests" in data else None
    except (OSError, ValueError):
        return None


def earlier_record(entry, out_dir):
    """The record this entry's folder holds from an earlier run, if it is this entry's; else None."""
    try:
        record = json.loads((out_dir / "submissions" / entry.id / "batch.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("source") != safe_id(entry.path.name):
        return None
    return record if (out_dir / "submissions" / entry.id / "results.json").is_file() else None


def finished_record(entry, out_dir, fixture_hash):
    """The earlier record of this submission if it is still valid, else None."""
    record = earlier_record(entry, out_dir)
    if record is None or not entry.sha256:
        return None
    same = (record.get("fixture_set_hash") == fixture_hash and record.get("grader_version") == __version__
            and record.get("input_sha256") == entry.sha256 and record.get("status") != "error")
    return record if same else None
