"""What the checks see of a student's code: results of runs on fixture cases.

Checks never call the sandbox directly. They ask this module for "the student's
col2im on case K" or "the student's layer run on case K"; each run is made once
in the isolated worker and cached, so several checks share one call. A stage
that failed (exception, timeout, crash) is stored as its StudentError and
re-raised only to the checks that need that stage: a crash in backward does not
fail the forward check.
"""

import time
from collections import Counter

import numpy as np

from autograder.sandbox import StudentError


class Run:
    """Named results of one sequence of calls; a failed stage holds its StudentError."""

    def __init__(self):
        self._values = {}

    def record(self, name, thunk):
        """Stores thunk()'s value, or the StudentError it raised; returns whether it succeeded."""
        try:
            self._values[name] = thunk()
            return True
        except StudentError as exc:
            self._values[name] = exc
            return False

    def fail_rest(self, names, error):
        for name in names:
            self._values.setdefault(name, error)

    def __getitem__(self, name):
        value = self._values[name]
        if isinstance(value, StudentError):
            raise value
        return value


MAX_TIMEOUTS = 2     # after this many time-outs of one function, it is not called again


class GuardedLayer:
    """A student's layer whose calls go through StudentCode's time guards."""

    def __init__(self, code, layer):
        self._code, self._layer = code, layer

    @property
    def args_after_last_call(self):
        return self._layer.args_after_last_call

    def forward(self, x):
        return self._code.guarded("Conv2d.forward", self._layer.forward, x)

    def backward(self, dY):
        return self._code.guarded("Conv2d.backward", self._layer.backward, dY)

    def zero_grad(self):
        return self._code.guarded("Conv2d.zero_grad", self._layer.zero_grad)

    def get(self, attr):
        return self._code.guarded(f"reading {attr}", self._layer.get, attr)

    def set(self, attr, value):
        return self._code.guarded(f"setting {attr}", self._layer.set, attr, value)


class StudentCode:
    """The student's conv2d.py behind a sandbox, with a total time budget.

    A function that ran out of time MAX_TIMEOUTS times is not called again (its
    later calls fail at once), so one infinite loop costs seconds, not the budget.
    """

    def __init__(self, sandbox, total_timeout_s):
        self.sandbox = sandbox
        self.deadline = time.monotonic() + total_timeout_s
        self.total_timeout_s = total_timeout_s
        self._cache = {}
        self._timeouts = Counter()

    def _guard(self):
        if time.monotonic() > self.deadline:
            raise StudentError("timeout", f"grading ran out of its total time budget "
                                          f"({self.total_timeout_s:.0f} s); the remaining checks were not run")

    def guarded(self, name, function, *args):
        """Calls function(*args) unless the budget is spent or `name` keeps timing out."""
        self._guard()
        if self._timeouts[name] >= MAX_TIMEOUTS:
            raise StudentError("timeout", f"{name} was not run again: it already ran out of time "
                                          f"{self._timeouts[name]} times (infinite loop?)")
        try:
            return function(*args)
        except StudentError as exc:
            if exc.kind == "timeout":
                self._timeouts[name] += 1
            raise

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def call(self, function, *args):
        return self.guarded(function, self.sandbox.call, function, *args)

    def new_layer(self, params, weight, grad):
        """A fresh student Conv2d for a layer case, with the case's weight and grad_weight set."""
        layer = GuardedLayer(self, self.guarded("Conv2d(...)", self.sandbox.new_layer, params["C_in"],
                                                params["C_out"], tuple(params["kernel_size"]),
                                                params["stride"], params["padding"]))
        layer.set("weight", weight)
        layer.set("grad_weight", grad)
        return layer

    def col2im(self, case):
        """The student's col2im on a col2im case's Y (cached); raises StudentError."""
        def make():
            p = case.params
            run = Run()
            run.record("result", lambda: self.call("col2im", case.array("Y"), p["C"], p["H"], p["W"],
                                                   p["kH"], p["kW"], p["stride"]))
            return run
        return self._cached(("col2im", case.id), make)["result"]

    def layer_run(self, case):
        """Runs a layer case once: forward, backward, grad_weight; then accumulation calls.

        Stages: y, x_after (x as the worker saw it after forward), dX, dY_after, dW
        (grad_weight after one backward from zero), grad_acc1 / grad_acc2 (grad_weight
        after one and two more backward calls starting from grad0), dX_again.
        """
        def make():
            run = Run()
            stages = ["layer", "y", "x_after", "dX", "dY_after", "dW", "grad_acc1", "dX_again", "grad_acc2"]
            x, dY, weight = case.array("x"), case.array("dY"), case.array("weight")
            if not run.record("layer", lambda: self.new_layer(case.params, weight, np.zeros_like(weight))):
                run.fail_rest(stages, run._values["layer"])
                return run
            layer = run["layer"]
            if run.record("y", lambda: layer.forward(x)):
                run.record("x_after", lambda: layer.args_after_last_call[0])
                if run.record("dX", lambda: layer.backward(dY)):
                    run.record("dY_after", lambda: layer.args_after_last_call[0])
                run.record("dW", lambda: layer.get("grad_weight"))
                run.record("grad_acc1", lambda: (layer.set("grad_weight", case.array("grad0")),
                                                 layer.backward(dY), layer.get("grad_weight"))[-1])
                run.record("dX_again", lambda: layer.backward(dY))
                run.record("grad_acc2", lambda: layer.get("grad_weight"))
            run.fail_rest(stages, next(v for v in run._values.values() if isinstance(v, StudentError))
                          if any(isinstance(v, StudentError) for v in run._values.values()) else None)
            return run
        return self._cached(("layer", case.id), make)

    def loss_along(self, case, param, direction, eps):
        """Central difference of L = sum(dY * forward) along `direction` in x or in the weight.

        param: 'x' or 'weight'. Uses the student's own forward on a fresh layer.
        """
        x, dY, weight = (case.array(n).astype(np.float64) for n in ("x", "dY", "weight"))
        layer = self.new_layer(case.params, weight, np.zeros_like(weight))
        losses = []
        for sign in (1.0, -1.0):
            if param == "x":
                y = layer.forward(x + sign * eps * direction)
            else:
                layer.set("weight", weight + sign * eps * direction)
                y = layer.forward(x)
            if y.shape != dY.shape:
                raise StudentError("exception", f"forward returned shape {y.shape}, expected {dY.shape}")
            losses.append(float(np.sum(dY * y)))
        return (losses[0] - losses[1]) / (2 * eps)
