"""The loss checks: its value and its gradient, then both on logits large enough to overflow exp.

softmax_cross_entropy returns a tuple (loss, dlogits): one number and one array, each checked
for what it is (a finite number, an array of the logits' shape and dtype) before its value."""

from autograder.checks import check
from autograder.compare import expect_array, expect_scalar


LOSS = "softmax_cross_entropy"


def plain(case):
    return case.kind == "softmax" and not case.params["shift"]


def shifted(case):
    return case.kind == "softmax" and case.params["shift"] > 0


def expect_loss(code, config, case, check_name):
    expect_scalar(code.loss(case)["loss"], case.array("loss"), config.tolerance(case.params["dtype"]),
                  "loss", case, hint=config.checks[check_name].hint, variants=case.variants("loss_"),
                  function=LOSS)


def expect_dlogits(code, config, case, check_name):
    expected = case.array("dlogits")
    expect_array(code.loss(case)["dlogits"], expected, config.tolerance(expected.dtype), "dlogits", case,
                 hint=config.checks[check_name].hint, variants=case.variants("dlogits_"), function=LOSS)


@check("loss_value", cases=plain)
def test_loss_value(code, config, case):
    expect_loss(code, config, case, "loss_value")


@check("loss_gradient", cases=plain)
def test_loss_gradient(code, config, case):
    expect_dlogits(code, config, case, "loss_gradient")


@check("loss_stable", cases=shifted)
def test_loss_stable(code, config, case):
    expect_loss(code, config, case, "loss_stable")
    expect_dlogits(code, config, case, "loss_stable")
