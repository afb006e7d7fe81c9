"""Comparing a student's array with the expected one, and saying what is wrong.

Order of questions: is it an array at all, then shape, then dtype, then finite,
then values within the dtype's tolerance (for one number, expect_scalar: a real
number at all, then finite, then within tolerance). A failure message names the case and
the likely bug in a student's words, and a map of where the values are wrong
(autograder.error_map); hidden cases never print a value of their answers.
"""

import math
import weakref

import numpy as np

from autograder.error_map import values_may_be_shown, where_wrong
from autograder.failures import CheckFailure  # noqa: F401  (the checks' one import)


_BOUNDS = {}                     # (id(expected), atol, rtol) -> (weak reference to expected, bound)
_BOUNDS_BYTES = [0]              # their total size
_BOUNDS_MAX_BYTES = 64 * 2**20


def _frozen(array):
    """Read-only and owning its memory (or viewing a read-only array): nothing can change it."""
    while array is not None and isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    return True


def _allowed_error(expected, tol):
    """atol * max(1, max|e|) + rtol * |e|, element-wise. Kept for read-only arrays (the fixtures'
    answers, which a batch compares again for every submission); the weak reference makes
    sure a reused id never returns another array's bound."""
    key = (id(expected), tol.atol, tol.rtol)
    hit = _BOUNDS.get(key)
    if hit is not None and hit[0]() is expected:
        return hit[1]
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    bound = tol.atol * scale + tol.rtol * np.abs(expected)
    if _frozen(expected):
        if _BOUNDS_BYTES[0] + bound.nbytes > _BOUNDS_MAX_BYTES:
            _BOUNDS.clear()
            _BOUNDS_BYTES[0] = 0
        _BOUNDS_BYTES[0] += bound.nbytes
        bound.flags.writeable = False
        _BOUNDS[key] = (weakref.ref(expected), bound)
    return bound


def tolerance_ok(actual, expected, tol):
    """Element-wise |a - e| <= atol * max(1, max|e|) + rtol * |e| (boolean array)."""
    return np.abs(actual.astype(np.float64) - expected) <= _allowed_error(expected, tol)


def matches(actual, expected, tol):
    """Same shape, real numbers, every element within tolerance (NaN and inf never are)."""
    return (isinstance(actual, np.ndarray) and actual.shape == expected.shape
            and actual.dtype.kind in "fiu" and bool(np.all(tolerance_ok(actual, expected, tol))))


def diagnose_values(actual, expected, tol, variants=(), batch=None, diagnosis=None):
    """(likely bug, blame) for wrong values: ('', None) when no known pattern fits.

    variants: (what the student did, array[, the check owning that bug]) of known wrong answers
    (Case.variants); batch: N, to spot averaging (blame 'batch': the caller's batch_owner);
    diagnosis(actual) -> (likely bug, blame) or None: the lab's own readings, after the variants.
    """
    for bug, wrong, *owner in variants:
        if not matches(wrong, expected, tol) and matches(actual, wrong, tol):
            return bug, (tuple(owner[:1]) if owner and owner[0] else None)
    found = diagnosis(actual) if diagnosis else None
    if found:
        return found
    if expected.any() and not actual.any():
        return "every value is zero: was the result computed and stored?", None
    if batch and batch > 1 and matches(actual * batch, expected, tol):
        return "the gradient was averaged over the batch instead of summed", "batch"
    if matches(-actual, expected, tol):
        return "the sign is flipped", None
    if matches(actual / 2, expected, tol):
        return "every value is twice the expected one (added twice?)", None
    return "", None


def error_size(actual, expected, tol):
    """One line: the largest absolute error, and relative to max|expected|, against the tolerance."""
    diff = np.abs(actual.astype(np.float64) - expected)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    worst = float(np.max(diff)) if diff.size else 0.0
    relative = worst / scale if scale else float("inf")
    return (f"largest error {worst:.2g} ({relative:.2g} of max|expected|); tolerance: "
            f"rtol {tol.rtol:g}, atol {tol.atol:g} x max(1, max|expected|)")


def expect_array(actual, expected, tol, what, case, hint="", variants=(), batch=None, shape_hint=None,
                 function="", dtype_owner=None, shape_blame=None, batch_owner=None, float32_tol=None,
                 diagnosis=None):
    """Raises CheckFailure unless `actual` has expected's shape and dtype and close values.

    what: e.g. "dX"; case: a fixtures.Case; shape_hint(actual_shape) -> str may explain a wrong shape;
    function: the student's function that produced `actual` (e.g. "col2im").
    One property, one owner: with dtype_owner (the check that owns the result's dtype) a float
    result of another dtype is compared by value after a cast, and a float64 result only as
    accurate as float32 (float32_tol) is blamed on that check, never read as a structural bug;
    shape_blame(shape) -> the checks owning a wrong shape; batch_owner: the check owning the sum
    over the batch; diagnosis: see diagnose_values. Every value failure states the size of the
    error against the tolerance.
    """
    def fail(problem, likely_bug="", detail="", blame=None):
        return CheckFailure(case, problem, likely_bug=likely_bug, detail=detail, function=function, blame=blame)

    if not isinstance(actual, np.ndarray):
        raise fail(f"{what}: got {type(actual).__name__}, expected a numpy array")
    if actual.shape != expected.shape:
        raise fail(f"{what} has shape {actual.shape}, expected {expected.shape}",
                   shape_hint(actual.shape) if shape_hint else "",
                   blame=shape_blame(actual.shape) if shape_blame else None)
    if actual.dtype != expected.dtype:
        if dtype_owner is None or actual.dtype.kind != "f":
            raise fail(f"{what} has dtype {actual.dtype}, expected {expected.dtype} (keep the input's dtype)",
                       blame=(dtype_owner,) if dtype_owner else None)
        actual = actual.astype(expected.dtype)      # the dtype is another check's: judge the values
    if not np.all(np.isfinite(actual)):
        raise fail(f"{what} contains NaN or infinity")
    ok = tolerance_ok(actual, expected, tol)
    if ok.all():
        return
    bad = int(ok.size - ok.sum())
    size = error_size(actual, expected, tol)
    if (dtype_owner and float32_tol is not None and expected.dtype == np.float64
            and matches(actual, expected, float32_tol)):
        raise fail(f"{what}: {bad} of {ok.size} values are close, but not float64-accurate ({size})",
                   "computed in float32 somewhere? (a float32 buffer or constant in a float64 computation)",
                   blame=(dtype_owner,))
    with np.errstate(all="ignore"):       # garbage values overflow when scaled: no reading, no warning
        why, owner = diagnose_values(actual, expected, tol, variants, batch, diagnosis)
    if owner == "batch":                  # averaged over the batch: the batch sum's check, when it has one
        owner = (batch_owner,) if batch_owner else None
    problem = f"{what}: {bad} of {ok.size} values are wrong ({size})" + (f"; {hint}" if hint and not why else "")
    # The map shows values only for public fixture cases (error_map decides).
    raise fail(problem, why, where_wrong(actual, expected, ok, case, lambda a, e: tolerance_ok(a, e, tol)),
               blame=owner)


def expect_scalar(actual, expected, tol, what, case, hint="", variants=(), function=""):
    """Raises CheckFailure unless `actual` is one real number within tolerance of `expected`.

    A number is a Python int or float (not a bool) or a 0-d array of ints or floats (numpy's
    scalars arrive so); the tolerance is the arrays': |a - e| <= atol * max(1, |e|) + rtol * |e|.
    variants: (what the student did, its answer[, the check owning that bug]) of known wrong
    answers (Case.variants). Only public cases print the values; a hidden case says no more
    than that the number is off, since one number and its error would give the answer away.
    """
    def fail(problem, likely_bug="", blame=None):
        return CheckFailure(case, problem, likely_bug=likely_bug, function=function, blame=blame)

    if isinstance(actual, np.ndarray) and actual.shape == () and actual.dtype.kind in "iuf":
        value = float(actual)
    elif type(actual) in (int, float):
        value = float(actual)
    else:
        got = (f"an array of shape {actual.shape} and dtype {actual.dtype}" if isinstance(actual, np.ndarray)
               else type(actual).__name__)
        raise fail(f"{what}: got {got}, expected one number (a float)")
    if not math.isfinite(value):
        raise fail(f"{what} is {value}: not a finite number")
    expected = float(expected)
    allowed = tol.atol * max(1.0, abs(expected)) + tol.rtol * abs(expected)
    if abs(value - expected) <= allowed:
        return
    why, blame = "", None
    for bug, wrong, *owner in variants:
        wrong = float(wrong)
        if abs(wrong - expected) > allowed and abs(value - wrong) <= allowed:
            why, blame = bug, (tuple(owner[:1]) if owner and owner[0] else None)
            break
    tolerance = f"tolerance: rtol {tol.rtol:g}, atol {tol.atol:g} x max(1, |expected|)"
    if values_may_be_shown(case):
        problem = f"{what} is {value:.8g}, expected {expected:.8g} ({tolerance})"
    else:
        problem = f"{what} is off by more than the tolerance ({tolerance})"
    raise fail(problem + (f"; {hint}" if hint and not why else ""), why, blame)
