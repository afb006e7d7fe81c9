"""The batch's grading processes: one `batch-grader` child per slot, fed from a shared queue.

A child that crashes or hangs costs one record (status `error`) and is replaced; one that
has done its share (TASKS_PER_PROCESS) too. Every child dies with the batch (even when
the batch is killed by SIGKILL) and keeps its temporary files in the batch's private
folder (batch_temp_dir), so that an interrupt can delete all that the children leave;
what their sandboxes left elsewhere the sandbox removes (remove_work_dirs_of).
"""

import ctypes
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder.config import KIT_ROOT
from autograder.sandbox import remove_temp_tree, remove_work_dirs_of
from autograder.staff.batch_grader import TASKS_PER_PROCESS
from autograder.staff.batch_records import finish_record, new_record

TEMP_PREFIX = "convkit-batch"  # + batch pid + random: the grading processes' TMPDIR


def grading_process_env(temp_dir=None):
    """The environment of one grading process: one BLAS thread each, no stray plugins, and
    the batch's private temporary folder, so that an interrupt can delete all it leaves."""
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1")
    if temp_dir is not None:
        env["TMPDIR"] = str(temp_dir)
    return env


def batch_temp_dir():
    """A private folder for the grading processes' temporary files (their TMPDIR).

    Folders left by batches that were killed outright (SIGKILL) are deleted first.
    Mode 711, in a folder every user can enter: the sandbox's unprivileged user must reach
    its work folder inside (the sandbox would otherwise put it in /tmp, out of our reach).
    """
    from autograder.sandbox.python_env import untraversable_ancestor
    base = Path(tempfile.gettempdir())
    if os.geteuid() == 0 and untraversable_ancestor(base / "x"):
        base = Path("/tmp")
    for old in base.glob(f"{TEMP_PREFIX}*-*"):
        pid = old.name[len(TEMP_PREFIX):].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            remove_temp_tree(old)
    path = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=base))
    os.chmod(path, 0o711)
    return path


try:                                       # looked up here: nothing may be imported after fork
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):           # not Linux: a child exits at its next read instead
    _PRCTL = None
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """In the child, before exec: be killed when the batch dies (even by SIGKILL), so no
    grading process outlives it and finishes a submission behind the next run's back."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


class GradingProcess:
    """One `batch-grader` child, replaced when it dies, hangs or has done its share.

    Used by one slot thread; close() may come from the main thread at any time (an
    interrupt): it kills the child, and no new one is started after it.
    """

    def __init__(self, config_path, out_dir, fixture_hash, limits, temp_dir=None):
        self.config_path = Path(config_path).resolve()     # the lab, named on the child's command line
        self.out_dir, self.fixture_hash = out_dir, fixture_hash
        self.timeout_s = limits.outer_timeout_s()     # one submission's outer bound, and the margin past it
        self.temp_dir = temp_dir
        self.proc, self.tasks, self.closed = None, 0, False
        self.started_pids = []                 # every grading process this slot started
        self._lock = threading.Lock()

    def _start(self):
        self.started_pids.append(None)         # placeholder: Popen below may raise
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder", "--config", str(self.config_path), "batch-grader",
             "--out", str(self.out_dir), "--fixture-hash", self.fixture_hash], cwd=KIT_ROOT, env=grading_process_env(self.temp_dir), text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent)
        self.started_pids[-1] = self.proc.pid
        self.tasks = 0

    def _kill(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc = None

    def stop(self):
        with self._lock:
            self._kill()

    def close(self):
        """Kill the child for good (an interrupt, or the end of the batch)."""
        with self._lock:
            self.closed = True
            self._kill()

    def grade(self, entry):
        """The record of one submission; an error record if the grading process failed;
        None if the batch was interrupted meanwhile (nothing is written then)."""
        with self._lock:
            if self.closed:
                return None
            if self.proc is None or self.tasks >= TASKS_PER_PROCESS or self.proc.poll() is not None:
                self._kill()
                self._start()
            self.tasks += 1
            proc = self.proc
        started = time.monotonic()
        try:
            proc.stdin.write(json.dumps(dict(id=entry.id, path=str(entry.path.absolute()),
                                             sha256=entry.sha256)) + "\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], self.timeout_s)
            line = proc.stdout.readline() if ready else ""
            if line:
                return json.loads(line)
            problem = ("the grader did not finish within {:.0f} s".format(self.timeout_s) if not ready
                       else "the grading process died")
        except (OSError, ValueError) as exc:
            problem = f"the grading process failed: {exc!r}"
        if self.closed:
            return None
        self.stop()
        sub_dir = self.out_dir / "submissions" / entry.id
        sub_dir.mkdir(parents=True, exist_ok=True)
        return finish_record(new_record(entry, self.fixture_hash), sub_dir, None, time.monotonic() - started, problem)


class GradingPool:
    """`jobs` slot threads, each feeding one grading process from a shared queue of entries."""

    def __init__(self, config_path, todo, jobs, out_dir, fixture_hash, limits, temp_dir):
        self.tasks, self.results = queue.Queue(), queue.Queue()
        for entry in todo:
            self.tasks.put(entry)
        self.graders = [GradingProcess(config_path, out_dir, fixture_hash, limits, temp_dir)
                        for _ in range(min(len(todo), jobs))]
        self.threads = [threading.Thread(target=self._slot, args=(g,), daemon=True) for g in self.graders]
        self.fixture_hash = fixture_hash
        for t in self.threads:
            t.start()

    def _slot(self, grader):
        try:
            while not grader.closed:
                try:
                    entry = self.tasks.get_nowait()
                except queue.Empty:
                    return
                try:
                    record = grader.grade(entry)
                except Exception as exc:          # a batch bug: that entry's row, not a hang
                    record = dict(new_record(entry, self.fixture_hash), status="error", seconds=0.0, score=0.0,
                                  max_score=0, message=f"the batch failed on this entry: {exc!r}"[:500],
                                  checks={}, passed=[])
                if record is not None:
                    self.results.put(record)
        finally:
            grader.close()

    def records(self, count):
        """Yields up to `count` records as they finish; stops early only if every slot has ended
        (a slot thread killed by a batch bug): the caller gives the missing entries their rows."""
        for _ in range(count):
            while True:
                try:
                    yield self.results.get(timeout=1.0)
                    break
                except queue.Empty:
                    if not any(t.is_alive() for t in self.threads) and self.results.empty():
                        return

    def close(self):
        """Kill every grading process, then delete what they left in the sandbox's places."""
        for g in self.graders:
            g.close()
        for t in self.threads:
            t.join(timeout=30)
        remove_work_dirs_of([pid for g in self.graders for pid in g.started_pids if pid])
