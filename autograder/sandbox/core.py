"""The public ``Sandbox``: a student's file imported in a worker, called as untrusted.

A ``Sandbox`` starts ``worker.py`` in a child process at one isolation level
(``levels.py``), which imports the student's file; the grader sends calls over a
dedicated pipe pair (``plumbing.py``; on Windows its stdin/stdout, ``transport.py``) and gets arrays back as ``.npy`` bytes (see
``protocol.py``: nothing is ever unpickled).

Every level: RLIMIT_CPU/AS/FSIZE/NOFILE/CORE=0 and RLIMIT_NPROC=0 once the worker is up
(the student's code starts no process or thread), a minimal environment, ``python -I -B``,
a CPU-time limit per call and a limit on time spent blocked, enforced here
(``cpu_clock.py``), and the whole process tree killed and the work dir deleted at close.  Without a
PID namespace ``worker.py`` leaves a tiny supervisor behind that is a child subreaper,
so processes that escape the session are still found and killed.

A Sandbox is meant to be used by one thread.  ``--die-with-parent`` (and the
supervisor's parent-death signal) follow the *thread* that started the worker: create,
use and close a Sandbox in the same thread.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from autograder.limits import Limits
from autograder.protocol import (MAX_HEADER_BYTES, ProtocolError, ReplyTooLarge, encode_frame, pack_args,
                                 StepFailure, pack_value, parse_call_reply, parse_steps_reply)
from autograder.sandbox import levels, portable
from autograder.sandbox.cpu_clock import CallBudget, TreeClock, Usage
from autograder.sandbox.errors import StudentError, _clean_message, _death_message
from autograder.sandbox.levels import detect_isolation
from autograder.sandbox.plumbing import _Gone, _Output, _Timeout, _Worker
from autograder.sandbox.proxy import ObjectProxy
from autograder.sandbox.transport import StdioWorker


NO_ARRAY_REPLY_BYTES = MAX_HEADER_BYTES + 4096     # a reply holding no array: its header and prefix


def protect_secret_paths(paths) -> None:
    """chmod go-rwx each path, so that other uids (the sandbox's) cannot read it."""
    for path in paths:
        mode = os.stat(path).st_mode
        os.chmod(path, mode & ~0o077)


class Sandbox:
    """A student's file, imported in a worker process; one per student file.

    ``call`` runs a module-level function, ``new_object`` builds an instance of a class
    there, whose proxy's ``steps`` set and get its attributes and call its methods; only
    the names of the lab's contract (None: any).  A
    failed call raises StudentError; after a crash, timeout or malformed reply the
    worker is killed and started again on the next call (layers built before are lost).
    """

    def __init__(self, student_file: Path, limits: Limits = Limits(),
                 isolation: str | None = None, *, secret_paths=(), contract=None):
        self.student_file = Path(student_file)
        self.contract = contract
        self.limits = limits
        self.isolation = isolation or detect_isolation()
        level_class = levels.level_class(self.isolation)    # refuses what cannot run here
        self._level = level_class(limits)     # holds a uid slot, if any, until close()
        self._output = _Output(limits.output_cap_kb * 1024, limits.output_read_mb * 2**20)
        self._worker: _Worker | None = None
        self._generation = 0
        self._seq = 0                          # numbers the requests; each reply must carry its own
        self.wall_deadline = time.monotonic() + limits.total_wall_s
        self._cpu_of_dead_workers = 0.0        # CPU seconds of the workers discarded so far
        self.last_call = Usage(0.0, 0.0, 0.0)  # what the last request used
        self._closed = False
        self.import_error: StudentError | None = None
        self.flood: StudentError | None = None
        try:
            if self.isolation == "uid":
                protect_secret_paths(secret_paths)
            self._python = self._level.python()
            self._worker = self._start_worker()
        except StudentError as exc:
            self.import_error = exc
        except BaseException:
            self.close()
            raise

    # -------------------------------------------------------------- starting and stopping

    def _start_worker(self) -> _Worker:
        """Start a worker and wait for it to import the student's file."""
        level = self._level
        workdir = level.make_workdir(self.student_file)
        try:
            cmd, popen_kwargs, home = level.command(self._python, workdir)
        except BaseException:
            level.after_worker(workdir)
            raise
        limits = self.limits
        config = {"limits": limits.to_dict(),            # the worker checks them (Limits.from_dict)
                  # the supervisor needs Linux (prctl, and /proc unless the uid is its own)
                  "supervise": level.supervise(), "exclusive_uid": level.exclusive_uid,
                  "module": self.student_file.stem,
                  **worker_contract(self.contract)}
        # POSIX pipes and poll where they exist; stdin/stdout and threads elsewhere (Windows)
        worker_class = StdioWorker if portable.use_portable_path() else _Worker
        try:
            worker = worker_class(cmd, level=level, workdir=workdir, env=_child_env(home),
                             config=config, output=self._output,
                             max_reply=limits.max_reply_mb * 2**20, popen_kwargs=popen_kwargs)
        except BaseException:
            level.after_worker(workdir)
            raise
        self._generation += 1
        try:
            self._await_ready(worker)
        except BaseException:
            self._kill(worker)
            raise
        return worker

    def _budget(self, worker, cpu_s: float) -> CallBudget:
        return CallBudget(worker.clock, cpu_s, self.limits.blocked_s, self.wall_deadline)

    def _await_ready(self, worker: _Worker) -> None:
        """Hello (the worker is up: failures before it are ours) then the import result.
        The hello's wait is counted on the whole worker start; the import's on its tree."""
        what = f"the import of {self.student_file.name}"
        limits = self.limits
        worker.clock = TreeClock.for_process(None)
        try:
            hello, _ = worker.transact(b"", self._budget(worker, limits.import_cpu_s + limits.blocked_s),
                                       NO_ARRAY_REPLY_BYTES)
        except (_Timeout, _Gone, ProtocolError) as exc:
            worker.drain_output()
            raise RuntimeError(f"the sandbox worker did not start ({type(exc).__name__}: {exc}); "
                               f"its output:\n{self._output.text()[-3000:]}") from None
        if hello != {"hello": True}:
            raise RuntimeError(f"the sandbox worker said {hello!r} instead of hello")
        # Up to here no student code ran, and from here on none can start a process: the tree is final.
        worker.clock = TreeClock.for_process(worker.proc.pid)
        budget = self._budget(worker, limits.import_cpu_s)
        try:
            ready, extra = worker.transact(encode_frame({"op": "import"}), budget, NO_ARRAY_REPLY_BYTES)
            reason = budget.exceeded()
            if reason:
                raise _Timeout(reason)
        except _Timeout as exc:
            raise StudentError("timeout", self._over_budget(what, exc.reason, budget, limits.import_cpu_s)
                               + " (does it run long code or wait for something at import time?)") from None
        except _Gone as exc:
            raise StudentError("crashed", _death_message(what, exc.code)) from None
        except ProtocolError as exc:
            raise StudentError("bad_reply", f"{what}: malformed reply ({exc})") from None
        self._note_printed(ready)
        if ready.get("ok") is True and not extra:
            return
        message = ready.get("message")
        if ready.get("kind") == "import" and isinstance(message, str):
            raise StudentError("import", _clean_message(message))
        raise StudentError("bad_reply", f"{what}: malformed reply")

    def _over_budget(self, what: str, reason: str, budget: CallBudget, cpu_s: float) -> str:
        """Which limit ``what`` passed, in words that hold whatever the machine's load."""
        used = budget.used
        if reason == "cpu":
            return f"{what} did not finish within {cpu_s:g} s of CPU time"
        if reason == "blocked":
            return (f"{what} was stopped after waiting {used.blocked:.0f} s without computing "
                    f"(asleep, or waiting for input that never comes; it used {used.cpu:.1f} s of CPU)")
        return (f"{what} was stopped: grading this submission passed its outer time bound "
                f"({self.limits.total_wall_s:g} s)")

    def cpu_used_s(self) -> float:
        """CPU seconds this sandbox's workers have used so far (the student's code, every worker)."""
        live = self._worker.clock.read().cpu if self._worker is not None and self._worker.clock.measures_cpu else 0.0
        return self._cpu_of_dead_workers + live

    def _kill(self, worker) -> None:
        """Kill ``worker``, counting the CPU it used first (its clock reads nothing once it is reaped)."""
        clock = getattr(worker, "clock", None)
        if clock is not None and clock.measures_cpu:
            self._cpu_of_dead_workers += clock.read().cpu
        try:
            worker.kill()
        finally:
            if clock is not None:
                clock.close()

    def _discard_worker(self) -> None:
        """Kill the current worker (if any); layers built in it are lost."""
        worker, self._worker = self._worker, None
        self._generation += 1
        if worker is not None:
            self._kill(worker)

    def close(self) -> None:
        """Kill the worker's whole process tree and delete its files; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._discard_worker()
        finally:
            self._level.close()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def output(self) -> str:
        """What the student's code printed (head and tail kept, capped), for feedback."""
        if self._worker is not None:
            try:
                self._worker.drain_output()
            except OSError:
                pass
        return self._output.text()

    # -------------------------------------------------------------- requests

    def _ready_worker(self) -> _Worker:
        """The live worker, restarted if an earlier failure (or the student) killed it."""
        if self._closed:
            raise RuntimeError("this Sandbox is closed")
        if self.import_error is not None:
            raise StudentError(self.import_error.kind, self.import_error.message)
        if self.flood is not None:
            raise self.flood
        if self._worker is not None and not self._worker.alive():
            self._discard_worker()
        if self._worker is None:
            self._worker = self._start_worker()
        return self._worker

    def _request(self, header: dict, arrays, what: str, n_out: int,
                 reply_cap: int | None = None) -> tuple[dict, list]:
        """One round trip; every failure becomes a StudentError (and kills if needed).

        reply_cap: the most bytes a correct answer needs (the caller knows its shapes); a
        bigger reply is refused before it is read.  The worker is told too, so an honest
        oversized answer comes back as a short message rather than a killed worker.  A
        request answered by no array (n_out == 0) is capped at one header whatever the caller says.
        """
        if n_out == 0:
            reply_cap = NO_ARRAY_REPLY_BYTES
        worker = self._ready_worker()
        if reply_cap is not None:
            header = dict(header, max_reply_bytes=reply_cap)
        self._seq += 1
        payload = encode_frame(dict(header, what=what, seq=self._seq), arrays)
        budget = self._budget(worker, self.limits.call_cpu_s)
        try:
            reply, out = worker.transact(payload, budget, reply_cap)
        except _Timeout as exc:
            self.last_call = budget.used
            self._discard_worker()
            raise StudentError("timeout", self._over_budget(what, exc.reason, budget,
                                                            self.limits.call_cpu_s)) from None
        except _Gone as exc:
            self._discard_worker()
            raise StudentError("crashed", _death_message(what, exc.code)) from None
        except ReplyTooLarge as exc:
            self._discard_worker()
            raise StudentError("bad_reply", f"{what}: your code returned more data than any correct "
                               f"answer needs ({exc})") from None
        except ProtocolError as exc:
            self._discard_worker()
            raise StudentError("bad_reply", f"{what}: the worker sent back a malformed "
                               f"reply ({exc})") from None
        reason = budget.exceeded()             # the verdict is what the call used, not when we looked
        self.last_call = budget.used
        if reason:
            raise StudentError("timeout", self._over_budget(what, reason, budget, self.limits.call_cpu_s))
        if reply.get("seq") != self._seq:
            # A frame the student's code wrote itself can answer this request (it is the student's
            # answer all the same), but then the worker's own reply would answer the next one.
            self._discard_worker()
            raise StudentError("bad_reply", f"{what}: the reply answered another request "
                               "(did your code write to the grader's reply channel?)")
        self._note_printed(reply)
        return self._checked(reply, out, what, n_out)

    def _note_printed(self, reply: dict) -> None:
        """Stops every later call once the student's code has printed a flood: what it
        prints is discarded unread, but making it costs time that no grading should wait for."""
        printed = reply.get("printed")
        if type(printed) is int and printed > self.limits.output_flood_mb * 2**20 and self.flood is None:
            self.flood = StudentError("output", f"your code printed {printed / 2**20:.0f} MB (more than "
                                      f"{self.limits.output_flood_mb} MB): the calls after that were not "
                                      "run. Remove the prints from your code.")
        if self.flood is not None:
            self._discard_worker()
            raise self.flood

    def _checked(self, reply: dict, out: list, what: str, n_out: int | None) -> tuple[dict, list]:
        """Accept a well-formed success; turn a well-formed failure into StudentError."""
        if reply.get("ok") is True and (n_out is None or len(out) == n_out):
            return reply, out
        message, kind = reply.get("message"), reply.get("kind")
        if (reply.get("ok") is False and not out and isinstance(message, str)
                and kind in ("exception", "bad_reply")):
            raise StudentError(kind, _clean_message(message))
        self._discard_worker()
        raise StudentError("bad_reply", f"{what}: the worker sent back a malformed reply")

    def call(self, function: str, *args, reply_cap: int | None = None):
        """``<student module>.<function>(*args)`` in the worker: its result, checked as the
        protocol says (numbers, None, plain numeric ndarrays or tuples of them)."""
        if not (isinstance(function, str) and function.isidentifier()):
            raise ValueError(f"not a function name: {function!r}")
        packed, arrays = pack_args(args)
        reply, out = self._request({"op": "call", "function": function, "args": packed},
                                   arrays, function, None, reply_cap)
        try:
            return parse_call_reply(reply, out)
        except ProtocolError as exc:
            self._discard_worker()
            raise StudentError("bad_reply", f"{function}: the worker sent back a malformed reply ({exc})") from None

    def new_object(self, class_name: str, *args, attributes=()) -> ObjectProxy:
        """``<student module>.<class_name>(*args)`` in the worker, driven through a proxy.

        attributes: (name, value) pairs set on the new object in the same round trip (arrays
        as copies), as ``obj.name = value`` right after construction would.
        """
        if not (isinstance(class_name, str) and class_name.isidentifier()):
            raise ValueError(f"not a class name: {class_name!r}")
        if not all(isinstance(name, str) and name.isidentifier() for name, _ in attributes):
            raise ValueError(f"not attribute names: {[name for name, _ in attributes]!r}")
        packed, arrays = pack_args(args)
        settings = [[name, pack_value(value, arrays)] for name, value in attributes]
        what = f"{class_name}({', '.join(map(repr, args))})"
        if attributes:
            what += " with " + ", ".join(name for name, _ in attributes) + " set"
        header = {"op": "new", "class": class_name, "args": packed}
        if settings:
            header["set"] = settings
        reply, _ = self._request(header, arrays, what, 0)
        object_id = reply.get("object")
        if type(object_id) is not int:
            self._discard_worker()
            raise StudentError("bad_reply", f"{what}: the worker sent back a malformed reply")
        return ObjectProxy(self, object_id, self._generation, class_name)

    def object_steps(self, object_id: int, generation: int, packed: list, arrays: list, what: str,
                     reply_cap=None) -> list:
        """One round trip of an ObjectProxy's steps (packed by proxy.pack_steps) on object `object_id`
        made by the worker of `generation`: one value per step that ran, a failed step as its
        StudentError (ending the list); StudentError for the whole request (a worker restarted since
        the object was made, a crash, a time-out, a reply not answering exactly these steps)."""
        self._ready_worker()                # a worker found dead is restarted: new generation
        if generation != self._generation:
            raise StudentError("lost", f"{what} could not run: the worker was restarted after "
                               "an earlier failure; this object is gone")
        header = {"op": "steps", "object": object_id, "steps": packed}
        reply, out = self._request(header, arrays, what, None, reply_cap)
        try:
            values = parse_steps_reply(packed, reply, out)
        except ProtocolError as exc:
            self._discard_worker()
            raise StudentError("bad_reply", f"{what}: the worker sent back a malformed reply ({exc})") from None
        return [StudentError(v.kind, _clean_message(v.message)) if isinstance(v, StepFailure) else v
                for v in values]


def worker_contract(contract) -> dict:
    """The names the worker may use, from a lab's Contract (None: any)."""
    if contract is None:
        return {"functions": None, "classes": None, "methods": None, "attributes": None}
    return {"functions": list(contract.functions), "classes": list(contract.classes),
            "methods": {c: list(contract.methods_of(c)) for c in contract.classes},
            "attributes": {c: list(contract.attributes_of(c)) for c in contract.classes}}


def _child_env(home: str) -> dict:
    """The worker's whole environment.  python -I ignores PYTHON* variables, so the
    interpreter gets -B on its command line; the two below only reach the student's
    own subprocesses.  Single-threaded BLAS: several workers share few cores."""
    tmp = home if home != "/work" else "/tmp"
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": tmp,
            "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            **portable.windows_env(tmp)}
