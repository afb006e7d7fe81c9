"""The pooling checks: forward, backward through the max positions forward stored, and an
evaluation forward (train=False) that must store nothing: a backward after it still answers
for the training forward's input."""

from autograder.checks import check
from autograder.compare import expect_array


def pool(case):
    return case.kind == "pool"


@check("pool_forward", cases=pool)
def test_pool_forward(code, config, case):
    expected = case.array("y")
    expect_array(code.pool_run(case)["y"], expected, config.tolerance(expected.dtype),
                 "y = forward(x, train=True)", case, hint=config.checks["pool_forward"].hint,
                 function="MaxPool2d.forward")


@check("pool_backward", cases=pool)
def test_pool_backward(code, config, case):
    expected = case.array("dX")
    expect_array(code.pool_run(case)["dX"], expected, config.tolerance(expected.dtype),
                 "dX = backward(dY) after forward(x, train=True)", case, hint=config.checks["pool_backward"].hint,
                 variants=case.variants("dX_"), function="MaxPool2d.backward")


@check("pool_eval_mode", cases=pool)
def test_pool_eval_mode(code, config, case):
    run = code.pool_run(case)
    tol = config.tolerance(case.params["dtype"])
    hint = config.checks["pool_eval_mode"].hint
    expect_array(run["y_eval"], case.array("y_eval"), tol, "forward(x_eval, train=False)", case, hint=hint,
                 function="MaxPool2d.forward")
    expect_array(run["dX_after_eval"], case.array("dX"), tol, "backward(dY) after forward(x_eval, train=False)",
                 case, hint=hint, variants=case.variants("dX_"), function="MaxPool2d.forward")
