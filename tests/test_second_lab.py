"""A second lab (examples/linear_lab) graded, batched and packaged by the engine with nothing but
its own folder: the proof that autograder/ holds no name of the conv2d lab."""

import csv
import json
import shutil
import sys
import zipfile

import pytest

from helpers import REPO, assert_lab_package, build_lab_fixtures, hang_guard, run_kit

LAB = REPO / "examples" / "linear_lab"
KIT = [sys.executable, "-m", "autograder", "--config", str(LAB / "config.toml")]
CORRECT = LAB / "reference" / "linear.py"    # the staff solution, graded as a submission
SOLUTIONS = LAB / "solutions"


def run(args, cwd=REPO, timeout=hang_guard(60)):
    return run_kit(args, cwd, timeout)


@pytest.fixture(scope="module")
def fixtures():
    """The lab's hidden and public sets, in its own [fixtures] folder (build/fixtures/linear_lab)."""
    return build_lab_fixtures(KIT, LAB / "config.toml", 5)


def grade(path, out):
    result = run(KIT + ["grade", str(path), "--out", str(out)])
    return result, json.loads((out / "results.json").read_text())


def test_grade_full_marks_for_correct_less_for_the_bug_zero_for_the_template(fixtures, tmp_path):
    target = tmp_path / "linear.py"                          # named as the lab's config says
    shutil.copy(CORRECT, target)
    result, correct = grade(target, tmp_path / "correct")
    assert result.returncode == 0 and correct["score"] == 10, result.stdout + result.stderr
    assert {t["extra_data"]["check"] for t in correct["tests"]} == {"backward_dx", "backward_dw"}

    shutil.copy(SOLUTIONS / "buggy.py", target)
    _, buggy = grade(target, tmp_path / "buggy")
    by_check = {t["extra_data"]["check"]: t for t in buggy["tests"]}
    assert by_check["backward_dx"]["score"] == 5 and by_check["backward_dw"]["score"] == 0
    # the lab's own vocabulary names the bug (BUG_VARIANTS), its describe_case the case
    assert "likely bug: dW was averaged over the batch instead of summed" in by_check["backward_dw"]["output"]
    assert "[N=4 D_in=3 D_out=2 float64]" in by_check["backward_dw"]["output"]

    _, template = grade(LAB / "template" / "linear.py", tmp_path / "template")
    assert template["score"] == 0 and "NotImplementedError" in json.dumps(template)


def test_each_check_grades_the_cases_it_declares(fixtures):
    """@check(..., cases=...) beside the check picks its cases; the builder lists none."""
    sys.path.insert(0, str(REPO))
    from autograder.lab import load_lab
    from autograder.fixtures import load_fixture_set
    lab = load_lab(LAB / "config.toml")
    hidden = load_fixture_set(fixtures / "hidden", lab.config.hidden_seed, lab=lab)
    listed = json.loads((fixtures / "hidden" / "cases.json").read_text())["cases"]
    assert all(case["checks"] == [] for case in listed)            # the builder lists none ...
    assert len(hidden.cases) == 8
    assert all(case.checks for case in hidden.cases)                # ... so loading asks the selectors
    from autograder.checks import declared_check
    from examples.linear_lab.checks import check_linear
    dw_select = declared_check(check_linear.test_backward_dw).cases
    assert [c.params["N"] for c in hidden.cases if dw_select(c)] == [4, 4, 5, 5, 3, 3]
    assert hidden.for_check("backward_dw") == [c for c in hidden.cases if dw_select(c)]


def test_batch_grades_a_folder_of_the_second_lab(fixtures, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(CORRECT, subs / "alice.py")
    shutil.copy(SOLUTIONS / "buggy.py", subs / "bob.py")
    with zipfile.ZipFile(subs / "carol.zip", "w") as zf:
        zf.write(CORRECT, "hw/linear.py")
    out = tmp_path / "out"
    result = run(KIT + ["batch", str(subs), "--out", str(out), "--jobs", "2"])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with open(out / "grades.csv", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    assert {k: (r["status"], float(r["score"])) for k, r in rows.items()} == \
        {"alice": ("graded", 10.0), "bob": ("graded", 5.0), "carol": ("graded", 10.0)}


def test_gradescope_package_holds_only_the_engine_this_lab_and_its_hidden_set(fixtures, tmp_path):
    assert_lab_package(KIT, "linear_lab", ("__init__.py", "lab.py", "config.toml", "checks/__init__.py",
                                           "checks/check_linear.py"),
                       fixtures, dest := tmp_path / "autograder.zip")
    # Unpacked elsewhere, with no kit around it, the packaged grader grades this lab.
    kit = tmp_path / "unpacked"
    zipfile.ZipFile(dest).extractall(kit)
    shutil.copy(SOLUTIONS / "buggy.py", tmp_path / "linear.py")
    result = run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "linear.py"),
                  "--out", str(tmp_path / "graded")], cwd=kit)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "graded" / "results.json").read_text())["score"] == 5


def test_verify_grades_the_labs_own_catalogue(fixtures):
    """`verify` reads the catalogue this lab's config.toml names, not the conv lab's assignment/catalogue."""
    result = run(KIT + ["verify"], timeout=hang_guard(120))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bug/dW_mean" in result.stdout and "col2im" not in result.stdout
