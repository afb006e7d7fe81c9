"""Failures of student code, told in words written for the student."""

from __future__ import annotations

import signal

MESSAGE_CAP = 4000                     # characters of a worker-sent message we pass on
SIGNAL_NAMES = {signal.SIGSEGV: "segmentation fault", signal.SIGBUS: "bus error",
                signal.SIGFPE: "floating-point exception", signal.SIGABRT: "aborted",
                signal.SIGILL: "illegal instruction",
                signal.SIGKILL: "killed, for example for using too much memory",
                signal.SIGXCPU: "CPU time limit exceeded",
                signal.SIGXFSZ: "file size limit exceeded"}


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


