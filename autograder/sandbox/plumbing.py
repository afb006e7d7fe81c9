"""Process and pipe plumbing of one worker: start it, talk to it, take it down.

The grader talks to the worker over a dedicated pipe pair (not stdin/stdout, so prints
cannot forge replies) and drains the student's stdout+stderr from a third pipe into a
capped buffer.  How the worker is started and stopped depends on the isolation level
(``levels.py``); this module only moves bytes and watches the process.  Where pipes
cannot be passed by number or polled (Windows), ``transport.py`` does the same job.
"""

from __future__ import annotations

import json
import os
import select
import subprocess

from autograder.protocol import FrameDecoder

try:
    import fcntl
except ImportError:                    # not POSIX (Windows): pipes keep their default size
    fcntl = None

POLL_TICK_S = 0.05                     # how often a waiting parent checks the child is alive
PIPE_SIZE = 1 << 20                    # bigger pipes: fewer round trips for large arrays
F_SETPIPE_SZ = 1031


class _Timeout(Exception):
    """A limit of the call's budget was passed: ``reason`` is 'cpu', 'blocked' or 'wall'."""

    def __init__(self, reason: str = "wall"):
        super().__init__(reason)
        self.reason = reason


class _Gone(Exception):
    """The worker died or closed its reply pipe; ``code`` is its wrapper's exit code."""

    def __init__(self, code: int | None):
        super().__init__(code)
        self.code = code


class _Output:
    """The student's stdout+stderr: the first 3/4 and the last 1/4 of the cap are kept.

    At most ``read_cap`` bytes are ever read, over every worker of one submission: past
    that the parent stops reading (a worker then gets /dev/null, and the worker's own
    print wrapper discards what is printed), so an output flood costs the grader nothing.
    """

    def __init__(self, cap_bytes: int, read_cap: int):
        self.head_cap = cap_bytes * 3 // 4
        self.tail_cap = cap_bytes - self.head_cap
        self.head, self.tail, self.dropped = bytearray(), bytearray(), 0
        self.read_cap, self.read = read_cap, 0

    @property
    def full(self) -> bool:
        return self.read >= self.read_cap

    def budget(self) -> int:
        """Bytes a new worker may still print through the pipe."""
        return max(0, self.read_cap - self.read)

    def add(self, data: bytes) -> None:
        self.read += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        if len(data) >= self.tail_cap:
            self.dropped += len(self.tail) + len(data) - self.tail_cap
            self.tail = bytearray(data[len(data) - self.tail_cap:])
        else:
            self.tail += data
            excess = len(self.tail) - self.tail_cap
            if excess > 0:
                self.dropped += excess
                del self.tail[:excess]

    def text(self) -> str:
        if self.full:
            self.dropped = max(self.dropped, 1)
        gap = (f"\n[... {self.dropped} bytes of output left out"
               + (f"; output past {self.read_cap // 2**20} MB was thrown away unread" if self.full else "")
               + " ...]\n") if self.dropped else ""
        return (bytes(self.head).decode("utf-8", "replace") + gap
                + bytes(self.tail).decode("utf-8", "replace"))


class _Worker:
    """A started worker: its process, pipes and work dir, and how to take it all down."""

    def __init__(self, cmd, *, level, workdir, env, config, output, max_reply, popen_kwargs):
        """``level`` (an IsolationLevel) stops the process tree and removes ``workdir``;
        ``popen_kwargs`` say how the child is started (cwd, uid, preexec_fn)."""
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        if output.full:                        # nothing more will be read: /dev/null it is
            os.close(out_w)
            out_w = os.open(os.devnull, os.O_WRONLY)
        for fd in (req_r, self.rep_r):
            _try_grow_pipe(fd)
        self.level, self.workdir = level, workdir
        self.output, self.max_reply = output, max_reply
        config = dict(config, req=req_r, rep=rep_w,   # the fds as the child sees them
                      output_budget=output.budget())
        try:
            self.proc = subprocess.Popen(
                cmd + [json.dumps(config)], stdin=subprocess.DEVNULL, stdout=out_w,
                stderr=out_w, pass_fds=(req_r, rep_w), env=env,
                start_new_session=True, umask=0o077, **popen_kwargs)
        except BaseException:
            for fd in (self.req_w, self.rep_r, self.out_r):
                os.close(fd)
            raise
        finally:
            for fd in (req_r, rep_w, out_w):
                os.close(fd)
        for fd in (self.req_w, self.rep_r, self.out_r):
            os.set_blocking(fd, False)
        if output.full:
            os.close(self.out_r)
            self.out_r = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def transact(self, payload: bytes, budget, max_reply: int | None = None) -> tuple[dict, list]:
        """Send ``payload`` (may be empty) and wait for one reply frame while ``budget``
        (a cpu_clock.CallBudget) lasts; _Timeout(reason) once it is spent.

        Meanwhile the student's output is drained into the capped buffer, and a dead
        child is noticed even if a grandchild still holds the reply pipe open.
        max_reply: this reply's cap in bytes (at most the sandbox's).
        """
        decoder = FrameDecoder(min(self.max_reply, max_reply or self.max_reply))
        todo = memoryview(payload)
        poller = select.poll()
        if todo:
            poller.register(self.req_w, select.POLLOUT)
        poller.register(self.rep_r, select.POLLIN)
        if self.out_r is not None:
            poller.register(self.out_r, select.POLLIN)
        while True:
            if not self.alive():
                self._read_reply(decoder)      # it may have answered just before dying
                if decoder.done:
                    break
                raise _Gone(self.proc.returncode)
            reason = budget.exceeded()
            if reason:
                raise _Timeout(reason)
            for fd, _ in poller.poll(budget.wait_s(POLL_TICK_S) * 1000):
                if fd == self.req_w:
                    todo = self._write_some(todo)
                    if not todo:
                        poller.unregister(self.req_w)
                elif fd == self.out_r:
                    out_r = self.out_r
                    if not self.drain_output():
                        poller.unregister(out_r)
                elif not self._read_reply(decoder) and not decoder.done:
                    raise _Gone(exit_code_soon(self.proc))     # EOF before a whole reply
            if decoder.done:
                break
        self.drain_output()
        self._read_reply(decoder)              # bytes after the frame: a forgery attempt
        return decoder.frame()

    def _write_some(self, todo: memoryview) -> memoryview:
        try:
            return todo[os.write(self.req_w, todo[:PIPE_SIZE]):]
        except BlockingIOError:
            return todo
        except BrokenPipeError:
            raise _Gone(exit_code_soon(self.proc)) from None

    def _read_reply(self, decoder: FrameDecoder) -> bool:
        """Feed what is readable now into ``decoder``; False at end of file."""
        while True:
            try:
                chunk = os.read(self.rep_r, PIPE_SIZE)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            decoder.feed(chunk)

    def drain_output(self) -> bool:
        """Move what the student printed into the capped buffer; False at end of file,
        or once the submission's output cap is reached: the pipe is then closed, and
        the student's further writes to it fail at once instead of costing us reads."""
        while self.out_r is not None:
            try:
                chunk = os.read(self.out_r, min(PIPE_SIZE, max(self.output.budget(), 1)))
            except BlockingIOError:
                return True
            if not chunk:
                return False
            self.output.add(chunk)
            if self.output.full:
                os.close(self.out_r)
                self.out_r = None
        return False

    def kill(self) -> None:
        """Kill the worker's whole process tree, reap it, delete the work dir."""
        self.level.stop(self.proc)
        try:
            self.drain_output()
        except OSError:
            pass
        for fd in (self.req_w, self.rep_r, self.out_r):
            if fd is not None:
                os.close(fd)
        self.level.after_worker(self.workdir)


def exit_code_soon(proc: subprocess.Popen) -> int | None:
    """The exit code if the child exits within a moment (it closed its pipe), else None."""
    try:
        return proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        return None


def _try_grow_pipe(fd: int) -> None:
    if fcntl is None:
        return
    try:
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass                                   # a small pipe only costs speed
