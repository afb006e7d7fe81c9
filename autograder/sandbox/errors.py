"""Limits of a worker, and failures of student code told in words written for the student."""

from __future__ import annotations

import signal
from dataclasses import dataclass

MESSAGE_CAP = 4000                     # characters of a worker-sent message we pass on
SIGNAL_NAMES = {signal.SIGSEGV: "segmentation fault", signal.SIGBUS: "bus error",
                signal.SIGFPE: "floating-point exception", signal.SIGABRT: "aborted",
                signal.SIGILL: "illegal instruction",
                signal.SIGKILL: "killed, for example for using too much memory",
                signal.SIGXCPU: "CPU time limit exceeded",
                signal.SIGXFSZ: "file size limit exceeded"}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox's workers.

    Time limits are CPU time of the worker's whole process tree (``cpu_clock.py``), so
    the machine's load does not change a verdict; ``blocked_s`` stops code that sleeps or
    waits; ``wall_s`` is only the outer bound of the sandbox's whole life.  The student's
    code may start no process or thread (RLIMIT_NPROC 0), so ``memory_mb`` bounds the
    whole submission, not one process of it."""
    call_cpu_s: float = 10.0          # CPU seconds for one call
    import_cpu_s: float = 10.0        # CPU seconds for starting the worker + importing the file
    blocked_s: float = 10.0           # seconds a call or import may spend neither running nor waiting for a CPU
    wall_s: float = 900.0             # wall clock for everything this sandbox runs (a generous outer bound)
    cpu_s: int = 125                  # RLIMIT_CPU of a worker: a backstop behind the parent's accounting
    memory_mb: int = 1024             # RLIMIT_AS (OpenBLAS needs > ~160 MB)
    file_size_mb: int = 16            # RLIMIT_FSIZE
    open_files: int = 64              # RLIMIT_NOFILE
    max_reply_mb: int = 64            # cap on a reply's size; bigger -> StudentError('bad_reply')
    output_cap_kb: int = 64           # how much of the student's stdout/stderr is kept for feedback
    output_read_mb: int = 1           # how much of it is ever read, per submission; the rest is discarded
    output_flood_mb: int = 16         # printing more than this stops the submission's calls (a flood)


class StudentError(Exception):
    """A failure caused by the student's code, with a message written for the student.

    kind: 'import' | 'exception' | 'timeout' | 'crashed' | 'bad_reply' | 'lost' | 'output'
    call: the grader's name for the call that failed ('col2im', 'Conv2d.backward', ...),
    set by whoever made the call; '' when unknown.
    """

    def __init__(self, kind: str, message: str, call: str = ""):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.call = call

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"StudentError({self.kind!r}, {self.message!r})"


def _death_message(what: str, code: int | None) -> str:
    """What happened to a worker that died during ``what``, for a student."""
    if code is None:
        return f"the worker stopped answering during {what} (its reply channel was closed)"
    sig = -code if code < 0 else code - 128 if code > 128 else None
    if sig:
        try:
            name = SIGNAL_NAMES.get(sig) or signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"the worker process died during {what} (exit code -{sig}, {name})"
    return f"the worker exited during {what} with os._exit({code}) / sys.exit({code})"


def _clean_message(message: str) -> str:
    """A worker-sent message, capped, without control characters other than newlines."""
    text = "".join(c if c.isprintable() or c in "\n\t" else "?" for c in message[:MESSAGE_CAP])
    return text + (" ..." if len(message) > MESSAGE_CAP else "")


