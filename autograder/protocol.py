"""Frames exchanged between the grader (trusted) and the sandboxed worker (not trusted).

A frame is::

    magic b"CKF1" | u32 header_len | u32 n_blobs | n_blobs x u64 blob_len | JSON header | blobs

(little-endian).  The header is a small JSON object; each blob is one array in ``.npy``
format.  Nothing in a frame is ever unpickled or evaluated: the parent reads the JSON
with ``json.loads`` and every blob's ``.npy`` header with numpy's own header reader,
then accepts only plain numeric dtypes whose data is exactly as long as the header
says, and builds the array from those bytes (what ``np.load(allow_pickle=False)`` does,
minus any chance of a pickle or of an allocation sized by a forged shape).  Sizes, header length and blob count are capped before any
body byte is buffered.

``worker.py`` runs alone in the sandbox (only it, ``limits.py`` and the student's file are
there), so it carries its own copy of the few lines that write and read this format; the
constants below are the contract both sides follow.
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
import struct

import numpy as np

MAGIC = b"CKF1"
PREFIX = struct.Struct("<4sII")        # magic, header_len, n_blobs
BLOB_LEN = struct.Struct("<Q")
MAX_HEADER_BYTES = 64 * 1024           # headers carry an op name, a few ints, a message
MAX_BLOBS = 64
NPY_MAX_HEADER = 10_000                # numpy's own default cap on a .npy header
MAX_NDIM = 32                          # numpy's limit is 64; no answer here has more than 4
ALLOWED_KINDS = "biufc"                # bool, int, uint, float, complex: numbers only


class ProtocolError(Exception):
    """A frame that breaks the format or a cap; the peer is not to be trusted further."""


class ReplyTooLarge(ProtocolError):
    """A reply bigger than the cap set for it (more data than any correct answer needs)."""


# ---------------------------------------------------------------- encoding (both sides)

def npy_parts(array) -> tuple[bytes, memoryview]:
    """(.npy header, data) of one plain numeric array, the data not copied.

    The same bytes ``np.save(allow_pickle=False)`` writes, without its slow path for
    in-memory files (a 13 MB array: 11 ms there, ~0 here).
    """
    array = np.asarray(array)
    check_dtype(array.dtype)
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    fortran_only = array.flags.f_contiguous and not array.flags.c_contiguous
    flat = (array.T if fortran_only else array).reshape(-1).view(np.uint8)
    return _npy_header(array.dtype, array.shape, fortran_only), memoryview(flat)


@functools.lru_cache(maxsize=256)
def _npy_header(dtype, shape, fortran_only) -> bytes:
    """np.save's header bytes; checks send a few shapes many times, numpy's writer costs ~20 us."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                "fortran_order": fortran_only, "shape": shape})
    return head.getvalue()


def array_to_npy(array) -> bytes:
    """The ``.npy`` bytes of one plain numeric array."""
    return b"".join(npy_parts(array))


def encode_frame(header: dict, arrays=()) -> bytes:
    """One frame holding ``header`` (JSON-able dict) and ``arrays`` as ``.npy`` blobs."""
    head = json.dumps(header, separators=(",", ":")).encode()
    blobs = [npy_parts(a) for a in arrays]
    parts = [PREFIX.pack(MAGIC, len(head), len(blobs))]
    parts += [BLOB_LEN.pack(len(h) + d.nbytes) for h, d in blobs]
    parts.append(head)
    for h, d in blobs:
        parts += [h, d]
    return b"".join(parts)


def pack_value(value, arrays: list):
    """JSON form of one call argument; arrays are appended to ``arrays`` and referenced.

    Supported: ndarray, int, float, bool, None, str, and tuples/lists of those.
    Tuples stay tuples on the other side (``kernel_size=(3, 2)``).
    """
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, np.generic):            # numpy scalars: keep their Python meaning
        return pack_value(value.item(), arrays)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [pack_value(v, arrays) for v in value]}
    if isinstance(value, list):
        return [pack_value(v, arrays) for v in value]
    raise TypeError(f"cannot send a {type(value).__name__} to the worker")


def pack_args(args) -> tuple[list, list]:
    """(JSON list, arrays) for a sequence of call arguments."""
    arrays: list = []
    return [pack_value(a, arrays) for a in args], arrays


# ---------------------------------------------------------------- decoding (parent side)

# The exact version-1.0 header np.save writes for a plain numeric array, e.g.
# b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }   \n".
_SIMPLE_NPY = re.compile(rb"\x93NUMPY\x01\x00(..)\{'descr': '([<>|=]?[biufc][0-9]{1,2})', "
                         rb"'fortran_order': (True|False), 'shape': \(((?:[0-9]{1,12}, )*[0-9]{0,12},?)\), \} *\n",
                         re.DOTALL)


def _simple_header(blob):
    """(shape, fortran, dtype, data offset) when the header is np.save's plain form, else None.

    A strict pattern parsed without any evaluation: ~20x faster than numpy's reader
    (which compiles the header as a Python literal), and it accepts only a subset of
    what that reader accepts; anything else goes to the reader.
    """
    declared = 10 + int.from_bytes(bytes(blob[8:10]), "little")   # the header's own length
    match = _SIMPLE_NPY.match(bytes(blob[:min(declared, NPY_MAX_HEADER + 16)]))
    if match is None or 10 + int.from_bytes(match.group(1), "little") != match.end():
        return None
    shape = tuple(int(n) for n in match.group(4).replace(b",", b" ").split())
    return shape, match.group(3) == b"True", np.dtype(match.group(2).decode()), match.end()


def npy_to_array(blob) -> np.ndarray:
    """A plain numeric ndarray (its own copy) from untrusted ``.npy`` bytes, or ProtocolError.

    The header is parsed by a strict pattern or by numpy's own reader (a literal, never
    code), checked, and the data must be exactly as long as the header says; the array
    is then built from those bytes directly, so no allocation is ever sized by an
    unchecked header.  Whatever else numpy raises on a header it cannot use (a dtype
    such as '<f3', 70 dimensions) is a ProtocolError too: the peer's fault, never ours.
    """
    try:
        return _npy_to_array(blob)
    except ProtocolError:
        raise
    except Exception as exc:
        raise ProtocolError(f"unusable array header ({type(exc).__name__})") from None


def _npy_to_array(blob) -> np.ndarray:
    simple = _simple_header(blob)
    if simple is not None:
        shape, fortran, dtype, offset = simple
        check_dtype(dtype)
        return _array_from(blob, shape, fortran, dtype, offset)
    f = io.BytesIO(bytes(blob[:NPY_MAX_HEADER + 16]))   # the header only: no data copy
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                f, max_header_size=NPY_MAX_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                f, max_header_size=NPY_MAX_HEADER)
        else:
            raise ProtocolError(f"unsupported .npy version {version}")
    except ProtocolError:
        raise
    except Exception as exc:                     # malformed header: anything numpy raises
        raise ProtocolError(f"malformed array header ({type(exc).__name__})") from None
    check_dtype(dtype)
    if not all(type(n) is int and n >= 0 for n in shape):
        raise ProtocolError("malformed array shape")
    return _array_from(blob, shape, fortran, dtype, f.tell())


def _array_from(blob, shape, fortran, dtype, offset):
    """The array whose data follow the header at `offset`; its length must match exactly."""
    if len(shape) > MAX_NDIM:
        raise ProtocolError(f"an array with {len(shape)} dimensions")
    count = math.prod(shape)
    if count * dtype.itemsize != len(blob) - offset:
        raise ProtocolError("array data does not match its header")
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")


def check_dtype(dtype: np.dtype) -> None:
    """Only plain numeric dtypes may cross: no objects, records, strings, dates."""
    if (dtype.kind not in ALLOWED_KINDS or dtype.hasobject
            or dtype.fields is not None or dtype.subdtype is not None):
        raise ProtocolError(f"arrays of dtype {dtype} are not accepted")


class FrameDecoder:
    """Incremental parser for one frame from an untrusted peer.

    ``feed`` bytes as they arrive; ``done`` turns True when a whole frame is in, then
    ``frame()`` returns ``(header, arrays)``.  Every cap is checked as soon as the
    lengths are known, so at most ``max_bytes`` are ever buffered.
    """

    def __init__(self, max_bytes: int, max_header: int = MAX_HEADER_BYTES,
                 max_blobs: int = MAX_BLOBS):
        self.max_bytes = max_bytes
        self.max_header = max_header
        self.max_blobs = max_blobs
        self._buf = bytearray()
        self._stage = "prefix"                 # -> "lengths" -> "body"
        self._need = PREFIX.size               # bytes the current stage waits for
        self._header_len = 0
        self._blob_lens: list[int] = []
        self.done = False

    def feed(self, data: bytes) -> None:
        """Add received bytes; raises ProtocolError on anything malformed or too big."""
        self._buf += data
        if self._stage == "prefix" and len(self._buf) >= self._need:
            self._read_prefix()
        if self._stage == "lengths" and len(self._buf) >= self._need:
            self._read_lengths()
        if self._stage == "body":
            if len(self._buf) > self._need:    # a second frame nobody asked for
                raise ProtocolError("unexpected bytes after the reply")
            self.done = len(self._buf) == self._need

    def _read_prefix(self) -> None:
        magic, self._header_len, n_blobs = PREFIX.unpack_from(self._buf)
        if magic != MAGIC:
            raise ProtocolError("not a reply frame")
        if self._header_len > self.max_header:
            raise ProtocolError("reply header too large")
        if n_blobs > self.max_blobs:
            raise ProtocolError("too many arrays in the reply")
        self._blob_lens = [0] * n_blobs
        self._stage, self._need = "lengths", PREFIX.size + BLOB_LEN.size * n_blobs

    def _read_lengths(self) -> None:
        self._blob_lens = [BLOB_LEN.unpack_from(self._buf, PREFIX.size + BLOB_LEN.size * i)[0]
                           for i in range(len(self._blob_lens))]
        total = self._need + self._header_len + sum(self._blob_lens)
        if total > self.max_bytes:
            raise ReplyTooLarge(f"a reply of {total / 2**20:.1f} MB, over the "
                                f"{self.max_bytes / 2**20:.1f} MB that any correct answer fits in")
        self._stage, self._need = "body", total

    def frame(self) -> tuple[dict, list[np.ndarray]]:
        """The decoded (header, arrays) of a complete frame; ProtocolError for anything else."""
        try:
            return self._frame()
        except ProtocolError:
            raise
        except Exception as exc:               # whatever a forged frame provokes is the peer's fault
            raise ProtocolError(f"undecodable reply ({type(exc).__name__})") from None

    def _frame(self) -> tuple[dict, list[np.ndarray]]:
        if not self.done:
            raise ProtocolError("incomplete frame")
        pos = PREFIX.size + BLOB_LEN.size * len(self._blob_lens)
        raw = bytes(self._buf[pos:pos + self._header_len])
        try:
            header = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            raise ProtocolError("reply header is not JSON") from None
        if not isinstance(header, dict):
            raise ProtocolError("reply header is not an object")
        pos += self._header_len
        arrays = []
        with memoryview(self._buf) as view:
            for n in self._blob_lens:
                arrays.append(npy_to_array(view[pos:pos + n]))
                pos += n
        return header, arrays


# ---------------------------------------------------------------- results (parent side)

# What a result may be, as the worker packs it (worker.to_wire) and the parent reads it back: None,
# a bool, an int, a float, an array ({"__array__": i}) or a tuple of those ({"__tuple__": [...]}).
# Arrays are numbered in the order they appear in the reply, each used exactly once, so the reply's
# count of arrays is exactly what its results announce.
MAX_VALUE_DEPTH = 8                    # tuples inside tuples: ``loss, (dX, dW)`` needs 2
MAX_TUPLE_ITEMS = 64
INT_BOUND = 2 ** 63                    # an int result must fit an int64
STEP_FAILURE_KINDS = ("exception", "bad_reply")


class StepFailure:
    """A step the student's code failed (it raised, or returned something that cannot be sent)."""

    def __init__(self, kind: str, message: str):
        self.kind, self.message = kind, message


def _read_value(value, arrays, cursor, depth=0):
    """A result from its untrusted JSON form; cursor[0]: the next array the reply must refer to."""
    if value is None or type(value) in (bool, float):
        return value
    if type(value) is int:
        if not -INT_BOUND <= value < INT_BOUND:
            raise ProtocolError("an integer result out of range")
        return value
    if type(value) is dict and len(value) == 1:
        if "__array__" in value:
            return _read_array_ref(value, arrays, cursor)
        items = value.get("__tuple__")
        if type(items) is list and len(items) <= MAX_TUPLE_ITEMS and depth < MAX_VALUE_DEPTH:
            return tuple(_read_value(v, arrays, cursor, depth + 1) for v in items)
    raise ProtocolError("a result is malformed")


def _read_array_ref(value, arrays, cursor):
    """The array a reference ({"__array__": i}) names: it must be the reply's next one."""
    index = value.get("__array__") if type(value) is dict and len(value) == 1 else None
    if type(index) is not int or index != cursor[0] or index >= len(arrays):
        raise ProtocolError("a result refers to an array out of order or missing")
    cursor[0] += 1
    return arrays[index]


def parse_call_reply(reply, arrays):
    """The result of a ``call`` request, from an untrusted successful reply; ProtocolError unless
    its value is well-formed and refers to every array of the reply exactly once, in order."""
    if reply.get("ok") is not True or "value" not in reply:
        raise ProtocolError("the reply holds no result")
    cursor = [0]
    value = _read_value(reply["value"], arrays, cursor)
    if cursor[0] != len(arrays):
        raise ProtocolError("the reply holds arrays no result refers to")
    return value


def parse_steps_reply(steps, reply, arrays) -> list:
    """One entry per step that ran, from an untrusted reply to a ``steps`` request.

    steps: the request's steps as sent ({"op": "set" | "get" | "call", "echo": n for a call
    that also sends back its n array arguments as it left them, "ignore": true for a call
    whose result is not sent back}).  An entry is the step's result (None for a set or an
    ignored result), (result, (argument after the call, ...)) for an echoing call, or
    a StepFailure, which can only be the last entry.  Every step asked for must be answered,
    unless an earlier one failed; the reply's arrays must be exactly those its results refer
    to, in order.  Anything else: ProtocolError.
    """
    results = reply.get("results") if reply.get("ok") is True else None
    if not isinstance(results, list) or len(results) > len(steps):
        raise ProtocolError("the reply does not answer the calls asked for")
    values, cursor = [], [0]
    for step, result in zip(steps, results):
        if values and isinstance(values[-1], StepFailure):
            raise ProtocolError("a call was answered after one that failed")
        if not isinstance(result, dict):
            raise ProtocolError("a call's result is not an object")
        if result.get("ok") is True and "value" in result:
            value = _read_value(result["value"], arrays, cursor)
            if (step["op"] == "set" or step.get("ignore")) and value is not None:
                raise ProtocolError("a step whose result is not asked for returned a value")
            echo, after = step.get("echo"), result.get("after")
            if echo is not None:
                if type(after) is not list or len(after) != echo:
                    raise ProtocolError(f"the result of {step['op']} does not hold its arguments")
                value = (value, tuple(_read_array_ref(a, arrays, cursor) for a in after))
            elif "after" in result:
                raise ProtocolError("a result holds arguments that were not asked for")
            values.append(value)
        elif (result.get("ok") is False and result.get("kind") in STEP_FAILURE_KINDS
              and isinstance(result.get("message"), str)):
            values.append(StepFailure(result["kind"], result["message"]))
        else:
            raise ProtocolError("a call's result is malformed")
    if len(values) < len(steps) and not (values and isinstance(values[-1], StepFailure)):
        raise ProtocolError(f"the reply answers {len(values)} of {len(steps)} calls")
    if cursor[0] != len(arrays):
        raise ProtocolError("the reply holds arrays no call produced")
    return values
