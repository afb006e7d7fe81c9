"""A call's limits are CPU time and time blocked, read from the kernel: a call starved of CPU by
other processes loses nothing, a call asleep is stopped, and the verdict does not depend on
when the grader looked (autograder/sandbox/cpu_clock.py)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from autograder.sandbox import Limits, Sandbox, StudentError, detect_isolation
from autograder.sandbox.cpu_clock import CallBudget, TreeClock, Usage, WallClock, descendants

SPIN = '''
import time
import numpy as np

def spin(seconds):
    end = time.process_time() + float(seconds[0])
    while time.process_time() < end:
        pass
    return np.zeros(1)

def nap(seconds):
    time.sleep(float(seconds[0]))
    return np.zeros(1)
'''


@pytest.fixture
def hogs():
    """Six CPU-bound processes, each in a session of its own, on a machine of two cores or so."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
             for _ in range(3 * (os.cpu_count() or 1))]
    yield procs
    for proc in procs:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def sandbox(tmp_path, limits):
    student = tmp_path / "conv2d.py"
    student.write_text(SPIN)
    sb = Sandbox(student, limits, isolation=detect_isolation())
    assert sb.import_error is None, sb.import_error
    return sb


def test_a_call_starved_of_cpu_is_waiting_not_blocked(tmp_path, hogs):
    """0.5 s of CPU under a 0.5 s blocked limit, beside 3 hogs a core: its wall time is a
    multiple of its CPU time, all of it spent waiting for a CPU, so it still passes."""
    with sandbox(tmp_path, Limits(call_cpu_s=5, blocked_s=0.5)) as sb:
        start = time.monotonic()
        sb.call("spin", np.array([0.5]))
        wall = time.monotonic() - start
        used = sb.last_call
        assert used.cpu >= 0.5 and used.blocked < 0.5
        assert used.waiting > 0, "the hogs never made it wait: this test shows nothing then"
        print(f"wall {wall:.2f} s, cpu {used.cpu:.2f} s, waiting {used.waiting:.2f} s")


def test_a_cpu_limit_is_met_in_cpu_time_whatever_the_load(tmp_path, hogs):
    with sandbox(tmp_path, Limits(call_cpu_s=0.5, blocked_s=5)) as sb:
        with pytest.raises(StudentError) as info:
            sb.call("spin", np.array([60.0]))
        assert info.value.kind == "timeout" and "0.5 s of CPU time" in info.value.message
        assert sb.last_call.cpu >= 0.5
        sb.call("spin", np.array([0.2]))               # the next call, in a new worker, passes


def test_a_sleeping_call_is_stopped_by_the_blocked_limit(tmp_path):
    with sandbox(tmp_path, Limits(call_cpu_s=5, blocked_s=0.5)) as sb:
        with pytest.raises(StudentError) as info:
            sb.call("nap", np.array([60.0]))
        assert info.value.kind == "timeout" and "without computing" in info.value.message
        assert sb.last_call.cpu < 0.5
        sb.call("nap", np.array([0.1]))                # a short nap is fine


def test_the_verdict_is_what_the_call_used_not_when_the_grader_looked():
    """A reply in by the time the grader looks still fails if the call used more than its CPU."""
    class Clock(WallClock):
        measures_cpu = True

        def __init__(self):
            self.cpu = 0.0

        def read(self):
            return Usage(self.cpu, 0.0, time.monotonic())

    clock = Clock()
    budget = CallBudget(clock, cpu_s=1.0, blocked_s=100, wall_deadline=time.monotonic() + 100)
    clock.cpu = 0.9
    assert budget.exceeded() is None
    clock.cpu = 1.2
    assert budget.exceeded() == "cpu"


def test_the_tree_clock_counts_every_process_below_the_root():
    child = subprocess.Popen([sys.executable, "-c",
                              "import subprocess, sys; subprocess.run([sys.executable, '-c', "
                              "'import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass\\n"
                              "time.sleep(30)'])"], start_new_session=True)
    try:
        time.sleep(0.2)
        deadline = time.monotonic() + 60
        while len(descendants(child.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        clock = TreeClock(child.pid)
        assert clock.measures_cpu and len(clock._fds) == 2
        while clock.read().cpu < 0.3 and time.monotonic() < deadline:     # the grandchild's spin counts
            time.sleep(0.05)
        assert clock.read().cpu >= 0.3
        clock.close()
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
