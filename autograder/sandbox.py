"""Run a student's ``conv2d.py`` in a worker process and talk to it as untrusted.

Student code never runs in the grader's process.  A ``Sandbox`` starts ``worker.py``
in a child process that imports the student's file; the grader sends calls over a
dedicated pipe pair (not stdin/stdout, so prints cannot forge replies) and gets arrays
back as ``.npy`` bytes (see ``protocol.py``: nothing is ever unpickled).  The student's
stdout and stderr go to a third pipe that the grader drains into a capped buffer.

Isolation levels, best first (``detect_isolation`` probes once and caches the answer):

* ``bwrap``: bubblewrap with every namespace unshared, run as an unprivileged uid
  (65534 when the grader is root).  Inside: /usr, the worker's Python read-only,
  /proc, a minimal /dev, and size-capped tmpfs at /tmp and /work, where /work holds
  only read-only copies of the student's file and worker.py.  No network; the
  repository, fixtures and /root do not exist; the PID namespace dies with its init,
  so nothing outlives the sandbox.
* ``uid``: root without working bubblewrap (e.g. some Gradescope containers).  Each
  live sandbox gets its own unprivileged uid (61000 + a slot held with a lock file) and
  a private work dir (mode 700).  The network stays reachable and so does every
  world-readable file: the caller must pass its secret paths (fixtures, reference,
  results) as ``secret_paths``, which ``protect_secret_paths`` makes unreadable to others.
  At close every process of that uid is killed, even those that left the session.
* ``process``: not root and no bubblewrap (a student's laptop running the self-check on
  their own code).  Own session, rlimits and a private temp dir: this protects against
  accidents (runaway loops, memory, stray prints, forgotten child processes), not
  attacks; the code runs with the user's own rights.

Every level: RLIMIT_CPU/AS/FSIZE/NOFILE/CORE=0 (NPROC too where the uid is a sandbox's
own), a minimal environment, ``python -I -B``, a wall-clock timeout per call enforced
here, and the whole process tree killed and the work dir deleted at close.  Without a
PID namespace (``uid``, ``process``) ``worker.py`` leaves a tiny supervisor behind that
is a child subreaper, so processes that escape the session are still found and killed.

A Sandbox is meant to be used by one thread.  ``--die-with-parent`` (and the
supervisor's parent-death signal) follow the *thread* that started the worker: create,
use and close a Sandbox in the same thread.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder import runtime
from autograder.protocol import (FrameDecoder, ProtocolError, ReplyTooLarge, StepFailure, encode_frame,
                                 pack_args, parse_steps_reply)
from autograder.worker import children_of     # the worker is self-contained: the parent borrows from it

ISOLATION_LEVELS = ("bwrap", "uid", "process")
BWRAP_UID = 65534                      # 'nobody': the uid bubblewrap runs as under root
SLOT_UID_BASE = 61000                  # 'uid' level: 61000..61999, unused on Debian
SLOT_COUNT = 1000
SLOT_LOCK_DIR = Path("/run/conv2d-kit/uid-slots")
WORKER_SOURCE = Path(__file__).with_name("worker.py")
WORKDIR_PREFIX = "convkit-w"           # + grader pid + random: convkit-w1234-abcd1234
MESSAGE_CAP = 4000                     # characters of a worker-sent message we pass on
POLL_TICK_S = 0.05                     # how often a waiting parent checks the child is alive
PIPE_SIZE = 1 << 20                    # bigger pipes: fewer round trips for large arrays
F_SETPIPE_SZ = 1031
SIGNAL_NAMES = {signal.SIGSEGV: "segmentation fault", signal.SIGBUS: "bus error",
                signal.SIGFPE: "floating-point exception", signal.SIGABRT: "aborted",
                signal.SIGILL: "illegal instruction",
                signal.SIGKILL: "killed, for example for using too much memory",
                signal.SIGXCPU: "CPU time limit exceeded",
                signal.SIGXFSZ: "file size limit exceeded"}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox's worker."""
    call_timeout_s: float = 10.0      # wall clock per call
    import_timeout_s: float = 10.0    # wall clock for starting the worker + importing the file
    cpu_s: int = 60                   # RLIMIT_CPU for the worker
    memory_mb: int = 1024             # RLIMIT_AS (OpenBLAS needs > ~160 MB)
    file_size_mb: int = 16            # RLIMIT_FSIZE
    open_files: int = 64              # RLIMIT_NOFILE
    processes: int = 32               # RLIMIT_NPROC (only meaningful for a non-root uid)
    max_reply_mb: int = 64            # cap on a reply's size; bigger -> StudentError('bad_reply')
    output_cap_kb: int = 64           # how much of the student's stdout/stderr is kept for feedback
    output_read_mb: int = 1           # how much of it is ever read, per submission; the rest is discarded
    output_flood_mb: int = 16         # printing more than this stops the submission's calls (a flood)


class StudentError(Exception):
    """A failure caused by the student's code, with a message written for the student.

    kind: 'import' | 'exception' | 'timeout' | 'crashed' | 'bad_reply' | 'lost' | 'output'
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"StudentError({self.kind!r}, {self.message!r})"


# ------------------------------------------------------------------ isolation level

def describe_isolation(level: str) -> str:
    """One line for logs and reports: what the level protects."""
    return {"bwrap": "bubblewrap namespaces as an unprivileged uid: no network, only /usr "
                     "and the work dir visible, nothing outlives the sandbox",
            "uid": "an unprivileged uid per sandbox with rlimits: the network and "
                   "world-readable files stay reachable (secret paths are chmod go-rwx)",
            "process": "own session with rlimits: protects against accidents, not attacks",
            }[level]


@functools.lru_cache(maxsize=None)
def _bwrap_binary() -> str | None:
    """bubblewrap's path, looked up once: the level detected and the binary used agree."""
    return runtime.find_bwrap()


@functools.lru_cache(maxsize=None)
def detect_isolation() -> str:
    """'bwrap' | 'uid' | 'process': the best level this machine offers (probed once)."""
    bwrap = _bwrap_binary()
    if bwrap and _bwrap_works(bwrap):
        return "bwrap"
    return "uid" if os.geteuid() == 0 else "process"


def _bwrap_works(bwrap: str) -> bool:
    """Start a trivial sandbox the way a real one starts (same uid, same namespaces)."""
    cmd = [bwrap, *_BWRAP_BASE, "--", "/usr/bin/true"]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=10, **_drop_kwargs(_bwrap_uid()))
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _bwrap_uid() -> int | None:
    return BWRAP_UID if os.geteuid() == 0 else None


_BWRAP_BASE = ["--unshare-all", "--die-with-parent", "--new-session",
               "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
               "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
               "--proc", "/proc", "--dev", "/dev"]


def _drop_kwargs(uid: int | None) -> dict:
    """Popen arguments that run the child as ``uid`` (gid = uid, no supplementary groups)."""
    return {} if uid is None else {"user": uid, "group": uid, "extra_groups": []}


# ------------------------------------------------------------------ secrets and uids

def protect_secret_paths(paths) -> None:
    """chmod go-rwx each path, so that other uids (the sandbox's) cannot read it."""
    for path in paths:
        mode = os.stat(path).st_mode
        os.chmod(path, mode & ~0o077)


def _live_pids_of_uid(uid: int) -> list[int]:
    """Processes whose effective uid is ``uid``, zombies left out."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] != b"Z":
            pids.append(int(name))
    return pids


def kill_uid(uid: int, rounds: int = 100) -> None:
    """SIGKILL every process of ``uid``, including those that left our session.

    A forked helper becomes ``uid`` and calls kill(-1, SIGKILL), which reaches every
    process that uid may signal.  Repeated until none is left (a process may be forking
    while we kill).  The helper only makes syscalls, so forking here is safe.
    """
    for _ in range(rounds):
        if not _live_pids_of_uid(uid):
            return
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.005)


class _UidSlot:
    """One of SLOT_COUNT uids, held for a sandbox's lifetime with a flock'ed file."""

    def __init__(self):
        SLOT_LOCK_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
        start = os.getpid() % SLOT_COUNT
        for i in range(SLOT_COUNT):
            slot = (start + i) % SLOT_COUNT
            lock = open(SLOT_LOCK_DIR / f"{slot}.lock", "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            self.uid, self._lock = SLOT_UID_BASE + slot, lock
            kill_uid(self.uid)                 # leftovers of a grader that crashed
            return
        raise RuntimeError("every sandbox uid slot is in use")

    def release(self) -> None:
        kill_uid(self.uid)
        self._lock.close()


# ------------------------------------------------------------------ one worker process

class _Timeout(Exception):
    pass


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

    def __init__(self, cmd, *, level, uid, workdir, cwd, env, config, output, max_reply):
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        if output.full:                        # nothing more will be read: /dev/null it is
            os.close(out_w)
            out_w = os.open(os.devnull, os.O_WRONLY)
        for fd in (req_r, self.rep_r):
            _try_grow_pipe(fd)
        self.level, self.uid, self.workdir = level, uid, workdir
        self.output, self.max_reply = output, max_reply
        config = dict(config, req=req_r, rep=rep_w,   # the fds as the child sees them
                      output_budget=output.budget())
        try:
            self.proc = subprocess.Popen(
                cmd + [json.dumps(config)], stdin=subprocess.DEVNULL, stdout=out_w,
                stderr=out_w, pass_fds=(req_r, rep_w), cwd=cwd, env=env,
                start_new_session=True, umask=0o077, **_drop_kwargs(uid))
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

    def transact(self, payload: bytes, deadline: float, max_reply: int | None = None) -> tuple[dict, list]:
        """Send ``payload`` (may be empty) and wait for one reply frame until ``deadline``.

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
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            for fd, _ in poller.poll(min(remaining, POLL_TICK_S) * 1000):
                if fd == self.req_w:
                    todo = self._write_some(todo)
                    if not todo:
                        poller.unregister(self.req_w)
                elif fd == self.out_r:
                    out_r = self.out_r
                    if not self.drain_output():
                        poller.unregister(out_r)
                elif not self._read_reply(decoder) and not decoder.done:
                    raise _Gone(self._exit_code_soon())     # EOF before a whole reply
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
            raise _Gone(self._exit_code_soon()) from None

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

    def _exit_code_soon(self) -> int | None:
        """The exit code if the child exits within a moment (it closed its pipe), else None."""
        try:
            return self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Kill the worker's whole process tree, reap it, delete the work dir."""
        if self.level == "bwrap":
            self._kill_bwrap()
        else:
            self._kill_supervised()
        if self.level == "uid":
            kill_uid(self.uid)
        try:
            self.drain_output()
        except OSError:
            pass
        for fd in (self.req_w, self.rep_r, self.out_r):
            if fd is not None:
                os.close(fd)
        _remove_tree(self.workdir)

    def _kill_bwrap(self) -> None:
        # SIGKILL the PID namespace's init (bwrap's child): the kernel kills everything in
        # the namespace, and the outer bwrap exits only after that init has been reaped.
        if self.alive():
            for pid in children_of(self.proc.pid):
                _signal(pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _kill_supervised(self) -> None:
        # The supervisor kills and reaps every descendant on SIGTERM, then exits
        # (unsupervised, off Linux, SIGTERM goes to the worker itself).
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        _signal(-self.proc.pid, signal.SIGKILL)    # its session, in case it was killed
        self.proc.kill()
        self.proc.wait()


def _signal(pid: int, sig: int) -> None:
    """os.kill, or killpg for a negative pid, ignoring processes already gone."""
    try:
        if pid < 0:
            os.killpg(-pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _try_grow_pipe(fd: int) -> None:
    try:
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass                                   # a small pipe only costs speed


@functools.lru_cache(maxsize=None)
def _remove_stale_workdirs(base: str) -> None:
    """Delete work dirs left by graders that were killed before close() (once per process).

    A work dir is named after the grader's pid; its processes died with that grader
    (parent-death signals), only the folder stayed.
    """
    for entry in Path(base).glob(f"{WORKDIR_PREFIX}*-*"):
        pid = entry.name[len(WORKDIR_PREFIX):].split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _remove_tree(entry)
        except PermissionError:
            pass                               # alive, someone else's


def _remove_tree(path: Path) -> None:
    """rmtree that also gets through folders the student made unreadable."""
    def retry(func, target, _exc):
        try:
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass
    shutil.rmtree(path, onerror=retry)


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


# ------------------------------------------------------------------ the public sandbox

class Sandbox:
    """A student's conv2d.py, imported in a worker process; one per student file.

    ``call`` runs a module-level function, ``new_layer`` builds ``Conv2d`` there.  A
    failed call raises StudentError; after a crash, timeout or malformed reply the
    worker is killed and started again on the next call (layers built before are lost).
    """

    def __init__(self, student_file: Path, limits: Limits = Limits(),
                 isolation: str | None = None, *, secret_paths=()):
        self.student_file = Path(student_file)
        self.limits = limits
        self.isolation = isolation or detect_isolation()
        self._check_level()
        root = os.geteuid() == 0
        if self.isolation == "uid":
            protect_secret_paths(secret_paths)
        self._python = runtime.worker_python(drop_privileges=root and self.isolation != "process")
        self._slot = _UidSlot() if self.isolation == "uid" else None
        self._uid = (self._slot.uid if self._slot else
                     _bwrap_uid() if self.isolation == "bwrap" else None)
        self._output = _Output(limits.output_cap_kb * 1024, limits.output_read_mb * 2**20)
        self._worker: _Worker | None = None
        self._generation = 0
        self._closed = False
        self.import_error: StudentError | None = None
        self.flood: StudentError | None = None
        try:
            self._worker = self._start_worker()
        except StudentError as exc:
            self.import_error = exc
        except BaseException:
            self.close()
            raise

    def _check_level(self) -> None:
        if self.isolation not in ISOLATION_LEVELS:
            raise ValueError(f"unknown isolation level {self.isolation!r}")
        if self.isolation == "uid" and os.geteuid() != 0:
            raise ValueError("the 'uid' isolation level needs root")
        if self.isolation == "bwrap" and detect_isolation() != "bwrap":
            raise ValueError("bubblewrap is not usable here (run python -m autograder.runtime)")

    # -------------------------------------------------------------- starting and stopping

    def _start_worker(self) -> _Worker:
        """Start a worker and wait for it to import the student's file."""
        workdir = self._make_workdir()
        if self.isolation == "bwrap":
            cmd, cwd, home = self._bwrap_command(workdir), "/", "/work"
        else:
            cmd = [self._python, "-I", "-B", str(workdir / "worker.py")]
            cwd = home = str(workdir)
        limits = self.limits
        config = {"cpu_s": limits.cpu_s, "memory_mb": limits.memory_mb,
                  "file_size_mb": limits.file_size_mb, "open_files": limits.open_files,
                  # as the user's own uid, NPROC would count all of the user's processes
                  "processes": None if self.isolation == "process" else limits.processes,
                  # the supervisor needs Linux (prctl, /proc); elsewhere killpg must do
                  "supervise": self.isolation != "bwrap" and sys.platform.startswith("linux"),
                  "max_reply_bytes": limits.max_reply_mb * 2**20}
        try:
            worker = _Worker(cmd, level=self.isolation, uid=self._uid, workdir=workdir,
                             cwd=cwd, env=_child_env(home), config=config,
                             output=self._output, max_reply=limits.max_reply_mb * 2**20)
        except BaseException:
            _remove_tree(workdir)
            raise
        self._generation += 1
        try:
            self._await_ready(worker, time.monotonic() + limits.import_timeout_s)
        except BaseException:
            worker.kill()
            raise
        return worker

    def _await_ready(self, worker: _Worker, deadline: float) -> None:
        """Hello (the worker is up: failures before it are ours) then the import result."""
        what = "the import of conv2d.py"
        try:
            hello, _ = worker.transact(b"", deadline)
        except (_Timeout, _Gone, ProtocolError) as exc:
            worker.drain_output()
            raise RuntimeError(f"the sandbox worker did not start ({type(exc).__name__}: {exc}); "
                               f"its output:\n{self._output.text()[-3000:]}") from None
        if hello != {"hello": True}:
            raise RuntimeError(f"the sandbox worker said {hello!r} instead of hello")
        try:
            ready, _ = worker.transact(encode_frame({"op": "import"}), deadline)
        except _Timeout:
            raise StudentError("timeout", f"{what} did not finish within "
                               f"{self.limits.import_timeout_s:g} s (does it run long code "
                               "or wait for something at import time?)") from None
        except _Gone as exc:
            raise StudentError("crashed", _death_message(what, exc.code)) from None
        except ProtocolError as exc:
            raise StudentError("bad_reply", f"{what}: malformed reply ({exc})") from None
        self._note_printed(ready)
        if ready.get("ok") is True:
            return
        message = ready.get("message")
        if ready.get("kind") == "import" and isinstance(message, str):
            raise StudentError("import", _clean_message(message))
        raise StudentError("bad_reply", f"{what}: malformed reply")

    def _make_workdir(self) -> Path:
        """A fresh private dir with copies of the student's file and worker.py."""
        base = tempfile.gettempdir()
        if self._uid is not None and runtime.untraversable_ancestor(Path(base) / "x"):
            base = "/tmp"                      # the sandbox uid must reach its work dir
        _remove_stale_workdirs(base)
        workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-", dir=base))
        try:
            for source, name in ((self.student_file, "conv2d.py"),
                                 (WORKER_SOURCE, "worker.py")):
                shutil.copyfile(source, workdir / name)
                (workdir / name).chmod(0o644)
            if self._uid is not None:
                os.chown(workdir, self._uid, self._uid)
        except BaseException:
            _remove_tree(workdir)
            raise
        return workdir

    def _bwrap_command(self, workdir: Path) -> list[str]:
        """bwrap argv: /usr and the runtime read-only, capped tmpfs at /tmp and /work."""
        tmpfs = str(max(4 * self.limits.file_size_mb, 16) * 2**20)
        cmd = [_bwrap_binary(), *_BWRAP_BASE,
               "--size", tmpfs, "--tmpfs", "/tmp", "--size", tmpfs, "--tmpfs", "/work"]
        for path in runtime.runtime_paths(self._python):
            cmd += ["--ro-bind", path, path]
        for name in ("conv2d.py", "worker.py"):
            cmd += ["--ro-bind", str(workdir / name), f"/work/{name}"]
        return cmd + ["--chdir", "/work", "--", self._python, "-I", "-B", "/work/worker.py"]

    def _discard_worker(self) -> None:
        """Kill the current worker (if any); layers built in it are lost."""
        worker, self._worker = self._worker, None
        self._generation += 1
        if worker is not None:
            worker.kill()

    def close(self) -> None:
        """Kill the worker's whole process tree and delete its files; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._discard_worker()
        finally:
            if self._slot is not None:
                self._slot.release()

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
        oversized answer comes back as a short message rather than a killed worker.
        """
        worker = self._ready_worker()
        if reply_cap is not None:
            header = dict(header, max_reply_bytes=reply_cap)
        payload = encode_frame(dict(header, what=what), arrays)
        deadline = time.monotonic() + self.limits.call_timeout_s
        try:
            reply, out = worker.transact(payload, deadline, reply_cap)
        except _Timeout:
            self._discard_worker()
            raise StudentError("timeout", f"{what} did not finish within "
                               f"{self.limits.call_timeout_s:g} s (infinite loop?)") from None
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
        self._note_printed(reply)
        return self._checked(reply, out, what, n_out)

    def _note_printed(self, reply: dict) -> None:
        """Stops every later call once the student's code has printed a flood: what it
        prints is discarded unread, but making it costs time that no grading should wait for."""
        printed = reply.get("printed")
        if type(printed) is int and printed > self.limits.output_flood_mb * 2**20 and self.flood is None:
            self.flood = StudentError("output", f"your code printed {printed / 2**20:.0f} MB (more than "
                                      f"{self.limits.output_flood_mb} MB): the calls after that were not "
                                      "run. Remove the prints from col2im and backward.")
        if self.flood is not None:
            self._discard_worker()
            raise self.flood

    def _checked(self, reply: dict, out: list, what: str, n_out: int) -> tuple[dict, list]:
        """Accept a well-formed success; turn a well-formed failure into StudentError."""
        if reply.get("ok") is True and (n_out is None or len(out) == n_out):
            return reply, out
        message, kind = reply.get("message"), reply.get("kind")
        if (reply.get("ok") is False and not out and isinstance(message, str)
                and kind in ("exception", "bad_reply")):
            raise StudentError(kind, _clean_message(message))
        self._discard_worker()
        raise StudentError("bad_reply", f"{what}: the worker sent back a malformed reply")

    def call(self, function: str, *args, reply_cap: int | None = None) -> np.ndarray:
        """``conv2d.<function>(*args)`` in the worker; the result as a plain ndarray."""
        if not (isinstance(function, str) and function.isidentifier()):
            raise ValueError(f"not a function name: {function!r}")
        packed, arrays = pack_args(args)
        _, out = self._request({"op": "call", "function": function, "args": packed},
                               arrays, function, 1, reply_cap)
        return out[0]

    def new_layer(self, in_channels, out_channels, kernel_size, stride=1,
                  padding=0) -> "LayerProxy":
        """``conv2d.Conv2d(in_channels, out_channels, kernel_size, stride, padding)``."""
        args = (in_channels, out_channels, kernel_size, stride, padding)
        packed, arrays = pack_args(args)
        what = f"Conv2d({', '.join(map(repr, args))})"
        reply, _ = self._request({"op": "new_layer", "args": packed}, arrays, what, 0)
        layer_id = reply.get("layer")
        if type(layer_id) is not int:
            self._discard_worker()
            raise StudentError("bad_reply", f"{what}: the worker sent back a malformed reply")
        return LayerProxy(self, layer_id, self._generation)


class LayerProxy:
    """A ``Conv2d`` living in the worker.  Dead (StudentError 'lost') after a restart."""

    def __init__(self, sandbox: Sandbox, layer_id: int, generation: int):
        self._sandbox, self._id, self._generation = sandbox, layer_id, generation
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

    def steps(self, steps, what="Conv2d calls", reply_cap=None) -> list:
        """Several calls in one round trip: ("set", attr, array), ("get", attr), ("zero_grad",),
        ("forward", x), ("backward", dY). Returns one entry per step that ran: None, an
        array, or (result, argument after the call); a step that failed is its StudentError
        and ends the list. A crash or time-out of the whole request, or a reply that does
        not answer exactly the steps asked for, raises StudentError."""
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
        reply, out = self._request("steps", what, None, arrays, reply_cap, steps=packed)
        try:
            values = parse_steps_reply([step[0] for step in steps], reply, out)
        except ProtocolError as exc:
            self._sandbox._discard_worker()
            raise StudentError("bad_reply", f"{what}: the worker sent back a malformed reply ({exc})") from None
        return [StudentError(v.kind, _clean_message(v.message)) if isinstance(v, StepFailure) else v
                for v in values]


def _child_env(home: str) -> dict:
    """The worker's whole environment.  python -I ignores PYTHON* variables, so the
    interpreter gets -B on its command line; the two below only reach the student's
    own subprocesses.  Single-threaded BLAS: several workers share few cores."""
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home if home != "/work" else "/tmp",
            "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
