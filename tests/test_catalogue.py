"""Proving the grader right: correct-but-different solutions earn full marks.

Every file in tests/submissions/correct/ solves the assignment its own way (index
arrays, strided slices, scalar loops, batched einsum / tensordot, non-contiguous
results, float64 inside, a new grad_weight array, a rewritten forward): each must
earn every point on the hidden fixtures (float64 and float32 cases) and on the
public ones. The one-bug entries of the catalogue are graded by
tests/test_grader.py::test_known_bug_is_caught.
"""

import pytest

from autograder.catalogue import load_catalogue, write_zip
from autograder.config import load_config
from autograder.fixtures import fixture_folder, load_fixture_set
from test_grader import grade

CONFIG = load_config()
CATALOGUE, _ = load_catalogue()
CORRECT = sorted(k for k in CATALOGUE if k.startswith("correct/"))


def test_catalogue_has_many_correct_variants_and_hidden_fixtures_hold_both_dtypes():
    assert len(CORRECT) >= 9, CORRECT
    hidden = load_fixture_set(fixture_folder("hidden"), CONFIG.hidden_seed)
    for kind in ("col2im", "layer"):
        assert {c.params["dtype"] for c in hidden.cases if c.kind == kind} == {"float64", "float32"}


@pytest.mark.parametrize("which", ["hidden", "public"])
@pytest.mark.parametrize("key", CORRECT)
def test_correct_variant_earns_full_marks(tmp_path, key, which):
    report, _ = grade(write_zip(CATALOGUE[key], tmp_path / "sub.zip"), tmp_path,
                      which=which, public_only=which == "public")
    lost = {c.name: f"{c.passed}/{c.total}" for c in report.checks if c.passed < c.total}
    assert report.status == "graded", report.message
    assert report.score == report.max_score, f"{key} lost points: {lost}\n{report.to_markdown()}"
    if which == "hidden":
        assert report.max_score == CONFIG.max_score == 100
        assert all(c.total > 0 for c in report.checks)
