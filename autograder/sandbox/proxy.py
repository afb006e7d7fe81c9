"""A student's object (e.g. a layer) that lives in the worker, driven from the grader."""

from autograder.protocol import pack_value
from autograder.sandbox.errors import StudentError

STEP_KINDS = ("set", "get", "call", "call_echo", "call_ignore")


def pack_steps(steps, class_name: str) -> tuple[list, list]:
    """(the request's steps, their arrays) from the grader's step tuples; ValueError for a step
    that is not one (a grader bug, never the student's)."""
    packed, arrays = [], []
    for step in steps:
        kind = step[0] if isinstance(step, tuple) and step else None
        if kind not in STEP_KINDS or len(step) < 2 or not (isinstance(step[1], str) and step[1].isidentifier()):
            raise ValueError(f"not a step: {step!r} (one of {STEP_KINDS}, then a name)")
        name = step[1]
        if kind == "set":
            if len(step) != 3:
                raise ValueError(f"a set step is ('set', attribute, value): {step!r}")
            packed.append({"op": "set", "attr": name, "value": pack_value(step[2], arrays),
                           "what": f"setting {class_name}.{name}"})
        elif kind == "get":
            if len(step) != 2:
                raise ValueError(f"a get step is ('get', attribute): {step!r}")
            packed.append({"op": "get", "attr": name, "what": f"reading {class_name}.{name}"})
        else:
            first = len(arrays)
            args = [pack_value(a, arrays) for a in step[2:]]
            entry = {"op": "call", "method": name, "args": args, "what": f"{class_name}.{name}"}
            if kind == "call_echo":
                entry["echo"] = len(arrays) - first        # every array argument comes back
            elif kind == "call_ignore":
                entry["ignore"] = True                     # the result is not sent back
            packed.append(entry)
    return packed, arrays


class ObjectProxy:
    """An instance of a contract class living in the worker.  Dead (StudentError 'lost')
    after a restart.  class_name names it in messages."""

    def __init__(self, sandbox, object_id: int, generation: int, class_name: str = "object"):
        """sandbox: the Sandbox (sandbox/core.py) whose worker holds the object, and which carries its
        steps (Sandbox.object_steps); generation: that worker's, when the object was made."""
        self._sandbox, self._id, self._generation = sandbox, object_id, generation
        self._class = class_name

    def steps(self, steps, what="calls", reply_cap=None) -> list:
        """Several operations in one round trip, each a tuple:

        ("set", attr, value)        obj.attr = value                 -> None
        ("get", attr)               obj.attr                          -> the value
        ("call", method, *args)     obj.method(*args)                 -> the result
        ("call_echo", method, *args) the same                         -> (result, (array argument
                                                                          as the call left it, ...))
        ("call_ignore", method, *args) the same                       -> None (the result unread)

        Values and results are numbers, None, arrays or tuples of them (str in arguments only).
        Returns one entry per step that ran; a step that failed is its StudentError and ends
        the list.  A crash or time-out of the whole request, or a reply that does not answer
        exactly the steps asked for, raises StudentError."""
        packed, arrays = pack_steps(steps, self._class)
        return self._sandbox.object_steps(self._id, self._generation, packed, arrays, what, reply_cap)

    def _one(self, step, what, reply_cap=None):
        value, = self.steps([step], what, reply_cap)
        if isinstance(value, StudentError):
            raise value
        return value

    def call(self, method: str, *args, reply_cap=None):
        """``obj.method(*args)`` in its own round trip: the result, or StudentError."""
        return self._one(("call", method) + args, f"{self._class}.{method}", reply_cap)

    def get(self, attr: str, reply_cap=None):
        """``obj.attr``."""
        return self._one(("get", attr), f"reading {self._class}.{attr}", reply_cap)

    def set(self, attr: str, value) -> None:
        """``obj.attr = value`` (the worker gets its own copy of any array)."""
        self._one(("set", attr, value), f"setting {self._class}.{attr}")

