"""Proving the grader right.

- Every file in assignment/catalogue/correct/ solves the assignment its own way (index
  arrays, strided slices, batched einsum / tensordot, non-contiguous
  results, float64 inside, a new grad_weight array, a rewritten forward): each must
  earn every point on the hidden fixtures (float64 and float32 cases) and on the
  public ones. (The one-bug entries are graded by test_grader.py::test_known_bug_is_caught.)
- tools/mutants.py, the mutation score of the grader, runs end to end on a few mutants.
- A property: on random shapes, the reference passes every check and catalogued bugs
  fail theirs exactly when the shape exposes them.
"""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from assignment import fixture_builder as fb
from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.config import load_config
from autograder.fixtures import fixture_folder, load_fixture_set, write_fixture_set
from autograder.grading import GradingOptions, grade_submission
from autograder.lab_loader import load_lab
from autograder.seeds import store_hidden_seed
from helpers import CONV_LAB, CORRECT, REPO, SHAPE_BUGS, detached_config_text, hang_guard
from helpers import grade

TARGETS = ("col2im", "batch_col2im", "Conv2d.backward")

CONFIG = CONV_LAB.config
CATALOGUE, _ = load_catalogue(lab=CONV_LAB)


def test_catalogue_has_many_correct_variants_and_hidden_fixtures_hold_both_dtypes():
    assert len(CORRECT) >= 9, CORRECT
    hidden = load_fixture_set(fixture_folder("hidden", CONV_LAB.fixtures_root), CONFIG.hidden_seed, lab=CONV_LAB)
    for kind in ("col2im", "layer"):
        assert {c.params["dtype"] for c in hidden.cases if c.kind == kind} == {"float64", "float32"}


@pytest.mark.parametrize("which", ["hidden", "public"])
@pytest.mark.parametrize("key", CORRECT)
def test_correct_variant_earns_full_marks(tmp_path, key, which):
    report, _ = grade(write_zip(CATALOGUE[key], tmp_path / "sub.zip", lab=CONV_LAB), tmp_path,
                      which=which, public_only=which == "public")
    lost = {c.name: f"{c.passed}/{c.total}" for c in report.checks if c.passed < c.total}
    assert report.status == "graded", report.message
    assert report.score == report.max_score, f"{key} lost points: {lost}\n{report.to_markdown()}"
    if which == "hidden":
        assert report.max_score == CONFIG.max_score == 100
        assert all(c.total > 0 for c in report.checks)


# --- the mutation tool, end to end on a handful of mutants ------------------------------------

def test_mutation_tool_runs_end_to_end_on_a_few_mutants(tmp_path):
    """tools/mutants.py --limit 5: mutants generated, classified against the oracle, graded."""
    summary_file = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "mutants.py"), "--limit", "5", "--jobs", "2",
                           "--out", str(tmp_path / "work"), "--json", str(summary_file)],
                          cwd=REPO, capture_output=True, text=True, timeout=hang_guard(30))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(summary_file.read_text())
    summary, mutants = data["summary"], data["mutants"]
    assert summary["total"] == len(mutants) == 5 and summary["generated"] > 100
    verdicts = [m["verdict"] for m in mutants]
    assert set(verdicts) <= {"equivalent", "killed", "survived", "error"}
    assert sum(summary[v] for v in ("equivalent", "killed", "survived", "error")) == summary["total"]
    assert summary["non_equivalent"] == summary["killed"] + summary["survived"] + summary["error"]
    assert summary["killed"] >= 1
    for m in mutants:
        assert m["description"].count("->") >= 1 and m["line"] > 0 and m["function"] in TARGETS
        assert (m["verdict"] == "equivalent") == (m["difference"] == "")
    assert f"killed {summary['killed']}, survived {summary['survived']}" in proc.stdout


# --- property: the checks tell the reference from catalogued bugs on random shapes -------------

def config_for(checks, seed, path):
    """A copy of the assignment config with only `checks` (so a small fixture set has a case for
    each) and `seed` as the hidden seed (in the copy's own seed file)."""
    text = detached_config_text(CONFIG.path)
    head, *tables = re.split(r"(?m)^(?=\[checks\.)", text)
    kept = [t for t in tables if re.match(r"\[checks\.(\w+)\]", t).group(1) in checks]
    assert len(kept) == len(checks)
    path.write_text(head + "".join(kept), encoding="utf-8")
    store_hidden_seed(load_config(path).hidden_seed_path, seed)
    return path


COL2IM_CHECKS = ["col2im_shape_dtype", "col2im_overlap_sum", "col2im_uncovered_zero", "col2im_channel_order",
                 "col2im_adjoint"]
LAYER_CHECKS = ["forward_output", "backward_dx_shape_dtype", "backward_dx_values", "backward_dw_values",
                "padding_crop", "stride", "batch_sum", "grad_accumulates", "inputs_unchanged"]
FD_CHECKS = ["finite_difference_dx", "finite_difference_dw"]


def tiny_fixture_set(root, seed, N, C_in, C_out, H, W, k, s, p):
    """A hidden fixture set for one layer shape (float64 and float32) and the col2im of its padded
    size, made by the builder's own functions; every check applies to every case (none is left to
    the builder's choice of which case serves which check)."""
    def every_check(kind, params):
        return COL2IM_CHECKS if kind == "col2im" else \
            LAYER_CHECKS + (FD_CHECKS if params["dtype"] == "float64" else [])
    rng = np.random.default_rng(seed)
    kH, kW = k
    generated = [*fb.build_col2im_cases(rng, [(C_in, H + 2 * p, W + 2 * p, kH, kW, s)], every_check),
                 *fb.build_layer_cases(rng, [(N, C_in, C_out, H, W, k, s, p)], every_check)]
    write_fixture_set(root / "hidden", seed, generated, builder_version=CONFIG.fixtures.builder_version)
    return config_for(COL2IM_CHECKS + LAYER_CHECKS + FD_CHECKS, seed, root / "config.toml")


@st.composite
def layer_shapes(draw):
    H, W, p = draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(0, 2))
    return dict(N=draw(st.integers(1, 3)), C_in=draw(st.integers(1, 3)), C_out=draw(st.integers(1, 3)),
                H=H, W=W, k=(draw(st.integers(1, min(4, H + 2 * p))), draw(st.integers(1, min(4, W + 2 * p)))),
                s=draw(st.integers(1, 3)), p=p)


# Bugs whose shape condition the catalogue states (`exposed_when`), and the names it may use.
BUGS_PER_EXAMPLE = 6


def shape_names(N, C_in, C_out, H, W, k, s, p):
    """The names an `exposed_when` condition may use, for one layer shape."""
    kH, kW = k
    H_pad, W_pad = H + 2 * p, W + 2 * p
    H_out, W_out = (H_pad - kH) // s + 1, (W_pad - kW) // s + 1

    def covers_image(size, k_len, n_out):       # some window's span along one axis reaches the image
        return any(p <= i * s + a < p + size for i in range(n_out) for a in range(k_len))

    return dict(N=N, C_in=C_in, C_out=C_out, H=H, W=W, kH=kH, kW=kW, s=s, p=p, H_pad=H_pad, W_pad=W_pad,
                H_out=H_out, W_out=W_out, overlap=fb.windows_overlap(H_pad, W_pad, kH, kW, s),
                sees_input=covers_image(H, kH, H_out) and covers_image(W, kW, W_out))


def exposed(key, shape):
    return bool(eval(CATALOGUE[key].exposed_when, {"__builtins__": {}}, shape_names(**shape)))  # noqa: S307 (our catalogue)


def test_every_bug_states_its_shape_condition_or_why_not():
    bugs = [k for k in CATALOGUE if k.startswith("bug/")]
    assert bugs and SHAPE_BUGS, "no bug in the catalogue"
    names = shape_names(N=2, C_in=2, C_out=2, H=5, W=5, k=(3, 3), s=1, p=1)
    for key in bugs:
        entry = CATALOGUE[key]
        assert bool(entry.exposed_when) != bool(entry.exposed_when_unstated), key
        if entry.exposed_when:
            assert entry.exposed_by in COL2IM_CHECKS + LAYER_CHECKS + FD_CHECKS, (key, entry.exposed_by)
            eval(entry.exposed_when, {"__builtins__": {}}, names)     # noqa: S307 (a NameError names a typo)


# Edge cases random draws rarely hit, each grading every shape-stated bug: a 1x1 kernel on several
# channels (channel order cannot matter), a kernel as tall as the padded image (one window,
# nothing overlaps), p = 0, overlapping windows with stride 2.
@example(shape=dict(N=2, C_in=3, C_out=1, H=3, W=4, k=(1, 1), s=2, p=0), seed=101, bugs=SHAPE_BUGS)
@example(shape=dict(N=1, C_in=2, C_out=2, H=2, W=5, k=(4, 3), s=3, p=1), seed=102, bugs=SHAPE_BUGS)
@example(shape=dict(N=3, C_in=2, C_out=3, H=7, W=5, k=(3, 2), s=2, p=2), seed=103, bugs=SHAPE_BUGS)
@given(shape=layer_shapes(), seed=st.integers(100, 10**6),
       bugs=st.lists(st.sampled_from(SHAPE_BUGS), min_size=BUGS_PER_EXAMPLE, max_size=BUGS_PER_EXAMPLE, unique=True))
def test_checks_pass_the_reference_and_fail_catalogued_bugs_exactly_where_they_differ(shape, seed, bugs):
    """On a random shape, the reference passes every check, and each catalogued bug drawn fails
    its `exposed_by` check exactly when the shape meets its `exposed_when` condition (and is
    otherwise graded as the correct code it then is). Each example grades a few bugs drawn at
    random (all of them in the explicit examples) to keep the test's time bounded."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lab = load_lab(tiny_fixture_set(root, seed, **shape))
        options = GradingOptions(fixtures_root=root)
        reference = grade_submission(lab, REPO / "reference" / "conv2d.py", root / "out-reference", options)
        assert reference.status == "graded", reference.message
        assert all(c.total > 0 and c.passed == c.total for c in reference.checks), reference.to_markdown()
        for key in bugs:
            entry = CATALOGUE[key]
            report = grade_submission(lab, write_zip(entry, root / f"{key[4:]}.zip", lab=lab), root / f"out-{key[4:]}",
                                      options)
            assert report.status == "graded", report.message
            failed = {c.name for c in report.checks if c.passed < c.total}
            if exposed(key, shape):
                assert entry.exposed_by in failed, f"{key} passed {entry.exposed_by} on {shape} ({entry.exposed_when})"
            else:
                assert not failed, f"{key} is correct code on {shape} (not {entry.exposed_when}) but failed {sorted(failed)}"
