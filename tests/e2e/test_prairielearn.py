"""PrairieLearn: `make prairielearn`'s folder, the renderer, and the entrypoint in PrairieLearn's layout.

Tested here without Docker, as the Gradescope package is: the built folder is laid out as a
grading job's /grade (serverFilesCourse/<kit>, tests/, student/) under a temp folder, and
the question's tests/run_grader runs under ``tests/without_userns.py`` (a default Docker
container's refusal of user namespaces), so the grader must pick the chroot level. Each
results.json is checked against PrairieLearn's schema and its 1 MB limit.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.failures import Failure
from autograder.results import PL_LIMIT_BYTES, CheckOutcome, GradeReport
from autograder.staff import packaging, prairielearn
from autograder.staff.catalogue import load_catalogue
from helpers import CONV_LAB, REPO, hang_guard

CONFIG = CONV_LAB.config
CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
WITHOUT_USERNS = [sys.executable, str(REPO / "tests" / "without_userns.py")]
COL2IM_VALUES = {"col2im_overlap_sum", "col2im_adjoint", "col2im_channel_order", "col2im_uncovered_zero"}
TITLES = {spec.title: name for name, spec in CONFIG.checks.items()}
TEST_KEYS = {"name", "points", "max_points", "message", "output"}


def assert_prairielearn_schema(results, raw):
    """PrairieLearn's results.json: under 1 MB; gradable with a 0-1 score and tests whose points add
    up, or not gradable with format_errors; student text without control characters."""
    assert len(raw) < PL_LIMIT_BYTES, len(raw)
    assert isinstance(results["gradable"], bool)
    assert isinstance(results["score"], (int, float)) and 0 <= results["score"] <= 1
    assert isinstance(results["tests"], list)
    if not results["gradable"]:
        assert results["format_errors"] and all(isinstance(e, str) and e for e in results["format_errors"])
        assert results["score"] == 0 and results["tests"] == []
        return
    assert isinstance(results["message"], str) and isinstance(results["output"], str)
    for test in results["tests"]:
        assert TEST_KEYS <= set(test), test
        assert all(isinstance(test[k], str) for k in ("name", "message", "output"))
        assert 0 <= test["points"] <= test["max_points"]
    total = sum(t["max_points"] for t in results["tests"])
    assert abs(results["score"] * total - sum(t["points"] for t in results["tests"])) < 0.05
    texts = [results["message"], results["output"], *(t[k] for t in results["tests"] for k in ("message", "output"))]
    assert not any(ch in text for text in texts for ch in "\x1b\x00\x07")


# ------------------------------------------------------------------ the renderer (no sandbox)

def _report(status="graded", text_size=0):
    """A report whose every student-reachable text is text_size characters (non-ASCII: 6 bytes each in JSON)."""
    big = "\u2603\x1b[2J" * (text_size // 5)
    problem, detail = f"wrong {big}", f"map {big}"
    checks = []
    for name, spec in CONFIG.checks.items():
        failures = [Failure(case=f"case {i}", problem=problem, detail=detail, function="col2im",
                            kind="exception" if i == 0 else "wrong") for i in range(8)]
        checks.append(replace(CheckOutcome.from_spec(name, spec), total=10, passed=3, failures=failures))
    return GradeReport(status=status, message=f"Graded. {big}", checks=checks, max_score=CONFIG.max_score,
                       student_output=big, extra={"isolation": "chroot", "traceback": "staff only"})


def test_the_renderer_fits_prairielearns_schema_and_1_mb_whatever_the_student_wrote():
    for size in (0, 10_000, 1_000_000):
        results = _report(text_size=size).to_prairielearn()
        raw = json.dumps(results)
        assert_prairielearn_schema(results, raw)
        assert results["gradable"] and len(results["tests"]) == len(CONFIG.checks)
        assert "Start here" in results["message"] and "traceback" not in results["extra_data"]
    assert "more characters cut" in results["message"]
    assert "characters while it was graded" in results["output"] and "\u2603" not in results["output"]


def test_an_invalid_submission_or_a_grader_problem_is_not_gradable_with_format_errors():
    for status in ("invalid", "error"):
        results = _report(status=status, text_size=1_000_000).to_prairielearn()
        assert_prairielearn_schema(results, json.dumps(results))
        assert not results["gradable"] and results["format_errors"][0].startswith("Graded.")


# ------------------------------------------------------------------ the built folder

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("pl") / "prairielearn"
    prairielearn.build(CONV_LAB, out, image="example.org/course/convkit-grader:1")
    return out


def _tree(root):
    """Every file and folder under root: relative path -> (mode, mtime, bytes or None)."""
    tree = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        tree[path.relative_to(root).as_posix()] = (stat.S_IMODE(st.st_mode), st.st_mtime,
                                                   path.read_bytes() if path.is_file() else None)
    return tree


def test_make_prairielearn_is_deterministic(built, tmp_path):
    again = prairielearn.build(CONV_LAB, tmp_path / "again", image="example.org/course/convkit-grader:1")
    assert again and _tree(built) == _tree(tmp_path / "again")
    assert {mtime for _, mtime, _ in _tree(built).values()} == {prairielearn.FIXED_MTIME}
    prairielearn.build(CONV_LAB, tmp_path / "again", image="example.org/course/convkit-grader:1")     # replaces its own build
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(packaging.PackagingError):
        prairielearn.build(CONV_LAB, tmp_path / "mine")                                                 # never another folder
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_server_files_are_the_gradescope_manifest_without_reference_or_seed(built):
    kit = built / "course" / "serverFilesCourse" / "convkit_conv2d"
    names = {p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file()}
    gradescope = set(packaging.gradescope_files(CONV_LAB)) - {"setup.sh", "run_autograder", "requirements-grader.txt"}
    assert names == gradescope
    everything = [p for p in built.rglob("*") if p.is_file()]
    relative = [p.relative_to(built) for p in everything]
    assert not any({"reference", "staff", "secrets", "gradescope"} & set(r.parts) for r in relative)
    assert not any(r.name in ("fixture_builder.py", CONFIG.hidden_seed_path.name) for r in relative)
    assert any(r.parts[-3:-1] == ("fixtures", "hidden") for r in relative)
    seed = CONFIG.fixture_seed("hidden")
    assert seed is not None, "the kit's tests need the staff's hidden seed (make fixtures)"
    assert not any(s in p.read_bytes() for p in everything for s in packaging.seed_spellings(seed))


def test_the_image_context_holds_the_pins_and_the_engine_only(built):
    image = built / "image"
    names = {p.relative_to(image).as_posix() for p in image.rglob("*") if p.is_file()}
    assert names == {"Dockerfile", "requirements-grader.txt"} | set(packaging.engine_files())
    pins = (image / "requirements-grader.txt").read_text()
    assert pins == (REPO / "autograder" / "gradescope" / "requirements-grader.txt").read_text()
    requirements = [line.split("#")[0].strip() for line in pins.splitlines() if line.split("#")[0].strip()]
    assert requirements and all("==" in r and "/" not in r and ":" not in r for r in requirements)
    repo_pins = {line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()}
    assert set(requirements) <= repo_pins
    dockerfile = (image / "Dockerfile").read_text()
    froms = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert froms == ["FROM python:3.11-slim-bookworm"]
    assert "pip install --no-deps -r /opt/convkit-image/requirements-grader.txt" in dockerfile
    assert "bubblewrap libseccomp2" in dockerfile and "python3 -m autograder.runtime" in dockerfile


def test_the_question_enables_external_grading_and_uploads_the_lab_file(built):
    question = built / "course" / "questions" / "conv2d"
    info = json.loads((question / "info.json").read_text())
    options = info["externalGradingOptions"]
    assert info["gradingMethod"] == "External" and info["type"] == "v3"
    assert options == {"enabled": True, "image": "example.org/course/convkit-grader:1",
                       "serverFilesCourse": ["convkit_conv2d/"], "entrypoint": "/grade/tests/run_grader",
                       "timeout": prairielearn.timeout_s(CONV_LAB)}
    assert CONFIG.limits.total_cpu_s < options["timeout"] <= 600
    page = (question / "question.html").read_text()
    assert '<pl-file-upload file-names="conv2d.py">' in page and "<pl-external-grader-results>" in page
    assert "col2im(X_col, C, H, W, kH, kW, stride=1)" in page and "Conv2d.backward(self, dY)" in page
    assert "{{" not in page
    entry = question / "tests" / "run_grader"
    text = entry.read_text()
    assert entry.stat().st_mode & 0o111 and "@KIT_DIR@" not in text and "@DEADLINE_S@" not in text
    assert 'KIT="$ROOT/serverFilesCourse/convkit_conv2d"' in text


# ------------------------------------------------------------------ the entrypoint, in /grade

# 12 MB of non-ASCII text (6 bytes each once escaped in JSON) at import: the sandbox stops reading past
# its output_read_mb, so the import fails and every check with it; the feedback says how much it printed, not what.
FLOOD = '''
import sys as _sys
for _ in range(400):
    print("\\u2603" * 10_000, file=_sys.stderr if _ % 2 else _sys.stdout)
'''
# An otherwise correct col2im that raises a 2-million-character message on every call.
HUGE_ERRORS = ("def col2im(X_col, C, H, W, kH, kW, stride=1):",
               "def col2im(X_col, C, H, W, kH, kW, stride=1):\n    raise ValueError('\\u2603' * 2_000_000)")


def _job(built, root, source):
    """/grade as PrairieLearn lays it out for one submission (source None: no file submitted)."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(built / "course" / "serverFilesCourse", root / "serverFilesCourse")
    shutil.copytree(built / "course" / "questions" / "conv2d" / "tests", root / "tests")
    (root / "student").mkdir()
    (root / "data").mkdir()
    (root / "data" / "data.json").write_text("{}")
    if source is not None:
        (root / "student" / "conv2d.py").write_text(source)


def run_job(root, timeout=hang_guard(60)):
    env = dict(os.environ, CONVKIT_GRADE_ROOT=str(root), CONVKIT_PYTHON=sys.executable)
    done = subprocess.run(WITHOUT_USERNS + ["bash", str(root / "tests" / "run_grader")], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    raw = (root / "results" / "results.json").read_text()
    results = json.loads(raw)
    assert_prairielearn_schema(results, raw)
    return results, done


def _failed(results):
    return {TITLES[t["name"]] for t in results["tests"] if t["points"] < t["max_points"]}


@pytest.mark.skipif(os.geteuid() != 0, reason="PrairieLearn's containers run the entrypoint as root")
def test_the_entrypoint_grades_in_prairielearns_layout_at_the_chroot_level(built, tmp_path):
    root = tmp_path / "grade"
    correct = CATALOGUE["correct/lecture_loops"].source
    bug = CATALOGUE["bug/overwrite_overlaps"]
    assert HUGE_ERRORS[0] in correct and "def col2im(" in correct
    cases = {
        "correct": (correct, "full", set()),
        "bug": (bug.source, "partial", set(bug.fails)),
        "forge_results_json": (CATALOGUE["hostile/forge_results_json"].source, "partial", COL2IM_VALUES),
        "flood": (FLOOD + correct, "partial", {name for name, spec in CONFIG.checks.items() if spec.points}),
        "huge_errors": (correct.replace(*HUGE_ERRORS), "partial", COL2IM_VALUES),
        "syntax_error": (correct.replace("def col2im(", "def col2im((", 1), "invalid", None),
        "missing_file": (None, "invalid", None),
    }
    for label, (source, expected, must_fail) in cases.items():
        _job(built, root, source)
        results, done = run_job(root)
        where = f"{label}: {results.get('message', results.get('format_errors'))!s:.1500}"
        if expected == "invalid":
            assert not results["gradable"] and results["format_errors"], where
            continue
        assert results["gradable"] and results["extra_data"]["isolation"] == "chroot", where
        assert len(results["tests"]) == len(CONFIG.checks), where
        if expected == "full":
            assert results["score"] == 1.0, (where, _failed(results))
        else:
            assert 0 <= results["score"] < 1 and must_fail <= _failed(results), (where, must_fail - _failed(results))
            assert "Start here" in results["message"], where
        if label == "flood":
            # the prints ran on the secret inputs: their size is told, never their text
            assert "characters while it was graded" in results["output"] and "\u2603" not in json.dumps(results)
            assert results["extra_data"].get("import_failed"), where
        if label == "forge_results_json":         # ours, whole: not the forged {"score": 100.0, ...}
            assert results["extra_data"]["grader_version"] and results["score"] <= 1
    assert (root / "results").is_dir()


def test_run_grader_writes_a_not_gradable_result_when_the_grader_cannot_start(built, tmp_path):
    root = tmp_path / "grade"
    _job(built, root, CATALOGUE["correct/lecture_loops"].source)
    shutil.rmtree(root / "serverFilesCourse")
    env = dict(os.environ, CONVKIT_GRADE_ROOT=str(root), CONVKIT_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(root / "tests" / "run_grader")], env=env, capture_output=True, text=True,
                          timeout=hang_guard(10))
    assert done.returncode == 0
    raw = (root / "results" / "results.json").read_text()
    results = json.loads(raw)
    assert_prairielearn_schema(results, raw)
    assert not results["gradable"] and "could not run" in results["format_errors"][0]
