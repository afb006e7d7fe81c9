"""autograder/sandbox/proxy.py without a worker: pack_steps turns every kind of step into its request
entry (arrays sent apart, echoed or ignored results marked) and refuses every malformed step, and an
ObjectProxy forwards its steps to its sandbox's object_steps with its id and generation, raising a
failed single step."""

import numpy as np
import pytest

from autograder.sandbox.errors import StudentError
from autograder.sandbox.proxy import ObjectProxy, pack_steps


def test_every_step_kind_is_packed_with_its_arrays_apart():
    x, y = np.ones(2), np.zeros(3)
    packed, arrays = pack_steps([("set", "w", x), ("get", "w"), ("call", "forward", y, 2),
                                 ("call_echo", "backward", x, (y, 1.5)), ("call_ignore", "reset")], "Layer")
    assert packed == [
        {"op": "set", "attr": "w", "value": {"__array__": 0}, "what": "setting Layer.w"},
        {"op": "get", "attr": "w", "what": "reading Layer.w"},
        {"op": "call", "method": "forward", "args": [{"__array__": 1}, 2], "what": "Layer.forward"},
        {"op": "call", "method": "backward", "what": "Layer.backward", "echo": 2,     # both arrays come back
         "args": [{"__array__": 2}, {"__tuple__": [{"__array__": 3}, 1.5]}]},
        {"op": "call", "method": "reset", "args": [], "what": "Layer.reset", "ignore": True}]
    assert [a is b for a, b in zip(arrays, [x, y, x, y])] == [True] * 4


def test_a_call_echo_without_arrays_echoes_none():
    (entry,), _ = pack_steps([("call_echo", "f", 1)], "C")
    assert entry["echo"] == 0


@pytest.mark.parametrize("step", [
    (),                                          # an empty tuple
    ["call", "f"],                               # a list, not a tuple
    ("run", "f"),                                # an unknown kind
    ("call",),                                   # no name
    ("call", 3),                                 # a name that is no string
    ("call", "not a name"),                      # nor an identifier
    ("get", "__class__.x"),
    ("set", "w"),                                # a set without its value
    ("set", "w", 1, 2),
    ("get", "w", 1),                             # a get with a value
    "call",
])
def test_a_malformed_step_is_refused(step):
    with pytest.raises(ValueError):
        pack_steps([("get", "ok"), step], "C")


def test_a_value_the_worker_cannot_take_is_refused():
    with pytest.raises(TypeError):
        pack_steps([("set", "w", {"a": 1})], "C")


class FakeSandbox:
    """Answers object_steps with the values given, recording each request."""

    def __init__(self, *replies):
        self.replies, self.requests = list(replies), []

    def object_steps(self, object_id, generation, packed, arrays, what, reply_cap):
        self.requests.append((object_id, generation, packed, len(arrays), what, reply_cap))
        return self.replies.pop(0)


def test_steps_go_to_the_sandbox_with_the_objects_id_and_generation():
    sandbox = FakeSandbox([None, 7])
    proxy = ObjectProxy(sandbox, object_id=4, generation=2, class_name="Layer")
    assert proxy.steps([("set", "w", np.ones(1)), ("get", "w")], "two steps", reply_cap=99) == [None, 7]
    (object_id, generation, packed, n_arrays, what, cap), = sandbox.requests
    assert (object_id, generation, [p["op"] for p in packed], n_arrays, what, cap) == (4, 2, ["set", "get"], 1,
                                                                                       "two steps", 99)


def test_call_get_and_set_are_one_step_each_named_for_the_student():
    sandbox = FakeSandbox([np.arange(3)], [5], [None])
    proxy = ObjectProxy(sandbox, 1, 0, "Layer")
    assert proxy.call("forward", np.ones(3), reply_cap=10).tolist() == [0, 1, 2]
    assert proxy.get("k") == 5
    assert proxy.set("k", 6) is None
    assert [(r[2][0]["op"], r[4], r[5]) for r in sandbox.requests] == [
        ("call", "Layer.forward", 10), ("get", "reading Layer.k", None), ("set", "setting Layer.k", None)]
    assert sandbox.requests[2][2][0]["value"] == 6


def test_a_failed_single_step_is_raised():
    error = StudentError("exception", "ZeroDivisionError", "Layer.forward")
    proxy = ObjectProxy(FakeSandbox([error]), 1, 0, "Layer")
    with pytest.raises(StudentError) as raised:
        proxy.call("forward", 1)
    assert raised.value is error

