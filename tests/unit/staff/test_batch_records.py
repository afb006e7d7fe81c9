"""autograder/staff/batch_records.py, without grading anything: a record completed from a results.json
and written last, and an earlier grade reused only when nothing it depends on changed."""

import json

import pytest

from autograder import __version__
from autograder.staff.batch_entries import Entry
from autograder.staff.batch_records import finish_record, finished_record, new_record


def results_json(folder, score=7.0, tests=(("a", 4.0, "passed"), ("b", 3.0, "failed")), message="graded"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps({
        "score": score, "output": "the output", "tests": [
            {"score": s, "status": st, "extra_data": {"check": name}} for name, s, st in tests],
        "extra_data": {"max_score": 10, "message": message, "submission_sha256": "abc"}}))


def test_a_record_is_completed_from_results_json_and_written_last(tmp_path):
    entry = Entry("alice", tmp_path / "alice.zip", "in-sha")
    results_json(tmp_path / "sub")
    done = finish_record(new_record(entry, "fixhash"), tmp_path / "sub", "graded", 1.23456)
    assert done == {"id": "alice", "source": "alice.zip", "input_sha256": "in-sha", "fixture_set_hash": "fixhash",
                    "grader_version": __version__, "status": "graded", "seconds": 1.235, "score": 7.0,
                    "max_score": 10, "message": "graded", "submission_sha256": "abc",
                    "checks": {"a": 4.0, "b": 3.0}, "passed": ["a"], "failed": ["b"]}
    assert json.loads((tmp_path / "sub" / "batch.json").read_text()) == done


@pytest.mark.parametrize("content", [None, "{broken", '{"no_tests": 1}', "[1]"])
def test_without_a_usable_results_json_the_record_is_an_error(tmp_path, content):
    sub = tmp_path / "sub"
    sub.mkdir()
    if content is not None:
        (sub / "results.json").write_text(content)
    done = finish_record(new_record(Entry("x", tmp_path / "x", ""), "h"), sub, "graded", 0.5)
    assert done["status"] == "error" and done["message"] == "the grader wrote no results.json"
    assert done["score"] == 0.0 and done["checks"] == {}


def test_an_earlier_grade_is_reused_only_when_nothing_changed(tmp_path):
    entry = Entry("alice", tmp_path / "alice.zip", "in-sha")
    results_json(tmp_path / "out" / "submissions" / "alice")
    finish_record(new_record(entry, "fix"), tmp_path / "out" / "submissions" / "alice", "graded", 1.0)
    out = tmp_path / "out"
    assert finished_record(entry, out, "fix")["score"] == 7.0
    assert finished_record(entry, out, "other-fixtures") is None
    assert finished_record(Entry("alice", entry.path, "changed"), out, "fix") is None
    assert finished_record(Entry("alice", entry.path, ""), out, "fix") is None            # not hashed: regrade
    assert finished_record(Entry("alice", tmp_path / "alice.py", "in-sha"), out, "fix") is None   # another entry
    (out / "submissions" / "alice" / "results.json").unlink()
    assert finished_record(entry, out, "fix") is None


def test_an_earlier_error_is_always_regraded(tmp_path):
    entry = Entry("bob", tmp_path / "bob.zip", "sha")
    sub = tmp_path / "out" / "submissions" / "bob"
    sub.mkdir(parents=True)
    finish_record(new_record(entry, "fix"), sub, "graded", 1.0)                 # no results.json: an error
    (sub / "results.json").write_text("{}")
    assert finished_record(entry, tmp_path / "out", "fix") is None
