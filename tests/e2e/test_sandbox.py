"""The sandbox against hostile student files, with real processes.

Every behavioural test runs at each level this machine can run: as root ``bwrap`` (where
bubblewrap works), ``chroot`` and ``uid`` (with the kit's folder closed to other users,
as that level demands); not as root, the best level and ``process``.  Limits are small so
that each test is bounded in time.
"""

import os
import pickle
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from autograder import protocol  # noqa: E402
from autograder.protocol import FrameDecoder, ProtocolError, encode_frame  # noqa: E402
from autograder.sandbox import (ISOLATION_LEVELS, LEVELS as LEVEL_CLASSES, Limits,  # noqa: E402
                                LevelUnusable, Sandbox, StudentError, detect_isolation,
                                python_env, workdirs)
from autograder.adapter import as_array  # noqa: E402

ROOT = os.geteuid() == 0
BEST = detect_isolation()
KIT = Path(__file__).resolve().parents[2]
LEVELS = [name for name, cls in LEVEL_CLASSES.items()
          if name == BEST or (cls.unusable_reason() is None and name != "bwrap")]
FAST = Limits(call_cpu_s=2, import_cpu_s=5, blocked_s=5, total_cpu_s=25, memory_mb=512)   # RLIMIT_CPU 30 s
MARGIN_S = 1.5                         # kill + reap + restart on a busy 2-core machine

FAKE_CONV = '''
import numpy as np

def col2im(X_col, C, H, W, kH, kW, stride=1):
    print("col2im saw", X_col.shape, X_col.dtype)
    return np.zeros((C, H, W), dtype=X_col.dtype) + X_col.sum()

class Conv2d:
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.weight = np.ones((out_channels, in_channels) + k)
        self.grad_weight = np.zeros_like(self.weight)

    def forward(self, x):
        return x * 2

    def backward(self, dY):
        dY *= 3                        # modifies its argument: the parent must see it
        self.grad_weight += 1
        return dY

    def zero_grad(self):
        self.grad_weight[...] = 0
'''


@pytest.fixture(params=LEVELS)
def level(request):
    if request.param == "uid":
        request.getfixturevalue("kit_closed_to_others")
    return request.param


@pytest.fixture
def kit_closed_to_others():
    """The 'uid' level runs only from a kit other users cannot enter (it refuses otherwise)."""
    mode = KIT.stat().st_mode
    KIT.chmod(mode & ~0o007)
    try:
        yield
    finally:
        KIT.chmod(mode)


def sandbox(tmp_path, level, body, limits=FAST, **kwargs) -> Sandbox:
    """A Sandbox on a student file made of the fake Conv2d plus ``body``."""
    student = tmp_path / "conv2d.py"
    student.write_text(FAKE_CONV + body)
    return Sandbox(student, limits, isolation=level, **kwargs)


def raises(kind, fn, *args) -> StudentError:
    with pytest.raises(StudentError) as info:
        fn(*args)
    assert info.value.kind == kind, info.value.message
    return info.value


def processes_named(token: str) -> list[int]:
    """Live processes whose argv[0] is ``token`` (works across PID namespaces)."""
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")[0] \
                    == token.encode():
                found.append(int(name))
        except OSError:
            pass
    return found


# ------------------------------------------------------------------ honest code

def test_normal_file_works(tmp_path, level):
    with sandbox(tmp_path, level, "") as sb:
        assert sb.isolation == level and sb.import_error is None
        x = np.arange(12, dtype=np.float32).reshape(4, 3)
        y = sb.call("col2im", x, 2, 5, 5, 3, 3, 1)
        assert type(y) is np.ndarray and y.dtype == np.float32 and y.shape == (2, 5, 5)
        assert np.all(y == 66)
        assert sb.call("col2im", x.astype(np.float64), 1, 2, 2, 1, 1).dtype == np.float64

        layer = sb.new_object("Conv2d", 2, 3, (3, 2), 1, 0)
        assert layer.get("weight").shape == (3, 2, 3, 2)
        layer.set("weight", np.full((3, 2, 3, 2), 0.5))
        assert np.all(layer.get("weight") == 0.5)
        x = np.ones((1, 2, 4, 4))
        (y, (x_after,)), = layer.steps([("call_echo", "forward", x)])
        assert np.all(y == 2) and np.all(x_after == 1)
        dY = np.ones((1, 3, 2, 3), dtype=np.float32)
        (dX, (dY_after,)), = layer.steps([("call_echo", "backward", dY)])
        assert dX.dtype == np.float32 and np.all(dY == 1)      # the parent's copy is intact
        assert np.all(dY_after == 3)                           # ...and the change is visible
        assert np.all(layer.get("grad_weight") == 1)
        assert layer.call("zero_grad") is None and np.all(layer.get("grad_weight") == 0)
        assert "col2im saw (4, 3) float32" in sb.output()
    sb.close()                                                   # idempotent


def test_steps_run_in_one_round_trip_and_stop_at_the_first_failure(tmp_path, level):
    body = """
def _fail_on_negative(self, x):
    if x.min() < 0:
        raise ValueError("negative input")
    return x * 2
Conv2d.forward = _fail_on_negative
"""
    with sandbox(tmp_path, level, body) as sb:
        layer = sb.new_object("Conv2d", 1, 1, 3)
        dY = np.ones((1, 1, 2, 2))
        values = layer.steps([("set", "weight", np.full((1, 1, 3, 3), 5.0)), ("get", "weight"),
                              ("call_echo", "forward", np.ones((1, 1, 2, 2))), ("get", "grad_weight"),
                              ("call_echo", "backward", dY), ("get", "grad_weight"), ("call", "forward", dY)])
        assert values[0] is None and values[1][0, 0, 0, 0] == 5.0
        y, (x_after,) = values[2]
        assert y.sum() == 8 and x_after.sum() == 4
        assert not values[3].any(), "an earlier result must not change when a later step runs"
        dX, (dY_after,) = values[4]
        assert dY_after.sum() == 12 and dY.sum() == 4, "the worker modified its own copy of dY"
        assert (values[5] == 1).all()
        assert values[6].sum() == 8, "each call gets its own copy of its arguments"
        stopped = layer.steps([("call", "forward", -np.ones((1, 1, 2, 2))), ("get", "weight")])
        assert len(stopped) == 1 and stopped[0].kind == "exception"
        assert "negative input" in stopped[0].message
        assert layer.get("weight")[0, 0, 0, 0] == 5.0, "the worker survives a failed step"


def test_attributes_set_at_construction_are_copies_and_a_failing_setter_is_the_students(tmp_path, level):
    body = """
class Frozen:
    def __init__(self, *args):
        pass
    @property
    def weight(self):
        return np.zeros((1, 1, 3, 3))
    @weight.setter
    def weight(self, value):
        raise AttributeError("weight is read-only here")
"""
    with sandbox(tmp_path, level, body) as sb:
        weight = np.arange(9.0).reshape(1, 1, 3, 3)
        layer = sb.new_object("Conv2d", 1, 1, 3, attributes=[("weight", weight), ("grad_weight", weight * 0)])
        weight[...] = -1                       # the worker holds its own copy
        assert np.array_equal(layer.get("weight"), np.arange(9.0).reshape(1, 1, 3, 3))
        assert not layer.get("grad_weight").any()
        assert not sb.new_object("Frozen", 1, 1, 3).get("weight").any()      # constructing alone sets nothing
    (tmp_path / "again").mkdir()
    with sandbox(tmp_path / "again", level, body) as sb:
        error = raises("exception", lambda: sb.new_object("Frozen", 1, 1, 3, attributes=[("weight", weight)]))
        assert "read-only here" in error.message and "with weight set" in error.message
        with pytest.raises(ValueError):
            sb.new_object("Conv2d", 1, 1, 3, attributes=[("__class__; x", weight)])


def test_exception_message_points_at_student_lines(tmp_path, level):
    body = "\ndef broken():\n    return np.zeros(12).reshape(2, 3, 3)\n"
    with sandbox(tmp_path, level, body) as sb:
        err = raises("exception", sb.call, "broken")
        assert err.message.startswith("broken raised ValueError: cannot reshape array")
        line = (FAKE_CONV + body).splitlines().index("    return np.zeros(12).reshape(2, 3, 3)")
        assert f"conv2d.py, line {line + 1}, in broken" in err.message
        assert "worker.py" not in err.message and "autograder" not in err.message
        assert "no function" in raises("exception", sb.call, "missing").message


def test_import_error_is_reported_for_every_call(tmp_path, level):
    with sandbox(tmp_path, level, "\nx = 1 / 0\n") as sb:
        assert sb.import_error.kind == "import"
        assert "ZeroDivisionError" in sb.import_error.message
        line = (FAKE_CONV + "\nx = 1 / 0\n").splitlines().index("x = 1 / 0") + 1
        assert f"conv2d.py, line {line}, in <module>" in sb.import_error.message
        raises("import", sb.call, "col2im")
        raises("import", sb.new_object, "Conv2d", 1, 1, 3)


# ------------------------------------------------------------------ runaway code

def test_infinite_loop_times_out_and_the_next_call_works(tmp_path, level):
    with sandbox(tmp_path, level, "\ndef spin():\n    while True:\n        pass\n") as sb:
        layer = sb.new_object("Conv2d", 1, 1, 3)
        err = raises("timeout", sb.call, "spin")
        # stopped on CPU time, as soon as the parent saw it pass the limit (whatever the load)
        assert FAST.call_cpu_s <= sb.last_call.cpu < FAST.call_cpu_s + MARGIN_S
        assert "did not finish within 2 s of CPU time" in err.message
        assert sb.call("col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).shape == (1, 1, 1)
        assert "gone" in raises("lost", layer.call, "forward", np.ones((1, 1, 3, 3))).message
        assert sb.new_object("Conv2d", 1, 1, 3).call("forward", np.ones((1, 1, 3, 3))).shape == (1, 1, 3, 3)


def test_sleep_at_import_is_an_import_timeout(tmp_path, level):
    limits = Limits(call_cpu_s=2, import_cpu_s=5, blocked_s=1.5)
    with sandbox(tmp_path, level, "\nimport time\ntime.sleep(60)\n", limits) as sb:
        assert sb.import_error.kind == "timeout"
        assert "waiting 2 s without computing" in sb.import_error.message
        raises("timeout", sb.call, "col2im")


def test_os_exit_is_a_crash_and_the_worker_restarts(tmp_path, level):
    body = "\ndef leave():\n    import os\n    os._exit(0)\n"
    with sandbox(tmp_path, level, body) as sb:
        assert "os._exit(0)" in raises("crashed", sb.call, "leave").message
        assert sb.call("col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).shape == (1, 1, 1)


def test_system_exit_is_not_a_success(tmp_path, level):
    with sandbox(tmp_path, level, "\ndef quit_():\n    import sys\n    sys.exit(3)\n") as sb:
        err = raises("exception", sb.call, "quit_")
        assert "SystemExit" in err.message
        assert sb.call("col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).shape == (1, 1, 1)


def test_segfault_is_a_crash(tmp_path, level):
    with sandbox(tmp_path, level, "\ndef segv():\n    import ctypes\n    ctypes.string_at(0)\n") as sb:
        assert "segmentation fault" in raises("crashed", sb.call, "segv").message
        assert sb.call("col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).shape == (1, 1, 1)


def test_memory_bomb_is_bounded(tmp_path, level):
    body = "\ndef bomb():\n    chunks = []\n    while True:\n        chunks.append(np.ones(10_000_000))\n"
    with sandbox(tmp_path, level, body) as sb:
        start = time.monotonic()
        with pytest.raises(StudentError) as info:
            sb.call("bomb")
        assert info.value.kind in ("exception", "crashed")
        assert info.value.kind == "crashed" or "MemoryError" in info.value.message
        assert sb.last_call.cpu < FAST.call_cpu_s      # stopped by the memory limit, not the time limit
        assert sb.call("col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).shape == (1, 1, 1)


def test_no_process_can_be_started_so_none_outlives_the_sandbox(tmp_path, level):
    """A double fork + setsid child that tries to outlive grading (or to crowd out a
    neighbour, or to spread its memory over processes) is refused at its first fork: the
    student's code may start no process or thread.

    It would name itself with a fresh token (argv[0]) so the test can find it in /proc
    whatever PID namespace it lives in; its pid inside bwrap would mean nothing here.
    """
    body = '''
def escape(token):
    import os
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            import sys             # the worker's own Python: the chroot has no sleep
            os.execv(sys.executable, [token, "-c", "import time; time.sleep(300)"])
        os._exit(0)
    os.waitpid(pid, 0)
    return 1

def thread():
    import threading
    threading.Thread(target=lambda: None).start()
    return 1
'''
    token = f"escapee-{uuid.uuid4().hex[:12]}"
    sb = sandbox(tmp_path, level, body)
    try:
        workdir = sb._worker.workdir
        err = raises("exception", sb.call, "escape", token)
        assert "BlockingIOError" in err.message and "may not start processes or threads" in err.message
        err = raises("exception", sb.call, "thread")
        assert "can't start new thread" in err.message and "may not start processes or threads" in err.message
        assert sb.call("col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).shape == (1, 1, 1)   # the worker lives on
        assert processes_named(token) == []
    finally:
        sb.close()
    assert processes_named(token) == []
    assert not workdir.exists()


# ------------------------------------------------------------------ reaching out

def test_secret_files_are_unreadable(tmp_path, level):
    if level == "process":
        pytest.skip("the 'process' level runs with the grader's rights: no secrets kept")
    folder = Path(tempfile.mkdtemp(prefix="convkit-secret-", dir="/tmp"))
    try:
        folder.chmod(0o755)                    # like a checkout: everything world-readable
        secret, public = folder / "hidden_fixtures.npz", folder / "public.txt"
        for path in (secret, public):
            path.write_text("42")
            path.chmod(0o644)
        body = ("\ndef peek(path):\n    try:\n        open(path).read()\n        return 1\n"
                "    except OSError:\n        return 0\n")
        with sandbox(tmp_path, level, body, secret_paths=[secret]) as sb:
            assert sb.call("peek", str(secret)) == 0
            if LEVEL_CLASSES[level] in (LEVEL_CLASSES["bwrap"], LEVEL_CLASSES["chroot"]):
                # nothing of the host exists inside
                assert sb.call("peek", str(public)) == 0
                assert sb.call("peek", "/work/main/requirements.txt") == 0
                assert sb.call("peek", "/etc/passwd") == 0
            else:                              # the documented limit of the 'uid' level
                assert sb.call("peek", str(public)) == 1
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def test_network_is_cut_exactly_where_the_level_says(tmp_path, level):
    """bwrap and chroot cut the network; uid and process say they do not, and do not."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    body = ("\ndef dial(port):\n    import socket\n    try:\n"
            "        socket.create_connection(('127.0.0.1', port), timeout=1).close()\n"
            "        return 1\n    except OSError:\n        return 0\n")
    try:
        with sandbox(tmp_path, level, body) as sb:
            reached = sb.call("dial", listener.getsockname()[1])
        if LEVEL_CLASSES[level].blocks_network:
            assert reached == 0
            with pytest.raises(BlockingIOError):
                listener.accept()
        else:
            assert reached == 1, f"{level} is documented as leaving the network open"
    finally:
        listener.close()


def test_huge_output_is_capped(tmp_path, level):
    """Past the read cap (1 MB) output is discarded unread; the call itself still counts."""
    body = ("\ndef shout():\n    import sys\n    line = 'x' * (1 << 20)\n"
            "    for _ in range(10):\n        sys.stdout.write(line)\n"
            "    print('THE END')\n    return np.zeros(1)\n")
    limits = Limits(call_cpu_s=20, output_cap_kb=64)
    with sandbox(tmp_path, level, body, limits) as sb:
        tracemalloc.start()
        try:
            assert sb.call("shout").shape == (1,)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert sb._output.read <= limits.output_read_mb * 2**20
        text = sb.output()
    assert peak < 8 * 2**20, f"the parent buffered {peak} bytes"
    assert len(text) < 64 * 1024 + 200
    assert "thrown away unread" in text and "THE END" not in text


def test_output_flood_stops_the_calls(tmp_path, level):
    """Printing more than output_flood_mb stops every later call at once: no grading waits for it."""
    body = ("\ndef shout():\n    import sys\n    sys.stdout.write('x' * (40 << 20))\n    return np.zeros(1)\n")
    with sandbox(tmp_path, level, body, Limits(call_cpu_s=20)) as sb:
        error = raises("output", sb.call, "shout")
        assert "printed 40 MB" in error.message
        assert sb._worker is None, "the flooding worker is stopped"
        raises("output", sb.call, "shout")
        assert sb._worker is None, "and no new one is started for later calls"


# ------------------------------------------------------------------ forged replies

class MarkerOnUnpickle:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def forged_frame(marker: Path) -> bytes:
    """A well-formed frame whose one array is an object array holding a pickle bomb."""
    import io
    buf = io.BytesIO()
    bomb = np.empty(1, dtype=object)
    bomb[0] = MarkerOnUnpickle(str(marker))
    np.save(buf, bomb, allow_pickle=True)
    head, blob = b'{"ok":true}', buf.getvalue()
    return (protocol.PREFIX.pack(protocol.MAGIC, len(head), 1)
            + protocol.BLOB_LEN.pack(len(blob)) + head + blob)


@pytest.mark.parametrize("payload", ["pickle", "frame"])
def test_forged_reply_is_refused_and_never_unpickled(tmp_path, level, payload):
    marker = tmp_path / f"unpickled-{payload}"
    data = (pickle.dumps(MarkerOnUnpickle(str(marker))) if payload == "pickle"
            else forged_frame(marker))
    body = f'''
def forge():
    import os
    for fd in range(3, 64):            # whichever one is the reply pipe
        try:
            os.write(fd, {data!r})
        except OSError:
            pass
    return np.zeros(1)
'''
    with sandbox(tmp_path, level, body) as sb:
        raises("bad_reply", sb.call, "forge")
        assert sb.call("col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).shape == (1, 1, 1)
    assert not marker.exists()


FORGERS = {
    # a whole, valid reply frame written into the reply pipe before the real answer: without a
    # request number, the worker's real reply was then read as the answer to the next request
    "no_number": "header = {'ok': True, 'printed': 0}",
    # the same frame carrying the request's own number, read off the worker's stack
    "copied_number": """import inspect
    seq = next(f.frame.f_locals['header']['seq'] for f in inspect.stack()
               if isinstance(f.frame.f_locals.get('header'), dict) and 'seq' in f.frame.f_locals['header'])
    header = {'ok': True, 'printed': 0, 'seq': seq}""",
}


@pytest.mark.parametrize("forger", FORGERS)
def test_a_reply_is_never_taken_as_the_answer_to_another_request(tmp_path, level, forger):
    body = f"""
import json, sys
import __main__ as worker

def col2im(X_col, C, H, W, kH, kW, stride=1):
    answer = np.full((C, H, W), X_col.sum())
    {FORGERS[forger]}
    worker.send(json.loads(sys.argv[1])["rep"], header, [answer * 0 - 1])
    return answer
"""
    with sandbox(tmp_path, level, body) as sb:
        for i in range(1, 9):
            try:
                got = sb.call("col2im", np.full((1, 1), float(i)), 1, 1, 1, 1, 1)
            except StudentError as exc:
                assert exc.kind == "bad_reply", exc.message
                continue
            # its own answer, or the forged one written during this very call: never call i-1's
            assert got.shape == (1, 1, 1) and got[0, 0, 0] in (i, -1), (i, got)


def test_results_arrive_as_plain_numeric_arrays(tmp_path, level):
    body = '''
class Liar(np.ndarray):
    def __eq__(self, other):
        return True

def liar():
    return np.array([1.0, 2.0, 3.0]).view(Liar)

def objects():
    return np.array([object(), 1], dtype=object)

def nothing():
    return None

def scalar():
    return np.float32(2.5)
'''
    with sandbox(tmp_path, level, body) as sb:
        got = sb.call("liar")
        assert type(got) is np.ndarray and got.tolist() == [1.0, 2.0, 3.0]
        assert not np.all(got == 999)
        assert "dtype object" in raises("bad_reply", sb.call, "objects").message
        assert sb.call("nothing") is None              # a result may be None: a lab wanting an array says so
        err = raises("bad_reply", as_array, None, "nothing")
        assert err.message == "nothing returned NoneType, expected a numpy array"
        got = sb.call("scalar")
        assert got.shape == () and got.dtype == np.float32 and got == 2.5


# ------------------------------------------------------------------ frames, no processes

def decode(data: bytes, max_bytes: int = 2**20):
    decoder = FrameDecoder(max_bytes)
    decoder.feed(data)
    assert decoder.done
    return decoder.frame()


def test_frames_round_trip_exactly():
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.asfortranarray(np.eye(3)),
              np.array(True), np.zeros((0, 4), np.int16), np.array([1 + 2j])]
    header, out = decode(encode_frame({"ok": True, "n": 5}, arrays))
    assert header == {"ok": True, "n": 5}
    for a, b in zip(arrays, out):
        assert type(b) is np.ndarray and a.dtype == b.dtype and np.array_equal(a, b)
    packed, blobs = protocol.pack_args((np.ones(2), 3, (3, 2), [1, 2], None, "s", np.int64(4)))
    assert packed[1:] == [3, {"__tuple__": [3, 2]}, [1, 2], None, "s", 4] and len(blobs) == 1


def test_npy_bytes_are_exactly_what_np_save_writes():
    import io
    for a in [np.arange(6.0).reshape(2, 3), np.asfortranarray(np.eye(3)), np.arange(10)[::2],
              np.array(True), np.zeros((0, 3)), np.array([1j]), np.arange(4, dtype=">i4")]:
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        assert protocol.array_to_npy(a) == buf.getvalue(), a.dtype


@pytest.mark.parametrize("case", ["magic", "too_big", "blobs", "trailing", "shape",
                                  "structured", "strings", "json"])
def test_malformed_frames_are_refused(case):
    import io

    def npy(a):                                # np.save itself: it writes any dtype
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        return buf.getvalue()

    good_npy = npy(np.zeros(4))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**13,)})
    huge_header = header.getvalue()
    frame = encode_frame({"ok": True}, [np.zeros(4)])
    head = b'{"ok":true}'

    def with_blob(blob, header=head):
        return (protocol.PREFIX.pack(protocol.MAGIC, len(header), 1)
                + protocol.BLOB_LEN.pack(len(blob)) + header + blob)

    data = {
        "magic": b"XXXX" + frame[4:],
        "too_big": with_blob(good_npy)[:12] + protocol.BLOB_LEN.pack(2**40),
        "blobs": protocol.PREFIX.pack(protocol.MAGIC, 2, 10_000),
        "trailing": frame + b"\0",
        "shape": with_blob(huge_header + b"\0" * 32),      # 80 TB promised, 32 B sent
        "structured": with_blob(npy(np.zeros(2, dtype=[("a", "f8")]))),
        "strings": with_blob(npy(np.array(["x"]))),
        "json": with_blob(good_npy, b"[" * 5000),
    }[case]
    with pytest.raises(ProtocolError):
        decode(data)


# ------------------------------------------------------------------ machine set-up

def test_detect_isolation_and_runtime_setup_line():
    assert BEST in ISOLATION_LEVELS
    if ROOT and not python_env.worker_venv_ready():
        pytest.skip("worker venv not built yet (python -m autograder.runtime)")
    done = subprocess.run([sys.executable, "-m", "autograder.runtime"], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[2],
                          timeout=180)         # a guard against a hang: < 1 s of work when set up
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"sandbox isolation on this machine: {BEST} (")
    assert "building" not in done.stderr, "set up already: nothing is rebuilt"   # not a clock: speed is bench's


def test_limits_apply_inside_the_worker(tmp_path, level):
    body = ("\ndef limits():\n    import resource as r\n    return np.array([r.getrlimit(k)[1] "
            "for k in (r.RLIMIT_AS, r.RLIMIT_CPU, r.RLIMIT_FSIZE, r.RLIMIT_NOFILE, "
            "r.RLIMIT_CORE)])\n")
    with sandbox(tmp_path, level, body) as sb:
        got = sb.call("limits").tolist()
    assert got == [512 * 2**20, 31, 16 * 2**20, 64, 0]
    assert resource.getrlimit(resource.RLIMIT_AS)[0] != 512 * 2**20   # not the parent's


def test_work_dirs_of_killed_graders_are_swept(tmp_path):
    from autograder.sandbox import WORKDIR_PREFIX
    dead = subprocess.Popen(["true"])
    dead.wait()                                # a pid that no longer runs
    stale = tmp_path / f"{WORKDIR_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{WORKDIR_PREFIX}{os.getpid()}-def"
    for folder in (stale, live):
        folder.mkdir()
        (folder / "conv2d.py").write_text("")
    workdirs.remove_stale_workdirs(tmp_path)
    assert not stale.exists() and live.exists()


def test_fast_npy_header_path_agrees_with_numpys_reader_and_refuses_lies():
    import io
    arrays = [np.zeros(()), np.arange(5.0), np.ones((3, 4), np.float32), np.ones((2, 0, 3)),
              np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.arange(6).reshape(2, 3), np.array([1 + 2j])]
    for a in arrays:
        f = io.BytesIO()
        np.save(f, a)
        assert protocol._simple_header(f.getvalue()) is not None
        back = protocol.npy_to_array(f.getvalue())
        assert back.dtype == a.dtype and back.shape == a.shape and np.array_equal(back, a)
        f2 = io.BytesIO()                                  # version 2.0: numpy's reader path
        np.lib.format.write_array(f2, a, version=(2, 0))
        assert protocol._simple_header(f2.getvalue()) is None
        assert np.array_equal(protocol.npy_to_array(f2.getvalue()), a)
    blob = protocol.array_to_npy(np.arange(4.0))
    with pytest.raises(ProtocolError):                     # header says 4 values, data holds 3
        protocol.npy_to_array(blob[:-8])
    lying = blob.replace(b"(4,)", b"(9,)")
    with pytest.raises(ProtocolError):
        protocol.npy_to_array(lying)
    with pytest.raises(ProtocolError):                     # an object array is never accepted
        protocol.npy_to_array(blob.replace(b"'<f8'", b"'|O' "))


def test_worker_reads_every_array_as_np_load_does(monkeypatch):
    """The worker's own .npy reader (a fast path for the grader's plain headers, np.load for
    the rest) gives the same writable, aligned arrays as np.load, and leaves the stream at
    the next blob."""
    import io
    import threading
    from autograder import worker
    monkeypatch.setattr(worker, "np", np)
    arrays = [np.arange(64.0).reshape(16, 1, 2, 2), np.ones((3, 4), np.float32), np.zeros(()), np.zeros((0, 3)),
              np.arange(6, dtype=np.uint8).reshape(2, 3), np.array([True, False]), np.float16([1, 2]),
              np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.arange(3.0).astype(">f8"), np.array([1 + 2j])]
    blobs = [protocol.array_to_npy(a) for a in arrays]
    v2 = io.BytesIO()                                   # a version-2.0 header: np.load's path
    np.lib.format.write_array(v2, arrays[0], version=(2, 0))
    blobs.append(v2.getvalue())
    arrays.append(arrays[0])
    r, w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(w, b"".join(blobs)), os.close(w)))
    writer.start()
    try:
        for a, blob in zip(arrays, blobs):
            got = worker.read_array(r, len(blob))
            want = np.load(io.BytesIO(blob), allow_pickle=False)
            assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
            assert got.flags.writeable and got.flags.aligned
            assert got.flags.c_contiguous == want.flags.c_contiguous
    finally:
        writer.join()
        os.close(r)


def test_worker_npy_headers_are_exactly_what_np_save_writes(monkeypatch):
    import io
    from autograder import worker
    monkeypatch.setattr(worker, "np", np)
    for a in [np.arange(6.0).reshape(2, 3), np.asfortranarray(np.eye(3)), np.arange(10)[::2],
              np.array(True), np.zeros((0, 3)), np.array([1j]), np.arange(4, dtype=">i4"), np.arange(6.0).reshape(2, 3)]:
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        head, data = worker.npy_parts(a)
        assert head + bytes(data) == buf.getvalue(), a.dtype


def test_the_worker_calls_and_builds_only_what_the_lab_contract_names(tmp_path, level):
    """The lab's CONTRACT is all the worker may use: another function or class of the student's
    module is refused as if it did not exist, and the student's file keeps its own name; on an
    object, only the methods and attributes the contract names for its class."""
    from autograder.lab_loader import Contract
    body = "\ndef helper():\n    return np.ones(3)\n\nclass Other:\n    pass\n"
    contract = Contract(functions=("col2im",), classes=("Conv2d",), methods={"Conv2d": ("forward",)},
                        attributes={"Conv2d": ("weight",)})
    with sandbox(tmp_path, level, body, contract=contract) as sb:
        assert sb.call("col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).shape == (1, 1, 1)
        assert "conv2d.py has no function helper()" in raises("exception", sb.call, "helper").message
        assert "has no class Other" in raises("exception", sb.new_object, "Other").message
        layer = sb.new_object("Conv2d", 1, 1, 3)
        assert layer.get("weight").shape == (1, 1, 3, 3)
        assert layer.call("forward", np.ones(2)).tolist() == [2, 2]
        for refused in (lambda: layer.call("backward", np.ones(2)), lambda: layer.get("grad_weight"),
                        lambda: layer.set("grad_weight", np.ones(2)), lambda: layer.get("__class__"),
                        lambda: layer.call("__init__", 1, 1, 3),
                        lambda: sb.new_object("Conv2d", 1, 1, 3, attributes=[("grad_weight", np.ones(2))])):
            assert "of the lab's contract" in raises("exception", refused).message
        assert layer.get("weight").shape == (1, 1, 3, 3)     # the worker lives on, the object intact
    with sandbox(tmp_path, level, body) as sb:          # no contract: anything the module defines
        assert sb.call("helper").shape == (3,)
        assert sb.new_object("Conv2d", 1, 1, 3).call("backward", np.ones(2)).tolist() == [3, 3]


def test_any_function_class_and_method_with_numbers_flags_and_tuples(tmp_path, level):
    """call, new and steps are not about layers: arguments and results are arrays, Python numbers,
    None, flags and tuples of them (a method returning `loss, dx`), and come back checked."""
    from autograder.lab_loader import Contract
    body = """
def loss_and_grad(x, labels, scale=1.0):
    return float(np.sum(x) * scale), x * scale, labels.shape[0], x.sum() > 0

class Pool:
    def __init__(self, k, name="pool"):
        self.k, self.name, self.seen = k, name, None

    def forward(self, x, train):
        if train:
            self.seen = x.argmax()
        return x[::self.k], (None, train)

    def weird(self):
        return {"not": "a number"}
"""
    contract = Contract(functions=("loss_and_grad",), classes=("Pool",),
                        methods={"Pool": ("forward", "weird")}, attributes={"Pool": ("k", "seen")})
    with sandbox(tmp_path, level, body, contract=contract) as sb:
        loss, grad, n, positive = sb.call("loss_and_grad", np.arange(4.0), np.zeros(3, dtype=np.int64), 0.5)
        assert type(loss) is float and loss == 3.0 and grad.tolist() == [0, 0.5, 1, 1.5]
        assert type(n) is int and n == 3 and type(positive) is np.ndarray and positive.dtype == np.bool_
        pool = sb.new_object("Pool", 2, "p")
        values = pool.steps([("call", "forward", np.arange(5.0), True), ("get", "seen"),
                             ("call", "forward", np.arange(5.0)[::-1].copy(), False), ("get", "seen"),
                             ("set", "k", 1), ("call", "weird"), ("get", "k")])
        (y, (none, flag)), seen = values[0], values[1]
        assert y.tolist() == [0, 2, 4] and none is None and flag is True and seen.tolist() == 4
        assert values[2][1] == (None, False) and values[3].tolist() == 4     # eval kept what train stored
        assert values[4] is None and values[5].kind == "bad_reply" and len(values) == 6
        assert "returned dict" in values[5].message
        assert pool.get("k") == 1


FORGED_VALUES = {      # what a patched worker's to_wire sends as a result: each must be a malformed reply
    "string": "return 'a string'",
    "unreferenced array": "out.append(np.zeros(1))\n    return 1.0",
    "arrays out of order": "out += [np.zeros(1), np.ones(1)]\n    return {'__tuple__': [{'__array__': 1}, {'__array__': 0}]}",
    "one array twice": "out.append(np.zeros(1))\n    return {'__tuple__': [{'__array__': 0}, {'__array__': 0}]}",
    "int past int64": "return 2 ** 70",
    "tuples too deep": "v = 1.0\n    for _ in range(20):\n        v = {'__tuple__': [v]}\n    return v",
    "unknown form": "return {'__pickle__': 'x'}",
    "a list": "return [1, 2]",
}


@pytest.mark.parametrize("forgery", FORGED_VALUES)
def test_a_malformed_result_is_the_students_bad_reply_for_call_and_steps(tmp_path, level, forgery):
    body = f"""
import __main__ as _w
def _forged(value, what, out, depth=0, copy=True):
    {FORGED_VALUES[forgery]}
if hasattr(_w, "to_wire"):
    _w.to_wire = _forged
"""
    with sandbox(tmp_path, level, body) as sb:
        assert "malformed reply" in raises("bad_reply", sb.call, "col2im", np.ones((1, 1)), 1, 1, 1, 1, 1).message
        layer = sb.new_object("Conv2d", 1, 1, 3)
        assert "malformed reply" in raises("bad_reply", layer.steps, [("call", "forward", np.ones(2))]).message
        assert sb._worker is None, "a worker that sent a malformed reply is not trusted further"


def test_worker_names_no_method_or_attribute_of_any_lab():
    """worker.py is generic: the names it may use come from the lab's contract, none is written in it."""
    text = (KIT / "autograder" / "worker.py").read_text(encoding="utf-8")
    for word in ("forward", "backward", "zero_grad", "grad_weight", "weight", "layer", "Conv2d", "col2im"):
        assert word.lower() not in text.lower(), word
