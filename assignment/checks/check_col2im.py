"""Checks of col2im: shape and dtype, overlap summation, uncovered pixels, channel order, adjoint."""

import numpy as np

from assignment.interface import windows_overlap
from autograder.checks import check
from autograder.compare import CheckFailure, expect_array
from autograder.error_map import coverage

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


# One property per check (autograder/attribution.py): the dtype is col2im_shape_dtype's, overlaps
# col2im_overlap_sum's, uncovered pixels col2im_uncovered_zero's, the channel layout
# col2im_channel_order's, and any other misplaced window col2im_adjoint's. A check compares every
# case by value (after a cast: the dtype is not its property) and blames what it reads on its owner.
DTYPE = "col2im_shape_dtype"


def _reading(case):
    """The lab's reading of a wrong fold, after the stored bug answers: uncovered pixels not zero."""
    def diagnosis(folded):
        p = case.params
        if np.any(folded[:, coverage(p["H"], p["W"], p["kH"], p["kW"], p["stride"]) == 0] != 0):
            return ("pixels that no window covers (after the last window, or between windows when the stride "
                    "is larger than the kernel) must stay 0", ("col2im_uncovered_zero",))
        return None
    return diagnosis


def _shape_blame(shape):
    return (DTYPE,)


def _expect_folded(code, config, case, hint, folded=None):
    expected = case.array("expected")
    expect_array(code.col2im(case) if folded is None else folded, expected, config.tolerance(expected.dtype),
                 "col2im's result", case, hint=hint, variants=case.variants(), function=FUNCTION,
                 dtype_owner=DTYPE, float32_tol=config.tolerance("float32"), shape_blame=_shape_blame,
                 diagnosis=_reading(case))


@check("col2im_shape_dtype", cases=col2im_case)
def test_col2im_shape_dtype(code, config, case):
    p = case.params
    folded = code.col2im(case)
    if folded.shape != (p["C"], p["H"], p["W"]):
        raise CheckFailure(case, f"col2im returned shape {folded.shape}, "
                                 f"expected (C, H, W) = {(p['C'], p['H'], p['W'])}", function=FUNCTION, blame=())
    if folded.dtype != np.dtype(p["dtype"]):
        raise CheckFailure(case, f"col2im returned dtype {folded.dtype} for {p['dtype']} columns",
                           likely_bug="the result does not keep X_col's dtype", function=FUNCTION, blame=())
    # A case counts only with right values (zeros of the right shape are not a col2im); wrong values
    # are another col2im check's property, which blocks this case (config.toml's `needs`).
    _expect_folded(code, config, case, "the shape and dtype are right, the values are not", folded)


@check("col2im_overlap_sum", cases=overlapping)
def test_col2im_overlap_sum(code, config, case):
    _expect_folded(code, config, case, "check that overlapping windows are added")


@check("col2im_uncovered_zero", cases=uncovered)
def test_col2im_uncovered_zero(code, config, case):
    _expect_folded(code, config, case, "windows start at multiples of the stride")


@check("col2im_channel_order", cases=several_channels)
def test_col2im_channel_order(code, config, case):
    _expect_folded(code, config, case, "reshape each column to (C, kH, kW)")


@check("col2im_adjoint", cases=col2im_case)
def test_col2im_adjoint(code, config, case):
    """sum(im2col(x) * Y) == sum(x * col2im(Y)), the first precomputed, the second from the student;
    the case counts only with right values (the identity holds by chance now and then: one equation)."""
    folded = code.col2im(case)
    x = case.array("x")
    if folded.shape != x.shape:
        raise CheckFailure(case, f"col2im returned shape {folded.shape}, expected {x.shape}", function=FUNCTION,
                           blame=(DTYPE,))
    lhs = float(case.array("adjoint_lhs"))
    rhs = float(np.sum(x.astype(np.float64) * folded.astype(np.float64))) if np.all(np.isfinite(folded)) else None
    hint = "each column must be added at its own window, in im2col's order"
    if rhs is not None:
        tol = config.tolerance(x.dtype)
        scale = float(np.sum(np.abs(x.astype(np.float64)) * np.abs(case.array("expected").astype(np.float64))))
        if not abs(lhs - rhs) <= (tol.rtol + tol.atol) * max(1.0, scale):
            hint = (f"sum(im2col(x) * Y) and sum(x * col2im(Y)) differ by {abs(lhs - rhs) / max(1.0, scale):.2g} "
                    f"of their scale (tolerance {tol.rtol + tol.atol:g}): col2im is not the adjoint of im2col; {hint}")
    _expect_folded(code, config, case, hint, folded)
