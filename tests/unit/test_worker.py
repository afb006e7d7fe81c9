"""autograder/worker.py's answers, in this process, on a student file written here (no sandbox, no
frames): calls, objects and their steps limited to the contract's names, results sent as copies
(what a later step does cannot change them), a failed step ending the list without its arrays, a
student's exception told with its line, and what cannot or must not go back refused as a bad reply.
(The worker in its sandbox, over its pipes: tests/e2e/test_sandbox.py, tests/e2e/test_transport.py;
its limits: tests/unit/test_limits.py.)"""

import importlib.util

import numpy
import pytest

from autograder import worker

STUDENT = '''\
import numpy as np


def double(x):
    return 2 * x, x.shape[0]


def fail(x):
    raise ValueError("bad shape")


def text():
    return "abc"


def leave():
    raise SystemExit(0)


class Layer:
    def __init__(self, k):
        self.k, self.w = k, np.zeros(2)

    def forward(self, x):
        x *= self.k                     # changes its argument in place
        return x.sum()

    def scale(self, s):
        self.w *= s                     # changes what an earlier get returned, in place
        return self.w

    def broken(self):
        return 1 / 0
'''


@pytest.fixture
def student(tmp_path, monkeypatch):
    monkeypatch.setattr(worker, "np", numpy)           # the worker imports numpy once its limits are set
    path = tmp_path / "lab.py"
    path.write_text(STUDENT)
    spec = importlib.util.spec_from_file_location("lab", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(module, **contract):
    return worker.Worker(module, 2**20, **contract)


def call(server, function, *args, **header):
    arrays = [a for a in args if isinstance(a, numpy.ndarray)]
    packed = [{"__array__": arrays.index(a)} if isinstance(a, numpy.ndarray) else a for a in args]
    return server.handle({"op": "call", "function": function, "args": packed, "what": function, **header}, arrays)


def test_a_call_sends_back_numbers_and_arrays(student):
    reply, out = call(serve(student), "double", numpy.arange(3.0))
    assert reply == {"ok": True, "value": {"__tuple__": [{"__array__": 0}, 3]}}
    assert out[0].tolist() == [0.0, 2.0, 4.0]


def test_only_the_contracts_functions_are_called(student):
    reply, _ = call(serve(student, functions=["fail"]), "double", numpy.arange(3.0))
    assert reply["ok"] is False and reply["message"] == "double raised AttributeError: lab.py has no function double()"


def test_a_students_exception_is_told_with_its_line(student):
    reply, out = call(serve(student), "fail", 1)
    assert (reply["ok"], reply["kind"], out) == (False, "exception", [])
    assert reply["message"] == ("fail raised ValueError: bad shape\n"
                                '  lab.py, line 9, in fail: raise ValueError("bad shape")')
    assert "must not call exit()" in call(serve(student), "leave")[0]["message"]


def test_what_cannot_or_must_not_go_back_is_a_bad_reply(student):
    reply, _ = call(serve(student), "text")
    assert reply["kind"] == "bad_reply" and "text returned str, expected numbers" in reply["message"]
    reply, out = call(serve(student), "double", numpy.zeros(1000), max_reply_bytes=4000)
    assert reply["kind"] == "bad_reply" and "more data than any correct answer needs" in reply["message"]
    assert out == []


def new_layer(server):
    reply, _ = server.handle({"op": "new", "class": "Layer", "args": [3], "set": [["k", 2]]}, [])
    return reply["object"]


def steps(server, object_id, *steps, arrays=()):
    return server.handle({"op": "steps", "object": object_id, "steps": list(steps)}, list(arrays))


def test_steps_send_back_copies_and_echo_the_arguments_as_the_call_left_them(student):
    server = serve(student)
    layer = new_layer(server)
    x = numpy.ones(2)
    reply, out = steps(server, layer, {"op": "get", "attr": "w"}, {"op": "call", "method": "scale", "args": [5]},
                       {"op": "call", "method": "forward", "args": [{"__array__": 0}], "echo": 1},
                       {"op": "call", "method": "forward", "args": [{"__array__": 0}], "ignore": True},
                       arrays=[x])
    results = reply["results"]
    assert [r["ok"] for r in results] == [True] * 4
    assert out[0].tolist() == [0.0, 0.0]                                  # the get's copy, before scale
    assert results[2]["value"] == {"__array__": 2} and out[2].tolist() == 4.0
    assert [out[i["__array__"]].tolist() for i in results[2]["after"]] == [[2.0, 2.0]]
    assert results[3]["value"] is None and x.tolist() == [1.0, 1.0]       # every call had its own copy


def test_a_failed_step_ends_the_list_and_the_contract_bounds_the_names(student):
    server = serve(student, classes=["Layer"], methods={"Layer": ["broken", "scale"]}, attributes={"Layer": ["w"]})
    layer = new_layer_in_contract(server)
    reply, out = steps(server, layer, {"op": "call", "method": "scale", "args": [1]},
                       {"op": "call", "method": "broken", "args": [], "what": "Layer.broken"},
                       {"op": "get", "attr": "w"})
    results = reply["results"]
    assert [r["ok"] for r in results] == [True, False] and [a.tolist() for a in out] == [[1.0, 1.0]]
    assert results[1]["message"] == ("Layer.broken raised ZeroDivisionError: division by zero\n"
                                     "  lab.py, line 33, in broken: return 1 / 0")
    reply, _ = steps(server, layer, {"op": "get", "attr": "k"})
    assert reply["results"][0]["message"] == ("get raised AttributeError: Layer.k is not an attribute of the "
                                              "lab's contract")
    reply, _ = steps(server, layer, {"op": "call", "method": "forward", "args": [1]})
    assert "Layer.forward is not a method of the lab's contract" in reply["results"][0]["message"]


def new_layer_in_contract(server):
    reply, _ = server.handle({"op": "new", "class": "Layer", "args": [3], "set": [["w", {"__array__": 0}]]},
                             [numpy.ones(2)])
    assert reply["ok"], reply
    refused, _ = server.handle({"op": "new", "class": "Layer", "args": [3], "set": [["k", 2]]}, [])
    assert "Layer.k is not an attribute of the lab's contract" in refused["message"]
    return reply["object"]
