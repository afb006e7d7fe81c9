"""Sandbox uids: one unprivileged uid per live sandbox, and killing all of a uid's processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

try:
    import fcntl
except ImportError:                    # not POSIX: the uid levels are unusable anyway (no root)
    fcntl = None

SLOT_UID_BASE = 61000                  # 61000..61999, unused on Debian
SLOT_COUNT = 1000
SLOT_LOCK_DIR = Path("/run/convkit/uid-slots")
# When set (by a test run), the path of a file each UidSlot appends its uid to, one line per slot
# taken: which uids a run's graders used, its subprocesses' included (they inherit the variable).
SLOT_LOG_ENV = "CONVKIT_UID_SLOT_LOG"


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


def _log_slot(uid: int) -> None:
    """Append ``uid`` to the file SLOT_LOG_ENV names, if any (one write: lines never interleave)."""
    path = os.environ.get(SLOT_LOG_ENV)
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, f"{uid}\n".encode())
    finally:
        os.close(fd)


class UidSlot:
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
            _log_slot(self.uid)
            return
        raise RuntimeError("every sandbox uid slot is in use")

    def release(self) -> None:
        kill_uid(self.uid)
        self._lock.close()
