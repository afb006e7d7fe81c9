"""The portable transport (transport.StdioWorker, used on Windows) on Linux, with real processes.

Two kinds of test: a Sandbox at the 'process' level with the portable path forced (what a
Windows student runs; the level's refusal of root is lifted here because these files are
our own, not a student's), and a bare StdioWorker talking to a few lines of Python that
misbehave at the byte level (a forged length, bytes after the frame, an early death).
The whole tool run on a Windows stand-in is tests/e2e/test_student_tools.py.
"""

import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from autograder import protocol
from autograder.protocol import ProtocolError, ReplyTooLarge
from autograder.sandbox.cpu_clock import CallBudget, WallClock
from autograder.sandbox import Limits, Sandbox, StudentError, levels, portable
from autograder.sandbox.plumbing import _Gone, _Output, _Timeout
from autograder.sandbox.transport import StdioWorker
from windows_standin import taskkill_calls, write_fake_taskkill

FAST = Limits(call_cpu_s=2, import_cpu_s=10, blocked_s=10, total_cpu_s=25, memory_mb=512)   # RLIMIT_CPU 30 s
MARGIN_S = 1.5
STUDENT = '''
import os
import numpy as np

print("import says h\\u00e9llo")
os.write(1, b"CKF1 a frame-looking print on fd 1\\n")    # fd 1 is the output pipe, not the reply channel

def double(x):
    print("double saw", x.shape)
    return x * 2

def big(n):
    return np.zeros(n)

def spin():
    while True:
        pass

def leave():
    os._exit(7)

def shout():
    import sys
    for _ in range(10):
        sys.stdout.write("x" * (1 << 20))
    print("THE END")
    return np.zeros(1)

def mark(i):
    print("y" * 30000)
    print(f"mark-{i}")
    return np.zeros(1)

def spawn(path):
    import subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    with open(path, "w") as f:
        f.write(str(child.pid))
    return np.zeros(1)

def forge(hex_data):
    for fd in range(3, 64):            # whichever one is the reply channel
        try:
            os.write(fd, bytes.fromhex(hex_data))
        except OSError:
            pass
    return np.zeros(1)

class Scale:
    def __init__(self, k):
        self.k = k

    def forward(self, x):
        x *= self.k                    # modifies its argument: the parent must see it
        return x + 1
'''


@pytest.fixture
def portable_sandbox(tmp_path, monkeypatch):
    """Sandbox factory on the portable transport, with a taskkill on PATH that logs its calls."""
    monkeypatch.setattr(portable, "use_portable_path", lambda: True)
    monkeypatch.setattr(levels, "_cached_reason", lambda name: None)
    write_fake_taskkill(tmp_path / "bin", sys.executable)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    student = tmp_path / "conv2d.py"
    student.write_text(STUDENT, encoding="utf-8")
    made = []

    def make(limits=FAST):
        sb = Sandbox(student, limits, isolation="process")
        made.append(sb)
        assert type(sb._worker) is StdioWorker
        return sb
    yield make
    for sb in made:
        sb.close()


def raises(kind, fn, *args, **kwargs) -> StudentError:
    with pytest.raises(StudentError) as info:
        fn(*args, **kwargs)
    assert info.value.kind == kind, info.value.message
    return info.value


def test_replies_arrive_and_prints_never_reach_the_reply_channel(portable_sandbox):
    sb = portable_sandbox()
    assert sb.import_error is None
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = sb.call("double", x)
    assert y.dtype == np.float32 and np.array_equal(y, 2 * x)
    big = sb.call("big", 3_000_000)                  # 24 MB: many reader chunks, one reply
    assert big.shape == (3_000_000,) and not big.any()
    layer = sb.new_object("Scale", 3.0)
    (y, (x_after,)), = layer.steps([("call_echo", "forward", np.ones((2, 2)))])
    assert np.array_equal(y, np.full((2, 2), 4.0))
    assert np.array_equal(x_after, np.full((2, 2), 3.0))
    for _ in range(50):                              # strictly alternating round trips
        assert sb.call("double", np.ones(1))[0] == 2
    text = sb.output()
    assert "import says h\u00e9llo" in text and "CKF1 a frame-looking print" in text
    assert "double saw (2, 3)" in text


def test_reply_cap_refuses_a_big_answer(portable_sandbox):
    sb = portable_sandbox()
    err = raises("bad_reply", sb.call, "big", 1000, reply_cap=800)
    assert "more data than any correct answer needs" in err.message
    assert sb.call("double", np.ones(2)).tolist() == [2, 2]


def test_time_out_kills_the_tree_and_the_next_call_works(portable_sandbox, tmp_path):
    sb = portable_sandbox()
    err = raises("timeout", sb.call, "spin")
    assert FAST.call_cpu_s <= sb.last_call.cpu < FAST.call_cpu_s + MARGIN_S
    assert "did not finish within 2 s of CPU time" in err.message
    assert sb.call("double", np.ones(1))[0] == 2
    calls = taskkill_calls(tmp_path / "bin")
    assert len(calls) == 1 and calls[0].startswith("/T /F /PID ")


def test_dead_child_is_a_crash_and_the_worker_restarts(portable_sandbox):
    sb = portable_sandbox()
    assert "os._exit(7)" in raises("crashed", sb.call, "leave").message
    assert sb.call("double", np.ones(1))[0] == 2


def test_output_is_read_only_up_to_its_budget(portable_sandbox):
    sb = portable_sandbox(Limits(call_cpu_s=20, output_cap_kb=64))
    tracemalloc.start()
    try:
        assert sb.call("shout").shape == (1,)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sb._output.read <= 2**20 and peak < 8 * 2**20, (sb._output.read, peak)
    text = sb.output()
    assert "thrown away unread" in text and "THE END" not in text


def test_what_a_call_printed_is_there_when_it_returns(portable_sandbox):
    """The output reader is a thread: it must have caught up with the prints made before a reply."""
    sb = portable_sandbox(Limits(call_cpu_s=5, output_read_mb=4))
    for i in range(25):
        sb.call("mark", i)
        assert sb.output().rstrip().endswith(f"mark-{i}")


def test_a_childs_process_is_killed_with_the_worker(portable_sandbox, tmp_path):
    sb = portable_sandbox()
    pid_file = tmp_path / "child.pid"
    sb.call("spawn", str(pid_file))
    child = int(pid_file.read_text())
    assert running(child)
    sb.close()
    deadline = time.monotonic() + 60           # a wait: it ends once the child is gone
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running(child), "the student's child outlived the sandbox"


@pytest.mark.parametrize("kind", ["pickle", "frame"])
def test_forged_reply_bytes_are_refused(portable_sandbox, kind):
    sb = portable_sandbox()
    data = b"\x80\x04garbage" if kind == "pickle" else pickled_array_frame()
    raises("bad_reply", sb.call, "forge", data.hex())
    assert sb.call("double", np.ones(1))[0] == 2


def pickled_array_frame() -> bytes:
    """A well-formed frame whose one array is an object array: never decoded (no unpickling)."""
    import io
    buf = io.BytesIO()
    np.save(buf, np.array([None, 1], dtype=object), allow_pickle=True)
    head, blob = b'{"ok":true}', buf.getvalue()
    return (protocol.PREFIX.pack(protocol.MAGIC, len(head), 1)
            + protocol.BLOB_LEN.pack(len(blob)) + head + blob)


# ------------------------------------------------------------------ a bare StdioWorker

class NoLevel:
    """What StdioWorker asks of a level: stop the tree, clean up after."""

    def stop(self, proc):
        portable.kill_tree(proc)

    def after_worker(self, workdir):
        pass


HELLO = protocol.encode_frame({"hello": True})


def fake_worker(tmp_path, script: str, read_cap=2**20) -> StdioWorker:
    """A StdioWorker around ``python -c script`` (which ignores the config argument)."""
    return StdioWorker([sys.executable, "-I", "-c", script], level=NoLevel(), workdir=tmp_path,
                       env={"PATH": "/usr/bin:/bin"}, config={}, output=_Output(64 * 1024, read_cap),
                       max_reply=2**20, popen_kwargs={})


def writes(data: bytes, then: str = "import time; time.sleep(60)") -> str:
    return f"import os, sys\nos.write(1, {data!r})\nsys.stdout.flush()\n{then}\n"


# The fake workers answer within milliseconds and then sleep 60 s (writes): a deadline of 30 s
# holds on a loaded machine (a Python start on a third of a core) and still tells a hang from a
# reply, as does a margin of 20 s past a deadline under test.
PAST_DEADLINE_S = 20.0


def deadline(seconds=30.0):
    """A budget of ``seconds`` of wall time (the transports' own tests: no CPU clock)."""
    return CallBudget(WallClock(), seconds, seconds, time.monotonic() + seconds)


def test_bytes_after_the_frame_are_a_forgery(tmp_path):
    worker = fake_worker(tmp_path, writes(HELLO + b"X"))
    try:
        with pytest.raises(ProtocolError, match="unexpected bytes after the reply"):
            worker.transact(b"", deadline())
    finally:
        worker.kill()


def test_a_forged_length_is_refused_before_it_is_read(tmp_path):
    head = b'{"ok":true}'
    forged = protocol.PREFIX.pack(protocol.MAGIC, len(head), 1) + protocol.BLOB_LEN.pack(2**40) + head
    worker = fake_worker(tmp_path, writes(forged, "os.write(1, b'x' * (8 << 20))"))
    try:
        with pytest.raises(ReplyTooLarge):
            worker.transact(b"", deadline())
    finally:
        worker.kill()


def test_a_reply_written_just_before_dying_is_read(tmp_path):
    worker = fake_worker(tmp_path, writes(HELLO, "os._exit(0)"))
    try:
        assert worker.transact(b"", deadline()) == ({"hello": True}, [])
    finally:
        worker.kill()


def test_death_before_a_whole_reply_is_gone_with_its_exit_code(tmp_path):
    worker = fake_worker(tmp_path, writes(HELLO[:5], "os._exit(5)"))
    try:
        with pytest.raises(_Gone) as info:
            worker.transact(b"", deadline())
        assert info.value.code == 5
    finally:
        worker.kill()
    worker.kill()                                    # stopping a stopped worker never raises


def test_a_dead_child_is_noticed_while_a_grandchild_holds_the_reply_pipe(tmp_path):
    holder = "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])"
    worker = fake_worker(tmp_path, writes(HELLO[:7], f"{holder}\nos._exit(4)"))
    try:
        start = time.monotonic()
        with pytest.raises(_Gone) as info:
            worker.transact(b"", deadline(120))
        # noticed long before the grandchild lets the pipe go (120 s) or the deadline passes
        assert info.value.code == 4 and time.monotonic() - start < 60
    finally:
        worker.kill()


def test_a_worker_that_never_reads_cannot_block_the_request_past_its_deadline(tmp_path):
    worker = fake_worker(tmp_path, writes(HELLO))
    try:
        assert worker.transact(b"", deadline()) == ({"hello": True}, [])
        start = time.monotonic()
        with pytest.raises(_Timeout):
            worker.transact(b"r" * (32 << 20), deadline(1.0))   # far more than a pipe holds
        assert time.monotonic() - start < 1.0 + PAST_DEADLINE_S
    finally:
        start = time.monotonic()
        worker.kill()
        assert time.monotonic() - start < PAST_DEADLINE_S         # not the worker's 60 s sleep
    assert not worker.alive()


def test_silent_worker_times_out(tmp_path):
    worker = fake_worker(tmp_path, "import time; time.sleep(60)")
    try:
        start = time.monotonic()
        with pytest.raises(_Timeout):
            worker.transact(b"", deadline(0.5))
        assert time.monotonic() - start < 0.5 + PAST_DEADLINE_S
    finally:
        worker.kill()


def test_the_decision_is_made_by_capability(monkeypatch):
    """Linux with poll and process groups: the POSIX path; without select.poll: the portable one."""
    import select
    assert portable.use_portable_path() is (os.name == "nt")
    monkeypatch.delattr(select, "poll")
    assert portable.use_portable_path() is True


def running(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


# ------------------------------------------------------------------ no POSIX calls: what is refused, what still works

@pytest.fixture
def without_posix_calls(monkeypatch):
    """This process without what a Windows Python lacks; the levels' cached answers forgotten."""
    import select
    for name in ("fork", "setsid", "killpg", "getpgid", "geteuid"):
        monkeypatch.delattr(os, name)
    monkeypatch.delattr(select, "poll")
    monkeypatch.setitem(sys.modules, "resource", None)
    monkeypatch.setitem(sys.modules, "fcntl", None)
    for cached in (levels._cached_reason, levels.detect_isolation):
        cached.cache_clear()
    yield
    for cached in (levels._cached_reason, levels.detect_isolation):
        cached.cache_clear()


def test_without_posix_calls_only_the_process_level_runs(without_posix_calls):
    missing = "resource, fcntl, os.fork, os.setsid, os.killpg, os.geteuid, select.poll"
    assert ", ".join(levels.missing_posix()) == missing
    for name in ("bwrap", "chroot", "uid"):
        with pytest.raises(levels.LevelUnusable) as info:
            levels.level_class(name)
        assert str(info.value) == (f"the '{name}' isolation level cannot be used: this Python has no "
                                   f"{missing} (not POSIX): only the 'process' level runs here")
    assert levels.detect_isolation() == "process"           # no euid: not root, as on Windows
    assert levels.level_class("process") is levels.ProcessLevel and not portable.is_root()
    assert portable.use_portable_path()


def test_process_level_still_refuses_root_where_there_is_an_euid(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "refusing to run student code as root" in levels.ProcessLevel.unusable_reason()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert levels.ProcessLevel.unusable_reason() is None


def test_work_dirs_without_fd_relative_calls(tmp_path, monkeypatch):
    from autograder.sandbox import workdirs
    monkeypatch.delattr(os, "geteuid")
    monkeypatch.setattr(os, "supports_dir_fd", set())
    assert not workdirs.fd_relative()
    base = workdirs.private_base(tmp_path / "base")
    source = tmp_path / "conv2d.py"
    source.write_text("x = 1\n", encoding="utf-8")
    workdir = workdirs.make_workdir(base, {"conv2d.py": source}, None)
    assert workdir.parent == base and workdir.name.startswith(f"{workdirs.WORKDIR_PREFIX}{os.getpid()}-")
    assert (workdir / "conv2d.py").read_text(encoding="utf-8") == "x = 1\n"
    (workdir / "sub").mkdir()
    (workdir / "sub" / "link").symlink_to(source)            # removed, never followed
    workdirs.remove_workdir(workdir)
    assert not workdir.exists() and source.exists()

    stale = base / f"{workdirs.WORKDIR_PREFIX}999999-old"
    fresh = base / f"{workdirs.WORKDIR_PREFIX}999999-new"
    for folder in (stale, fresh):
        folder.mkdir()
    old = time.time() - workdirs.STALE_AGE_S - 60
    os.utime(stale, (old, old))
    workdirs.remove_stale_workdirs(base)
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize("portable_path", [False, True])
def test_stopping_a_worker_that_is_gone_never_raises(monkeypatch, portable_path):
    import subprocess
    monkeypatch.setattr(portable, "use_portable_path", lambda: portable_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=not portable_path)
    proc.wait()
    level = levels.ProcessLevel(FAST)
    level.stop(proc)
    level.stop(proc)
    assert proc.returncode == 0
