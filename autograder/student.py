"""What the checks see of a student's code: results of runs on fixture cases.

Checks never call the sandbox directly. They ask this module for "the student's
col2im on case K" or "the student's layer run on case K"; each run is made once
in the isolated worker and cached, so several checks share one call. A stage
that failed (exception, timeout, crash) is stored as its StudentError and
re-raised only to the checks that need that stage: a crash in backward does not
fail the forward check.
"""

import math
import time
from collections import Counter

import numpy as np

from autograder.sandbox import StudentError

HELD_BYTES_CAP = 256 * 2**20   # results of one submission held at once; correct ones need a few MB
REPLY_SLACK_BYTES = 2**20      # room in a reply cap for headers and small wrong shapes


def reply_cap(*shapes):
    """Bytes a reply holding arrays of these shapes may take: twice their size as float64,
    so a wrong dtype or a slightly wrong shape is still seen, plus a little slack; a
    reply bigger than that is more than any correct answer needs."""
    return 16 * sum(math.prod(shape) for shape in shapes) + REPLY_SLACK_BYTES


def _nbytes(value):
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    return 0


class Run:
    """Named results of one sequence of calls; a failed stage holds its StudentError."""

    def __init__(self):
        self._values = {}
        self.nbytes = 0

    def put(self, name, value):
        self._values[name] = value
        self.nbytes += _nbytes(value)

    def fail_rest(self, names, error):
        for name in names:
            self._values.setdefault(name, error)

    def __getitem__(self, name):
        value = self._values.get(name)
        if value is None:                      # never filled: the reply left it out
            raise StudentError("bad_reply", f"no result came back for {name} (a malformed reply)")
        if isinstance(value, StudentError):
            raise value
        return value


MAX_TIMEOUTS = 2     # after this many time-outs of one function, it is not called again
LARGE_REPLY = 2**17  # elements: replies this big are the realistic-size cases; their time-outs
                     # are counted apart, so code that is right but slow on a 32-image batch still
                     # gets its small cases (and the training check) graded


def _size_class(reply_shapes):
    return "large" if sum(math.prod(shape) for shape in reply_shapes) >= LARGE_REPLY else "small"


class GuardedLayer:
    """A student's layer whose calls go through StudentCode's time guards."""

    def __init__(self, code, layer):
        self._code, self._layer = code, layer

    def steps(self, steps, name, reply_shapes):
        """Several calls in one round trip (see LayerProxy.steps); `name` is what times out;
        reply_shapes: the shapes of every array a correct reply holds (its size cap)."""
        values = self._code.guarded(name, self._layer.steps, steps, name, reply_cap(*reply_shapes),
                                    size=_size_class(reply_shapes))
        for value in values:
            if isinstance(value, StudentError):
                value.call = value.call or name
        return values

    def run(self, steps, name, reply_shapes=()):
        """steps(), but every step must succeed: the values, or the first StudentError raised."""
        values = self.steps(steps, name, reply_shapes)
        for value in values:
            if isinstance(value, StudentError):
                raise value
        return values


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
        self._held = 0
        self._timeouts = Counter()

    def _guard(self):
        if time.monotonic() > self.deadline:
            raise StudentError("timeout", f"grading ran out of its total time budget "
                                          f"({self.total_timeout_s:.0f} s); the remaining checks were not run")

    def guarded(self, name, function, *args, size="small"):
        """Calls function(*args) unless the budget is spent or `name` keeps timing out on
        inputs of this size class ('small' or 'large', see LARGE_REPLY)."""
        try:
            self._guard()
            if self._timeouts[name, size] >= MAX_TIMEOUTS:
                where = " on inputs this large (too slow?)" if size == "large" else " (infinite loop?)"
                raise StudentError("timeout", f"{name} was not run again{where}: it already ran out of time "
                                              f"{self._timeouts[name, size]} times")
            return function(*args)
        except StudentError as exc:
            if exc.kind == "timeout":
                self._timeouts[name, size] += 1
            exc.call = exc.call or name          # which of the student's functions failed, as data
            raise

    def _cached(self, key, make):
        if key not in self._cache:
            run = make()
            if self._held + run.nbytes > HELD_BYTES_CAP:
                error = StudentError("bad_reply", "your code returned more data than any correct answer "
                                                  "needs; grading stopped keeping its results")
                run = Run()
                run.fail_rest(self.LAYER_STAGES + ("result",), error)
            self._held += run.nbytes
            self._cache[key] = run
        return self._cache[key]

    def forget(self, case_id):
        """Drops a case's results once no check needs them any more (bounded memory)."""
        for key in (("col2im", case_id), ("layer", case_id)):
            run = self._cache.pop(key, None)
            if run is not None:
                self._held -= run.nbytes

    def call(self, function, *args, reply_shapes=()):
        cap = reply_cap(*reply_shapes)
        return self.guarded(function, lambda: self.sandbox.call(function, *args, reply_cap=cap),
                            size=_size_class(reply_shapes))

    def new_layer(self, params, weight, grad):
        """A fresh student Conv2d for a layer case, with the case's weight and grad_weight set."""
        layer = GuardedLayer(self, self.guarded("Conv2d(...)", self.sandbox.new_layer, params["C_in"],
                                                params["C_out"], tuple(params["kernel_size"]),
                                                params["stride"], params["padding"]))
        layer.run([("set", "weight", weight), ("set", "grad_weight", grad)], "setting weight")
        return layer

    @staticmethod
    def output_shape(params):
        """(N, C_out, H_out, W_out) of a layer case."""
        (kH, kW), s, p = params["kernel_size"], params["stride"], params["padding"]
        return (params["N"], params["C_out"], (params["H"] + 2 * p - kH) // s + 1,
                (params["W"] + 2 * p - kW) // s + 1)

    def col2im(self, case):
        """The student's col2im on a col2im case's Y (cached); raises StudentError."""
        def make():
            p = case.params
            run = Run()
            try:
                run.put("result", self.call("col2im", case.array("Y"), p["C"], p["H"], p["W"],
                                            p["kH"], p["kW"], p["stride"], reply_shapes=[(p["C"], p["H"], p["W"])]))
            except StudentError as exc:        # kept: every check on this case reports it
                run.put("result", exc)
            return run
        return self._cached(("col2im", case.id), make)["result"]

    LAYER_STAGES = ("y", "x_after", "dX", "dY_after", "dW", "grad_acc1", "dX_again", "grad_acc2")

    def layer_run(self, case):
        """Runs a layer case once (cached): forward, then backward and accumulation calls.

        Stages: y, x_after (x as the worker saw it after forward), dX, dY_after, dW
        (grad_weight after one backward from zero), grad_acc1 / grad_acc2 (grad_weight
        after one and two more backward calls starting from grad0), dX_again. Forward
        and backward go in separate round trips, so a backward that hangs or crashes
        does not cost the forward result.
        """
        def make():
            run = Run()
            x, dY, weight = case.array("x"), case.array("dY"), case.array("weight")
            try:
                layer = self.new_layer(case.params, weight, np.zeros_like(weight))
                (y, x_after), = layer.run([("forward", x)], "Conv2d.forward", [dY.shape, x.shape])
            except StudentError as exc:
                run.fail_rest(self.LAYER_STAGES, exc)
                return run
            run.put("y", y)
            run.put("x_after", x_after)
            try:
                back = layer.steps([("backward", dY), ("get", "grad_weight"), ("set", "grad_weight", case.array("grad0")),
                                    ("backward", dY), ("get", "grad_weight"), ("backward", dY),
                                    ("get", "grad_weight")], "Conv2d.backward",
                                   [x.shape, dY.shape] * 3 + [weight.shape] * 3)
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
        y_shape = self.output_shape(case.params)
        outputs = [value[0] for value in layer.run(steps, "Conv2d.forward",
                                                   [y_shape, x.shape] * (2 * len(directions)))
                   if isinstance(value, tuple)]
        if len(outputs) != 2 * len(directions):
            raise StudentError("bad_reply", f"Conv2d.forward: {len(outputs)} results came back for "
                                            f"{2 * len(directions)} calls (a malformed reply)")
        return list(zip(outputs[::2], outputs[1::2]))
