"""autograder/sandbox/cpu_clock.py without a worker: Usage arithmetic, CallBudget's verdicts on a
scripted clock (CPU first, blocked only where CPU is measured, the wall deadline last), the wall-clock
fallback, and the tree clock read on this test's own process. (tests/e2e/test_cpu_clock.py runs workers
beside CPU hogs.)"""

import os
import threading
import time

import pytest

from autograder.sandbox.cpu_clock import CallBudget, TreeClock, Usage, WallClock, descendants


class ScriptedClock:
    """A clock whose readings are given in advance: read() returns the next one."""
    def __init__(self, *readings, measures_cpu=True):
        self.readings = list(readings)
        self.measures_cpu = measures_cpu

    def read(self):
        return self.readings.pop(0)


def test_usage_since_and_blocked():
    span = Usage(cpu=5.0, waiting=2.0, wall=110.0).since(Usage(cpu=1.0, waiting=1.0, wall=100.0))
    assert span == Usage(4.0, 1.0, 10.0)
    assert span.blocked == 5.0                       # 10 s of wall, 4 running, 1 waiting for a CPU
    assert Usage(3.0, 2.0, 4.0).blocked == 0.0        # never negative (readings are not simultaneous)


@pytest.mark.parametrize("now, verdict", [
    (Usage(2.0, 0.0, 2.0), None),
    (Usage(2.5, 0.0, 2.5), "cpu"),                   # over the CPU limit
    (Usage(0.1, 5.0, 5.2), None),                    # starved of CPU by others: waiting, not blocked
    (Usage(0.1, 0.0, 3.2), "blocked"),               # asleep: neither running nor waiting
    (Usage(2.5, 0.0, 9.0), "cpu"),                   # CPU is told first
    (Usage(0.1, 59.0, 60.0), "wall"),                # the outer bound, whatever the reason
])
def test_the_verdict_is_what_the_call_used(now, verdict):
    budget = CallBudget(ScriptedClock(Usage(0.0, 0.0, 0.0), now), cpu_s=2.0, blocked_s=3.0, wall_deadline=60.0)
    assert budget.exceeded() == verdict
    assert budget.used == now.since(Usage(0.0, 0.0, 0.0))


def test_usage_is_counted_from_the_budgets_start():
    start = Usage(100.0, 50.0, 1000.0)
    budget = CallBudget(ScriptedClock(start, Usage(101.5, 50.0, 1001.5)), cpu_s=1.0, blocked_s=1.0,
                        wall_deadline=2000.0)
    assert budget.exceeded() == "cpu" and budget.used.cpu == pytest.approx(1.5)


def test_without_cpu_measurement_blocked_time_is_not_judged():
    budget = CallBudget(ScriptedClock(Usage(0, 0, 0), Usage(0.0, 0.0, 5.0), measures_cpu=False),
                        cpu_s=10.0, blocked_s=1.0, wall_deadline=100.0)
    assert budget.exceeded() is None


def test_the_wall_clock_counts_every_second_as_cpu():
    clock = WallClock()
    assert clock.measures_cpu is False
    a = clock.read()
    time.sleep(0.02)
    b = clock.read()
    assert a.cpu == a.wall and b.waiting == 0.0 and b.since(a).cpu >= 0.02
    budget = CallBudget(clock, cpu_s=0.01, blocked_s=100.0, wall_deadline=time.monotonic() + 100)
    time.sleep(0.02)
    assert budget.exceeded() == "cpu"                  # a sleeping call still stops, by its wall time
    clock.close()


def test_wait_s_is_a_tick_or_what_is_left_before_the_deadline():
    soon = CallBudget(ScriptedClock(Usage(0, 0, 0)), 1.0, 1.0, wall_deadline=time.monotonic() + 0.05)
    assert 0.0 < soon.wait_s(1.0) <= 0.05
    later = CallBudget(ScriptedClock(Usage(0, 0, 0)), 1.0, 1.0, wall_deadline=time.monotonic() + 100)
    assert later.wait_s(0.2) == 0.2
    past = CallBudget(ScriptedClock(Usage(0, 0, 0)), 1.0, 1.0, wall_deadline=time.monotonic() - 1)
    assert past.wait_s(0.2) == 0.0


def test_for_process_without_a_pid_is_the_wall_clock():
    assert isinstance(TreeClock.for_process(None), WallClock)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="the tree clock reads Linux's /proc")
def test_the_tree_clock_counts_this_processs_cpu_time_and_not_its_sleep():
    clock = TreeClock.for_process(os.getpid())
    try:
        assert type(clock) is TreeClock and clock.measures_cpu
        start = clock.read()
        end_at = time.process_time() + 0.05
        while time.process_time() < end_at:
            pass
        spun = clock.read().since(start)
        assert spun.cpu >= 0.045
        before_sleep = clock.read()
        time.sleep(0.1)
        slept = clock.read().since(before_sleep)
        assert slept.cpu < 0.05 and slept.blocked >= 0.05
    finally:
        clock.close()


def spin_in_a_thread(seconds_of_cpu):
    """(usage read while a second thread lives, after spinning `seconds_of_cpu` of its own CPU time
    however loaded the machine; usage read again once that thread has exited), both from before it spun."""
    go, spun, done = threading.Event(), threading.Event(), threading.Event()

    def spin():
        go.wait()
        end_at = time.thread_time() + seconds_of_cpu
        while time.thread_time() < end_at:
            pass
        spun.set()
        done.wait()
    thread = threading.Thread(target=spin)
    thread.start()
    clock = TreeClock(os.getpid())                # opened while the thread exists: its schedstat is read too
    try:
        start = clock.read()
        go.set()
        assert spun.wait(600)                     # a guard against a hang only
        alive = clock.read().since(start)
        done.set()
        thread.join()
        task = f"/proc/{os.getpid()}/task/{thread.native_id}"
        deadline = time.monotonic() + 600         # a guard against a hang only
        while os.path.exists(task) and time.monotonic() < deadline:
            time.sleep(0.001)                     # join() returns before the kernel has reaped the thread
        return alive, clock.read().since(start)
    finally:
        go.set()
        done.set()
        thread.join()
        clock.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads Linux's /proc")
def test_the_tree_clock_counts_every_thread_of_a_process():
    alive, _ = spin_in_a_thread(0.05)
    assert alive.cpu >= 0.045                     # the main thread only waited: the time is the other thread's


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads Linux's /proc")
def test_the_cpu_time_read_never_goes_back_when_a_thread_exits():
    alive, exited = spin_in_a_thread(0.05)
    assert exited.cpu >= alive.cpu


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads Linux's /proc")
def test_descendants_start_with_the_root_and_survive_a_missing_process():
    assert descendants(os.getpid())[0] == os.getpid()
    assert descendants(2**22 + 12345) == [2**22 + 12345]       # no such process: its pid only
