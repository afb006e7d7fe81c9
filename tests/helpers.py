"""Helpers shared by the kit's tests (no test module imports another)."""

import json
import os
from pathlib import Path

import numpy as np

from autograder.grading import GradingOptions, grade_submission
from autograder.lab_loader import load_lab
from autograder.sandbox import LEVELS, detect_isolation
from autograder.staff.catalogue import load_catalogue
from reference.conv2d import Conv2d

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "student_template" / "conv2d.py"
ROOT = os.geteuid() == 0
CONV_CONFIG = REPO / "assignment" / "config.toml"
CONV_LAB = load_lab(CONV_CONFIG)       # the conv lab, which most tests grade: loaded once, passed to what needs it

# The catalogue's groups, each graded in full by the test named beside it (README's claims read them here).
CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
CORRECT = sorted(k for k in CATALOGUE if k.startswith("correct/"))        # test_catalogue: full marks
BUGS = [k for k in CATALOGUE if k.startswith("bug/")]                     # test_grader: each caught
HOSTILE = sorted(k for k in CATALOGUE if k.startswith("hostile/"))        # test_hostile: at every level
SHAPE_BUGS = sorted(k for k, e in CATALOGUE.items() if k.startswith("bug/") and e.exposed_when)  # shape property
NO_WORK = sorted(k for k, e in CATALOGUE.items() if k.startswith("hostile/nowork")                 # test_integrity
                 or k in ("hostile/constant_forward_for_finite_differences", "hostile/empty_finite_difference_reply",
                          "hostile/learn_filter_by_least_squares", "hostile/all_scoring_tricks"))


def levels_under_test():
    """The isolation levels the hostile catalogue is graded at on this machine."""
    if not ROOT:
        return list(dict.fromkeys([detect_isolation(), "process"]))
    found = [n for n in ("bwrap", "chroot") if LEVELS[n].unusable_reason() is None]
    assert "chroot" in found, f"the chroot level must work as root: {LEVELS['chroot'].unusable_reason()}"
    return found + ["process"]


# Timeouts and waits in tests guard against a hang; they never measure speed (that is `make bench`'s
# job). They must hold on a 2-core machine with 4 CPU hogs beside it, where a process gets about a
# third of a core: hang_guard(s), for a step that takes up to s seconds on an idle machine, is ten
# times that (three for the load, three again for noise) plus two minutes for start-up under load.
# A wait that ends as soon as its condition holds costs nothing for being generous.
def hang_guard(idle_s: float) -> float:
    return 10 * idle_s + 120


# What grading says once a submission's whole budget is spent (CodeAdapter._guard: its CPU time,
# or the outer wall-clock bound): tests check that a hang costs a few call limits, not the
# budget, by the absence of these words rather than by a clock.
OUT_OF_BUDGET = ("used up the CPU time budget", "passed its outer time bound")


GRADESCOPE_TEST_KEYS = {"name", "score", "max_score", "status", "output", "visibility"}


def assert_gradescope_schema(results):
    """The fields Gradescope reads, with their types; the scores add up."""
    assert isinstance(results["score"], (int, float)) and isinstance(results["execution_time"], (int, float))
    assert isinstance(results["output"], str) and isinstance(results["tests"], list)
    for test in results["tests"]:
        assert GRADESCOPE_TEST_KEYS <= set(test), test
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert test["status"] in ("passed", "failed")
        assert 0 <= test["score"] <= test["max_score"]
    assert abs(results["score"] - sum(t["score"] for t in results["tests"])) < 0.05
    extra = results["extra_data"]
    assert extra["grader_version"] and extra["status"] in ("graded", "invalid", "error")


def grade(path, tmp_path, **options):
    report = grade_submission(CONV_LAB, path, tmp_path / "out", GradingOptions(**options))
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert_gradescope_schema(results)
    assert (tmp_path / "out" / "feedback.md").read_text().startswith("# Feedback:")
    return report, results


def random_layer(case, seed=0):
    """A reference layer with random weight, an input x and an upstream gradient dY, all of case's dtype."""
    N, C_in, C_out, H, W, k, s, p, dtype = case
    rng = np.random.default_rng(seed)
    layer = Conv2d(C_in, C_out, k, stride=s, padding=p)
    layer.weight = rng.standard_normal(layer.weight.shape).astype(dtype)
    layer.zero_grad()
    x = rng.standard_normal((N, C_in, H, W)).astype(dtype)
    y = layer.forward(x)
    dY = rng.standard_normal(y.shape).astype(dtype)
    return layer, x, y, dY


def run_kit(args, cwd=REPO, timeout=None):
    """A kit command (`python -m autograder ...`) as course staff run it: in a child process,
    without this test session's AUTOGRADER_CONFIG or PYTHONPATH."""
    import subprocess
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_CONFIG", "PYTHONPATH")}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout or hang_guard(120), env=env)


def build_lab_fixtures(kit, config_path, public_seed):
    """Runs `kit fixtures` for a lab under examples/ and returns its fixture folder, checking that
    the public seed is reported and the hidden seed never is (a staff secret, even in logs)."""
    from autograder.config import load_config
    result = run_kit(kit + ["fixtures"])
    assert result.returncode == 0, result.stderr
    assert "hidden fixtures: the seed in" in result.stdout and f"public fixtures: seed {public_seed}" in result.stdout
    assert str(load_config(config_path).hidden_seed) not in result.stdout + result.stderr
    return REPO / "build" / "fixtures" / Path(config_path).parent.name


def assert_lab_package(kit, lab, lab_files, fixtures, dest):
    """`kit package gradescope` for a lab under examples/ holds the engine, exactly `lab_files` of the
    lab (paths below examples/<lab>/) and its hidden set; no other lab, reference or staff code."""
    import zipfile
    result = run_kit(kit + ["package", "gradescope", "--out", str(dest)])
    assert result.returncode == 0, result.stderr
    names = set(zipfile.ZipFile(dest).namelist())
    assert {n for n in names if n.startswith("examples/")} == \
        {"examples/__init__.py", *(f"examples/{lab}/{f}" for f in lab_files)}
    assert {n for n in names if n.startswith("build/")} == \
        {f"build/fixtures/{lab}/hidden/{p.name}" for p in (fixtures / "hidden").iterdir()}
    assert not any(n.startswith(("assignment/", "reference/", "autograder/staff/")) or "catalogue" in n
                   for n in names)
    assert zipfile.ZipFile(dest).read("LAB") == f"examples/{lab}/config.toml\n".encode()


LAB_PATH_KEYS = ("reference", "template", "catalogue", "checks", "fixture_builder", "oracle")


def detached_config_text(source):
    """The text of config.toml `source` for a copy kept in another folder: config.toml's paths are
    relative to its own folder, so its lab's files ([lab] paths, given or default) are named
    absolutely; the seed file and fixture folder stay relative (they follow the copy)."""
    import re
    import tomllib
    from autograder.config import LabTable
    source = Path(source).resolve()
    text = source.read_text(encoding="utf-8")
    table = tomllib.loads(text)["lab"]
    defaults = {f: getattr(LabTable, f, "") for f in LAB_PATH_KEYS}
    lines = []
    for key in LAB_PATH_KEYS:
        relative = table.get(key, defaults[key])
        if relative:
            text = re.sub(rf"(?m)^{key} = .*\n", "", text)
            lines.append(f'{key} = "{(source.parent / relative).resolve()}"\n')
    return text.replace("[lab]\n", "[lab]\n" + "".join(lines), 1)


def config_error(load, path):
    """The ConfigError message of load(path) (load_config, load_lab), which must name the file."""
    import pytest
    from autograder.errors import ConfigError
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert str(path) in message, message
    return message
