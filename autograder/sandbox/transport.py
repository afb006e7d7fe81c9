"""The portable transport: a worker spoken to over its stdin/stdout, read by threads.

Used where the POSIX one (``plumbing._Worker``: extra pipes passed by fd number, watched
with ``select.poll``) cannot be, i.e. on Windows (``portable.use_portable_path``).  The
worker is started with ``"channels": "stdio"`` in its config: first thing, it keeps fd 0
and fd 1 for the protocol and points fds 0, 1, 2 at /dev/null and the output pipe (its
stderr), so a student's print or child process never reaches the reply channel.

Pipes cannot be waited on with a timeout there, so a thread reads each of them: the reply
reader hands chunks to a bounded queue (back-pressure: at most QUEUE_CHUNKS chunks wait
beyond what the decoder holds, and the decoder refuses a reply over its cap as soon as the
lengths are known), the output reader reads at most the output budget, then closes its
end.  A request bigger than a pipe's buffer is written by a short-lived writer thread,
so a worker that stops reading cannot block the grader past its deadline.  Each thread owns the fd it uses and
closes it itself: closing an fd another thread is reading would let a new file take its
number.  Every cap and check of the POSIX transport holds: reply cap, output budget,
deadlines, bytes after the frame, a dead child noticed even while a grandchild holds a pipe.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import select
import subprocess
import threading
import time

from autograder.protocol import FrameDecoder
from autograder.sandbox.plumbing import PIPE_SIZE, POLL_TICK_S, _Gone, _Output, _Timeout, exit_code_soon

QUEUE_CHUNKS = 4                       # reply chunks (<= PIPE_SIZE each) waiting for the decoder
EOF = b""                              # what the reply reader queues at end of file
LAST_BYTES_S = 1.0                     # how long a dead child's last reply bytes are waited for
INLINE_WRITE_BYTES = 4096              # a request this small is written without a thread (see transact)
CATCH_UP_S = 1.0                       # how long the output reader may lag behind a reply
HAND_OVER_S = 0.0005                   # for the reader to hand over a chunk it just read


class StdioWorker:
    """A started worker on the portable transport; same interface as ``plumbing._Worker``."""

    def __init__(self, cmd, *, level, workdir, env, config, output: _Output, max_reply, popen_kwargs):
        """``level`` stops the process tree and removes ``workdir``; ``popen_kwargs`` say how
        the child is started (cwd; the portable path never uses pass_fds, sessions or umask)."""
        self.level, self.workdir = level, workdir
        self.output, self.max_reply = output, max_reply
        self._stopping = threading.Event()
        self._replies: queue.Queue = queue.Queue(QUEUE_CHUNKS)
        self._printed: collections.deque = collections.deque()   # chunks for the output buffer
        self._output_open = not output.full
        self._printed_seen = 0                 # the characters printed, as the last reply said
        config = dict(config, channels="stdio", output_budget=output.budget())
        self.proc = subprocess.Popen(
            cmd + [json.dumps(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if self._output_open else subprocess.DEVNULL,
            env=env, bufsize=0, **popen_kwargs)
        # The threads own the fds from now on: take them away from the Popen object, which
        # would otherwise close them (at kill, or when collected) under a thread's feet.
        self._req_w = self._take(self.proc, "stdin")
        rep_r = self._take(self.proc, "stdout")
        self._reply_done = threading.Event()
        self._start(self._read_replies, rep_r)
        if self._output_open:
            self._output_done = threading.Event()
            self._output_fd = self._take(self.proc, "stderr")
            self._start(self._read_output, self._output_fd, output.budget())
        self._writer: threading.Thread | None = None

    @staticmethod
    def _take(proc, name: str) -> int:
        stream = getattr(proc, name)
        setattr(proc, name, None)
        fd = os.dup(stream.fileno())           # ours alone; the file object's fd is closed now
        stream.close()
        return fd

    @staticmethod
    def _start(target, *args) -> None:
        threading.Thread(target=target, args=args, daemon=True,
                         name=f"convkit-{target.__name__.strip('_')}").start()

    # -------------------------------------------------------------- the threads

    def _read_replies(self, fd: int) -> None:
        try:
            while True:
                try:
                    chunk = os.read(fd, PIPE_SIZE)
                except OSError:
                    chunk = EOF
                if not self._put(chunk) or not chunk:
                    return
        finally:
            os.close(fd)
            self._reply_done.set()

    def _put(self, chunk: bytes) -> bool:
        """Queue a chunk, waiting while the queue is full; False once the worker is stopped."""
        while not self._stopping.is_set():
            try:
                self._replies.put(chunk, timeout=POLL_TICK_S)
                return True
            except queue.Full:
                pass
        return False

    def _read_output(self, fd: int, budget: int) -> None:
        """Read at most ``budget`` bytes of the student's output, then close the pipe: past
        it the student's writes fail at once instead of costing us reads."""
        try:
            while budget > 0 and not self._stopping.is_set():
                try:
                    chunk = os.read(fd, min(PIPE_SIZE, budget))
                except OSError:
                    break
                if not chunk:
                    break
                budget -= len(chunk)
                self._printed.append(chunk)
        finally:
            os.close(fd)
            self._output_done.set()

    def _write_request(self, payload: bytes) -> None:
        view = memoryview(payload)
        try:
            while view:
                view = view[os.write(self._req_w, view[:PIPE_SIZE]):]
        except OSError:
            pass                               # the worker is gone: the reply side notices

    # -------------------------------------------------------------- the plumbing interface

    def alive(self) -> bool:
        return self.proc.poll() is None

    def transact(self, payload: bytes, budget, max_reply: int | None = None) -> tuple[dict, list]:
        """Send ``payload`` (may be empty) and wait for one reply frame while ``budget`` (a
        cpu_clock.CallBudget) lasts; meanwhile the student's output is drained into the capped buffer.

        A small request is written here: the worker has read every earlier request (it
        answered them), so the pipe is empty and a write that fits the smallest pipe
        buffer (4 KiB, Windows' default) returns at once; a thread costs ~100 us a call."""
        decoder = FrameDecoder(min(self.max_reply, max_reply or self.max_reply))
        if 0 < len(payload) <= INLINE_WRITE_BYTES:
            self._write_request(payload)
        elif payload:
            self._writer = threading.Thread(target=self._write_request, args=(payload,),
                                            daemon=True, name="convkit-write-request")
            self._writer.start()
        while not decoder.done:
            reason = budget.exceeded()
            if reason:
                raise _Timeout(reason)
            try:
                chunk = self._replies.get(timeout=budget.wait_s(POLL_TICK_S))
            except queue.Empty:
                self.drain_output()
                if not self.alive():
                    self._take_last_bytes(decoder)     # it may have answered just before dying
                    if decoder.done:
                        break
                    raise _Gone(self.proc.returncode)
                continue
            if chunk == EOF:                           # EOF before a whole reply
                raise _Gone(exit_code_soon(self.proc))
            decoder.feed(chunk)
        self._feed_queued(decoder)             # bytes after the frame: a forgery attempt
        header, arrays = decoder.frame()
        self._catch_up_output(header.get("printed"), budget.wall_deadline)
        return header, arrays

    def _catch_up_output(self, printed, deadline: float) -> None:
        """What the student printed before a reply is in the output pipe before it, but the
        reader thread may not have read it yet (the POSIX transport reads both at once).
        When the reply says the student printed since the last one, wait (at most
        CATCH_UP_S) until the pipe is empty, then a moment for the reader to hand over the
        chunk it took last: a chunk still in its hands then is shown with the next reply."""
        if self._output_open and type(printed) is int and printed != self._printed_seen:
            self._printed_seen = printed
            end = min(deadline, time.monotonic() + CATCH_UP_S)
            while not self._output_done.is_set() and time.monotonic() < end:
                if not _bytes_waiting(self._output_fd):
                    time.sleep(HAND_OVER_S)
                    break
                time.sleep(HAND_OVER_S)
        self.drain_output()

    def _take_last_bytes(self, decoder: FrameDecoder) -> None:
        """Feed what a dead child wrote before it died (its pipe ends at once: no one else holds it)."""
        end = time.monotonic() + LAST_BYTES_S
        while not decoder.done and time.monotonic() < end:
            try:
                chunk = self._replies.get(timeout=POLL_TICK_S)
            except queue.Empty:
                if self._reply_done.is_set() and self._replies.empty():
                    return
                continue
            if chunk == EOF:
                return
            decoder.feed(chunk)

    def _feed_queued(self, decoder: FrameDecoder) -> None:
        while True:
            try:
                chunk = self._replies.get_nowait()
            except queue.Empty:
                return
            if chunk == EOF:
                self._replies.put(EOF)         # keep end of file for the next transact
                return
            decoder.feed(chunk)

    def drain_output(self) -> bool:
        """Move what the reader thread got into the capped buffer; False at end of file or
        once the submission's output cap is reached."""
        while self._printed:
            self.output.add(self._printed.popleft())
        if not self._output_open:
            return False
        if self._output_done.is_set() and not self._printed:
            self._output_open = False
        return self._output_open and not self.output.full

    def kill(self) -> None:
        """Kill the worker's whole process tree, reap it, stop the threads, delete the work dir.
        Idempotent, and never raises for a worker that is already gone."""
        if self._stopping.is_set():
            return
        self.level.stop(self.proc)
        if self._output_open:
            self._output_done.wait(LAST_BYTES_S)   # the last prints, once the tree is dead
        self._stopping.set()                   # the threads stop at their next chunk
        try:
            self.drain_output()
        except OSError:
            pass
        writer = self._writer
        if writer is not None:
            writer.join(LAST_BYTES_S)          # its write fails now that the reader is dead
        if writer is None or not writer.is_alive():
            os.close(self._req_w)
        self.level.after_worker(self.workdir)


def _bytes_waiting(fd: int) -> bool:
    """Whether the pipe ``fd`` holds unread bytes (or is at end of file), without reading.
    Windows cannot select() on a pipe: PeekNamedPipe says how many bytes wait there."""
    try:
        if os.name == "nt":
            import _winapi
            import msvcrt
            return _winapi.PeekNamedPipe(msvcrt.get_osfhandle(fd), 0)[0] > 0
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return False                           # closed by the reader: nothing more to wait for
