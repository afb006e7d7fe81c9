"""The grade record (autograder/results.py: GradeReport, CheckOutcome, grade.json): built once,
frozen, read back as the same record whose renderings are the same files, and refused with a
clear message when a grade.json is not one of this version. Plus the rule that makes it the
only record: no module of the grader parses a results.json back."""

import ast
import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from autograder.failures import Failure
from autograder.results import (GRADE_FILE, GRADE_VERSION, CheckOutcome, GradeRecordError, GradeReport,
                                write_report)

AUTOGRADER = Path(__file__).resolve().parents[2] / "autograder"


def record():
    """A record with every kind of part: own failures (a map, a crash, a likely bug, blame), a
    blocked case, a check not run, printed output and extra facts."""
    crash = Failure(case="N=2, s=2", problem="your code failed:", detail="  line 9, in col2im: IndexError: 5",
                    function="col2im", kind="exception")
    wrong = Failure(case="N=1", problem="dX: 3 of 8 values are wrong", likely_bug="the crop is off by one",
                    detail="X . X\n. . .", function="Conv2d.backward", blame=("padding_crop",))
    blocked = Failure(case="N=1", problem="dX wrong", function="Conv2d.backward", blame=(), blocked_by="col2im")
    checks = [CheckOutcome("col2im", "col2im sums", 4, "visible", "col2im", "sum overlaps", passed=1, total=2,
                           failures=[crash]),
              CheckOutcome("dx", "dX", 6.5, "after_due_date", "backward", "crop", passed=1, total=3,
                           failures=[wrong], blocked=[blocked], needs=("col2im",)),
              CheckOutcome("train", "Training", 2, "visible", "train", "lr")]
    return GradeReport(status="graded", message="Graded 3 checks.", checks=checks, max_score=12.5,
                       execution_time=3.14159, student_output="hello\n",
                       extra={"fixture_set_hash": "abc", "isolation": "bwrap", "submission_notes": ["a note"]})


def as_data(report):
    return json.loads(report.to_json())


def refusal(data):
    with pytest.raises(GradeRecordError) as caught:
        GradeReport.from_json(json.dumps(data))
    return str(caught.value)


# --- round trip ------------------------------------------------------------------------------------

def test_the_record_reads_back_as_the_same_record():
    original = record()
    assert GradeReport.from_json(original.to_json()) == original


def test_its_renderings_are_the_same_after_the_round_trip():
    original = record()
    again = GradeReport.from_json(original.to_json())
    assert again.to_gradescope() == original.to_gradescope()
    assert again.to_markdown() == original.to_markdown()
    assert again.to_prairielearn() == original.to_prairielearn()


def test_the_file_shows_each_checks_score_and_status():
    checks = as_data(record())["checks"]
    assert [(c["name"], c["score"], c["status"]) for c in checks] == [
        ("col2im", 2.0, "FAIL"), ("dx", 2.17, "FAIL"), ("train", 0.0, "FAIL")]
    assert as_data(record())["version"] == GRADE_VERSION and as_data(record())["score"] == 4.17


def test_a_blocked_only_check_is_marked_blocked():
    check = CheckOutcome("dx", "dX", 1, "visible", "c", "h", passed=1, total=2,
                         blocked=[Failure(case="x", problem="p", blocked_by="col2im")])
    assert check.to_record()["status"] == "BLOCKED" and CheckOutcome.from_record(check.to_record()) == check


def test_write_report_writes_the_record_beside_its_renderings(tmp_path):
    original = record()
    write_report(original, tmp_path)
    assert GradeReport.read(tmp_path) == original
    assert json.loads((tmp_path / "results.json").read_text()) == original.to_gradescope()
    assert (tmp_path / "feedback.md").read_text() == original.to_markdown()


def test_the_record_is_frozen():
    report = record()
    with pytest.raises(FrozenInstanceError):
        report.status = "invalid"
    with pytest.raises(FrozenInstanceError):
        report.checks[0].passed = 2
    assert isinstance(report.checks, tuple) and isinstance(report.checks[0].failures, tuple)


# --- refusals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, says", [("{broken", "not JSON"), ("[1, 2]", "not a grade record"),
                                        ('{"tests": []}', "not a grade record")])
def test_what_is_not_a_record_is_refused(text, says):
    with pytest.raises(GradeRecordError, match=says):
        GradeReport.from_json(text)


def test_a_results_json_is_not_a_record():
    with pytest.raises(GradeRecordError, match="not a grade record"):
        GradeReport.from_json(json.dumps(record().to_gradescope()))


@pytest.mark.parametrize("version", [GRADE_VERSION + 1, GRADE_VERSION - 1, "1", None])
def test_another_version_is_refused_and_told_to_regrade(version):
    data = dict(as_data(record()), version=version)
    assert f"version {version!r}" in refusal(data) and "grade the submission again" in refusal(data)


@pytest.mark.parametrize("change, says", [
    (lambda d: d.pop("max_score"), "missing max_score"),
    (lambda d: d.update(comment="x"), "unknown comment"),
    (lambda d: d.update(max_score="12.5"), "max_score has the wrong type"),
    (lambda d: d.update(execution_time=True), "execution_time has the wrong type"),
    (lambda d: d.update(extra=[]), "extra has the wrong type"),
    (lambda d: d.update(status="passed"), "status 'passed' is not one of graded, invalid, error"),
    (lambda d: d.update(score=12.5), "score 12.5 is not its checks' sum 4.17"),
    (lambda d: d["checks"].append("col2im"), "a check is not a JSON object"),
    (lambda d: d["checks"][0].pop("failures"), "check 'col2im': missing failures"),
    (lambda d: d["checks"][0].update(passed=1.5), "check 'col2im': passed has the wrong type"),
    (lambda d: d["checks"][0].update(passed=2), "check 'col2im': its score and status"),
    (lambda d: d["checks"][0].update(status="PASS"), "check 'col2im': its score and status"),
    (lambda d: d["checks"][0].update(needs=[1]), "check 'col2im': needs must list check names"),
    (lambda d: d["checks"][0]["failures"][0].pop("kind"), "check 'col2im': a failure must have exactly"),
    (lambda d: d["checks"][1]["failures"][0].update(blame="padding_crop"), "check 'dx': a failure's fields"),
    (lambda d: d["checks"][1]["blocked"][0].update(case=3), "check 'dx': a failure's fields"),
])
def test_a_malformed_record_is_refused_with_what_is_wrong(change, says):
    data = as_data(record())
    change(data)
    assert says in refusal(data)


def test_reading_a_folder_without_a_record_names_the_file(tmp_path):
    with pytest.raises(GradeRecordError, match=f"{GRADE_FILE}: cannot be read"):
        GradeReport.read(tmp_path)
    (tmp_path / GRADE_FILE).write_text(json.dumps(dict(as_data(record()), version=99)))
    with pytest.raises(GradeRecordError, match=f"{GRADE_FILE}: a grade record of version 99"):
        GradeReport.read(tmp_path)


# --- the record is the only record -----------------------------------------------------------------

def results_json_read_back(source):
    """[line] of every json.load / json.loads whose statement (or enclosing `with`) names results.json,
    and of every call naming results.json to a function of the module that holds such a call."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    names = lambda node: ast.get_source_segment(source, node) or ""          # noqa: E731
    found, readers = [], set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("load", "loads") and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "json"):
            continue
        statement = node
        while not isinstance(statement, ast.stmt):
            statement = parents[statement]
        around, parent = [names(statement)], statement
        while parent in parents:           # the files the enclosing `with` statements open; the reading function
            parent = parents[parent]
            if isinstance(parent, ast.With):
                around += [names(item.context_expr) for item in parent.items]
            if isinstance(parent, ast.FunctionDef):
                readers.add(parent.name)
        if any("results.json" in text for text in around):
            found.append(node.lineno)
    found += [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in readers and any("results.json" in names(a) for a in node.args)]
    return sorted(found)


def test_the_detector_finds_a_results_json_read_back():
    assert results_json_read_back('import json\nx = json.loads((out / "results.json").read_text())\n') == [2]
    assert results_json_read_back('import json\nwith open(p / "results.json") as f:\n    x = json.load(f)\n') == [3]
    assert results_json_read_back('import json\ndef read(p):\n    return json.loads(p.read_text())\n'
                                  'x = read(out / "results.json")\n') == [4]
    assert results_json_read_back('import json\nx = json.loads(text)\nname = "results.json"\n') == []


def test_no_module_of_the_grader_parses_a_results_json_back():
    """results.json is a rendering of the grade record (grade.json); nothing under autograder/ reads it
    back as data (the tests double-check renderings; they are not under autograder/)."""
    offenders = {str(path.relative_to(AUTOGRADER)): lines for path in sorted(AUTOGRADER.rglob("*.py"))
                 if (lines := results_json_read_back(path.read_text(encoding="utf-8")))}
    assert offenders == {}
