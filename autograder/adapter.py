"""What the checks see of a student's code: cached runs on fixture cases, under a time budget.

A lab's Adapter (assignment/adapter.py) subclasses CodeAdapter with the runs its
checks ask for; each run is made once in the sandbox worker and cached, so several checks
share one call. A stage that failed is stored as its StudentError and re-raised only to
the checks that need that stage.
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


class CallResults:
    """Named results of one sequence of calls; a failed stage holds its StudentError."""

    def __init__(self):
        self._values = {}
        self._all = None
        self.nbytes = 0

    def put(self, name, value):
        self._values[name] = value
        self.nbytes += _nbytes(value)

    def fail_rest(self, names, error):
        for name in names:
            self._values.setdefault(name, error)

    def fail_all(self, error):
        """Every stage now answers `error` (a CallResults made to hold nothing else)."""
        self._all = error

    def __getitem__(self, name):
        value = self._all or self._values.get(name)
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


def as_array(value, what, call=""):
    """`value` as the plain numeric ndarray a check compares, or StudentError('bad_reply') saying
    what came back instead: for labs whose results must be arrays (the worker sends back
    numbers, None, arrays and tuples alike).  A Python number, a list or a tuple of numbers
    becomes an array, as np.asarray would make it.  call: the grader's name for the call (the
    error's `call`)."""
    if isinstance(value, np.ndarray):
        return value
    if value is None:
        raise StudentError("bad_reply", f"{what} returned NoneType, expected a numpy array", call)
    try:
        array = np.asarray(value)
    except Exception:
        raise StudentError("bad_reply", f"{what} returned {type(value).__name__}, "
                                        "which cannot be turned into a numpy array", call) from None
    if array.dtype.kind not in "biufc":
        raise StudentError("bad_reply", f"{what} returned {type(value).__name__}, expected a numpy array of "
                                        "numbers", call)
    return array


class StepRunner:
    """run_steps(): steps() (defined by the subclass) where every step must succeed."""

    def run_steps(self, steps, name, reply_shapes=()):
        """steps(), but every step must succeed: the values, or the first StudentError raised."""
        values = self.steps(steps, name, reply_shapes)
        for value in values:
            if isinstance(value, StudentError):
                raise value
        return values


class GuardedObject(StepRunner):
    """A student's object (e.g. a layer) whose calls go through CodeAdapter's time guards."""

    def __init__(self, code, proxy):
        self._code, self._object = code, proxy

    def steps(self, steps, name, reply_shapes):
        """Several operations in one round trip (see ObjectProxy.steps: ("set", attr, value),
        ("get", attr), ("call", method, *args), ("call_echo", method, *args)); `name` is what
        times out; reply_shapes: the shapes of every array a correct reply holds (its size cap).
        One entry per step that ran; a failed step is its StudentError and ends the list."""
        values = self._code.guarded(name, self._object.steps, steps, name, reply_cap(*reply_shapes),
                                    size=_size_class(reply_shapes))
        for value in values:
            if isinstance(value, StudentError):
                value.call = value.call or name
        return values


class CodeAdapter:
    """The student's file behind a sandbox, with a budget of CPU time for all of its calls
    (the sandbox counts it; the wall-clock outer bound is the sandbox's own); a lab's
    Adapter extends it.

    A function that ran out of time MAX_TIMEOUTS times is not called again (its
    later calls fail at once), so one infinite loop costs seconds, not the budget.
    """

    def __init__(self, sandbox, total_cpu_s):
        self.sandbox = sandbox
        self.total_cpu_s = total_cpu_s
        self._cache = {}
        self._held = 0
        self._timeouts = Counter()

    def _guard(self):
        if self.sandbox is not None and self.sandbox.cpu_used_s() > self.total_cpu_s:
            raise StudentError("timeout", f"your code used up the CPU time budget of one submission "
                                          f"({self.total_cpu_s:.0f} s); the remaining checks were not run")
        if self.sandbox is not None and time.monotonic() > self.sandbox.wall_deadline:
            raise StudentError("timeout", f"grading passed its outer time bound "
                                          f"({self.sandbox.limits.total_wall_s:.0f} s); the remaining checks were not run")

    def guarded(self, name, function, *args, size="small"):
        """Calls function(*args) unless the budget is spent or `name` keeps timing out on
        inputs of this size class ('small' or 'large', see LARGE_REPLY)."""
        try:
            self._guard()            # a spent budget is told as it is: no time-out of `name`, no guess at why
            if self._timeouts[name, size] >= MAX_TIMEOUTS:
                where = " on inputs this large (too slow?)" if size == "large" else " (infinite loop?)"
                raise StudentError("timeout", f"{name} was not run again{where}: it already ran out of time "
                                              f"{self._timeouts[name, size]} times")
        except StudentError as exc:
            exc.call = exc.call or name
            raise
        try:
            return function(*args)
        except StudentError as exc:
            if exc.kind == "timeout":
                self._timeouts[name, size] += 1
                # the likely cause, from what only the caller knows: the size of the inputs
                exc.message += " on inputs this large (too slow?)" if size == "large" else " (infinite loop?)"
            exc.call = exc.call or name          # which of the student's functions failed, as data
            raise

    def _cached(self, key, make):
        """The CallResults that make() returns, made once per key = (what, case id)."""
        if key not in self._cache:
            run = make()
            if self._held + run.nbytes > HELD_BYTES_CAP:
                error = StudentError("bad_reply", "your code returned more data than any correct answer "
                                                  "needs; grading stopped keeping its results")
                run = CallResults()
                run.fail_all(error)
            self._held += run.nbytes
            self._cache[key] = run
        return self._cache[key]

    def forget(self, case_id):
        """Drops a case's results once no check needs them any more (bounded memory)."""
        for key in [key for key in self._cache if key[1] == case_id]:
            self._held -= self._cache.pop(key).nbytes

    def call(self, function, *args, reply_shapes=()):
        """``function(*args)`` of the student's module: its result (numbers, None, arrays or tuples
        of them); reply_shapes: the shapes of the arrays a correct result holds (its size cap)."""
        cap = reply_cap(*reply_shapes)
        return self.guarded(function, lambda: self.sandbox.call(function, *args, reply_cap=cap),
                            size=_size_class(reply_shapes))

    def new_object(self, class_name, *args, attributes=()):
        """A fresh instance of a contract class in the worker, behind the time guards, with
        attributes: (name, value) pairs set on it in the same round trip."""
        what = f"{class_name}(...)"
        return GuardedObject(self, self.guarded(what, lambda: self.sandbox.new_object(class_name, *args,
                                                                                    attributes=attributes)))
