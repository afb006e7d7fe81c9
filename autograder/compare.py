"""Comparing a student's array with the expected one, and saying what is wrong.

Order of questions: is it an array at all, then shape, then dtype, then finite,
then values within the dtype's tolerance. A failure message names the case and
the likely bug in a student's words, and never prints expected values (hidden
checks must not leak their answers): only counts, the largest error and where.
"""

import numpy as np

# Variant arrays stored in the fixtures (answers of typical bugs) -> what the student did.
VARIANT_MESSAGES = {
    "overwrite": "overlapping windows were overwritten instead of summed (add each patch with +=)",
    "channel_last": "each column was read as (kH, kW, C) instead of (C, kH, kW)",
    "ignore_stride": "windows were placed one pixel apart instead of `stride` pixels apart",
    "dW_first_image": "dW used only the first image of the batch: sum over all N images",
    "dX_first_image_for_all": "every image's dX was computed from the first image's dY",
    "dX_flipped_kernel": "dX used a rotated (flipped) kernel: the layer is a cross-correlation, use W_col.T as it is",
}


class CheckFailure(AssertionError):
    """A check failed; str() is the student-facing message."""


def tolerance_ok(actual, expected, tol):
    """Element-wise |a - e| <= atol * max(1, max|e|) + rtol * |e| (boolean array)."""
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    return np.abs(actual.astype(np.float64) - expected) <= tol.atol * scale + tol.rtol * np.abs(expected)


def matches(actual, expected, tol):
    """Same shape, real numbers, every element within tolerance (NaN and inf never are)."""
    return (isinstance(actual, np.ndarray) and actual.shape == expected.shape
            and actual.dtype.kind in "fiu" and bool(np.all(tolerance_ok(actual, expected, tol))))


def diagnose_values(actual, expected, tol, variants=(), batch=None):
    """A likely bug for wrong values, or '' when no known pattern fits.

    variants: (name, array) pairs of known wrong answers; batch: N, to spot averaging.
    """
    for name, wrong in variants:
        if not matches(wrong, expected, tol) and matches(actual, wrong, tol):
            return VARIANT_MESSAGES.get(name, name)
    if expected.any() and not actual.any():
        return "every value is zero: was the result computed and stored?"
    if batch and batch > 1 and matches(actual * batch, expected, tol):
        return "the gradient was averaged over the batch instead of summed"
    if matches(-actual, expected, tol):
        return "the sign is flipped"
    if matches(actual / 2, expected, tol):
        return "every value is twice the expected one (added twice?)"
    return ""


def expect_array(actual, expected, tol, what, case, hint="", variants=(), batch=None, shape_hint=None):
    """Raises CheckFailure unless `actual` has expected's shape and dtype and close values.

    what: e.g. "dX"; case: a fixtures.Case; shape_hint(actual_shape) -> str may explain a wrong shape.
    """
    where = f"[{case.describe()}] {what}"
    if not isinstance(actual, np.ndarray):
        raise CheckFailure(f"{where}: got {type(actual).__name__}, expected a numpy array")
    if actual.shape != expected.shape:
        why = shape_hint(actual.shape) if shape_hint else ""
        raise CheckFailure(f"{where} has shape {actual.shape}, expected {expected.shape}"
                           + (f"; likely bug: {why}" if why else ""))
    if actual.dtype != expected.dtype:
        raise CheckFailure(f"{where} has dtype {actual.dtype}, expected {expected.dtype} "
                           f"(keep the input's dtype)")
    if not np.all(np.isfinite(actual)):
        raise CheckFailure(f"{where} contains NaN or infinity")
    ok = tolerance_ok(actual, expected, tol)
    if not ok.all():
        bad = int(ok.size - ok.sum())
        err = np.abs(actual.astype(np.float64) - expected)
        worst = np.unravel_index(int(np.argmax(np.where(ok, -1, err))), err.shape)
        why = diagnose_values(actual, expected, tol, variants, batch)
        message = (f"{where}: {bad} of {ok.size} values are wrong (largest error "
                   f"{float(err[worst]):.2e} at index {tuple(int(i) for i in worst)})")
        if why:
            message += f"; likely bug: {why}"
        elif hint:
            message += f"; {hint}"
        raise CheckFailure(message)
