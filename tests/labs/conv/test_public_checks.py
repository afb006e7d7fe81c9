"""Public checks that warn: what students can run before submitting catches the catalogued bugs.

- The public fixture set holds a case of every bug class (dX values with padding > 0, stride,
  uneven stride, rectangular kernels, batch sum, accumulation, dtype), served by a public check.
- The share of catalogued one-bug solutions that fail at least one public check is computed
  here, must reach the goal, and is the figure README.md's "Grader quality" table publishes.
  (The hidden set catching every one of them is test_grader.py::test_known_bug_is_caught.)
"""

import re
import tempfile
from pathlib import Path

from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.fixtures import fixture_folder, load_fixture_set
from autograder.grading import GradingOptions, grade_submission
from helpers import CONV_LAB, REPO

CONFIG = CONV_LAB.config
CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
BUGS = sorted(k for k in CATALOGUE if k.startswith("bug/"))
GOAL = 0.90
README_ROW = re.compile(r"^\| the same one-bug solutions caught by the public checks .*?\*\*(\d+) of (\d+) \((\d+) %\)\*\*",
                        re.MULTILINE)


def public_layer_cases():
    """(case, the public checks it serves) for every layer case of the public set."""
    public = load_fixture_set(fixture_folder("public", CONV_LAB.fixtures_root), CONFIG.public_seed, "public",
                              lab=CONV_LAB)
    public_checks = {n for n, s in CONFIG.checks.items() if s.public}
    return [(c, set(c.checks) & public_checks) for c in public.cases], public


def padded_uneven(p):
    (kH, kW), s = p["kernel_size"], p["stride"]
    return (p["H"] + 2 * p["padding"] - kH) % s or (p["W"] + 2 * p["padding"] - kW) % s


# bug class -> whether a layer case (params) exposes it, and the public check that must grade it
LAYER_CLASSES = {
    "dX values with padding > 0": (lambda p: p["padding"] > 0, "backward_dx_shape_dtype"),
    "dX values with padding = 0": (lambda p: p["padding"] == 0, "backward_dx_shape_dtype"),
    "stride > 1": (lambda p: p["stride"] > 1, "backward_dx_shape_dtype"),
    "uneven stride (pixels no window covers)": (lambda p: p["stride"] > 1 and padded_uneven(p),
                                                "backward_dx_shape_dtype"),
    "rectangular kernel": (lambda p: p["kernel_size"][0] != p["kernel_size"][1], "backward_dx_shape_dtype"),
    "batch sum of dW (N > 1)": (lambda p: p["N"] > 1, "inputs_unchanged"),
    "accumulation": (lambda p: True, "grad_accumulates"),
    "float32 dtype": (lambda p: p["dtype"] == "float32", "backward_dx_shape_dtype"),
    "float64 weights with float32 dY": (lambda p: p.get("weight_dtype", p["dtype"]) != p["dtype"],
                                        "backward_dx_shape_dtype"),
}
COL2IM_CLASSES = {
    "col2im overlaps": (lambda p: p["stride"] < max(p["kH"], p["kW"]), "col2im_shape_dtype"),
    "col2im uneven stride": (lambda p: (p["H"] - p["kH"]) % p["stride"] or (p["W"] - p["kW"]) % p["stride"],
                             "col2im_shape_dtype"),
    "col2im rectangular kernel": (lambda p: p["kH"] != p["kW"], "col2im_adjoint"),
    "col2im channels (C > 1)": (lambda p: p["C"] > 1, "col2im_adjoint"),
    "col2im float32": (lambda p: p["dtype"] == "float32", "col2im_shape_dtype"),
}


def test_public_set_exposes_every_bug_class_to_a_public_check():
    cases, _ = public_layer_cases()
    missing = []
    for kind, classes in (("layer", LAYER_CLASSES), ("col2im", COL2IM_CLASSES)):
        for name, (exposes, check) in classes.items():
            assert CONFIG.checks[check].public, f"{check} is not a public check"
            if not any(c.kind == kind and check in served and exposes(c.params) for c, served in cases):
                missing.append(f"{name} (in {check})")
    assert not missing, f"no public case exposes: {missing}"


def public_share():
    """(caught, total, the bugs no public check fails): the catalogued one-bug solutions graded on
    the public set with the public checks only, as a student's `check` does."""
    assert BUGS, "the catalogue has no one-bug solution"
    missed = []
    with tempfile.TemporaryDirectory(prefix="public-share-") as tmp:
        tmp = Path(tmp)
        for key in BUGS:
            name = key.replace("/", "__")
            report = grade_submission(CONV_LAB, write_zip(CATALOGUE[key], tmp / f"{name}.zip", lab=CONV_LAB), tmp / name,
                                      GradingOptions(which="public", public_only=True))
            assert report.status == "graded", f"{key}: {report.message}"
            assert report.checks and all(c.total > 0 for c in report.checks), f"{key}: a public check ran no case"
            if all(c.ok for c in report.checks):
                missed.append(key)
    return len(BUGS) - len(missed), len(BUGS), missed


def test_public_checks_catch_the_goal_share_and_readme_publishes_it():
    caught, total, missed = public_share()
    print(f"one-bug solutions failing at least one public check: {caught} of {total}; missed: {missed}")
    assert caught / total >= GOAL, f"public checks catch {caught} of {total}; missed {missed}"
    row = README_ROW.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert row, "README.md's Grader quality table has no row for the public checks' share"
    assert (int(row[1]), int(row[2]), int(row[3])) == (caught, total, round(100 * caught / total)), \
        f"README says {row[1]} of {row[2]} ({row[3]} %), measured {caught} of {total}"
