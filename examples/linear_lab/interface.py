"""The Linear lab for the engine: contract, adapter and feedback vocabulary."""

import numpy as np

from autograder.adapter import CallResults, CodeAdapter, as_array
from autograder.lab_loader import Contract
from autograder.sandbox import StudentError

CONTRACT = Contract(classes=("Linear",), methods={"Linear": ("forward", "backward")},
                    attributes={"Linear": ("weight", "grad_weight")})
STUDENT_PARTS = ("Linear.backward",)
BUG_VARIANTS = {"dW_mean": "dW was averaged over the batch instead of summed"}


def describe_case(case):
    p = case.params
    return f"N={p['N']} D_in={p['D_in']} D_out={p['D_out']} {p['dtype']}"


class Adapter(CodeAdapter):
    """One run per case: a fresh Linear with the case's weight, forward(x), backward(dY),
    then grad_weight; cached, so both checks share it."""

    STAGES = ("y", "dX", "dW")

    def results(self, case):
        def make():
            run = CallResults()
            p = case.params
            x, dY, weight = case.array("x"), case.array("dY"), case.array("weight")
            try:
                layer = self.new_object("Linear", p["D_in"], p["D_out"],
                                        attributes=[("weight", weight), ("grad_weight", np.zeros_like(weight))])
                values = layer.run_steps([("call", "forward", x), ("call", "backward", dY), ("get", "grad_weight")],
                                         "Linear.backward", [dY.shape, x.shape, weight.shape])
                values = [as_array(v, what, call="Linear.backward")
                          for v, what in zip(values, ("Linear.forward", "Linear.backward", "reading Linear.grad_weight"))]
            except StudentError as exc:
                run.fail_rest(self.STAGES, exc)
                return run
            for name, value in zip(self.STAGES, values):
                run.put(name, value)
            return run
        return self._cached(("linear", case.id), make)
