"""The Linear lab's checks: dX, and dW summed over the batch."""

from autograder.checks import check
from autograder.compare import expect_array


@check("backward_dx", cases=lambda case: True)
def test_backward_dx(code, config, case):
    expected = case.array("dX")
    expect_array(code.results(case)["dX"], expected, config.tolerance(expected.dtype), "dX", case,
                 hint=config.checks["backward_dx"].hint, function="Linear.backward")


@check("backward_dw", cases=lambda case: case.params["N"] > 1)     # N = 1 cannot tell sum from mean
def test_backward_dw(code, config, case):
    expected = case.array("dW")
    expect_array(code.results(case)["dW"], expected, config.tolerance(expected.dtype),
                 "grad_weight after one backward", case, hint=config.checks["backward_dw"].hint,
                 variants=case.variants("dW_"), batch=case.params["N"], function="Linear.backward")
