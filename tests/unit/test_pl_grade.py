"""autograder/pl_grade.py with the grading function faked: ROOT/student graded with the lab named,
ROOT/results/results.json written in PrairieLearn's form, a grader failure told as not gradable
(never the student's, never without results.json), its scratch folder removed, and the root taken
from --root, else the environment. (In PrairieLearn's container: tests/e2e/test_prairielearn.py.)"""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder import grading, lab_loader, pl_grade
from autograder.results import CheckOutcome, GradeReport


@pytest.fixture
def graded(monkeypatch):
    """grade_submission and load_lab faked; the calls made, with the scratch folder each got."""
    calls = []

    def grade_submission(lab, path, out_dir):
        calls.append((lab, path, out_dir))
        if lab.fail:
            raise RuntimeError("no fixtures")
        return GradeReport(status="graded", message="Graded.", max_score=4.0,
                           checks=[CheckOutcome("a", "Check A", 4.0, "visible", "c", "h", passed=1, total=2)])
    monkeypatch.setattr(grading, "grade_submission", grade_submission)
    monkeypatch.setattr(lab_loader, "load_lab", lambda path: SimpleNamespace(path=path, fail="broken" in str(path)))
    return calls


def results(root):
    return json.loads((root / "results" / "results.json").read_text())


def test_the_student_folder_is_graded_into_results_json(tmp_path, graded):
    report = pl_grade.grade(tmp_path, "lab/config.toml")
    ((lab, path, out_dir),) = graded
    assert (lab.path, path) == ("lab/config.toml", tmp_path / "student") and report.score == 2.0
    data = results(tmp_path)
    assert data["gradable"] is True and data["score"] == 0.5
    assert [(t["name"], t["points"], t["max_points"]) for t in data["tests"]] == [("Check A", 2.0, 4.0)]
    assert not Path(out_dir).parent.exists()                   # the scratch folder is gone


def test_a_grader_failure_is_not_gradable_and_still_written(tmp_path, graded, capsys):
    report = pl_grade.grade(tmp_path, "broken/config.toml")
    assert report.status == "error"
    data = results(tmp_path)
    assert data["gradable"] is False and data["score"] == 0.0
    assert data["format_errors"] == ["The grader failed (a staff problem, not yours): RuntimeError: no fixtures"]
    assert "RuntimeError: no fixtures" in capsys.readouterr().err            # the traceback for the staff
    assert not Path(graded[0][2]).parent.exists()


def test_the_root_is_the_option_else_the_environment(tmp_path, graded, monkeypatch, capsys):
    monkeypatch.setenv(pl_grade.ROOT_ENV, str(tmp_path / "from_env"))
    assert pl_grade.main(["--config", "assignment/config.toml"]) == 0
    assert graded[-1][1] == tmp_path / "from_env" / "student" and "graded: 2 / 4" in capsys.readouterr().out
    assert pl_grade.main(["--root", str(tmp_path / "given"), "--config", "assignment/config.toml"]) == 0
    assert graded[-1][1] == tmp_path / "given" / "student" and (tmp_path / "given" / "results" / "results.json").exists()
