"""autograder/adapter.py with a fake sandbox: a reply's size cap, CallResults (a failed stage re-raised only
where it is read), as_array's refusals, run_steps, and CodeAdapter's cache (one run per key, bounded held
bytes, forgotten cases) and its time guards (the CPU budget, the outer wall bound, a function that keeps
timing out not called again, small and large inputs counted apart)."""

import re
import time
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import adapter
from autograder.adapter import (MAX_TIMEOUTS, REPLY_SLACK_BYTES, CallResults, CodeAdapter, StepRunner, as_array,
                                reply_cap)
from autograder.sandbox import StudentError


def test_a_reply_may_hold_twice_its_arrays_as_float64_and_some_slack():
    assert reply_cap() == REPLY_SLACK_BYTES
    assert reply_cap((2, 3), (4,)) == 16 * 10 + REPLY_SLACK_BYTES


def test_call_results_raise_a_failed_stage_only_where_it_is_read():
    run = CallResults()
    error = StudentError("exception", "boom")
    run.put("y", np.zeros(4))
    run.put("pair", (np.zeros(2), 3.0))
    run.fail_rest(["y", "dX"], error)                   # y came back before the failure: kept
    assert run["y"].shape == (4,) and run.nbytes == 6 * 8
    with pytest.raises(StudentError) as raised:
        run["dX"]
    assert raised.value is error
    with pytest.raises(StudentError, match="no result came back for dW") as raised:
        run["dW"]
    assert raised.value.kind == "bad_reply"


def test_call_results_failed_all_answer_the_error_for_every_stage():
    run = CallResults()
    run.put("y", 1.0)
    run.fail_all(StudentError("bad_reply", "too much"))
    for name in ("y", "anything"):
        with pytest.raises(StudentError, match="too much"):
            run[name]


def test_as_array_keeps_arrays_and_converts_numbers():
    array = np.ones(3)
    assert as_array(array, "f") is array
    assert as_array([1, 2], "f").tolist() == [1, 2] and as_array(2.5, "f").shape == ()


@pytest.mark.parametrize("value, said", [(None, "f returned NoneType, expected a numpy array"),
                                         ("abc", "f returned str, expected a numpy array of numbers"),
                                         ([[1], [1, 2]], "f returned list, which cannot be turned into"),
                                         ({"a": 1}, "f returned dict, expected a numpy array of numbers")])
def test_as_array_refuses_what_is_no_numeric_array(value, said):
    with pytest.raises(StudentError, match=re.escape(said)) as raised:
        as_array(value, "f", call="col2im")
    assert (raised.value.kind, raised.value.call) == ("bad_reply", "col2im")


class Steps(StepRunner):
    def __init__(self, values):
        self.values = values

    def steps(self, steps, name, reply_shapes):
        return self.values


def test_run_steps_returns_every_value_or_raises_the_first_failure():
    assert Steps([1, None]).run_steps([], "f") == [1, None]
    error = StudentError("exception", "boom")
    with pytest.raises(StudentError) as raised:
        Steps([1, error, StudentError("exception", "later")]).run_steps([], "f")
    assert raised.value is error


class FakeSandbox:
    """A sandbox that has used `cpu` seconds, with its outer deadline `wall_left` seconds away."""

    def __init__(self, cpu=0.0, wall_left=60.0):
        self.cpu, self.wall_deadline = cpu, time.monotonic() + wall_left
        self.limits = SimpleNamespace(total_wall_s=99.0)
        self.calls = []

    def cpu_used_s(self):
        return self.cpu

    def call(self, function, *args, reply_cap=None):
        self.calls.append((function, args, reply_cap))
        return sum(args)

    def new_object(self, class_name, *args, attributes=()):
        self.calls.append((class_name, args, attributes))
        return FakeObject()


class FakeObject:
    def __init__(self):
        self.requests = []
        self.reply = [1]

    def steps(self, steps, name, cap):
        self.requests.append((steps, name, cap))
        return self.reply


def timing_out(calls):
    def function():
        calls.append(1)
        raise StudentError("timeout", "col2im ran out of time")
    return function


def test_a_call_goes_to_the_sandbox_with_its_reply_cap():
    sandbox = FakeSandbox()
    assert CodeAdapter(sandbox, 10).call("add", 1, 2, reply_shapes=[(3,)]) == 3
    assert sandbox.calls == [("add", (1, 2), reply_cap((3,)))]


@pytest.mark.parametrize("spent, said", [(dict(cpu=11.0), "CPU time budget of one submission (10 s)"),
                                         (dict(wall_left=-1.0), "outer time bound (99 s)")])
def test_a_spent_budget_runs_nothing_more(spent, said):
    sandbox = FakeSandbox(**spent)          # made here: its deadline counts from the test, not collection
    code = CodeAdapter(sandbox, total_cpu_s=10)
    with pytest.raises(StudentError, match=re.escape(said)) as raised:
        code.call("add", 1)
    assert (raised.value.kind, raised.value.call, sandbox.calls) == ("timeout", "add", [])
    # told as it is: a spent budget is no guess about this function, nor one of its time-outs
    assert "infinite loop" not in raised.value.message and not code._timeouts


def test_a_function_that_keeps_timing_out_is_not_called_again_on_inputs_of_that_size():
    code, calls = CodeAdapter(FakeSandbox(), 10), []
    for _ in range(MAX_TIMEOUTS):
        with pytest.raises(StudentError, match=r"ran out of time \(infinite loop\?\)") as raised:
            code.guarded("col2im", timing_out(calls))
        assert raised.value.call == "col2im"
    with pytest.raises(StudentError, match="col2im was not run again") as raised:
        code.guarded("col2im", timing_out(calls))
    assert len(calls) == MAX_TIMEOUTS and raised.value.message.count("infinite loop") == 1
    with pytest.raises(StudentError, match=r"on inputs this large \(too slow\?\)"):
        code.guarded("col2im", timing_out(calls), size="large")      # the large cases are counted apart
    assert len(calls) == MAX_TIMEOUTS + 1
    assert code.guarded("im2col", lambda: "ran") == "ran"            # another function still runs


def test_another_failure_is_no_time_out():
    code = CodeAdapter(FakeSandbox(), 10)
    for _ in range(MAX_TIMEOUTS + 1):
        with pytest.raises(StudentError, match="^boom$"):
            code.guarded("f", lambda: (_ for _ in ()).throw(StudentError("exception", "boom")))


class Lab(CodeAdapter):
    """A lab's adapter: one cached run per case."""

    def __init__(self):
        super().__init__(None, 10)
        self.made = []

    def run(self, case_id, nbytes=8):
        def make():
            self.made.append(case_id)
            run = CallResults()
            run.put("y", np.zeros(nbytes // 8))
            return run
        return self._cached(("run", case_id), make)


def test_each_run_is_made_once_per_case_and_forgotten_when_asked():
    lab = Lab()
    assert lab.run("a") is lab.run("a") and lab.made == ["a"]
    lab.run("b")
    lab.forget("a")
    lab.run("a")
    assert lab.made == ["a", "b", "a"]


def test_results_past_the_held_bytes_cap_are_not_kept(monkeypatch):
    monkeypatch.setattr(adapter, "HELD_BYTES_CAP", 100)
    lab = Lab()
    assert lab.run("a", nbytes=64)["y"].nbytes == 64
    with pytest.raises(StudentError, match="more data than any correct answer needs"):
        lab.run("b", nbytes=64)["y"]
    lab.forget("a")                                    # its bytes are given back
    assert lab.run("c", nbytes=64)["y"].nbytes == 64


def test_an_object_is_made_and_driven_through_the_guards():
    sandbox = FakeSandbox()
    code = CodeAdapter(sandbox, 10)
    layer = code.new_object("Layer", 3, attributes=[("w", 1)])
    assert sandbox.calls == [("Layer", (3,), [("w", 1)])]
    assert layer.run_steps([("get", "w")], "Layer.forward", [(2,)]) == [1]
    assert layer._object.requests == [([("get", "w")], "Layer.forward", reply_cap((2,)))]
    failed = StudentError("exception", "boom")
    layer._object.reply = [failed]
    assert layer.steps([("get", "w")], "Layer.backward", ()) == [failed] and failed.call == "Layer.backward"
    sandbox.cpu = 11.0
    with pytest.raises(StudentError, match="CPU time budget"):
        layer.steps([("get", "w")], "Layer.backward", ())
