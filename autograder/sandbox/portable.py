"""Where POSIX is missing (Windows): the one place that decides, and what replaces it.

On Linux and macOS a worker talks over a dedicated pipe pair passed by fd number
(``pass_fds``), is watched with ``select.poll``, starts its own session and is killed
with its process group (``plumbing._Worker``, ``IsolationLevel.stop``).  None of that
exists on Windows: there the worker talks over its stdin/stdout, read by threads
(``transport.StdioWorker``), and its tree is killed by ``taskkill /T``.  Which path
runs is decided here, by what this Python offers, not by the name of the system.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess

TASKKILL_TIMEOUT_S = 10


def use_portable_path() -> bool:
    """True where the POSIX transport and process groups cannot be used."""
    return os.name == "nt" or not (hasattr(select, "poll") and hasattr(os, "killpg")
                                   and hasattr(os, "setsid"))


def effective_uid() -> int | None:
    """The effective uid, or None where there is none (Windows)."""
    geteuid = getattr(os, "geteuid", None)
    return None if geteuid is None else geteuid()


def is_root() -> bool:
    """Running as root (never on a system without uids)."""
    return effective_uid() == 0


def new_group_flags() -> dict:
    """Popen keywords that keep the worker out of the grader's console group (Ctrl-C)."""
    flag = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    return {"creationflags": flag} if os.name == "nt" and flag else {}


def windows_env(tmp: str) -> dict:
    """What a worker's environment needs on Windows (nothing elsewhere): Python cannot start
    without SYSTEMROOT, and finds its temp folder through TEMP/TMP, not TMPDIR."""
    if os.name != "nt":
        return {}
    env = {name: os.environ[name] for name in ("SYSTEMROOT", "PATH") if name in os.environ}
    return dict(env, TEMP=tmp, TMP=tmp)


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and the processes it started, without process groups, and reap it.

    ``taskkill /T /F`` walks the tree by parent pid while the root is still alive; a
    process orphaned earlier (its parent already gone) is out of reach.  Only a live root
    is named: a reaped one's pid may already be someone else's.  Never raises."""
    taskkill = shutil.which("taskkill")
    if taskkill is not None and proc.poll() is None:
        try:
            subprocess.run([taskkill, "/T", "/F", "/PID", str(proc.pid)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=TASKKILL_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        proc.kill()
    except OSError:
        pass
    try:
        proc.wait(timeout=TASKKILL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
