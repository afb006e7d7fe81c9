"""autograder/compare.py: expect_array's questions in order (an array, its shape, its dtype, finite,
values), the cast when the dtype is another check's, the float32 reading, the stated error size,
and who is blamed; the tolerance and the known-bug readings behind it."""

from types import SimpleNamespace

import numpy as np
import pytest

from autograder.compare import diagnose_values, error_size, expect_array, matches, tolerance_ok
from autograder.failures import CheckFailure

F64 = SimpleNamespace(rtol=1e-7, atol=1e-9)
F32 = SimpleNamespace(rtol=2e-4, atol=2e-5)
CASE = SimpleNamespace(describe=lambda: "the hand-made case", folder=None, lab=None)   # hidden: no folder


def failure_of(actual, expected, tol=F64, **kwargs):
    with pytest.raises(CheckFailure) as caught:
        expect_array(actual, expected, tol, "dX", CASE, **kwargs)
    return caught.value.failure


def expected_array(dtype=np.float64, shape=(2, 3, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# --- the tolerance ----------------------------------------------------------------------------

def test_atol_scales_with_the_largest_expected_value_and_rtol_with_each():
    tol = SimpleNamespace(rtol=0.0, atol=1e-3)
    expected = np.array([100.0, 0.0])
    assert tolerance_ok(np.array([100.05, 0.09]), expected, tol).all()          # 1e-3 * 100 = 0.1
    assert not tolerance_ok(np.array([100.2, 0.0]), expected, tol)[0]
    small = np.array([0.5])                                                   # max(1, 0.5): atol itself
    assert not tolerance_ok(np.array([0.5 + 2e-3]), small, tol)[0]
    rel = SimpleNamespace(rtol=0.01, atol=0.0)
    assert tolerance_ok(np.array([1.005, 50.4]), np.array([1.0, 50.0]), rel).tolist() == [True, True]
    assert tolerance_ok(np.array([1.02, 50.0]), np.array([1.0, 50.0]), rel).tolist() == [False, True]


@pytest.mark.parametrize("actual, ok", [
    (np.array([1.0, 2.0]), True),
    (np.array([1, 2]), True),                       # integers are numbers
    (np.array([1.0, np.nan]), False),
    (np.array([1.0, np.inf]), False),
    (np.array([[1.0, 2.0]]), False),                # another shape
    (np.array([True, True]), False),                # not a number array
    ([1.0, 2.0], False),                            # not an array
])
def test_matches(actual, ok):
    assert matches(actual, np.array([1.0, 2.0]), F64) is ok


# --- the order of questions ---------------------------------------------------------------------

def test_a_close_answer_passes():
    expected = expected_array()
    assert expect_array(expected * (1 + 1e-9), expected, F64, "dX", CASE) is None


def test_not_an_array():
    f = failure_of([[1.0]], np.ones((1, 1)), function="col2im")
    assert f.problem == "dX: got list, expected a numpy array" and f.function == "col2im"
    assert f.case == "the hand-made case"


def test_a_wrong_shape_is_explained_and_blamed_by_the_callers_functions():
    f = failure_of(np.ones((3, 2)), np.ones((2, 3)), shape_hint=lambda shape: f"transposed? {shape}",
                   shape_blame=lambda shape: ("crop",))
    assert f.problem == "dX has shape (3, 2), expected (2, 3)"
    assert f.likely_bug == "transposed? (3, 2)" and f.blame == ("crop",)
    f = failure_of(np.ones((3, 2)), np.ones((2, 3)))
    assert f.likely_bug == "" and f.blame is None


def test_a_wrong_dtype_without_an_owner_fails_here():
    f = failure_of(np.ones(3, np.float32), np.ones(3))
    assert f.problem == "dX has dtype float32, expected float64 (keep the input's dtype)" and f.blame is None


def test_a_float_of_another_dtype_is_judged_by_value_when_the_dtype_is_another_checks():
    expected = np.array([0.5, 1.0, -2.0])           # exact in float32: nothing to blame
    assert expect_array(expected.astype(np.float32), expected, F64, "dX", CASE, dtype_owner="shape_dtype") is None
    f = failure_of(np.array([0.5, 1.0, 2.0], np.float32), expected, dtype_owner="shape_dtype")
    assert f.problem.startswith("dX: 1 of 3 values are wrong") and "dtype" not in f.problem


def test_an_integer_result_is_the_dtype_owners_even_with_an_owner():
    f = failure_of(np.ones(3, np.int64), np.ones(3), dtype_owner="shape_dtype")
    assert "dtype int64" in f.problem and f.blame == ("shape_dtype",)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_fail_before_the_values(bad):
    actual = np.ones(4)
    actual[2] = bad
    assert failure_of(actual, np.ones(4)).problem == "dX contains NaN or infinity"


# --- wrong values ---------------------------------------------------------------------------------

def test_a_value_failure_counts_the_wrong_values_and_states_the_error_size():
    expected = np.array([1.0, 2.0, 4.0, 8.0])
    f = failure_of(np.array([1.0, 2.0, 5.0, 8.0]), expected, function="Conv2d.backward")
    assert f.problem.startswith("dX: 1 of 4 values are wrong (largest error 1 (0.12 of max|expected|); ")
    assert "rtol 1e-07, atol 1e-09" in f.problem
    assert "where it is wrong" in f.detail and "reading:" in f.detail
    assert f.function == "Conv2d.backward" and f.likely_bug == ""


def test_error_size_is_the_largest_error_against_the_largest_expected_value():
    line = error_size(np.array([0.0, 3.0]), np.array([-1.0, 2.0]), F32)
    assert line == "largest error 1 (0.5 of max|expected|); tolerance: rtol 0.0002, atol 2e-05 x max(1, max|expected|)"
    assert "(inf of max|expected|)" in error_size(np.array([1.0]), np.array([0.0]), F32)


def test_the_hint_is_added_only_when_no_known_bug_is_read():
    expected = np.array([1.0, 2.0, 3.0])
    assert failure_of(np.array([1.0, 2.5, 3.0]), expected, hint="see §3").problem.endswith("; see §3")
    flipped = failure_of(-expected, expected, hint="see §3")
    assert flipped.likely_bug == "the sign is flipped" and "see §3" not in flipped.problem


def test_float32_accuracy_in_float64_work_is_the_dtype_owners_not_a_structural_bug():
    expected = expected_array(seed=3)
    in_float32 = expected * (1 + 1e-5)                     # float32's accuracy, not float64's
    f = failure_of(in_float32, expected, dtype_owner="shape_dtype", float32_tol=F32)
    assert "values are close, but not float64-accurate (largest error" in f.problem
    assert "float32" in f.likely_bug and f.blame == ("shape_dtype",)
    plain = failure_of(in_float32, expected)              # without an owner: an ordinary value failure
    assert "values are wrong" in plain.problem and plain.blame is None


def test_an_answer_wrong_beyond_float32_is_not_read_as_float32():
    expected = expected_array(seed=4)
    f = failure_of(expected + 0.1, expected, dtype_owner="shape_dtype", float32_tol=F32)
    assert "values are wrong" in f.problem and f.blame != ("shape_dtype",)


def test_a_stored_bug_answer_names_the_bug_and_its_owner():
    expected = expected_array(seed=5)
    overwritten = expected * 0.5 + 1
    variants = [("not this one", expected + 7, ""), ("overlaps overwritten", overwritten, "overlap_sum")]
    f = failure_of(overwritten.copy(), expected, variants=variants)
    assert f.likely_bug == "overlaps overwritten" and f.blame == ("overlap_sum",)
    f = failure_of(expected + 7, expected, variants=variants)
    assert f.likely_bug == "not this one" and f.blame is None


def test_a_variant_equal_to_the_answer_is_never_a_reading():
    expected = np.array([1.0, 2.0])
    why, blame = diagnose_values(np.array([1.0, 2.5]), expected, F64, [("same as right", expected.copy())])
    assert (why, blame) == ("", None)


def test_averaging_over_the_batch_is_blamed_on_the_batch_owner():
    expected = expected_array(seed=6)
    f = failure_of(expected / 4, expected, batch=4, batch_owner="batch_sum")
    assert f.likely_bug == "the gradient was averaged over the batch instead of summed" and f.blame == ("batch_sum",)
    assert failure_of(expected / 4, expected, batch=4).blame is None
    assert failure_of(expected / 4, expected, batch=1).likely_bug == ""


@pytest.mark.parametrize("make, words", [
    (lambda e: -e, "the sign is flipped"),
    (lambda e: 2 * e, "twice the expected"),
    (lambda e: np.zeros_like(e), "every value is zero"),
])
def test_simple_readings(make, words):
    expected = expected_array(seed=7)
    assert words in failure_of(make(expected), expected).likely_bug


def test_the_labs_own_diagnosis_comes_after_the_variants_and_before_the_general_readings():
    expected = expected_array(seed=8)
    seen = []

    def diagnosis(actual):
        seen.append(actual.shape)
        return "the lab's reading", ("lab_check",)
    f = failure_of(-expected, expected, diagnosis=diagnosis)
    assert (f.likely_bug, f.blame) == ("the lab's reading", ("lab_check",)) and seen == [expected.shape]
    f = failure_of(-expected, expected, variants=[("a variant", -expected, "")], diagnosis=diagnosis)
    assert f.likely_bug == "a variant"
    f = failure_of(-expected, expected, diagnosis=lambda a: None)
    assert f.likely_bug == "the sign is flipped"


def test_garbage_values_get_a_failure_not_a_warning_or_a_crash():
    expected = expected_array(seed=9)
    with np.errstate(all="raise"):
        f = failure_of(np.full(expected.shape, 1e308), expected, batch=4)
    assert "values are wrong" in f.problem
