"""This lab's adapter: the runs of the student's conv2d.py that the checks ask for."""

import numpy as np

from autograder.adapter import CallResults, CodeAdapter, StepRunner, as_array
from autograder.sandbox import StudentError


class Layer(StepRunner):
    """The student's Conv2d as this lab's checks drive it, in steps of their own vocabulary:
    ("set", attr, array), ("get", attr) -> the array, ("zero_grad",) -> None, ("forward", x) and
    ("backward", dY) -> (result, the argument as the call left it). Each becomes the engine's
    generic step (a call of that method, echoing its argument); a result that is not an array
    ends the list as a StudentError('bad_reply'), as a failed step does."""

    def __init__(self, obj):
        self._obj = obj

    @staticmethod
    def _generic(step):
        """The engine's step for one of ours."""
        op = step[0]
        if op in ("forward", "backward"):
            return ("call_echo", op, step[1])
        if op == "zero_grad":
            return ("call_ignore", "zero_grad")       # what it returns was never looked at
        return step

    @staticmethod
    def _ours(step, value):
        """Our value for the engine's value of one step; StudentError for a result that is no array."""
        op = step[0]
        if op in ("set", "zero_grad"):
            return None
        if op == "get":
            return as_array(value, f"reading Conv2d.{step[1]}")
        result, (argument,) = value
        return as_array(result, f"Conv2d.{op}"), argument

    def steps(self, steps, name, reply_shapes):
        values = self._obj.steps([self._generic(step) for step in steps], name, reply_shapes)
        out = []
        for step, value in zip(steps, values):
            if not isinstance(value, StudentError):
                try:
                    value = self._ours(step, value)
                except StudentError as exc:
                    exc.call = exc.call or name
                    value = exc
            out.append(value)
            if isinstance(value, StudentError):
                break
        return out


class Adapter(CodeAdapter):
    """col2im on a col2im case, a layer run (forward, backward, accumulation) on a layer case,
    perturbed forwards for finite differences; each cached per case."""

    def new_layer(self, params, weight, grad):
        """A fresh student Conv2d for a layer case, with the case's weight and grad_weight set
        (in the construction's round trip)."""
        return Layer(self.new_object("Conv2d", params["C_in"], params["C_out"], tuple(params["kernel_size"]),
                                     params["stride"], params["padding"], attributes=[("weight", weight),
                                                                                      ("grad_weight", grad)]))

    def col2im(self, case):
        """The student's col2im on a col2im case's Y (cached); raises StudentError."""
        def make():
            p = case.params
            run = CallResults()
            try:
                run.put("result", as_array(self.call("col2im", case.array("Y"), p["C"], p["H"], p["W"], p["kH"],
                                                     p["kW"], p["stride"], reply_shapes=[(p["C"], p["H"], p["W"])]),
                                           "col2im", call="col2im"))
            except StudentError as exc:        # kept: every check on this case reports it
                run.put("result", exc)
            return run
        return self._cached(("col2im", case.id), make)["result"]

    LAYER_STAGES = ("y", "x_after", "dX", "dY_after", "dW", "grad_acc1", "dX_again", "grad_acc2")
    # The checks that read grad_acc1, dX_again and grad_acc2: only their cases pay for the two
    # repeat backwards (on a 32-image batch those would be most of the case's cost).
    REPEATS_READ_BY = frozenset({"grad_accumulates", "inputs_unchanged"})

    def layer_run(self, case):
        """Runs a layer case once (cached): forward, then backward and accumulation calls.

        Stages: y, x_after (x as the worker saw it after forward), dX, dY_after, dW
        (grad_weight after one backward from zero), grad_acc1 / grad_acc2 (grad_weight
        after one and two more backward calls starting from grad0), dX_again. Forward
        and backward go in separate round trips, so a backward that hangs or crashes
        does not cost the forward result.
        """
        def make():
            run = CallResults()
            x, dY, weight = case.array("x"), case.array("dY"), case.array("weight")
            try:
                layer = self.new_layer(case.params, weight, np.zeros_like(weight))
                (y, x_after), = layer.run_steps([("forward", x)], "Conv2d.forward", [dY.shape, x.shape])
            except StudentError as exc:
                run.fail_rest(self.LAYER_STAGES, exc)
                return run
            run.put("y", y)
            run.put("x_after", x_after)
            steps, shapes = [("backward", dY), ("get", "grad_weight")], [x.shape, dY.shape, weight.shape]
            if self.REPEATS_READ_BY.intersection(case.checks):
                steps += [("set", "grad_weight", case.array("grad0")), ("backward", dY), ("get", "grad_weight"),
                          ("backward", dY), ("get", "grad_weight")]
                shapes += [x.shape, dY.shape, weight.shape] * 2
            try:
                back = layer.steps(steps, "Conv2d.backward", shapes)
            except StudentError as exc:
                back = [exc]
            # step index -> the stages it fills (a backward fills dX and the dY it was given)
            fills = {0: ("dX", "dY_after"), 1: ("dW",), 4: ("grad_acc1",), 5: ("dX_again", None), 6: ("grad_acc2",)}
            for index, value in enumerate(back):
                if isinstance(value, StudentError):
                    run.fail_rest(self.LAYER_STAGES, value)
                    break
                for stage, part in zip(fills.get(index, ()), value if isinstance(value, tuple) else (value,)):
                    if stage:
                        run.put(stage, part)
            return run
        return self._cached(("layer", case.id), make)

    def perturbed_forwards(self, case, param, eps):
        """The student's forward at param + eps v and param - eps v, for each of the case's directions v.

        param: 'x' or 'weight'. In float64, on one fresh layer, all directions in one round
        trip. Returns one (y_plus, y_minus) pair per direction; the reply must hold exactly
        the forward results asked for (a shorter one is a malformed reply, never "no case").
        """
        x, weight = (case.array(n).astype(np.float64) for n in ("x", "weight"))
        directions = case.array("fd_dirs_x" if param == "x" else "fd_dirs_w")
        layer = self.new_layer(case.params, weight, np.zeros_like(weight))
        steps = []
        for v in directions:
            if param == "x":
                steps += [("forward", x + eps * v), ("forward", x - eps * v)]
            else:
                steps += [("set", "weight", weight + eps * v), ("forward", x),
                          ("set", "weight", weight - eps * v), ("forward", x)]
        y_shape = case.array("dY").shape           # forward's output has dY's shape
        outputs = [value[0] for value in layer.run_steps(steps, "Conv2d.forward",
                                                         [y_shape, x.shape] * (2 * len(directions)))
                   if isinstance(value, tuple)]
        if len(outputs) != 2 * len(directions):
            raise StudentError("bad_reply", f"Conv2d.forward: {len(outputs)} results came back for "
                                            f"{2 * len(directions)} calls (a malformed reply)")
        return list(zip(outputs[::2], outputs[1::2]))
