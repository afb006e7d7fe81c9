"""autograder/staff/batch.py without grading anything: --only picks entries by id or entry name and
names unknown ones. (tests/e2e/test_batch.py runs whole batches; the batch's other modules have their own
files here: test_batch_records.py, test_grade_sheet.py, test_batch_console.py, test_grading_pool.py.)"""

from pathlib import Path

import pytest

from autograder.staff.batch import BatchError, _plan, select_entries
from autograder.staff.batch_entries import Entry


def test_only_picks_ids_or_entry_names_and_names_unknown_ones():
    entries = [Entry("alice", Path("alice.zip"), ""), Entry("bob", Path("bob"), ""), Entry("a,b", Path("a,b.py"), "")]
    assert [e.id for e in select_entries(entries, ["alice, bob"])] == ["alice", "bob"]
    assert [e.id for e in select_entries(entries, ["alice.zip"])] == ["alice"]
    assert [e.id for e in select_entries(entries, ["a,b"])] == ["a,b"]                 # an id with a comma, whole
    with pytest.raises(BatchError, match="no entry has the id 'carol'"):
        select_entries(entries, ["alice,carol"])
    with pytest.raises(BatchError, match="at least one id"):
        select_entries(entries, [" , "])


def test_only_says_why_a_row_from_an_older_grader_is_not_kept(tmp_path):
    """--only keeps the other rows; a folder from a grader that wrote no grade.json (results.json
    only) holds no row this grader keeps, and the note says so, not that it was never graded."""
    old = tmp_path / "submissions" / "bob"
    old.mkdir(parents=True)
    (old / "batch.json").write_text('{"id": "bob", "source": "bob.zip", "status": "graded", "score": 3}')
    (old / "results.json").write_text('{"score": 3, "tests": []}')
    entries = [Entry("alice", Path("alice.zip"), "a" * 64), Entry("bob", Path("bob.zip"), "b" * 64)]
    kept, todo, notes = _plan(entries, tmp_path, "hash", force=False, chosen={"alice"})
    assert kept == {} and [e.id for e in todo] == ["alice"]
    assert any("1 entry has no grade this grader reads (never graded, or graded by an older grader)" in n
               for n in notes), notes
