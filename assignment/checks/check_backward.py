"""Checks of Conv2d: forward (given), dX shape/dtype/values, dW, crop, stride, batch, accumulation, inputs."""

import numpy as np
import pytest

from assignment.lab import is_layer, layer_shape
from autograder.compare import CheckFailure, expect_array, matches

check = pytest.mark.check
BACKWARD, FORWARD = "Conv2d.backward", "Conv2d.forward"    # the student functions tested

# Shapes (as fixture_builder.LAYER_SHAPES lists them) where accumulation and unchanged inputs are
# graded: a padded stride-1 batch and a strided, padded, non-square-kernel one; an unpadded
# non-square kernel and a strided padded one.
ACCUMULATION_SHAPES = {(2, 1, 1, 5, 5, (3, 3), 1, 1), (4, 2, 4, 8, 6, (2, 3), 3, 2)}
UNCHANGED_INPUT_SHAPES = {(3, 2, 3, 6, 5, (3, 2), 1, 0), (2, 3, 2, 7, 7, (3, 3), 2, 1)}


def any_layer(case):
    return is_layer(case, mixed_dtypes=True)


def layer_where(**conditions):
    """A case selector: layer cases (same dtypes) whose params satisfy each condition(value)."""
    return lambda case: is_layer(case) and all(test(case.params[k]) for k, test in conditions.items())


def _crop_hint(case):
    """Explains a wrong dX shape in terms of the padding crop."""
    p = case.params
    N, C, H, W, pad = p["N"], p["C_in"], p["H"], p["W"], p["padding"]

    def why(shape):
        if len(shape) == 4 and 0 in shape[2:] and pad == 0:
            return "padding was not cropped correctly when padding = 0 (the slice p:-p is empty for p = 0)"
        if tuple(shape) == (N, C, H + 2 * pad, W + 2 * pad):
            return "the padding was not cropped off"
        if tuple(shape) == (N, C, H + pad, W + pad):
            return "the padding was cropped on one side only"
        if len(shape) == 3:
            return "the batch dimension N is missing"
        return ""
    return why


def expect_dX(student, config, case, what="dX"):
    expected = case.array("dX")
    expect_array(student.layer_run(case)["dX"], expected, config.tolerance(expected.dtype), what, case,
                 hint=config.checks["backward_dx_values"].hint, variants=case.variants("dX_"),
                 shape_hint=_crop_hint(case), function=BACKWARD)


def expect_dW(student, config, case):
    expected = case.array("dW")
    expect_array(student.layer_run(case)["dW"], expected, config.tolerance(expected.dtype),
                 "grad_weight after one backward (from zero)", case,
                 hint=config.checks["backward_dw_values"].hint, variants=case.variants("dW_"),
                 batch=case.params["N"], function=BACKWARD)


@check("forward_output", cases=any_layer)
def test_forward_output(student, config, case):
    expected = case.array("y")
    expect_array(student.layer_run(case)["y"], expected, config.tolerance(expected.dtype),
                 "forward's output", case, hint="forward (given code) was changed", function=FORWARD)


@check("backward_dx_shape_dtype", cases=any_layer)
def test_backward_dx_shape_dtype(student, config, case):
    dX = student.layer_run(case)["dX"]
    p = case.params
    shape = (p["N"], p["C_in"], p["H"], p["W"])
    if dX.shape != shape:
        raise CheckFailure(case, f"dX has shape {dX.shape}, expected (N, C_in, H, W) = {shape}",
                           likely_bug=_crop_hint(case)(dX.shape), function=BACKWARD)
    if dX.dtype != np.dtype(p["dtype"]):
        mixed = (f" (here the weights are {p['weight_dtype']}, so W_col.T @ dY_col is {p['weight_dtype']}: "
                 f"cast dX to dY's dtype)" if p.get("weight_dtype", p["dtype"]) != p["dtype"] else "")
        raise CheckFailure(case, f"dX has dtype {dX.dtype}, expected dY's dtype {p['dtype']}{mixed}",
                           likely_bug="dX does not keep dY's dtype", function=BACKWARD)
    expect_dX(student, config, case, what="dX (right shape and dtype; a case counts only with right values)")


@check("backward_dx_values", cases=layer_where(stride=lambda s: s == 1, padding=lambda p: p == 1))
def test_backward_dx_values(student, config, case):
    expect_dX(student, config, case)


@check("backward_dw_values", cases=layer_where(stride=lambda s: s == 1, N=lambda n: n == 1))
def test_backward_dw_values(student, config, case):
    expect_dW(student, config, case)


@check("padding_crop", cases=layer_where(stride=lambda s: s == 1, padding=lambda p: p in (0, 2)))
def test_padding_crop(student, config, case):
    expect_dX(student, config, case, what=f"dX (padding = {case.params['padding']})")


@check("stride", cases=layer_where(stride=lambda s: s > 1))
def test_stride(student, config, case):
    expect_dX(student, config, case, what=f"dX (stride = {case.params['stride']})")
    expect_dW(student, config, case)


@check("batch_sum", cases=layer_where(stride=lambda s: s == 1, N=lambda n: n > 1))
def test_batch_sum(student, config, case):
    expect_dW(student, config, case)
    expect_dX(student, config, case)


@check("grad_accumulates", cases=lambda case: is_layer(case) and layer_shape(case) in ACCUMULATION_SHAPES)
def test_grad_accumulates(student, config, case):
    """Starting from grad0, one backward gives grad0 + dW and another gives grad0 + 2 dW, where dW is
    the reference's: accumulating a wrong (or zero) gradient earns nothing."""
    run = student.layer_run(case)
    grad0, dW = case.array("grad0").astype(np.float64), case.array("dW").astype(np.float64)
    tol = config.tolerance(case.params["dtype"])
    for calls, got in ((1, run["grad_acc1"]), (2, run["grad_acc2"])):
        if got.shape != grad0.shape:
            raise CheckFailure(case, f"grad_weight has shape {got.shape}, expected {grad0.shape}", function=BACKWARD)
        if not matches(got, grad0 + calls * dW, tol):
            problem = (f"after {calls} backward call(s) starting from a nonzero grad_weight, grad_weight is "
                       f"not the starting value plus dW for each call")
            if matches(got, calls * dW, tol) or matches(got, dW, tol):
                why = "backward overwrote or reset grad_weight instead of adding to it (use +=)"
            elif matches(got, grad0, tol):
                why = "grad_weight did not change: backward must add dW to it"
            else:
                why, problem = "", problem + " (is dW itself right?)"
            raise CheckFailure(case, problem, likely_bug=why, function=BACKWARD)


@check("inputs_unchanged", cases=lambda case: is_layer(case) and layer_shape(case) in UNCHANGED_INPUT_SHAPES)
def test_inputs_unchanged(student, config, case):
    run = student.layer_run(case)
    # Leaving inputs alone is worth points only next to right answers (zeros leave them alone too).
    expect_dX(student, config, case)
    expect_dW(student, config, case)
    if not np.array_equal(run["dY_after"], case.array("dY")):
        raise CheckFailure(case, "dY changed during backward", likely_bug="backward modified dY in place",
                           function=BACKWARD)
    if not np.array_equal(run["x_after"], case.array("x")):
        raise CheckFailure(case, "the input x changed during forward or backward",
                           likely_bug="forward or backward modified the input x in place", function=BACKWARD)
    if not np.array_equal(run["dX_again"], run["dX"]):
        raise CheckFailure(case, "a second backward with the same dY returned a different dX",
                           likely_bug="backward changed its cache (X_cols, W_col) or dY", function=BACKWARD)
