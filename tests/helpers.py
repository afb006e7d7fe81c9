"""Helpers shared by the kit's tests (no test module imports another)."""

import json
from pathlib import Path

import numpy as np

from autograder.grading import GradingOptions, grade_submission
from reference.conv2d import Conv2d

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "student_template" / "conv2d.py"
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
    report = grade_submission(path, tmp_path / "out", GradingOptions(**options))
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
