"""The grader end to end: full marks for the reference, zero for the template, bugs caught."""

import ast
import json
import shutil
import subprocess
import sys
import tomllib

import numpy as np
import pytest

from assignment.fixture_builder import build_fixture_set
from autograder.seeds import seed_digest
from autograder.staff.catalogue import catalogue_dir, correct_solution, load_catalogue, write_zip
from helpers import BUGS, CONV_LAB, REPO, TEMPLATE, assert_gradescope_schema, grade, hang_guard

CONFIG = CONV_LAB.config
CATALOGUE, EXAMPLES = load_catalogue(lab=CONV_LAB)


def failed_checks(report):
    return {c.name for c in report.checks if c.passed < c.total}


@pytest.mark.parametrize("which", ["hidden", "public"])
def test_reference_earns_full_marks(tmp_path, which):
    report, results = grade(REPO / "reference" / "conv2d.py", tmp_path, which=which, public_only=which == "public")
    assert report.status == "graded" and report.score == report.max_score, report.to_markdown()
    assert results["extra_data"]["fixture_set_hash"] and results["extra_data"]["isolation"]
    if which == "hidden":
        assert report.max_score == CONFIG.max_score == 100


def test_untouched_template_earns_zero_with_not_implemented_feedback(tmp_path):
    report, results = grade(TEMPLATE, tmp_path)
    assert report.status == "graded" and report.score == 0
    feedback = (tmp_path / "out" / "feedback.md").read_text()
    assert "col2im is not implemented yet" in feedback and "Conv2d.backward is not implemented yet" in feedback


def edited_functions():
    """{'bug/NAME': the function its edits sit in ('col2im', 'Conv2d.backward', ...)}, read from
    catalogue.toml's replacements and the base file's syntax tree: what a feedback's top must name."""
    data = tomllib.loads((catalogue_dir(CONV_LAB) / "catalogue.toml").read_text(encoding="utf-8"))
    found = {}
    for bug in data["bug"]:
        source = correct_solution(bug["base"], lab=CONV_LAB)
        tree = ast.parse(source)
        spans = [(n.name, n) for n in tree.body if isinstance(n, ast.FunctionDef)]
        spans += [(f"{c.name}.{m.name}", m) for c in tree.body if isinstance(c, ast.ClassDef)
                  for m in c.body if isinstance(m, ast.FunctionDef)]
        names = set()
        for edit in bug["replace"]:
            line = source[:source.index(edit["old"])].count("\n") + 1
            names |= {name for name, node in spans if node.lineno <= line <= node.end_lineno}
        assert len(names) == 1, f"bug/{bug['name']}: edits in {names}"
        found[f"bug/{bug['name']}"] = names.pop()
    return found


EDITED_FUNCTION = edited_functions()


@pytest.mark.parametrize("key", BUGS)
def test_known_bug_is_caught(tmp_path, key):
    """Caught by the hidden set, and its feedback opens with the function the bug is in."""
    entry = CATALOGUE[key]
    report, results = grade(write_zip(entry, tmp_path / "sub.zip", lab=CONV_LAB), tmp_path)
    failed, own = failed_checks(report), {c.name for c in report.checks if c.failures}
    assert report.score < report.max_score, f"{key} ({entry.story}) earned full marks"
    # one bug, one lesson: exactly the checks whose property it breaks fail; the rest it reaches are blocked
    assert set(entry.fails) <= own <= set(entry.fails) | set(entry.may_fail), \
        f"{key} should fail {sorted(entry.fails)} on their own; failed {sorted(own)}"
    assert not set(entry.passes) & failed, f"{key} should pass {set(entry.passes) & failed}"
    feedback = (tmp_path / "out" / "feedback.md").read_text()
    top = feedback[feedback.index("## Start here"):feedback.index("| check |")]
    assert f"1. {EDITED_FUNCTION[key]}: fails '" in top, f"{key} is in {EDITED_FUNCTION[key]}:\n{top}"
    assert results["extra_data"]["root_causes"][0]["function"] == EDITED_FUNCTION[key]


def test_failure_feedback_names_case_and_likely_bug_without_expected_values(tmp_path):
    report, results = grade(write_zip(CATALOGUE["bug/overwrite_overlaps"], tmp_path / "sub.zip", lab=CONV_LAB), tmp_path)
    overlap = next(t for t in results["tests"] if t["extra_data"]["check"] == "col2im_overlap_sum")
    words = " ".join(overlap["output"].split())           # lines are wrapped at about 100 characters
    assert "likely bug: overlapping windows were overwritten instead of summed" in words
    assert "stride=" in overlap["output"] and "kH=" in overlap["output"]
    # no array of numbers is printed: only counts, one largest error and an index
    assert "[[" not in overlap["output"] and "array(" not in overlap["output"]


def test_invalid_submission_exits_2_with_results_written(tmp_path):
    import zipfile
    bad = tmp_path / "sub.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("conv.py", "x = 1\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(bad), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=hang_guard(5))   # refused at once
    assert proc.returncode == 2, proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert_gradescope_schema(results)
    assert results["score"] == 0 and "no conv2d.py found" in results["output"] and "conv.py" in results["output"]
    # the refusal and nothing else: no failed tests, no table, no hints (issue 23.4)
    feedback = (out / "feedback.md").read_text()
    assert results["tests"] == [] and "| check |" not in feedback and "Hint" not in feedback
    assert "Traceback" not in proc.stdout + proc.stderr


def test_graded_submission_exits_0_whatever_its_score(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(TEMPLATE), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=hang_guard(10))  # ~2 s idle
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((out / "results.json").read_text())["score"] == 0


def test_fixture_build_is_deterministic_and_seeded(tmp_path):
    a = build_fixture_set(tmp_path / "a", 123, CONV_LAB)
    b = build_fixture_set(tmp_path / "b", 123, CONV_LAB)
    c = build_fixture_set(tmp_path / "c", 124, CONV_LAB)
    assert a == b
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in a["files"])
    assert a["set_hash"] != c["set_hash"]
    assert a["numpy_version"] and a["seed_sha256"] == seed_digest(123)
    assert a["builder_version"] == CONFIG.fixtures.builder_version          # the lab's, from its config.toml
    assert "seed" not in a          # a hidden set's manifest ships: it records only the seed's digest


def copy_fixtures(tmp_path):
    root = tmp_path / "fixtures"
    shutil.copytree(REPO / "build" / "fixtures", root)
    return root


def test_tampered_fixture_set_is_refused_with_what_to_run(tmp_path):
    root = copy_fixtures(tmp_path)
    victim = next((root / "hidden").glob("*__expected.npy"))
    victim.write_bytes(victim.read_bytes()[:-8] + b"\0" * 8)
    report, results = grade(REPO / "reference" / "conv2d.py", tmp_path, fixtures_root=root)
    assert report.status == "error" and report.score == 0
    assert "does not match its sha256" in results["output"] and "make fixtures" in results["output"]


def test_fixture_set_from_another_seed_is_refused_without_naming_either_seed(tmp_path):
    root = tmp_path / "fixtures"
    build_fixture_set(root / "hidden", CONFIG.hidden_seed + 1, CONV_LAB)
    report, results = grade(REPO / "reference" / "conv2d.py", tmp_path, fixtures_root=root)
    assert report.status == "error"
    assert "built from another seed" in results["output"] and "make fixtures" in results["output"]
    text = (tmp_path / "out" / "results.json").read_text() + (tmp_path / "out" / "feedback.md").read_text()
    assert str(CONFIG.hidden_seed) not in text and str(CONFIG.hidden_seed + 1) not in text


def test_every_check_in_config_has_a_test_declaring_its_cases_and_hidden_cases():
    from autograder.fixtures import fixture_folder, load_fixture_set
    selectors = CONV_LAB.case_selectors
    assert set(selectors) == set(CONFIG.checks), "every check is one @check(name, cases=...) test"
    hidden = load_fixture_set(fixture_folder("hidden", CONV_LAB.fixtures_root), CONFIG.hidden_seed, lab=CONV_LAB)
    for name in CONFIG.checks:
        chosen = [case for case in hidden.cases if selectors[name](case)]
        assert chosen, f"no hidden case for check {name}"
        assert chosen == hidden.for_check(name), f"cases.json disagrees with {name}'s selector: rebuild"


SLOW_ON_A_BIG_BATCH = '''

_backward = Conv2d.backward


def _slow_on_a_big_batch(self, dY):
    """Right, but far too slow on a realistic batch (like one Python multiply-add per element)."""
    if dY.size >= 2**16:
        import time
        time.sleep(600)
    return _backward(self, dY)


Conv2d.backward = _slow_on_a_big_batch
'''


def test_code_too_slow_for_the_realistic_cases_loses_only_those(tmp_path):
    # A time-out on the 32-image 32x32 batch must not stop backward on the small cases or in training.
    path = tmp_path / "conv2d.py"
    path.write_text((REPO / "reference" / "conv2d.py").read_text() + SLOW_ON_A_BIG_BATCH)
    report, results = grade(path, tmp_path)
    assert report.status == "graded"
    by_name = {c.name: c for c in report.checks}
    assert by_name["learns_filters"].score == by_name["learns_filters"].points
    assert by_name["stride"].passed >= 1 and not by_name["stride"].ok
    lost = {c.name for c in report.checks if not c.ok}
    cases = json.loads((REPO / "build" / "fixtures" / "hidden" / "cases.json").read_text())["cases"]
    realistic = {check for case in cases if "_N32_Cin16_Cout8_32x32_" in case["id"] for check in case["checks"]}
    assert lost and lost <= realistic, (lost, realistic)
    assert "too slow?" in (tmp_path / "out" / "feedback.md").read_text()


class _RecordingSandbox:
    """Stands in for the sandbox: answers every step with zeros of the right kind, records the steps."""

    wall_deadline = float("inf")

    def __init__(self):
        self.steps = []

    def cpu_used_s(self):
        return 0.0

    def new_object(self, class_name, *args, attributes=()):
        sandbox = self

        class Layer:
            def steps(self, steps, what, reply_cap=None):
                # the engine's steps: ("set", attr, value), ("get", attr), ("call" / "call_echo" /
                # "call_ignore", method, *args); recorded by what they do (the method for a call)
                sandbox.steps += [step[1] if step[0].startswith("call") else step[0] for step in steps]
                return [None if op in ("set", "call_ignore") else np.zeros(3) if op in ("get", "call") else
                        (np.zeros(3), (np.zeros(3),)) for op, *_ in steps]
        return Layer()


@pytest.mark.parametrize("listed, repeats", [(("stride",), False), (("stride", "grad_accumulates"), True),
                                             (("inputs_unchanged",), True), ((), False)])
def test_repeat_backwards_run_only_where_a_check_reads_them(listed, repeats):
    # Two extra backwards (accumulation, a second dX) cost most of a 32-image case: made only for the
    # checks that read them (Case.checks: as cases.json lists them, or as the selectors chose at loading).
    from dataclasses import replace
    from autograder.fixtures import fixture_folder, load_fixture_set
    hidden = load_fixture_set(fixture_folder("hidden", CONV_LAB.fixtures_root), CONFIG.hidden_seed, lab=CONV_LAB)
    case = next(c for c in hidden.cases if c.kind == "layer")
    sandbox = _RecordingSandbox()
    code = CONV_LAB.adapter_class(sandbox, 300)
    run = code.layer_run(replace(case, checks=listed))
    assert sandbox.steps.count("backward") == (3 if repeats else 1)
    assert run["dX"].shape == (3,) and run["dW"].shape == (3,)
