"""A student's ``Conv2d`` object that lives in the worker, driven from the grader."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autograder.protocol import pack_args
from autograder.sandbox.errors import StudentError, _clean_message

if TYPE_CHECKING:
    from autograder.sandbox.core import Sandbox


class LayerProxy:
    """A ``Conv2d`` living in the worker.  Dead (StudentError 'lost') after a restart."""

    def __init__(self, sandbox: Sandbox, layer_id: int, generation: int):
        self._sandbox, self._id, self._generation = sandbox, layer_id, generation
        self.args_after_last_call: list[np.ndarray] = []

    def _request(self, op: str, what: str, n_out: int, arrays=(), **fields):
        sandbox = self._sandbox
        sandbox._ready_worker()                # a worker found dead is restarted: new generation
        if self._generation != sandbox._generation:
            raise StudentError("lost", f"{what} could not run: the worker was restarted after "
                               "an earlier failure; this layer is gone")
        header = dict(fields, op=op, layer=self._id)
        return sandbox._request(header, list(arrays), what, n_out)

    def get(self, attr: str) -> np.ndarray:
        """``layer.<attr>`` as an array (e.g. 'weight', 'grad_weight')."""
        return self._request("get", f"reading Conv2d.{attr}", 1, attr=attr)[1][0]

    def set(self, attr: str, value: np.ndarray) -> None:
        """``layer.<attr> = value`` (the worker gets its own plain ndarray copy)."""
        self._request("set", f"setting Conv2d.{attr}", 0, [np.asarray(value)], attr=attr)

    def forward(self, x) -> np.ndarray:
        return self._step("forward", x)

    def backward(self, dY) -> np.ndarray:
        return self._step("backward", dY)

    def _step(self, method: str, array) -> np.ndarray:
        """forward/backward; keeps the argument as the worker saw it after the call."""
        args, arrays = pack_args((np.asarray(array),))
        _, out = self._request(method, f"Conv2d.{method}", 1 + len(arrays), arrays,
                               args=args)
        self.args_after_last_call = out[1:]
        return out[0]

    def zero_grad(self) -> None:
        self._request("zero_grad", "Conv2d.zero_grad", 0)

    # Outputs per step kind: set, zero_grad -> none; get -> the value;
    # forward/backward -> (result, the argument as the worker saw it afterwards).
    _STEP_OUTPUTS = {"set": 0, "zero_grad": 0, "get": 1, "forward": 2, "backward": 2}

    def steps(self, steps, what="Conv2d calls") -> list:
        """Several calls in one round trip: ("set", attr, array), ("get", attr), ("zero_grad",),
        ("forward", x), ("backward", dY). Returns one entry per step that ran: None, an
        array, or (result, argument after the call); a step that failed is its StudentError
        and ends the list. A crash or time-out of the whole request raises StudentError."""
        packed, arrays = [], []
        for step in steps:
            op = step[0]
            entry = {"op": op, "what": f"Conv2d.{op}"}
            if op in ("set", "get"):
                entry.update(attr=step[1], what=f"{'setting' if op == 'set' else 'reading'} Conv2d.{step[1]}")
            if op in ("set", "forward", "backward"):
                arrays.append(np.asarray(step[-1]))
                entry["array"] = len(arrays) - 1
            packed.append(entry)
        reply, out = self._request("steps", what, None, arrays, steps=packed)
        results = reply.get("results")
        if not isinstance(results, list) or len(results) > len(steps):
            raise self._malformed(what)
        values, taken = [], 0
        for step, result in zip(steps, results):
            if not isinstance(result, dict):
                raise self._malformed(what)
            if result.get("ok") is True:
                n = self._STEP_OUTPUTS[step[0]]
                if result.get("n") != n or taken + n > len(out):
                    raise self._malformed(what)
                got = out[taken:taken + n]
                taken += n
                values.append(None if n == 0 else got[0] if n == 1 else tuple(got))
            elif result.get("kind") in ("exception", "bad_reply") and isinstance(result.get("message"), str):
                values.append(StudentError(result["kind"], _clean_message(result["message"])))
                break
            else:
                raise self._malformed(what)
        if taken != len(out):
            raise self._malformed(what)
        return values

    def _malformed(self, what):
        self._sandbox._discard_worker()
        return StudentError("bad_reply", f"{what}: the worker sent back a malformed reply")

