"""A third lab (examples/pool_lab) that the old one-array layer protocol could not grade: a function
returning a tuple (loss, dlogits), a method taking a flag (forward(x, train)) and a backward that
depends on what the training forward stored and an evaluation forward must not overwrite. Graded,
verified, batched and packaged by the engine with nothing but its own folder."""

import csv
import json
import re
import shutil
import sys
import zipfile

import pytest

from autograder.lab_loader import load_lab
from autograder.staff.catalogue import load_catalogue, write_zip
from helpers import REPO, assert_lab_package, build_lab_fixtures, hang_guard, run_kit

LAB = REPO / "examples" / "pool_lab"
KIT = [sys.executable, "-m", "autograder", "--config", str(LAB / "config.toml")]
CORRECT = LAB / "reference" / "pool.py"      # the staff solution, graded as a submission
POOL_LAB = load_lab(LAB / "config.toml")
CATALOGUE, EXAMPLES = load_catalogue(lab=POOL_LAB)
BUGS = [key for key in CATALOGUE if key.startswith("bug/")]
# the function each bug's edits sit in: what its feedback's first root cause must name
BUGGY_FUNCTION = {"bug/unstable_softmax": "softmax_cross_entropy", "bug/loss_summed": "softmax_cross_entropy",
                  "bug/dlogits_not_averaged": "softmax_cross_entropy", "bug/backward_spreads_dY": "MaxPool2d.backward",
                  "bug/eval_overwrites_cache": "MaxPool2d.forward", "bug/forward_without_flag": "MaxPool2d.forward",
                  "bug/loss_too_large_to_send": "softmax_cross_entropy", "bug/loss_as_bool": "softmax_cross_entropy",
                  "bug/forward_nested_tuple": "MaxPool2d.forward"}
# results the generic protocol or the checks refuse as they come back, and what feedback says of each
REFUSED_RESULTS = {
    "bug/loss_too_large_to_send": "softmax_cross_entropy returned an integer too large to send back",
    "bug/loss_as_bool": "loss: got an array of shape () and dtype bool, expected one number",
    "bug/forward_nested_tuple": "MaxPool2d.forward returned a tuple nested more than 8 deep",
}


def run(args, cwd=REPO, timeout=hang_guard(120)):
    return run_kit(args, cwd, timeout)


@pytest.fixture(scope="module")
def fixtures():
    """The lab's hidden and public sets, in its own [fixtures] folder (build/fixtures/pool_lab)."""
    return build_lab_fixtures(KIT, LAB / "config.toml", 11)


@pytest.fixture(scope="module")
def batch(fixtures, tmp_path_factory):
    """One batch of the reference, the template and every catalogue entry: {id: (grades.csv row, results.json)}."""
    root = tmp_path_factory.mktemp("pool")
    subs = root / "subs"
    subs.mkdir()
    shutil.copy(CORRECT, subs / "reference.py")
    shutil.copy(LAB / "template" / "pool.py", subs / "template.py")
    for key, entry in CATALOGUE.items():
        write_zip(entry, subs / f"{key.replace('/', '__')}.zip", lab=POOL_LAB)
    out = root / "out"
    result = run(KIT + ["batch", str(subs), "--out", str(out), "--jobs", "2"], timeout=hang_guard(600))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with open(out / "grades.csv", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    return {key: (row, json.loads((out / "submissions" / key / "results.json").read_text()))
            for key, row in rows.items()}


def test_reference_and_correct_solutions_earn_full_marks_the_template_zero(batch):
    assert set(batch) == {"reference", "template"} | {k.replace("/", "__") for k in CATALOGUE}
    for key in ["reference"] + [k.replace("/", "__") for k in CATALOGUE if k.startswith("correct/")]:
        row, results = batch[key]
        assert (row["status"], float(row["score"])) == ("graded", 20.0), (key, row["message"])
    row, results = batch["template"]
    assert (row["status"], float(row["score"])) == ("graded", 0.0)
    assert "NotImplementedError" in json.dumps(results)


@pytest.mark.parametrize("key", BUGS)
def test_each_bug_loses_exactly_the_checks_whose_property_it_breaks(batch, key):
    entry = CATALOGUE[key]
    row, results = batch[key.replace("/", "__")]
    assert row["status"] == "graded" and float(row["score"]) < 20, (key, row)
    own = {t["extra_data"]["check"] for t in results["tests"] if t["extra_data"]["failures"]}
    assert own == set(entry.fails), f"{key} ({entry.story}): fails {sorted(own)} on their own"
    lost = {t["extra_data"]["check"] for t in results["tests"] if t["score"] < t["max_score"]}
    assert set(entry.fails) <= lost
    assert results["extra_data"]["root_causes"][0]["function"] == BUGGY_FUNCTION[key]


@pytest.mark.parametrize("key", sorted(REFUSED_RESULTS))
def test_a_result_of_the_wrong_kind_is_the_students_wrong_answer(batch, key):
    """Not a grader error (the row is graded), told in the feedback, and what the refused reply
    carried earns nothing: a too-large loss takes dlogits down with it (blocked, not failed)."""
    row, results = batch[key.replace("/", "__")]
    assert row["status"] == "graded", row
    assert REFUSED_RESULTS[key] in " ".join(json.dumps(results).split()), results["output"][:2000]
    if key == "bug/loss_too_large_to_send":
        gradient = next(t for t in results["tests"] if t["extra_data"]["check"] == "loss_gradient")
        assert gradient["score"] == 0 and gradient["extra_data"]["blocked"] and not gradient["extra_data"]["failures"]


def test_the_handouts_table_gives_each_entrys_score(batch):
    """README.md's table of what `verify` prints: every catalogue bug, with the score it gets."""
    import re
    table = dict(re.findall(r"^\| `(bug/\w+)` \| ([\d.]+) / 20 \|", (LAB / "README.md").read_text(), flags=re.M))
    assert set(table) == set(BUGS)
    for key, score in table.items():
        assert float(batch[key.replace("/", "__")][0]["score"]) == float(score), key


# A clean clone drew this hidden seed, and its 4 x 4 float32 case's evaluation input had its maxima
# where x had them: bug/eval_overwrites_cache passed that case (17.38 points, not 17). A grade must not
# depend on the seed, so the builder draws an evaluation input that moves some window's max.
SEED_THAT_HID_THE_EVAL_BUG = 98353182249553232209415041231919565605


def test_every_pool_case_exposes_every_stored_bug_whatever_the_seed(tmp_path):
    from autograder.fixtures import load_fixture_set
    import numpy as np
    for seed in (SEED_THAT_HID_THE_EVAL_BUG, POOL_LAB.config.public_seed):
        POOL_LAB.builder.build_fixture_set(tmp_path / str(seed), seed, POOL_LAB)
        cases = [c for c in load_fixture_set(tmp_path / str(seed), seed, lab=POOL_LAB).cases if c.kind == "pool"]
        assert len(cases) == 8
        for case in cases:
            for variant in ("variant_dX_eval_cached", "variant_dX_spread"):
                assert not np.array_equal(case.array(variant), case.array("dX")), (seed, case.id, variant)


def test_feedback_names_the_bug_in_the_labs_words_and_hides_hidden_numbers(batch):
    _, results = batch["bug__loss_summed"]
    test = next(t for t in results["tests"] if t["extra_data"]["check"] == "loss_value")
    failure = test["extra_data"]["failures"][0]
    assert failure["likely_bug"] == "the loss was summed over the batch instead of averaged (use the mean)"
    assert failure["case"] == "N=4 K=5 float64" and failure["function"] == "softmax_cross_entropy"
    # a hidden case never prints the number: with the student's own loss it would give the answer away
    assert failure["problem"].startswith("loss is off by more than the tolerance (tolerance: rtol")
    _, results = batch["bug__eval_overwrites_cache"]
    test = next(t for t in results["tests"] if t["extra_data"]["check"] == "pool_eval_mode")
    assert test["extra_data"]["failures"][0]["likely_bug"].startswith(
        "an evaluation forward (train=False) overwrote what the training forward stored")


def test_a_flagless_forward_is_told_once_and_blocks_what_relies_on_it(batch):
    _, results = batch["bug__forward_without_flag"]
    by_check = {t["extra_data"]["check"]: t for t in results["tests"]}
    assert {f["kind"] for f in by_check["pool_forward"]["extra_data"]["failures"]} == {"exception"}
    assert "forward() takes 2 positional arguments but 3 were given" in " ".join(results["output"].split())
    for check in ("pool_backward", "pool_eval_mode"):
        assert by_check[check]["extra_data"]["blocked"] and not by_check[check]["extra_data"]["failures"]
    assert all(by_check[c]["score"] == by_check[c]["max_score"] for c in ("loss_value", "loss_gradient", "loss_stable"))


def test_verify_grades_the_labs_own_catalogue(fixtures):
    """`verify` reads the catalogue config.toml names ([lab] catalogue), not the conv lab's."""
    result = run(KIT + ["verify"], timeout=hang_guard(300))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify: the reference earns full marks, the template zero, every example as expected." in result.stdout
    for key in EXAMPLES:
        assert key in result.stdout
    assert "col2im" not in result.stdout


def test_public_checks_show_public_numbers(fixtures, tmp_path):
    """The students' `check` runs the public checks on the public set, where a wrong loss may be shown."""
    target = tmp_path / "pool.py"
    target.write_text(CATALOGUE["bug/loss_summed"].source)
    result = run(KIT + ["check", str(target)])
    words = " ".join(result.stdout.split())
    assert "Public score: 13 / 15." in words, result.stdout + result.stderr
    assert re.search(r"loss is [0-9.]+, expected [0-9.]+ \(tolerance", words), words
    assert "Likely bug: the loss was summed over the batch instead of averaged" in words


def test_gradescope_package_holds_only_the_engine_this_lab_and_its_hidden_set(fixtures, tmp_path):
    assert_lab_package(KIT, "pool_lab", ("__init__.py", "interface.py", "config.toml", "checks/__init__.py",
                                         "checks/check_loss.py", "checks/check_pool.py"),
                       fixtures, dest := tmp_path / "autograder.zip")
    # Unpacked elsewhere, with no kit around it, the packaged grader grades this lab.
    kit = tmp_path / "unpacked"
    zipfile.ZipFile(dest).extractall(kit)
    (tmp_path / "pool.py").write_text(CATALOGUE["bug/eval_overwrites_cache"].source)
    result = run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "pool.py"),
                  "--out", str(tmp_path / "graded")], cwd=kit)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "graded" / "results.json").read_text())["score"] == 17
