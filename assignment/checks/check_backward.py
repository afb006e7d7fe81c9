"""Checks of Conv2d: forward (given), dX shape/dtype/values, dW, crop, stride, batch, accumulation, inputs."""

import numpy as np

from assignment.interface import is_layer, layer_shape
from autograder.checks import check
from autograder.compare import CheckFailure, expect_array, matches

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
        if len(shape) == 4 and tuple(shape[:2]) == (N, C) and pad and all(
                0 <= got <= want + 2 * pad for got, want in zip(shape[2:], (H, W))):
            return "the crop has the wrong size: dX_pad[:, :, p:p + H, p:p + W] is H x W"
        if len(shape) == 3:
            return "the batch dimension N is missing"
        return ""
    return why


# One property per check (autograder/attribution.py): dX's dtype and shape are
# backward_dx_shape_dtype's, the crop padding_crop's, the batch sum batch_sum's, and a wrong dX or dW
# on the plain cases backward_dx_values' and backward_dw_values'. Every check compares by value (after
# a cast) and blames what it reads on its owner; config.toml's `needs` blames the rest.
DX_DTYPE, CROP, BATCH, DW = "backward_dx_shape_dtype", "padding_crop", "batch_sum", "backward_dw_values"


def _dx_shape_blame(case):
    """A wrong dX shape: the crop's when the padding explains it (an image-shaped dX that _crop_hint
    reads), else the shape check's (a missing batch axis, any other shape)."""
    why = _crop_hint(case)
    return lambda shape: (CROP,) if len(shape) == 4 and why(shape) else (DX_DTYPE,)


def _dx_reading(case, tol):
    """The lab's reading of a wrong dX of the right shape: only the first image right (the batch
    sum's), or the right values moved (a crop at the wrong offset: the crop's)."""
    pad = case.params["padding"]

    def diagnosis(dX):
        expected = case.array("dX")
        if len(dX) > 1 and matches(dX[:1], expected[:1], tol):
            return "only the first image's dX is right: image n's dX comes from its own dY[n]", (BATCH,)
        if pad == 0:
            return None
        H, W = expected.shape[2:]
        for dy in range(-2 * pad, 2 * pad + 1):
            for dx in range(-2 * pad, 2 * pad + 1):
                if (dy, dx) == (0, 0) or H - abs(dy) < 2 or W - abs(dx) < 2:
                    continue
                got = dX[:, :, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)]
                want = expected[:, :, max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
                if np.allclose(got, want, rtol=1e-5, atol=1e-6 * max(1.0, float(np.max(np.abs(want))))):
                    return f"the right values, moved by ({dy}, {dx}) pixels: crop dX_pad at [p:p + H, p:p + W]", (CROP,)
        return None
    return diagnosis


def expect_dX(code, config, case, what="dX"):
    expected = case.array("dX")
    expect_array(code.layer_run(case)["dX"], expected, config.tolerance(expected.dtype), what, case,
                 hint=config.checks["backward_dx_values"].hint, variants=case.variants("dX_"),
                 shape_hint=_crop_hint(case), function=BACKWARD, dtype_owner=DX_DTYPE,
                 float32_tol=config.tolerance("float32"), shape_blame=_dx_shape_blame(case),
                 batch=case.params["N"], batch_owner=BATCH,
                 diagnosis=_dx_reading(case, config.tolerance(expected.dtype)))


def expect_dW(code, config, case):
    expected = case.array("dW")
    expect_array(code.layer_run(case)["dW"], expected, config.tolerance(expected.dtype),
                 "grad_weight after one backward (from zero)", case,
                 hint=config.checks["backward_dw_values"].hint, variants=case.variants("dW_"),
                 batch=case.params["N"], function=BACKWARD, dtype_owner=DW, batch_owner=BATCH,
                 float32_tol=config.tolerance("float32"), shape_blame=lambda shape: (DW,))


@check("forward_output", cases=any_layer)
def test_forward_output(code, config, case):
    expected = case.array("y")
    expect_array(code.layer_run(case)["y"], expected, config.tolerance(expected.dtype),
                 "forward's output", case, hint="forward (given code) was changed", function=FORWARD)


@check("backward_dx_shape_dtype", cases=any_layer)
def test_backward_dx_shape_dtype(code, config, case):
    dX = code.layer_run(case)["dX"]
    p = case.params
    shape = (p["N"], p["C_in"], p["H"], p["W"])
    if dX.shape != shape:
        raise CheckFailure(case, f"dX has shape {dX.shape}, expected (N, C_in, H, W) = {shape}",
                           likely_bug=_crop_hint(case)(dX.shape), function=BACKWARD,
                           blame=_dx_shape_blame(case)(dX.shape))
    if dX.dtype != np.dtype(p["dtype"]):
        mixed = (f" (here the weights are {p['weight_dtype']}, so W_col.T @ dY_col is {p['weight_dtype']}: "
                 f"cast dX to dY's dtype)" if p.get("weight_dtype", p["dtype"]) != p["dtype"] else "")
        raise CheckFailure(case, f"dX has dtype {dX.dtype}, expected dY's dtype {p['dtype']}{mixed}",
                           likely_bug="dX does not keep dY's dtype", function=BACKWARD,
                           blame=("col2im_shape_dtype",))    # col2im's own dtype bug, when it has one
    expect_dX(code, config, case, what="dX (right shape and dtype; a case counts only with right values)")


@check("backward_dx_values", cases=layer_where(stride=lambda s: s == 1, padding=lambda p: p == 1))
def test_backward_dx_values(code, config, case):
    expect_dX(code, config, case)


@check("backward_dw_values", cases=layer_where(stride=lambda s: s == 1, N=lambda n: n == 1))
def test_backward_dw_values(code, config, case):
    expect_dW(code, config, case)


@check("padding_crop", cases=layer_where(stride=lambda s: s == 1, padding=lambda p: p in (0, 2)))
def test_padding_crop(code, config, case):
    expect_dX(code, config, case, what=f"dX (padding = {case.params['padding']})")


@check("stride", cases=layer_where(stride=lambda s: s > 1))
def test_stride(code, config, case):
    expect_dX(code, config, case, what=f"dX (stride = {case.params['stride']})")
    expect_dW(code, config, case)


@check("batch_sum", cases=layer_where(stride=lambda s: s == 1, N=lambda n: n > 1))
def test_batch_sum(code, config, case):
    expect_dW(code, config, case)
    expect_dX(code, config, case)


@check("grad_accumulates", cases=lambda case: is_layer(case) and layer_shape(case) in ACCUMULATION_SHAPES)
def test_grad_accumulates(code, config, case):
    """Starting from grad0, one backward gives grad0 + dW and another grad0 + 2 dW, dW being what the
    code's own backward gives from zero: accumulation is judged apart from dW's values. The case
    counts only when that dW is right too (accumulating a wrong or zero gradient earns nothing); a
    wrong dW is the dW checks' property, which blocks the case (config.toml's `needs`)."""
    run = code.layer_run(case)
    grad0 = case.array("grad0").astype(np.float64)
    own_dW = run["dW"].astype(np.float64)
    tol = config.tolerance(case.params["dtype"])
    for calls, got in ((1, run["grad_acc1"]), (2, run["grad_acc2"])):
        if got.shape != grad0.shape:
            raise CheckFailure(case, f"grad_weight has shape {got.shape}, expected {grad0.shape}", function=BACKWARD,
                               blame=(DW,))
        if own_dW.shape == grad0.shape and not matches(got, grad0 + calls * own_dW, tol):
            problem = (f"after {calls} backward call(s) starting from a nonzero grad_weight, grad_weight is "
                       f"not the starting value plus your dW for each call")
            if matches(got, calls * own_dW, tol) or matches(got, own_dW, tol):
                why = "backward overwrote or reset grad_weight instead of adding to it (use +=)"
            elif matches(got, grad0, tol):
                why = "grad_weight did not change: backward must add dW to it"
            else:
                why = ""
            raise CheckFailure(case, problem, likely_bug=why, function=BACKWARD, blame=())
    expect_dW(code, config, case)


@check("inputs_unchanged", cases=lambda case: is_layer(case) and layer_shape(case) in UNCHANGED_INPUT_SHAPES)
def test_inputs_unchanged(code, config, case):
    run = code.layer_run(case)
    if not np.array_equal(run["dY_after"], case.array("dY")):
        raise CheckFailure(case, "dY changed during backward", likely_bug="backward modified dY in place",
                           function=BACKWARD, blame=())
    if not np.array_equal(run["x_after"], case.array("x")):
        raise CheckFailure(case, "the input x changed during forward or backward",
                           likely_bug="forward or backward modified the input x in place", function=BACKWARD, blame=())
    if not (run["dX_again"].shape == run["dX"].shape and np.array_equal(run["dX_again"], run["dX"])):
        # its own property when the first dX was right; else a wrong dX (the value checks') may be why
        first_right = matches(run["dX"], case.array("dX"), config.tolerance(case.params["dtype"]))
        raise CheckFailure(case, "a second backward with the same dY returned a different dX",
                           likely_bug="backward changed its cache (X_cols, W_col) or dY", function=BACKWARD,
                           blame=() if first_right else None)
    # Leaving inputs alone is worth points only next to right answers (zeros leave them alone too):
    # wrong values are the value checks' property, which blocks the case (config.toml's `needs`).
    expect_dX(code, config, case)
    expect_dW(code, config, case)
