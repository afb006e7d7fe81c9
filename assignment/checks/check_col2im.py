"""Checks of col2im: shape and dtype, overlap summation, uncovered pixels, channel order, adjoint."""

import numpy as np
import pytest

from assignment.lab import windows_overlap
from autograder.compare import CheckFailure, expect_array

check = pytest.mark.check
FUNCTION = "col2im"           # the student function these checks test


# Which cases each check grades, from the case's shape: a check isolates one idea.
def col2im_case(case):
    return case.kind == "col2im"


def overlapping(case):
    p = case.params
    return col2im_case(case) and windows_overlap(p["H"], p["W"], p["kH"], p["kW"], p["stride"])


def uncovered(case):
    p = case.params
    return col2im_case(case) and bool((p["H"] - p["kH"]) % p["stride"] or (p["W"] - p["kW"]) % p["stride"])


def several_channels(case):
    return col2im_case(case) and case.params["C"] > 1


def _expect_folded(student, config, case, hint):
    expected = case.array("expected")
    expect_array(student.col2im(case), expected, config.tolerance(expected.dtype), "col2im's result",
                 case, hint=hint, variants=case.variants(), function=FUNCTION)


@check("col2im_shape_dtype", cases=col2im_case)
def test_col2im_shape_dtype(student, config, case):
    p = case.params
    folded = student.col2im(case)
    if folded.shape != (p["C"], p["H"], p["W"]):
        raise CheckFailure(case, f"col2im returned shape {folded.shape}, "
                                 f"expected (C, H, W) = {(p['C'], p['H'], p['W'])}", function=FUNCTION)
    if folded.dtype != np.dtype(p["dtype"]):
        raise CheckFailure(case, f"col2im returned dtype {folded.dtype} for {p['dtype']} columns",
                           likely_bug="the result does not keep X_col's dtype", function=FUNCTION)
    # A case counts only with right values: zeros of the right shape are not a col2im.
    _expect_folded(student, config, case, "the shape and dtype are right, the values are not")


@check("col2im_overlap_sum", cases=overlapping)
def test_col2im_overlap_sum(student, config, case):
    _expect_folded(student, config, case, "check that overlapping windows are added")


@check("col2im_uncovered_zero", cases=uncovered)
def test_col2im_uncovered_zero(student, config, case):
    expected = case.array("expected")
    folded = student.col2im(case)
    hint = "windows start at multiples of the stride"
    if folded.shape == expected.shape:
        p = case.params
        s, kH, kW = p["stride"], p["kH"], p["kW"]
        covered = np.zeros(expected.shape[1:], bool)        # (H, W): inside some window
        for i in range(0, p["H"] - kH + 1, s):
            for j in range(0, p["W"] - kW + 1, s):
                covered[i:i + kH, j:j + kW] = True
        if np.any(folded[:, ~covered] != 0):
            hint = ("pixels that no window covers (after the last window, or between windows when the "
                    "stride is larger than the kernel) must stay 0")
    _expect_folded(student, config, case, hint)


@check("col2im_channel_order", cases=several_channels)
def test_col2im_channel_order(student, config, case):
    _expect_folded(student, config, case, "reshape each column to (C, kH, kW)")


@check("col2im_adjoint", cases=col2im_case)
def test_col2im_adjoint(student, config, case):
    """sum(im2col(x) * Y) == sum(x * col2im(Y)), the first precomputed, the second from the student."""
    folded = student.col2im(case)
    x = case.array("x")
    if folded.shape != x.shape:
        raise CheckFailure(case, f"col2im returned shape {folded.shape}, expected {x.shape}", function=FUNCTION)
    lhs = float(case.array("adjoint_lhs"))
    rhs = float(np.sum(x.astype(np.float64) * folded.astype(np.float64)))
    tol = config.tolerance(x.dtype)
    scale = float(np.sum(np.abs(x.astype(np.float64)) * np.abs(case.array("expected").astype(np.float64))))
    if not abs(lhs - rhs) <= (tol.rtol + tol.atol) * max(1.0, scale):
        raise CheckFailure(case, f"sum(im2col(x) * Y) differs from sum(x * col2im(Y)) by {abs(lhs - rhs):.2e}: "
                                 f"col2im is not the adjoint of im2col (each column must be added at its own "
                                 f"window, in im2col's order)", function=FUNCTION)
    # The identity holds by chance for a random array now and then (one scalar equation): as in
    # every check, the case counts only with right values (this check is about values, not dtype).
    expected = case.array("expected")
    values = folded.astype(expected.dtype) if folded.dtype.kind == "f" else folded
    expect_array(values, expected, config.tolerance(expected.dtype), "col2im's result", case,
                 hint="each column must be added at its own window, in im2col's order", variants=case.variants(),
                 function=FUNCTION)
