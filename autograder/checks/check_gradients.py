"""Finite-difference checks: the student's dX and dW against central differences of their own forward."""

import numpy as np
import pytest

from autograder.compare import CheckFailure

check = pytest.mark.check


def _check_directions(student, config, case, param, grad_name, label):
    grad = student.layer_run(case)[grad_name].astype(np.float64)
    directions = case.array("fd_dirs_x" if param == "x" else "fd_dirs_w")
    if grad.shape != directions.shape[1:]:
        raise CheckFailure(f"[{case.describe()}] {label} has shape {grad.shape}, expected {directions.shape[1:]}")
    numerics = student.finite_differences(case, param, config.fd_eps)
    for v, numeric in zip(directions, numerics):
        analytic = float(np.sum(grad * v))
        if abs(numeric - analytic) > config.fd_rtol * max(abs(numeric), abs(analytic), 1e-12):
            raise CheckFailure(
                f"[{case.describe()}] along a random direction v, sum({label} * v) = {analytic:.6g} but "
                f"(L({param} + eps v) - L({param} - eps v)) / (2 eps) = {numeric:.6g} with L = sum(dY * forward(x))")


@check("finite_difference_dx")
def test_finite_difference_dx(student, config, case):
    _check_directions(student, config, case, "x", "dX", "dX")


@check("finite_difference_dw")
def test_finite_difference_dw(student, config, case):
    _check_directions(student, config, case, "weight", "dW", "dW")
