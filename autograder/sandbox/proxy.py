"""A student's object (e.g. a layer) that lives in the worker, driven from the grader."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autograder.protocol import ProtocolError, StepFailure, pack_args, parse_steps_reply
from autograder.sandbox.errors import StudentError, _clean_message

if TYPE_CHECKING:
    from autograder.sandbox.core import Sandbox


class LayerProxy:
    """An instance of a contract class living in the worker.  Dead (StudentError 'lost')
    after a restart.  class_name names it in messages."""

    def __init__(self, sandbox: Sandbox, layer_id: int, generation: int, class_name: str = "layer"):
        self._sandbox, self._id, self._generation = sandbox, layer_id, generation
        self._class = class_name
        self.args_after_last_call: list[np.ndarray] = []

    def _request(self, op: str, what: str, n_out: int, arrays=(), reply_cap=None, **fields):
        sandbox = self._sandbox
        sandbox._ready_worker()                # a worker found dead is restarted: new generation
        if self._generation != sandbox._generation:
            raise StudentError("lost", f"{what} could not run: the worker was restarted after "
                               "an earlier failure; this layer is gone")
        header = dict(fields, op=op, layer=self._id)
        return sandbox._request(header, list(arrays), what, n_out, reply_cap)

    def get(self, attr: str) -> np.ndarray:
        """``layer.<attr>`` as an array (e.g. 'weight', 'grad_weight')."""
        return self._request("get", f"reading {self._class}.{attr}", 1, attr=attr)[1][0]

    def set(self, attr: str, value: np.ndarray) -> None:
        """``layer.<attr> = value`` (the worker gets its own plain ndarray copy)."""
        self._request("set", f"setting {self._class}.{attr}", 0, [np.asarray(value)], attr=attr)

    def forward(self, x) -> np.ndarray:
        return self._step("forward", x)

    def backward(self, dY) -> np.ndarray:
        return self._step("backward", dY)

    def _step(self, method: str, array) -> np.ndarray:
        """forward/backward; keeps the argument as the worker saw it after the call."""
        args, arrays = pack_args((np.asarray(array),))
        _, out = self._request(method, f"{self._class}.{method}", 1 + len(arrays), arrays,
                               args=args)
        self.args_after_last_call = out[1:]
        return out[0]

    def zero_grad(self) -> None:
        self._request("zero_grad", f"{self._class}.zero_grad", 0)

    def steps(self, steps, what="layer calls", reply_cap=None) -> list:
        """Several calls in one round trip: ("set", attr, array), ("get", attr), ("zero_grad",),
        ("forward", x), ("backward", dY). Returns one entry per step that ran: None, an
        array, or (result, argument after the call); a step that failed is its StudentError
        and ends the list. A crash or time-out of the whole request, or a reply that does
        not answer exactly the steps asked for, raises StudentError."""
        packed, arrays = [], []
        for step in steps:
            op = step[0]
            entry = {"op": op, "what": f"{self._class}.{op}"}
            if op in ("set", "get"):
                entry.update(attr=step[1], what=f"{'setting' if op == 'set' else 'reading'} {self._class}.{step[1]}")
            if op in ("set", "forward", "backward"):
                arrays.append(np.asarray(step[-1]))
                entry["array"] = len(arrays) - 1
            packed.append(entry)
        reply, out = self._request("steps", what, None, arrays, reply_cap, steps=packed)
        try:
            values = parse_steps_reply([step[0] for step in steps], reply, out)
        except ProtocolError as exc:
            self._sandbox._discard_worker()
            raise StudentError("bad_reply", f"{what}: the worker sent back a malformed reply ({exc})") from None
        return [StudentError(v.kind, _clean_message(v.message)) if isinstance(v, StepFailure) else v
                for v in values]
