"""The sandboxed side: imports the student's file and answers the grader's calls.

It is copied into the sandbox's work dir with ``limits.py`` (the kit's autograder/limits.py,
which it loads by path to check the limits it is given) and a copy of the student's file,
and run as ``python -I -B worker.py CONFIG_JSON``; it imports nothing else from the kit
and carries its own few lines of the frame format described in ``protocol.py``.  Student
code runs in this very process, so nothing here is trusted by the grader: the parent
checks every frame it gets back, and this file only tries to make honest answers and
useful error messages.

Order of events: check the limits given (exit 2 with a message if they cannot be enforced);
(portable transport, Windows) move the protocol off stdin/stdout;
apply the resource limits; (levels without a PID namespace) fork and
stay behind as a small init that takes every descendant down with the worker; import
numpy; say hello; on the grader's "import" request forbid new processes and threads
(RLIMIT_NPROC 0), then import the student's file; answer
requests until the grader goes away.  Apart from the hello, every frame answers one
request, so the grader can treat any extra byte as a forgery.

Requests after the import: ``call`` (a module function), ``new`` (an object of a class) and
``steps`` (set an attribute, get one, call a method: several on one object in one round
trip).  Arguments and results are numbers, None, arrays or tuples of them.  The names the
grader may use are the lab's contract's, given in CONFIG_JSON; this file names none.
"""

import functools
import io
import json
import os
import re
import signal
import struct
import sys
import traceback

try:
    import resource
except ImportError:                    # not POSIX (Windows): no rlimits, the grader's timeouts remain
    resource = None

MAGIC = b"CKF1"
PREFIX = struct.Struct("<4sII")        # magic, header_len, n_blobs
BLOB_LEN = struct.Struct("<Q")
NUMERIC_KINDS = "biufc"
MESSAGE_CAP = 2000                     # characters of an exception message worth showing
STUDENT_FRAMES = 3                     # traceback lines from the student's file kept in a message
HAS_READV = hasattr(os, "readv")

np = None                              # numpy, imported after the limits are in place


# ------------------------------------------------------------------ limits and supervisor

def read_limits(data):
    """The Limits the grader sent (``Limits.to_dict``), checked by ``Limits.from_dict`` of the
    ``limits.py`` beside this file; raises its LimitsError (a ValueError) naming what is wrong."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "limits.py")
    spec = importlib.util.spec_from_file_location("convkit_limits", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module            # dataclasses looks its module up while it builds the class
    spec.loader.exec_module(module)
    return module.Limits.from_dict(data)


def apply_limits(limits) -> None:
    """Lower this process's rlimits (its children inherit them; none can be raised again)."""
    if resource is None:
        return
    mb = 2 ** 20
    rlimits = [(resource.RLIMIT_CORE, 0),
               (resource.RLIMIT_AS, limits.memory_mb * mb),
               (resource.RLIMIT_FSIZE, limits.file_size_mb * mb),
               (resource.RLIMIT_NOFILE, limits.open_files)]
    for which, value in rlimits:
        lower_limit(which, value, value)
    # SIGXCPU at the soft limit (fatal by default), SIGKILL one second later.
    lower_limit(resource.RLIMIT_CPU, limits.rlimit_cpu_s, limits.rlimit_cpu_s + 1)


def forbid_new_processes() -> None:
    """RLIMIT_NPROC 0: from now on this process can start no process and no thread.

    Called once the worker is up and before the student's file is imported.  Grading needs
    neither, and one process per submission is what makes its limits hold: RLIMIT_AS then
    bounds the submission's memory, and its CPU time is this one process's, which takes one
    share of the machine's CPUs however it tries to crowd a neighbour out."""
    if resource is not None:
        lower_limit(resource.RLIMIT_NPROC, 0, 0)


def lower_limit(which: int, soft: int, hard: int) -> None:
    """setrlimit, never above a hard limit already in force (raising one is refused)."""
    current = resource.getrlimit(which)[1]
    if current != resource.RLIM_INFINITY:
        hard = min(hard, current)
        soft = min(soft, hard)
    try:
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        if sys.platform.startswith("linux"):
            raise
        # macOS refuses some limits (RLIMIT_AS); the 'process' level is best effort there.


def _prctl(option: int, value: int) -> None:
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


def children_of(pid: int) -> list:
    """Pids whose parent is ``pid`` (read from /proc; no procps needed)."""
    kids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2:].split()[1]) == pid:
                kids.append(int(name))
    return kids


def supervise(config: dict) -> None:
    """Fork; the child returns and becomes the worker, this process never returns.

    The parent side is a child subreaper: processes the student's code forks and orphans
    (even after setsid) are re-parented here, and when the worker exits, or the grader
    sends SIGTERM, or the grader dies, they are all killed and reaped.  Exit status:
    the worker's exit code, or 128 + signal number (as bwrap reports it).
    """
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    me = os.getpid()
    worker = os.fork()
    if worker == 0:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != me:                 # the supervisor died before prctl
            os._exit(1)
        return
    signal.signal(signal.SIGTERM, lambda *_: os.kill(worker, signal.SIGKILL))
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)   # grader gone -> take everything down
    for fd in (config["req"], config["rep"]):  # only the worker speaks the protocol
        os.close(fd)
    status = None
    while status is None:
        pid, st = os.waitpid(-1, 0)            # reaps orphans on the way
        if pid == worker:
            status = st
    while True:                                # kill, reap, repeat until no child is left
        if config.get("exclusive_uid"):        # the uid is ours alone and a chroot may
            try:                               # hide /proc: every process of it but this one
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            for pid in children_of(me):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    code = os.waitstatus_to_exitcode(status)
    os._exit(128 - code if code < 0 else code)


# ------------------------------------------------------------------ frames

def read_exact(fd: int, n: int) -> bytes:
    """n bytes from fd; exits quietly when the grader has gone away."""
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            os._exit(0)
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_into(fd: int, buffer) -> None:
    """Fill a writable buffer from fd; exits quietly when the grader has gone away."""
    view = memoryview(buffer)
    while view:
        if HAS_READV:
            got = os.readv(fd, [view])
        else:                                  # Windows: no readv, one copy per chunk
            chunk = os.read(fd, min(len(view), 1 << 20))
            got = len(chunk)
            view[:got] = chunk
        if not got:
            os._exit(0)
        view = view[got:]


# np.save's plain header for a C-ordered array (all the grader sends), e.g.
# {'descr': '<f8', 'fortran_order': False, 'shape': (16, 1, 8, 8), }
PLAIN_NPY_HEADER = re.compile(rb"\{'descr': '([<|][biuf][1248])', 'fortran_order': False, "
                              rb"'shape': \(((?:[0-9]+, )*[0-9]*,?)\), \} *\n")


def read_array(fd: int, n: int):
    """One .npy blob of n bytes from fd, as a new writable array (as np.load gives).

    The grader's plain headers are parsed by a pattern and the data read straight into
    the new array (np.load's literal parser took ~50 us an array, most of a small
    request's cost); anything else goes through np.load."""
    head = read_exact(fd, 10)
    header_len = int.from_bytes(head[8:10], "little")
    header = read_exact(fd, min(header_len, n - 10))
    plain = PLAIN_NPY_HEADER.fullmatch(header) if head[:8] == b"\x93NUMPY\x01\x00" else None
    if plain is not None:
        shape = tuple(int(d) for d in plain.group(2).replace(b",", b" ").split())
        array = np.empty(shape, dtype=plain.group(1).decode())
        if array.nbytes == n - 10 - header_len:
            read_into(fd, array.reshape(-1).view("B"))
            return array
    rest = read_exact(fd, n - 10 - len(header))
    return np.load(io.BytesIO(head + header + rest), allow_pickle=False)


def recv(fd: int):
    """(header, arrays) of the grader's next request."""
    magic, header_len, n_blobs = PREFIX.unpack(read_exact(fd, PREFIX.size))
    if magic != MAGIC:
        raise SystemExit("bad request frame")
    lens = [BLOB_LEN.unpack(read_exact(fd, BLOB_LEN.size))[0] for _ in range(n_blobs)]
    header = json.loads(read_exact(fd, header_len))
    arrays = [read_array(fd, n) for n in lens]
    return header, arrays


def send(fd: int, header: dict, arrays=()) -> None:
    """Write one frame (see protocol.py)."""
    head = json.dumps(header).encode()
    blobs = [npy_parts(a) for a in arrays]
    parts = [PREFIX.pack(MAGIC, len(head), len(blobs))]
    parts += [BLOB_LEN.pack(len(h) + d.nbytes) for h, d in blobs]
    parts.append(head)
    for h, d in blobs:
        parts += [h, d]
    data = memoryview(b"".join(parts))
    while data:
        data = data[os.write(fd, data):]


def npy_parts(array):
    """(.npy header, data view): np.save's bytes without its slow in-memory-file path."""
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    fortran_only = array.flags.f_contiguous and not array.flags.c_contiguous
    return (npy_header(array.dtype, array.shape, fortran_only),
            memoryview((array.T if fortran_only else array).reshape(-1).view(np.uint8)))


@functools.lru_cache(maxsize=256)
def npy_header(dtype, shape, fortran_only):
    """np.save's header bytes; a check's replies repeat a few shapes, numpy's writer costs ~20 us."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                "fortran_order": fortran_only, "shape": shape})
    return head.getvalue()


def unpack(value, arrays, taken=None):
    """Inverse of protocol.pack_value.  With ``taken`` (a list), every array is a fresh copy,
    appended to ``taken`` in order: what a call of a ``steps`` request gets (and may echo back)."""
    if isinstance(value, dict):
        if "__array__" in value:
            if taken is None:
                return arrays[value["__array__"]]
            array = arrays[value["__array__"]].copy()
            taken.append(array)
            return array
        return tuple(unpack(v, arrays, taken) for v in value["__tuple__"])
    if isinstance(value, list):
        return [unpack(v, arrays, taken) for v in value]
    return value


# ------------------------------------------------------------------ messages for students

class BadResult(Exception):
    """The student's code returned something that cannot be sent back (not numbers, arrays or tuples of them)."""


def describe_exception(what: str, exc: BaseException, student_path: str) -> str:
    """'f raised ValueError: ...' plus the last lines of the student's file involved."""
    name = os.path.basename(student_path)
    try:
        text = str(exc)
    except Exception:
        text = "(the exception could not be printed)"
    message = f"{what} raised {type(exc).__name__}" + (f": {text}" if text else "")
    if len(message) > MESSAGE_CAP:
        message = message[:MESSAGE_CAP] + " ..."
    if isinstance(exc, SystemExit):
        message += f" ({name} must not call exit() or sys.exit())"
    if no_new_process(exc):
        message += " (your code may not start processes or threads: grading runs it in one process)"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.path.abspath(f.filename) == student_path][-STUDENT_FRAMES:]
    lines = [f"  {name}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}"
             for f in frames]
    if isinstance(exc, SyntaxError) and exc.lineno:
        lines.append(f"  {name}, line {exc.lineno}: {(exc.text or '').strip()}")
    return "\n".join([message] + lines)


def no_new_process(exc: BaseException) -> bool:
    """Whether ``exc`` is what starting a process or thread raises under RLIMIT_NPROC 0."""
    return ((isinstance(exc, BlockingIOError) and exc.errno == 11)      # EAGAIN from fork/clone
            or (isinstance(exc, RuntimeError) and "new thread" in str(exc)))


MAX_DEPTH = 8                          # tuples in tuples (protocol.MAX_VALUE_DEPTH)
MAX_ITEMS = 64                         # items of one tuple (protocol.MAX_TUPLE_ITEMS)
INT_BOUND = 2 ** 63                    # an int result must fit an int64 (protocol.INT_BOUND)


def to_wire(value, what: str, out: list, depth: int = 0, copy: bool = True):
    """The JSON form of a result (protocol._read_value reads it back); arrays go onto ``out``
    (copies, unless ``copy`` is False: a lone call's result is sent before anything can change
    it) and are referred to by their place there.  None, bool, int and float go as they are,
    a numpy scalar as a 0-d array (its dtype kept), a tuple item by item, anything else as
    np.asarray(value) when that holds numbers; else BadResult with a student message."""
    if isinstance(value, np.generic):          # np.float64 is a float: keep numpy's dtype, as an array
        out.append(as_array(value, what, copy))
        return {"__array__": len(out) - 1}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        if not -INT_BOUND <= value < INT_BOUND:
            raise BadResult(f"{what} returned an integer too large to send back ({type(value).__name__})")
        return int(value)
    if isinstance(value, tuple):
        if depth >= MAX_DEPTH or len(value) > MAX_ITEMS:
            raise BadResult(f"{what} returned a tuple nested more than {MAX_DEPTH} deep or longer than "
                            f"{MAX_ITEMS} items")
        return {"__tuple__": [to_wire(v, what, out, depth + 1, copy) for v in value]}
    out.append(as_array(value, what, copy))
    return {"__array__": len(out) - 1}


def as_array(value, what: str, copy: bool = True):
    """A plain numeric ndarray from value (its own copy, unless ``copy`` is False), else
    BadResult with a student message."""
    if isinstance(value, (str, bytes, dict, set)):
        raise BadResult(f"{what} returned {type(value).__name__}, expected numbers, numpy arrays "
                        "or tuples of them")
    try:
        array = np.array(value) if copy else np.asarray(value)    # a plain ndarray even from a subclass
    except Exception:
        raise BadResult(f"{what} returned {type(value).__name__}, "
                        "which cannot be turned into a numpy array") from None
    dtype = array.dtype
    if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields is not None:
        if isinstance(value, np.ndarray):
            raise BadResult(f"{what} returned an array of dtype {dtype}, expected a numpy array of numbers")
        raise BadResult(f"{what} returned {type(value).__name__}, expected numbers, numpy arrays "
                        "or tuples of them")
    return array


# ------------------------------------------------------------------ serving requests

class Worker:
    """Holds the student's module and the objects built so far; answers one request.

    It knows no lab: it calls the functions, builds the classes, calls the methods and
    gets or sets the attributes that the lab's contract names (None: any), whatever they are."""

    def __init__(self, module, max_reply_bytes: int, functions=None, classes=None, methods=None,
                 attributes=None):
        self.module = module
        # what the grader may use (None: any): names of functions and classes, and by class
        # name the methods it may call and the attributes it may get and set
        self.functions, self.classes = functions, classes
        self.methods, self.attributes = methods, attributes
        self.file_name = os.path.basename(module.__file__)
        self.student_path = os.path.abspath(module.__file__)
        self.max_reply_bytes = max_reply_bytes
        self.objects = {}                      # id -> (object, its class's name)

    def handle(self, header: dict, arrays: list):
        """(reply header, reply arrays) for one request; student errors become replies."""
        op = header["op"]
        what = header.get("what", op)
        try:
            result = getattr(self, "op_" + op)(header, arrays, what)
        except BadResult as exc:
            return {"ok": False, "kind": "bad_reply", "message": str(exc)}, []
        except BaseException as exc:           # SystemExit too: it is not a success
            return {"ok": False, "kind": "exception",
                    "message": describe_exception(what, exc, self.student_path)}, []
        reply, out = result
        size = sum(a.nbytes for a in out)
        cap = min(self.max_reply_bytes, header.get("max_reply_bytes") or self.max_reply_bytes)
        if size > cap:
            return {"ok": False, "kind": "bad_reply",
                    "message": f"{what} returned {size / 2**20:.1f} MB: your code returned more data "
                               f"than any correct answer needs ({cap / 2**20:.1f} MB)"}, []
        return reply, out

    def member(self, class_name: str, name: str, allowed, kind: str) -> str:
        """name, if the contract lets the grader use it on objects of class_name, else AttributeError."""
        if not isinstance(name, str) or (allowed is not None and name not in allowed.get(class_name, ())):
            raise AttributeError(f"{class_name}.{name} is not {kind} of the lab's contract")
        return name

    def op_call(self, header, arrays, what):
        """A module function, any arguments; its result, whatever it is (see to_wire)."""
        name = header["function"]
        function = getattr(self.module, name, None) if self.functions is None or name in self.functions else None
        if not callable(function):
            raise AttributeError(f"{self.file_name} has no function {name}()")
        out = []
        value = to_wire(function(*unpack(header["args"], arrays)), what, out, copy=False)
        return {"ok": True, "value": value}, out

    def op_new(self, header, arrays, what):
        """An object of a contract class, any arguments, with attributes set right after construction."""
        name = header.get("class")
        cls = getattr(self.module, name, None) if self.classes is None or name in self.classes else None
        if not callable(cls):
            raise AttributeError(f"{self.file_name} has no class {name}")
        obj = cls(*unpack(header["args"], arrays))
        for attr, value in header.get("set", ()):
            setattr(obj, self.member(name, attr, self.attributes, "an attribute"), unpack(value, arrays, []))
        object_id = len(self.objects) + 1
        self.objects[object_id] = (obj, name)
        return {"ok": True, "object": object_id}, []

    def op_steps(self, header, arrays, what):
        """Several operations on one object in one round trip; stops at the first that fails.

        A step sets an attribute, gets one, or calls a method with any arguments; each step's
        outcome is reported separately, so the grader sees exactly which one failed.  Results
        are copied as they are produced (a later step must not change an earlier result through
        aliasing), every call gets its own copies of its array arguments, as separate calls
        would; a call with "echo" also sends those copies back as it left them, one with
        "ignore" sends back None whatever it returned.
        """
        obj, class_name = self.objects[header["object"]]
        results, out = [], []
        for step in header["steps"]:
            op, step_what = step["op"], step.get("what", step["op"])
            mark = len(out)                    # a step that fails sends back none of its arrays
            try:
                if op == "set":
                    attr = self.member(class_name, step["attr"], self.attributes, "an attribute")
                    setattr(obj, attr, unpack(step["value"], arrays, []))
                    result = {"ok": True, "value": None}
                elif op == "get":
                    attr = self.member(class_name, step["attr"], self.attributes, "an attribute")
                    result = {"ok": True, "value": to_wire(getattr(obj, attr), step_what, out)}
                elif op == "call":
                    method = getattr(obj, self.member(class_name, step["method"], self.methods, "a method"))
                    given = []
                    value = method(*unpack(step["args"], arrays, given))
                    result = {"ok": True, "value": None if step.get("ignore") else to_wire(value, step_what, out)}
                    if "echo" in step:
                        result["after"] = [to_wire(a, step_what, out) for a in given]
                else:
                    raise ValueError(f"unknown step {op!r}")
            except BadResult as exc:
                del out[mark:]
                results.append({"ok": False, "kind": "bad_reply", "message": str(exc)})
                break
            except BaseException as exc:
                del out[mark:]
                results.append({"ok": False, "kind": "exception",
                                "message": describe_exception(step_what, exc, self.student_path)})
                break
            results.append(result)
        return {"ok": True, "results": results}, out


PRINTED = [0, 0]                       # [characters still passed on, characters printed in all]


class CappedOutput:
    """sys.stdout / sys.stderr for the student: passes on at most a budget of characters
    (shared by both streams), then drops the rest here, before it costs a write; counts
    everything printed, which every reply reports, so the grader can stop a flood."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text) -> int:
        PRINTED[1] += len(text)
        room = PRINTED[0]
        if room > 0:
            part = text[:room]
            PRINTED[0] -= len(part)
            self._stream.write(part)
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def cap_output(budget: int) -> None:
    PRINTED[0] = budget
    sys.stdout = CappedOutput(sys.stdout)
    sys.stderr = CappedOutput(sys.stderr)


def flush_output() -> None:
    """Push the student's buffered prints into the output pipe before replying."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def import_student(workdir: str, module: str):
    """Import the student's file from the work dir as `module` (its file name's stem)."""
    import importlib
    sys.path.insert(0, workdir)                # -I left the script's folder off sys.path
    return importlib.import_module(module)


def serve(config: dict, limits) -> None:
    """Say hello, import the student's file, then answer requests forever."""
    global np
    import numpy
    np = numpy
    req, rep = config["req"], config["rep"]
    cap_output(config.get("output_budget", 1 << 20))
    send(rep, {"hello": True})
    recv(req)                                  # "import": replies strictly alternate
    workdir = os.path.dirname(os.path.abspath(__file__))
    forbid_new_processes()
    try:
        module = import_student(workdir, config["module"])
    except BaseException as exc:
        message = describe_exception(f"importing {config['module']}.py", exc,
                                     os.path.join(workdir, config["module"] + ".py"))
        flush_output()
        send(rep, {"ok": False, "kind": "import", "message": message, "printed": PRINTED[1]})
        os._exit(0)
    flush_output()
    send(rep, {"ok": True, "printed": PRINTED[1]})
    worker = Worker(module, limits.max_reply_mb * 2**20, config.get("functions"), config.get("classes"),
                    config.get("methods"), config.get("attributes"))
    while True:
        header, arrays = recv(req)
        reply, out = worker.handle(header, arrays)
        flush_output()
        send(rep, dict(reply, printed=PRINTED[1], seq=header.get("seq")), out)   # which request this answers


def use_stdio_channels(config: dict) -> None:
    """The portable transport (Windows): requests come on fd 0, replies go to fd 1.

    Both are moved to fds of their own (not inherited by the student's child processes);
    fd 0 becomes /dev/null and fd 1 the output pipe (fd 2), so neither a print nor a child
    process can write into the reply channel.  Text output is UTF-8 whatever the locale."""
    req, rep = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    if os.name == "nt":
        windows_std_handles(req, rep)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    config["req"], config["rep"] = req, rep


def windows_std_handles(req: int, rep: int) -> None:
    """The standard handles a child process inherits follow fds 0-2 (the C runtime's dup2
    usually does this itself), and the protocol's fds are binary."""
    import ctypes
    import msvcrt
    from ctypes import wintypes
    try:
        set_std_handle = ctypes.WinDLL("kernel32").SetStdHandle
        set_std_handle.argtypes = (wintypes.DWORD, wintypes.HANDLE)
        for std, fd in ((-10, 0), (-11, 1), (-12, 2)):     # STD_INPUT/OUTPUT/ERROR_HANDLE
            set_std_handle(std & 0xFFFFFFFF, msvcrt.get_osfhandle(fd))
    except (OSError, AttributeError):
        pass
    for fd in (req, rep):
        msvcrt.setmode(fd, os.O_BINARY)


def main() -> None:
    config = json.loads(sys.argv[1])
    try:
        limits = read_limits(config.get("limits"))
    except ValueError as exc:                  # the grader's bug: said before the hello, which never comes
        sys.stderr.write(f"worker.py: the limits it was given cannot be enforced: {exc}\n")
        sys.exit(2)
    if config.get("channels") == "stdio":
        use_stdio_channels(config)
    apply_limits(limits)
    if config.get("supervise") and hasattr(os, "fork"):
        supervise(config)
    serve(config, limits)


if __name__ == "__main__":
    main()
