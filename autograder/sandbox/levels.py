"""Isolation levels: one class each behind one interface, and the registry that picks one.

A level says how a worker is started (command, uid, how it enters its jail), how its
process tree is taken down, and what is cleaned up after it.  ``LEVELS`` lists them
best first; ``detect_isolation`` picks the first usable one (probed once per process).
The CLI's choices, the README's table and ``results.json``'s ``extra_data.isolation``
all use these names.
"""

from __future__ import annotations

import ctypes
import functools
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from autograder.sandbox import portable, python_env, workdirs
from autograder.sandbox.uids import UidSlot, kill_uid
from autograder.worker import children_of     # the worker is self-contained: the parent borrows from it

ENGINE_DIR = Path(__file__).resolve().parents[1]
# What the worker runs from its work dir, beside the student's file: itself, and the Limits it checks.
WORKER_FILES = {"worker.py": ENGINE_DIR / "worker.py", "limits.py": ENGINE_DIR / "limits.py"}
KIT_ROOT = Path(__file__).resolve().parents[2]
BWRAP_UID = 65534                      # 'nobody': the uid bubblewrap runs as under root
PR_SET_NO_NEW_PRIVS = 38


POSIX_CALLS = (("os", os, ("fork", "setsid", "killpg", "geteuid")), ("select", select, ("poll",)))


def missing_posix() -> list[str]:
    """The POSIX pieces the stronger levels and the worker's rlimits need that this Python
    lacks (all of them on Windows): then only the 'process' level runs, with timeouts only."""
    missing = [name for name in ("resource", "fcntl") if _unimportable(name)]
    return missing + [f"{module}.{name}" for module, namespace, names in POSIX_CALLS
                      for name in names if not hasattr(namespace, name)]


def _unimportable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return True
    return False


class LevelUnusable(ValueError):
    """This level cannot run here; the message says why and what to do."""


def _drop_privileges(uid: int) -> None:
    """In the child: no supplementary groups, then gid, then uid (root is gone after)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


class IsolationLevel:
    """The interface.  One instance serves one Sandbox (and holds its uid, if any)."""
    name = ""
    where = ""                         # where the level is used
    stops = ""                         # what it stops
    does_not_stop = ""                 # what it does not stop
    blocks_network = False
    exclusive_uid = False              # the worker's uid belongs to this sandbox alone

    @classmethod
    def unusable_reason(cls) -> str | None:
        """None if the level works on this machine, else why not (for an error message)."""
        raise NotImplementedError

    def __init__(self, limits):
        self.limits = limits
        self.uid: int | None = None

    def python(self) -> str:
        return python_env.worker_python(drop_privileges=portable.is_root())

    def make_workdir(self, student_file: Path) -> Path:
        base = workdirs.private_base()
        workdirs.remove_stale_workdirs(base)
        return workdirs.make_workdir(base, self.workdir_files(student_file), self.uid)

    def workdir_files(self, student_file: Path) -> dict:
        """name -> source path: the student's file and WORKER_FILES, which it may not replace."""
        if student_file.name in WORKER_FILES:
            raise ValueError(f"the student's file may not be named {student_file.name}: the sandbox's "
                             f"own {student_file.name} has that name in the work dir (rename the lab's "
                             f"submission file)")
        self.student_name = student_file.name
        return {student_file.name: student_file, **WORKER_FILES}

    def command(self, python: str, workdir: Path) -> tuple[list, dict, str]:
        """(argv without the config, Popen keyword arguments, the worker's HOME)."""
        raise NotImplementedError

    def supervise(self) -> bool:
        """Leave a subreaper behind the worker (levels without a PID namespace)."""
        return sys.platform.startswith("linux") and hasattr(os, "fork")

    def stop(self, proc: subprocess.Popen) -> None:
        """Kill the worker's whole process tree and reap it; never raises."""
        if portable.use_portable_path():       # no process groups (Windows): taskkill /T
            portable.kill_tree(proc)
            return
        # The supervisor kills and reaps every descendant on SIGTERM, then exits
        # (unsupervised, off Linux, SIGTERM goes to the worker itself).
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        _signal(-proc.pid, signal.SIGKILL)     # its session, in case it was killed
        proc.kill()
        proc.wait()

    def after_worker(self, workdir: Path) -> None:
        """Called once a worker is stopped: remove its work dir."""
        workdirs.remove_workdir(workdir)

    def close(self) -> None:
        """Called when the Sandbox closes."""


class BwrapLevel(IsolationLevel):
    name = "bwrap"
    where = "any Linux machine where bubblewrap can make user namespaces (this kit's CI, a staff machine)"
    stops = ("reading any host file (only /usr, the worker's Python and its work dir exist), "
             "the network (own empty network namespace), other processes (own PID namespace), "
             "anything outliving the sandbox, writing more than a capped tmpfs")
    does_not_stop = "kernel exploits; CPU and memory use up to the rlimits"
    blocks_network = True
    BASE = ["--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
            "--proc", "/proc", "--dev", "/dev"]

    @classmethod
    def unusable_reason(cls) -> str | None:
        bwrap = bwrap_binary()
        if bwrap is None:
            return "bubblewrap is not installed (run python -m autograder.runtime)"
        uid = cls._uid()
        cmd = [bwrap, *cls.BASE, "--", "/usr/bin/true"]
        try:
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                                  preexec_fn=None if uid is None else lambda: _drop_privileges(uid))
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bubblewrap could not start: {exc}"
        if done.returncode != 0:
            return f"bubblewrap cannot make namespaces here: {done.stderr.decode(errors='replace')[-300:]}"
        return None

    @staticmethod
    def _uid() -> int | None:
        return BWRAP_UID if portable.is_root() else None

    def __init__(self, limits):
        super().__init__(limits)
        self.uid = self._uid()

    def command(self, python, workdir):
        tmpfs = str(max(4 * self.limits.file_size_mb, 16) * 2**20)
        cmd = [bwrap_binary(), *self.BASE,
               "--size", tmpfs, "--tmpfs", "/tmp", "--size", tmpfs, "--tmpfs", "/work"]
        for path in python_env.runtime_paths(python):
            cmd += ["--ro-bind", path, path]
        for name in (self.student_name, *WORKER_FILES):
            cmd += ["--ro-bind", str(workdir / name), f"/work/{name}"]
        cmd += ["--chdir", "/work", "--", python, "-I", "-B", "/work/worker.py"]
        uid = self.uid
        return cmd, {"cwd": "/", "preexec_fn": None if uid is None else lambda: _drop_privileges(uid)}, "/work"

    def supervise(self) -> bool:
        return False                           # the PID namespace does the job

    def stop(self, proc):
        # SIGKILL the PID namespace's init (bwrap's child): the kernel kills everything in
        # the namespace, and the outer bwrap exits only after that init has been reaped.
        if proc.poll() is None:
            for pid in children_of(proc.pid):
                _signal(pid, signal.SIGKILL)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class UidLevel(IsolationLevel):
    name = "uid"
    where = "root where neither bubblewrap nor chroot + seccomp work (a last resort)"
    stops = ("reading the kit (refuses to start unless the kit's folder is closed to other users) "
             "and the fixtures, reference and results (chmod go-rwx); other sandboxes (a uid each); "
             "processes and files outliving the sandbox (all of its uid's processes killed, its "
             "files in /tmp, /var/tmp, /dev/shm, /run/lock removed)")
    does_not_stop = ("the network; reading world-readable files elsewhere on the machine (e.g. other "
                     "input folders the staff left open); filling /tmp while it runs (removed after)")
    exclusive_uid = True

    @classmethod
    def unusable_reason(cls) -> str | None:
        return None if portable.is_root() else "it needs root (to switch to a sandbox uid)"

    def __init__(self, limits):
        super().__init__(limits)
        self._check_kit_closed()
        self._slot = UidSlot()
        self.uid = self._slot.uid
        workdirs.remove_files_of_uid(self.uid)     # leftovers of a grader that crashed

    def _check_kit_closed(self) -> None:
        if python_env.untraversable_ancestor(KIT_ROOT / "x") is None:
            raise LevelUnusable(
                f"the '{self.name}' level runs student code as another user, who could read "
                f"the whole kit (correct solutions, tests, .git) in {KIT_ROOT}: close it with "
                f"`chmod o-rwx {KIT_ROOT}` first")

    def command(self, python, workdir):
        uid = self.uid
        cmd = [python, "-I", "-B", str(workdir / "worker.py")]
        return cmd, {"cwd": str(workdir), "preexec_fn": lambda: _drop_privileges(uid)}, str(workdir)

    def after_worker(self, workdir):
        kill_uid(self.uid)
        super().after_worker(workdir)
        workdirs.remove_files_of_uid(self.uid)

    def close(self):
        self._slot.release()


class ChrootLevel(UidLevel):
    name = "chroot"
    where = ("root without user namespaces, as in a default Docker container (Gradescope): "
             "needs CAP_SYS_CHROOT and seccomp")
    stops = ("reading any host file (a minimal root holding only Python, numpy and the work dir; "
             "no /proc, nothing of the kit); the network and host services (seccomp refuses socket() of every family, AF_UNIX included); "
             "ptrace, mount, namespaces, keyrings, bpf, io_uring, SysV IPC; writing anything (no "
             "writable folder: the disk budget is 0 bytes); other sandboxes (a uid each); "
             "processes and files outliving the sandbox")
    does_not_stop = ("kernel exploits through the syscalls still allowed; signals to, and /proc "
                     "of, processes outside cannot be reached (no /proc), but the PID and network "
                     "namespaces are the host's; CPU and memory use up to the rlimits")
    blocks_network = True

    @classmethod
    def unusable_reason(cls) -> str | None:
        from autograder.sandbox.seccomp_filter import seccomp_available
        if not portable.is_root():
            return "it needs root (chroot and a sandbox uid)"
        why = seccomp_available()
        if why:
            return f"no seccomp through libseccomp ({why}); pip install the pinned pyseccomp"
        try:
            subprocess.run(["/bin/true"], preexec_fn=lambda: os.chroot("/"), check=True,
                           capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"chroot is not allowed here: {exc}"
        return None

    def __init__(self, limits):
        from autograder.sandbox import jail
        from autograder.sandbox.seccomp_filter import build_filter
        self._python = python_env.worker_python(drop_privileges=True)
        self.jail = jail.ensure_jail(self._python)
        self._filter = build_filter()
        _libc()                                # loaded now: the child must not dlopen
        IsolationLevel.__init__(self, limits)
        self._slot = UidSlot()
        self.uid = self._slot.uid
        workdirs.remove_files_of_uid(self.uid)

    def python(self) -> str:
        return self._python

    def make_workdir(self, student_file):
        base = self.jail / "work"
        workdirs.check_owned_folder(base)
        workdirs.remove_stale_workdirs(base)
        return workdirs.make_workdir(base, self.workdir_files(student_file), self.uid)

    def command(self, python, workdir):
        inside = f"/work/{workdir.name}"
        jail, uid, flt = str(self.jail), self.uid, self._filter

        def enter_jail():                      # runs in the child, between fork and exec
            os.chroot(jail)
            os.chdir(inside)
            _drop_privileges(uid)
            if _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise OSError("prctl(PR_SET_NO_NEW_PRIVS) failed")
            flt.load()
        return [python, "-I", "-B", f"{inside}/worker.py"], {"preexec_fn": enter_jail}, inside


class ProcessLevel(IsolationLevel):
    name = "process"
    where = "a student's own machine or a staff laptop, never as root"
    stops = "accidents: runaway loops, memory, stray prints, forgotten child processes"
    does_not_stop = ("anything an attacker wants: the code runs with the user's own rights "
                     "(files, network, other processes of that user)")

    @classmethod
    def unusable_reason(cls) -> str | None:
        if portable.is_root():
            return ("refusing to run student code as root: the 'process' level keeps the grader's "
                    "own uid. Use bwrap, chroot or uid (leave --isolation out to get the best one "
                    "here), or run the grader as an unprivileged user")
        return None

    def python(self) -> str:
        return python_env.worker_python(drop_privileges=False)

    def command(self, python, workdir):
        return ([python, "-I", "-B", str(workdir / "worker.py")],
                {"cwd": str(workdir), **portable.new_group_flags()}, str(workdir))


LEVELS = {level.name: level for level in (BwrapLevel, ChrootLevel, UidLevel, ProcessLevel)}
ISOLATION_LEVELS = tuple(LEVELS)


@functools.lru_cache(maxsize=None)
def detect_isolation() -> str:
    """The best level this machine offers (probed once): bwrap, then chroot, then uid
    (root only), then process (not root only)."""
    for name, level in LEVELS.items():
        if _cached_reason(name) is None:
            return name
    raise RuntimeError("no isolation level is usable here")


def level_class(name: str) -> type[IsolationLevel]:
    """The level called ``name``; LevelUnusable with the reason if it cannot run here."""
    if name not in LEVELS:
        raise LevelUnusable(f"unknown isolation level {name!r} (choose from {', '.join(LEVELS)})")
    why = _cached_reason(name)
    if why is not None:
        raise LevelUnusable(f"the '{name}' isolation level cannot be used: {why}")
    return LEVELS[name]


@functools.lru_cache(maxsize=None)
def _cached_reason(name: str) -> str | None:
    missing = missing_posix()
    if missing and name != "process":
        return f"this Python has no {', '.join(missing)} (not POSIX): only the 'process' level runs here"
    return LEVELS[name].unusable_reason()


def describe_isolation(name: str) -> str:
    """One line for logs and reports: what the level stops."""
    return f"stops {LEVELS[name].stops}; does not stop {LEVELS[name].does_not_stop}"


@functools.lru_cache(maxsize=None)
def bwrap_binary() -> str | None:
    """bubblewrap's path, looked up once: the level detected and the binary used agree."""
    return shutil.which("bwrap") or next(
        (p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.access(p, os.X_OK)), None)


@functools.lru_cache(maxsize=None)
def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _signal(pid: int, sig: int) -> None:
    """os.kill, or killpg for a negative pid, ignoring processes already gone."""
    try:
        if pid < 0:
            os.killpg(-pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
