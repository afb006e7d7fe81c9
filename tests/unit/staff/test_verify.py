"""autograder/staff/verify.py with the grading function and the catalogue faked: the reference must earn
full marks, the template zero, a correct example full and any other example less; each subject that
does not is named with what it got, and the exit status says so. (On the real labs:
tests/e2e/test_workflows.py, tests/labs/.)"""

import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.staff import catalogue, verify

LAB = SimpleNamespace(config=SimpleNamespace(max_score=10.0, submission_file="lab.py"),
                      reference=Path("/lab/reference.py"), template=Path("/lab/template.py"))
ENTRIES = {"correct/loops": SimpleNamespace(source="# loops"), "bug/sign": SimpleNamespace(source="# sign")}


def run(monkeypatch, capsys, **scores):
    """verify(LAB) where the subject called NAME gets scores[NAME] (default: what it should get)."""
    scores = {"reference": 10.0, "template": 0.0, "correct__loops": 10.0, "bug__sign": 4.0, **scores}
    graded = []

    def grade_submission(lab, path, out_dir):
        name = path.stem
        if path.suffix == ".zip":                    # the example as written for grading
            with zipfile.ZipFile(path) as zf:
                assert zf.namelist() == ["lab.py"] and zf.read("lab.py").decode().startswith("# ")
        graded.append(name)
        score = scores[name]
        status = "invalid" if score is None else "graded"
        checks = [SimpleNamespace(name="c1", passed=1 if score else 0, total=1)]
        return SimpleNamespace(status=status, score=score or 0.0, checks=checks)
    monkeypatch.setattr(verify, "grade_submission", grade_submission)
    monkeypatch.setattr(catalogue, "load_catalogue", lambda lab: (ENTRIES, list(ENTRIES)))
    code = verify.verify(LAB)
    return code, graded, capsys.readouterr().out


def test_a_grader_that_tells_right_from_wrong_passes(monkeypatch, capsys):
    code, graded, out = run(monkeypatch, capsys)
    assert code == 0 and graded == ["reference", "template", "correct__loops", "bug__sign"]
    assert out.count(" ok ") == 4 and "WRONG" not in out and "VERIFY FAILED" not in out
    assert "template" in out and "0 / 10" in out and "c1" in out          # the template failed its check


@pytest.mark.parametrize("scores, said", [
    (dict(reference=9.5), "reference: expected full marks, got 9.5 (graded)"),
    (dict(template=1.0), "template: expected zero marks, got 1 (graded)"),
    (dict(correct__loops=8.0), "correct/loops: expected full marks, got 8 (graded)"),
    (dict(bug__sign=10.0), "bug/sign: expected less marks, got 10 (graded)"),
    (dict(template=None), "template: expected zero marks, got 0 (invalid)"),       # a refusal is no zero
])
def test_each_subject_off_its_mark_fails_verify_by_name(monkeypatch, capsys, scores, said):
    code, _, out = run(monkeypatch, capsys, **scores)
    assert code == 1 and "VERIFY FAILED" in out and f"  {said}" in out and out.count("WRONG") == 1
