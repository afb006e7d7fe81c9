"""What a worker's calls cost, in time that does not depend on the machine's load.

A call's limit is CPU time: the run time of every process of the worker's tree (the
kernel's ``/proc/PID/schedstat``, in ns), so a busy machine or a neighbour slows a call
without changing its verdict.  Code that sleeps or waits uses no CPU, so a second limit
counts the time a call is *blocked*: neither running nor waiting for a CPU
(wall - run time - run-queue wait).  A correct call starved of CPU by other processes
is waiting, not blocked, and loses nothing; ``time.sleep`` or a blocking read is blocked.
Wall clock remains only as the outer bound of the whole submission.

The tree is read once, when the worker is up: the worker's code cannot start processes
or threads (``worker.py`` sets RLIMIT_NPROC to 0 before importing the student's file),
so it never changes.  Without ``/proc`` (Windows, macOS) the clock falls back to wall
time, the old behaviour, and says so (``measures_cpu``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

NS = 1e-9


@dataclass(frozen=True)
class Usage:
    """Seconds a process tree spent running (``cpu``) and runnable but waiting for a CPU
    (``waiting``), read at ``wall`` (time.monotonic())."""
    cpu: float
    waiting: float
    wall: float

    def since(self, start: "Usage") -> "Usage":
        return Usage(self.cpu - start.cpu, self.waiting - start.waiting, self.wall - start.wall)

    @property
    def blocked(self) -> float:
        """Time in this span that no process of the tree ran or wanted to run (over a span)."""
        return max(0.0, self.wall - self.cpu - self.waiting)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc/PID/task/TID/children."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", "rb") as f:
                    todo.extend(int(child) for child in f.read().split())
        except OSError:
            continue                   # gone, or no children file: its pid is still read
    return tree


class TreeClock:
    """CPU and run-queue time of a fixed set of processes (every thread of each), read from
open schedstat files."""

    def __init__(self, root_pid: int):
        self._fds = []
        for pid in descendants(root_pid):
            try:                               # every thread: /proc/PID/schedstat is the leader's alone
                threads = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in threads:
                try:
                    self._fds.append(os.open(f"/proc/{pid}/task/{tid}/schedstat", os.O_RDONLY))
                except OSError:
                    pass
        self._cpu_ns = self._wait_ns = 0       # of threads whose file no longer reads
        self._last = {}                        # fd -> its last (cpu, wait) reading
        self.measures_cpu = bool(self._fds) and self._read_ns() is not None

    @classmethod
    def for_process(cls, pid: int | None) -> "TreeClock":
        if pid is None or not os.path.isdir("/proc/self/task"):
            return WallClock()
        return cls(pid)

    def _read_ns(self) -> tuple[int, int] | None:
        cpu, wait = self._cpu_ns, self._wait_ns
        for fd in list(self._fds):
            try:
                fields = os.pread(fd, 128, 0).split()
                now = int(fields[0]), int(fields[1])
            except (OSError, ValueError, IndexError):
                # the thread exited: its file no longer reads, but the time it used stays counted
                last = self._last.pop(fd, (0, 0))
                self._cpu_ns, self._wait_ns = self._cpu_ns + last[0], self._wait_ns + last[1]
                cpu, wait = cpu + last[0], wait + last[1]
                self._fds.remove(fd)
                os.close(fd)
                continue
            self._last[fd] = now
            cpu, wait = cpu + now[0], wait + now[1]
        return cpu, wait

    def read(self) -> Usage:
        now = time.monotonic()
        cpu, wait = self._read_ns()
        return Usage(cpu * NS, wait * NS, now)

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []


class WallClock(TreeClock):
    """Where /proc is missing: every second of wall time counts as a second of CPU."""

    def __init__(self):
        self._fds = []
        self.measures_cpu = False

    def read(self) -> Usage:
        now = time.monotonic()
        return Usage(now, 0.0, now)


class CallBudget:
    """What one request may spend: ``cpu_s`` of CPU, ``blocked_s`` blocked, and at most
    until ``wall_deadline`` (time.monotonic()) whatever the reason.

    ``exceeded()`` is asked on every tick of the wait and once when the reply is in:
    the verdict depends on what the call used, not on when the parent looked."""

    def __init__(self, clock: TreeClock, cpu_s: float, blocked_s: float, wall_deadline: float):
        self.clock, self.cpu_s, self.blocked_s = clock, cpu_s, blocked_s
        self.wall_deadline = wall_deadline
        self.start = clock.read()
        self.used = Usage(0.0, 0.0, 0.0)

    def exceeded(self) -> str | None:
        """'cpu', 'blocked' or 'wall' when that limit is passed, else None."""
        now = self.clock.read()
        self.used = now.since(self.start)
        if self.used.cpu > self.cpu_s:
            return "cpu"
        if self.clock.measures_cpu and self.used.blocked > self.blocked_s:
            return "blocked"
        if now.wall >= self.wall_deadline:
            return "wall"
        return None

    def wait_s(self, tick: float) -> float:
        """How long the next wait may last: a tick, or less near the wall deadline."""
        return max(0.0, min(tick, self.wall_deadline - time.monotonic()))
