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


def make(*args, timeout=60):
    """`make ARGS` in the kit's folder (a LAB= among them names the lab)."""
    import subprocess
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=hang_guard(timeout))


CONFIG = (LAB / "config.toml").relative_to(REPO)      # as LAB= takes it


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
    from autograder.lab_loader import load_lab
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
    assert_lab_package(KIT, "linear_lab", ("__init__.py", "interface.py", "config.toml", "checks/__init__.py",
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


def test_batch_examples_grades_the_labs_own_examples(fixtures, tmp_path):
    """`batch --examples` grades the examples of this lab's catalogue (catalogue.toml's `examples`)."""
    out = tmp_path / "out"
    result = run(KIT + ["batch", "--examples", "--out", str(out), "--jobs", "1"])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with open(out / "grades.csv", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    assert {k: (r["status"], float(r["score"])) for k, r in rows.items()} == {"bug__dW_mean": ("graded", 5.0)}


@pytest.fixture(scope="module")
def handout(fixtures, tmp_path_factory):
    """This lab's handout.zip, unpacked in a folder with no kit around it."""
    dest = tmp_path_factory.mktemp("handout")
    result = run(KIT + ["package", "handout", "--out", str(dest / "handout.zip")])
    assert result.returncode == 0, result.stdout + result.stderr
    names = set(zipfile.ZipFile(dest / "handout.zip").namelist())
    assert {"linear.py", "README.md", "LAB"} <= names
    assert {n for n in names if n.startswith("build/")} == \
        {f"build/fixtures/linear_lab/public/{p.name}" for p in (fixtures / "public").iterdir()}
    assert not any(n.startswith(("assignment/", "reference/", "student_template/", "autograder/staff/"))
                   or "/reference/" in n or "catalogue" in n or "secrets" in n for n in names), names
    folder = dest / "unpacked"
    zipfile.ZipFile(dest / "handout.zip").extractall(folder)
    return folder


def test_check_and_submit_in_the_handout(handout, tmp_path):
    """The students' `check` runs this lab's public checks; `submit` refuses the unfinished template
    and zips a finished linear.py."""
    student = KIT[:3]                            # the handout's own LAB file names the lab
    check = run(student + ["check", "linear.py"], cwd=handout)
    assert "Public checks on" in check.stdout and "backward returns dX = dY @ W" in check.stdout, \
        check.stdout + check.stderr
    assert "backward_dw" not in check.stdout and "dW summed" not in check.stdout     # not public
    refused = run(student + ["submit", "linear.py"], cwd=handout)
    assert refused.returncode != 0 and not (handout / "submission.zip").exists(), refused.stdout
    shutil.copy(CORRECT, handout / "linear.py")
    submit = run(student + ["submit", "linear.py"], cwd=handout)
    assert submit.returncode == 0, submit.stdout + submit.stderr
    assert zipfile.ZipFile(handout / "submission.zip").namelist() == ["linear.py"]


def test_the_notebooks_calls_in_the_handout(handout):
    """What a notebook calls (autograder.notebook) grades this lab's file and zips it."""
    shutil.copy(CORRECT, handout / "linear.py")
    (handout / "submission.zip").unlink(missing_ok=True)
    code = ("from autograder.cli import lab_config_path\nfrom autograder.lab_loader import load_lab\n"
            "from autograder.notebook import build_submission, public_checks\n"
            "lab = load_lab(lab_config_path())\n"            # as a notebook's set-up cell: the LAB file names it
            "print('statuses', public_checks(lab))\nprint('zip', build_submission(lab))\n")
    result = run(KIT[:1] + ["-c", code], cwd=handout)
    assert "statuses {'backward_dx': 'PASS'}" in result.stdout, result.stdout + result.stderr
    assert (handout / "submission.zip").is_file(), result.stdout + result.stderr


def test_otter_package_of_this_lab(fixtures, tmp_path):
    """`package otter`: one otter test per check of this lab, grading with this lab's config, and a
    zip holding this lab's grader and hidden set, no other lab's."""
    pytest.importorskip("otter")
    out = tmp_path / "otter"
    result = run(KIT + ["package", "otter", "--out", str(out)], timeout=hang_guard(300))
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (out / "tests").glob("*.py")) == ["backward_dw.py", "backward_dx.py"]
    assert sorted(p.name for p in (out / "public-tests").glob("*.py")) == ["backward_dx.py"]
    assert "'examples/linear_lab/config.toml'" in (out / "tests" / "backward_dx.py").read_text()
    with zipfile.ZipFile(out / "autograder.zip") as zf:
        names = set(zf.namelist())
        assert zf.read("LAB") == b"examples/linear_lab/config.toml\n"
    assert "examples/linear_lab/checks/check_linear.py" in names
    assert not any(n.startswith(("assignment/", "reference/")) or "/reference/" in n or "catalogue" in n
                   for n in names), names


def test_prairielearn_package_of_this_lab(fixtures, tmp_path):
    """`package prairielearn`: this lab's question (named by its submission file) and grader, its LAB
    file, the image that --image names; no other lab's parts."""
    out = tmp_path / "pl"
    result = run(KIT + ["package", "prairielearn", "--out", str(out), "--image", "example.org/linear:1"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (out / "course" / "questions").iterdir()) == ["linear"]
    info = json.loads((out / "course" / "questions" / "linear" / "info.json").read_text())
    assert info["externalGradingOptions"]["image"] == "example.org/linear:1"
    kit = out / "course" / "serverFilesCourse" / "convkit_linear"
    assert (kit / "LAB").read_text() == "examples/linear_lab/config.toml\n"
    assert (kit / "examples" / "linear_lab" / "checks" / "check_linear.py").is_file()
    assert not (kit / "assignment").exists() and not (kit / "examples" / "linear_lab" / "reference").exists()


def test_a_lab_outside_the_kit(tmp_path):
    """A copy of this lab in a folder outside the kit, under its own package name, with the
    default fixture folder (beside its config.toml): fixtures, verify and grade through --config."""
    lab = tmp_path / "elsewhere" / "outside_lab"
    shutil.copytree(LAB, lab, ignore=shutil.ignore_patterns("__pycache__", "secrets"))
    for path in [*lab.rglob("*.py"), lab / "config.toml"]:
        path.write_text(path.read_text().replace("examples.linear_lab", "outside_lab"))
    config = lab / "config.toml"
    text = config.read_text()
    assert 'folder = "../../build/fixtures/linear_lab"' in text
    config.write_text(text.replace('folder = "../../build/fixtures/linear_lab"\n', ""))
    kit = [sys.executable, "-m", "autograder", "--config", str(config)]

    built = run(kit + ["fixtures"])
    assert built.returncode == 0, built.stdout + built.stderr
    assert (lab / "build" / "fixtures" / "hidden" / "manifest.json").is_file()
    assert (lab / "secrets" / "hidden_seed").is_file()                 # drawn for this lab, beside it
    verified = run(kit + ["verify"], timeout=hang_guard(120))
    assert verified.returncode == 0 and "bug/dW_mean" in verified.stdout, verified.stdout + verified.stderr
    shutil.copy(SOLUTIONS / "buggy.py", tmp_path / "linear.py")
    graded = run(kit + ["grade", str(tmp_path / "linear.py"), "--out", str(tmp_path / "graded")])
    assert graded.returncode == 0, graded.stdout + graded.stderr
    results = json.loads((tmp_path / "graded" / "results.json").read_text())
    assert results["score"] == 5 and "dW was averaged over the batch" in json.dumps(results)


def test_make_takes_the_lab(fixtures):
    """`make verify LAB=<its config.toml>` runs the kit on this lab: its fixture set (read from its
    config by autograder/staff/make_paths.py), its catalogue; a LAB that is no file is refused by name."""
    import subprocess
    done = make("verify", f"LAB={CONFIG}", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f'--config "{CONFIG}" verify' in done.stdout
    assert "bug/dW_mean" in done.stdout and "every example as expected" in done.stdout
    paths = subprocess.run([sys.executable, "-m", "autograder.staff.make_paths", str(CONFIG)], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    assert paths[0] == "build/fixtures/linear_lab/hidden/manifest.json"
    assert paths[1] == "examples/linear_lab/secrets/hidden_seed"
    wrong = make("verify", "LAB=examples/nope/config.toml")
    assert wrong.returncode != 0 and "LAB=examples/nope/config.toml is not a file" in wrong.stderr


# What each target runs, read from `make -n` (nothing is run): every command of the kit names this lab.
LAB_TARGETS = ("grade", "autograder", "handout", "otter", "prairielearn", "verify", "fixtures")
CONV_ONLY_TARGETS = ("mutants", "bench")        # studies of the conv lab (tools/mutants.py, bench/)


@pytest.mark.parametrize("target", LAB_TARGETS)
def test_every_make_target_runs_the_kit_on_the_lab_LAB_names(fixtures, target):
    """`make prairielearn LAB=...` once built the conv lab's question whatever LAB said."""
    done = make("-n", target, f"LAB={CONFIG}")
    assert done.returncode == 0, done.stdout + done.stderr
    kit_lines = [line for line in done.stdout.splitlines() if " -m autograder" in line
                 and " -m autograder." not in line]
    assert kit_lines, done.stdout
    assert all(f'--config "{CONFIG}"' in line for line in kit_lines), done.stdout


@pytest.mark.parametrize("target", CONV_ONLY_TARGETS)
def test_conv_lab_studies_refuse_another_lab(target):
    """Mutation testing and the benchmarks are written for the conv lab: with another LAB they stop
    before doing anything, saying so (they once ran on the conv lab whatever LAB said)."""
    done = make(target, f"LAB={CONFIG}")
    assert done.returncode != 0
    assert f"make {target} studies the conv lab (assignment/config.toml) only" in done.stderr, done.stderr
    assert "pytest" not in done.stdout and "mutants.py" not in done.stdout and "bench/run.py" not in done.stdout
