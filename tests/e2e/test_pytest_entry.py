"""The pytest entry (autograder/pytest_plugin.py): `python -m pytest -p autograder.pytest_plugin
--submission FILE assignment/checks` runs a lab's checks, in a pytest of its own, with the same
per-case verdicts as grading's fast runner (autograder.runner, through grading.grade_submission):
on a sample of the catalogue, the template, the public set and the Linear lab. pytest does not
attribute, so a check's failed cases are compared with the runner's own and blocked ones together;
the grader's attribution and score, printed at the session's end, are compared too."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from autograder.grading import GradingOptions, grade_submission, load_fixtures_for
from autograder.lab_loader import load_lab
from autograder.staff.catalogue import load_catalogue, write_zip
from helpers import CONV_LAB, REPO, TEMPLATE, hang_guard

LINEAR = REPO / "examples" / "linear_lab"
SAMPLE = ["correct/lecture_loops", "bug/overwrite_overlaps", "bug/dX_float64_for_float32", "bug/mean_over_batch",
          "template"]
ENTRY = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider"]
SCORE = re.compile(r"^score (\S+) / (\S+) on the (\w+) fixtures", re.M)


def run_entry(args, tmp_path):
    """pytest on the checks in a child process, from the kit's root as a TA runs it; (process, junit xml path)."""
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_CONFIG", "PYTHONPATH", "PYTEST_ADDOPTS")}
    xml = tmp_path / "junit.xml"
    proc = subprocess.run(ENTRY + [f"--junitxml={xml}", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=hang_guard(30))
    return proc, xml


def entry_verdicts(xml, lab, fixture_set):
    """{check: (cases passed, sorted [(failed case's description, failure headline)])} from pytest's junit
    xml, and the names of the checks pytest skipped."""
    checks = {(function.__module__, function.__name__): name for name, function, _, _ in lab.check_functions}
    cases = {case.id: case for case in fixture_set.cases}
    verdicts, skipped = {}, set()
    for testcase in ET.parse(xml).iter("testcase"):
        function, _, case_id = testcase.get("name").partition("[")
        name = checks[testcase.get("classname"), function]
        outcome = [child for child in testcase if child.tag in ("failure", "error", "skipped")]
        assert all(child.tag != "error" for child in outcome), ET.tostring(testcase, encoding="unicode")
        if any(child.tag == "skipped" for child in outcome):
            skipped.add(name)
            continue
        passed, failed = verdicts.setdefault(name, (0, []))
        if outcome:
            failed.append((cases[case_id.rstrip("]")].describe() if case_id else "", outcome[0].get("message")))
        else:
            verdicts[name] = (passed + 1, failed)
    return {name: (passed, sorted(failed)) for name, (passed, failed) in verdicts.items()}, skipped


def runner_verdicts(report):
    return {c.name: (c.passed, sorted((f.case, f.headline()) for f in c.failures + c.blocked)) for c in report.checks}


def assert_same_verdicts(proc, xml, lab, fixture_set, report):
    output = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert report.status == "graded", report.message
    assert proc.returncode == (0 if report.score == report.max_score else 1), output
    verdicts, skipped = entry_verdicts(xml, lab, fixture_set)
    assert verdicts == runner_verdicts(report)
    assert skipped == set(lab.config.checks) - set(verdicts)          # the checks the grader did not run
    # the grader's view at the session's end: its attribution, the same score
    assert SCORE.findall(proc.stdout) == [(f"{report.score:g}", f"{report.max_score:g}", fixture_set_name(report))]
    for check in report.checks:
        line = next(line for line in proc.stdout.splitlines() if line.startswith(check.name + " "))
        assert f" {check.passed}/{check.total} passed" in line, line
        assert (f", {len(check.blocked)} blocked by " in line) == bool(check.blocked), line


def fixture_set_name(report):
    return report.extra["fixture_set"]


@pytest.fixture(scope="module")
def conv(tmp_path_factory):
    """The sample as zips, the conv lab and its hidden fixture set."""
    folder = tmp_path_factory.mktemp("entry")
    entries, _ = load_catalogue(lab=CONV_LAB)
    submissions = {key: write_zip(entries[key], folder / f"{key.replace('/', '__')}.zip", lab=CONV_LAB)
                   for key in SAMPLE if key != "template"}
    submissions["template"] = TEMPLATE
    lab = CONV_LAB
    return submissions, lab, load_fixtures_for(lab, GradingOptions())


@pytest.mark.parametrize("key", SAMPLE)
def test_pytest_gives_each_case_the_fast_runners_verdict(conv, key, tmp_path):
    submissions, lab, hidden = conv
    report = grade_submission(CONV_LAB, submissions[key], tmp_path / "graded")
    proc, xml = run_entry(["--submission", str(submissions[key]), "assignment/checks"], tmp_path)
    assert_same_verdicts(proc, xml, lab, hidden, report)
    if key.startswith("bug/"):                 # the failure's text, not a traceback through the grader
        assert "likely bug:" in xml.read_text(encoding="utf-8") and "Traceback" not in proc.stdout


def test_the_public_set_runs_the_public_checks_as_grade_public_does(conv, tmp_path):
    submissions, lab, _ = conv
    options = GradingOptions(which="public", public_only=True)
    report = grade_submission(CONV_LAB, submissions["bug/overwrite_overlaps"], tmp_path / "graded", options)
    proc, xml = run_entry(["--submission", str(submissions["bug/overwrite_overlaps"]), "--fixture-set", "public",
                           "assignment/checks"], tmp_path)
    assert_same_verdicts(proc, xml, lab, load_fixtures_for(lab, options), report)
    assert "is not public: the grader runs it on the hidden fixture set only" in proc.stdout


def test_the_linear_lab(tmp_path):
    config = LINEAR / "config.toml"
    if not (REPO / "build" / "fixtures" / "linear_lab" / "hidden" / "manifest.json").is_file():
        built = subprocess.run([sys.executable, "-m", "autograder", "--config", str(config), "fixtures"], cwd=REPO,
                               capture_output=True, text=True, timeout=hang_guard(60))
        assert built.returncode == 0, built.stderr
    lab = load_lab(config)
    options = GradingOptions()
    buggy = LINEAR / "solutions" / "buggy.py"
    report = grade_submission(lab, buggy, tmp_path / "graded", options)
    assert 0 < report.score < report.max_score
    proc, xml = run_entry([f"--config={config.relative_to(REPO)}", "--submission", str(buggy),
                           "examples/linear_lab/checks"], tmp_path)
    assert_same_verdicts(proc, xml, lab, load_fixtures_for(lab, options), report)


def test_what_the_entry_refuses_and_when_it_gives_no_score(conv, tmp_path):
    submissions, _, _ = conv
    proc, _ = run_entry(["assignment/checks"], tmp_path)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR and "--submission FILE" in proc.stderr
    broken = tmp_path / "conv2d.py"
    broken.write_text("def col2im(:\n", encoding="utf-8")
    proc, _ = run_entry(["--submission", str(broken), "assignment/checks"], tmp_path)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR and "cannot be graded" in proc.stderr
    proc, _ = run_entry(["--submission", str(LINEAR / "solutions" / "buggy.py"), "examples/linear_lab/checks"],
                        tmp_path)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert "pass --config=" in proc.stderr and "linear_lab/config.toml" in proc.stderr
    # -k runs some cases: each has its verdict, but blocked cases and the score need every case
    proc, xml = run_entry(["--submission", str(submissions["bug/mean_over_batch"]), "-k", "batch_sum",
                           "assignment/checks"], tmp_path)
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED and "not computed:" in proc.stdout
    assert not SCORE.search(proc.stdout)
    assert {t.get("name").partition("[")[0] for t in ET.parse(xml).iter("testcase")} == {"test_batch_sum"}
