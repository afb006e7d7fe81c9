"""autograder/protocol.py: frames encoded and decoded (whole, byte by byte), .npy bytes parsed with
caps and never a pickle, the FrameDecoder on truncated and forged input, call arguments packed, and
replies to several steps checked against what was asked."""

import io
import json
import struct

import numpy as np
import pytest

from autograder.protocol import (BLOB_LEN, MAGIC, MAX_BLOBS, MAX_HEADER_BYTES, MAX_NDIM, PREFIX, FrameDecoder,
                                 ProtocolError, ReplyTooLarge, StepFailure, array_to_npy, check_dtype,
                                 encode_frame, npy_to_array, pack_args, pack_value, parse_steps_reply)

ARRAYS = [np.arange(12.0).reshape(3, 4), np.arange(6, dtype=np.float32).reshape(2, 3).T,   # Fortran order
          np.asfortranarray(np.arange(24, dtype=np.int16).reshape(2, 3, 4)), np.zeros((0, 5)), np.array(3.5),
          np.array([True, False]), np.array([1 + 2j], np.complex64), np.arange(10, dtype=">i4"),
          np.arange(20.0).reshape(4, 5)[::2, 1::2]]                     # neither C nor Fortran contiguous


def decode(data, max_bytes=2**20, **kwargs):
    decoder = FrameDecoder(max_bytes, **kwargs)
    decoder.feed(data)
    assert decoder.done
    return decoder.frame()


def frame(header_bytes, blobs=(), n_blobs=None, lengths=None):
    """A frame assembled by hand, its counts and lengths forgeable."""
    blobs = list(blobs)
    lengths = [len(b) for b in blobs] if lengths is None else lengths
    return (PREFIX.pack(MAGIC, len(header_bytes), len(blobs) if n_blobs is None else n_blobs)
            + b"".join(BLOB_LEN.pack(n) for n in lengths) + header_bytes + b"".join(blobs))


def npy(array, **kwargs):
    f = io.BytesIO()
    np.save(f, array, **kwargs)
    return f.getvalue()


# --- encoding and decoding ---------------------------------------------------------------------

def test_a_frame_round_trips_its_header_and_arrays():
    header = {"op": "call", "args": [1, 2.5, None, "x"], "nested": {"a": [True]}}
    got_header, arrays = decode(encode_frame(header, ARRAYS))
    assert got_header == header and len(arrays) == len(ARRAYS)
    for got, sent in zip(arrays, ARRAYS):
        assert got.dtype == sent.dtype and got.shape == sent.shape and np.array_equal(got, sent)
        assert got.flags.writeable and got.flags.owndata


def test_a_frame_fed_byte_by_byte_is_done_only_at_its_last_byte():
    data = encode_frame({"op": "x"}, ARRAYS[:2])
    decoder = FrameDecoder(2**20)
    for i in range(len(data)):
        assert not decoder.done
        decoder.feed(data[i:i + 1])
    assert decoder.done and decoder.frame()[0] == {"op": "x"}


def test_the_npy_bytes_are_what_np_save_writes():
    for array in ARRAYS:
        assert array_to_npy(array) == npy(array, allow_pickle=False)
        assert np.array_equal(np.load(io.BytesIO(array_to_npy(array)), allow_pickle=False), array)


def test_numpys_own_header_forms_are_read_too():
    array = np.arange(6.0).reshape(2, 3)
    version2 = io.BytesIO()
    np.lib.format.write_array(version2, array, version=(2, 0))
    assert np.array_equal(npy_to_array(version2.getvalue()), array)
    padded = npy(array).replace(b"(2, 3), }", b"(2,3), } ")      # a header the strict pattern does not take
    assert np.array_equal(npy_to_array(padded), array)


@pytest.mark.parametrize("array", [np.array([{"a": 1}], dtype=object), np.zeros(2, dtype=[("x", "f8"), ("y", "i4")]),
                                  np.array(["text"]), np.array([b"bytes"]), np.array(["2020-01-01"], dtype="M8[D]"),
                                  np.zeros(2, dtype="V8")])
def test_only_plain_numbers_cross(array):
    with pytest.raises(ProtocolError, match="are not accepted|unusable|malformed"):
        npy_to_array(npy(array, allow_pickle=True))
    with pytest.raises(ProtocolError):
        encode_frame({}, [array])


def test_check_dtype_accepts_the_numeric_kinds():
    for dtype in ("?", "i1", "u8", "f2", "f4", "f8", "c16", ">f8"):
        check_dtype(np.dtype(dtype))
    with pytest.raises(ProtocolError):
        check_dtype(np.dtype(("f8", (2,))))                        # a sub-array dtype


@pytest.mark.parametrize("cut", [1, 8])
def test_data_shorter_or_longer_than_the_header_says(cut):
    blob = npy(np.arange(10.0))
    with pytest.raises(ProtocolError, match="does not match its header"):
        npy_to_array(blob[:-cut])
    with pytest.raises(ProtocolError, match="does not match its header"):
        npy_to_array(blob + b"\0" * cut)


def test_a_forged_huge_shape_allocates_nothing():
    blob = npy(np.zeros(2)).replace(b"(2,)", b"(999999999999,)")
    with pytest.raises(ProtocolError, match="does not match its header"):
        npy_to_array(blob)


def test_more_dimensions_than_any_answer_has():
    shape = (1,) * (MAX_NDIM + 1)
    with pytest.raises(ProtocolError, match=f"{MAX_NDIM + 1} dimensions"):
        npy_to_array(npy(np.zeros(shape)))
    assert npy_to_array(npy(np.zeros((1,) * MAX_NDIM))).ndim == MAX_NDIM


@pytest.mark.parametrize("blob", [b"", b"\x93NUMPY", b"not an npy file at all", b"\x93NUMPY\x03\x00" + b"\0" * 20,
                                  npy(np.zeros(2)).replace(b"'<f8'", b"'<f3'"),
                                  npy(np.zeros(2)).replace(b"(2,)", b"(-2,)"),
                                  npy(np.zeros(2)).replace(b"{'descr'", b"{'dscr' ")])
def test_garbage_is_a_protocol_error_never_another_exception(blob):
    with pytest.raises(ProtocolError):
        npy_to_array(blob)


def test_an_oversized_npy_header_is_refused():
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), " + b"'x': 0, " * 2000 + b"}\n"
    blob = b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header + b"\0" * 16
    with pytest.raises(ProtocolError):
        npy_to_array(blob)


# --- the decoder's caps and forged frames -------------------------------------------------------------

def test_a_wrong_magic_is_refused_at_once():
    with pytest.raises(ProtocolError, match="not a reply frame"):
        FrameDecoder(2**20).feed(b"CKF2" + b"\0" * 8)


def test_header_and_blob_count_caps_are_checked_before_the_body():
    with pytest.raises(ProtocolError, match="header too large"):
        FrameDecoder(2**30).feed(PREFIX.pack(MAGIC, MAX_HEADER_BYTES + 1, 0))
    with pytest.raises(ProtocolError, match="too many arrays"):
        FrameDecoder(2**30).feed(PREFIX.pack(MAGIC, 2, MAX_BLOBS + 1))
    with pytest.raises(ProtocolError, match="too many arrays"):
        FrameDecoder(2**30, max_blobs=1).feed(PREFIX.pack(MAGIC, 2, 2))


def test_a_reply_over_the_cap_is_refused_from_its_lengths_alone():
    decoder = FrameDecoder(1000)          # fed the prefix and one length: no body byte is waited for
    with pytest.raises(ReplyTooLarge, match="over the"):
        decoder.feed(PREFIX.pack(MAGIC, 2, 1) + BLOB_LEN.pack(2**40))


def test_bytes_after_the_frame_are_a_forgery():
    data = encode_frame({"ok": True})
    with pytest.raises(ProtocolError, match="unexpected bytes after the reply"):
        FrameDecoder(2**20).feed(data + b"x")


def test_a_truncated_frame_is_never_done():
    data = encode_frame({"ok": True}, [np.arange(3.0)])
    for end in (3, PREFIX.size, PREFIX.size + 4, len(data) - 1):
        decoder = FrameDecoder(2**20)
        decoder.feed(data[:end])
        assert not decoder.done
        with pytest.raises(ProtocolError, match="incomplete frame"):
            decoder.frame()


@pytest.mark.parametrize("header, words", [(b"{not json", "not JSON"), (b"[1, 2]", "not an object"),
                                           (b"\xff\xfe", "not JSON"), (b"[" * 100000, "not JSON|too large")])
def test_a_header_that_is_not_a_json_object(header, words):
    with pytest.raises(ProtocolError, match=words):
        decode(frame(header), max_header=200000)


def test_blob_lengths_that_split_the_arrays_wrongly():
    a, b = npy(np.arange(3.0)), npy(np.arange(4.0))
    forged = frame(b"{}", [a, b], lengths=[len(a) + 8, len(b) - 8])
    with pytest.raises(ProtocolError):
        decode(forged)


# --- arguments ---------------------------------------------------------------------------------------

def test_call_arguments_keep_their_types_and_arrays_are_referenced():
    x = np.ones((2, 2))
    packed, arrays = pack_args([x, 3, np.int64(4), np.float32(0.5), (3, 2), [1, (2, x)], None, "s", True])
    assert packed == [{"__array__": 0}, 3, 4, 0.5, {"__tuple__": [3, 2]}, [1, {"__tuple__": [2, {"__array__": 1}]}],
                      None, "s", True]
    assert arrays[0] is x and arrays[1] is x
    assert type(packed[2]) is int
    assert json.loads(json.dumps(packed)) == packed


@pytest.mark.parametrize("value", [{"a": 1}, object(), {1, 2}, b"bytes", 1 + 2j])
def test_anything_else_cannot_be_sent(value):
    with pytest.raises(TypeError, match="cannot send a"):
        pack_value(value, [])


# --- replies to several steps ---------------------------------------------------------------------------

def ok(n):
    return {"ok": True, "n": n}


SET, GET, CALL = {"op": "set"}, {"op": "get"}, {"op": "call"}


def ref(i):
    return {"ok": True, "value": {"__array__": i}}


def test_each_step_gets_what_it_announced():
    a, b, c = np.zeros(1), np.ones(1), np.full(1, 2.0)
    values = parse_steps_reply([SET, GET, {"op": "call", "echo": 1}, CALL], {"ok": True, "results": [
        {"ok": True, "value": None}, ref(0), {"ok": True, "value": {"__array__": 1}, "after": [{"__array__": 2}]},
        {"ok": True, "value": {"__tuple__": [1.5, None, True]}}]}, [a, b, c])
    assert values[0] is None and values[1] is a and values[2] == (b, (c,)) and values[3] == (1.5, None, True)


def test_a_failed_step_is_the_last_entry():
    values = parse_steps_reply([GET, CALL, GET], {"ok": True, "results": [
        ref(0), {"ok": False, "kind": "exception", "message": "ValueError"}]}, [np.zeros(1)])
    assert len(values) == 2 and isinstance(values[1], StepFailure)
    assert (values[1].kind, values[1].message) == ("exception", "ValueError")


@pytest.mark.parametrize("ops, reply, n_arrays, words", [
    ([GET], {"ok": False, "results": [ref(0)]}, 1, "does not answer"),
    ([GET], {"ok": True, "results": "x"}, 1, "does not answer"),
    ([GET], {"ok": True, "results": [ref(0), ref(1)]}, 2, "does not answer"),
    ([GET, GET], {"ok": True, "results": [ref(0)]}, 1, "answers 1 of 2 calls"),
    ([GET], {"ok": True, "results": [ref(1)]}, 2, "out of order or missing"),
    ([GET], {"ok": True, "results": [ref(0)]}, 0, "out of order or missing"),
    ([GET], {"ok": True, "results": [ref(0)]}, 2, "arrays no call produced"),
    ([SET], {"ok": True, "results": [ref(0)]}, 1, "not asked for returned a value"),
    ([GET], {"ok": True, "results": [{"ok": True, "value": 2**70}]}, 0, "out of range"),
    ([GET], {"ok": True, "results": [{"ok": True, "value": "text"}]}, 0, "malformed"),
    ([GET], {"ok": True, "results": [3]}, 1, "not an object"),
    ([GET], {"ok": True, "results": [{"ok": False, "kind": "timeout", "message": "m"}]}, 0, "malformed"),
    ([GET], {"ok": True, "results": [{"ok": False, "kind": "exception", "message": 3}]}, 0, "malformed"),
    ([GET, GET], {"ok": True, "results": [{"ok": False, "kind": "exception", "message": "m"}, ref(0)]}, 1,
     "answered after one that failed"),
])
def test_a_reply_that_does_not_fit_the_request(ops, reply, n_arrays, words):
    with pytest.raises(ProtocolError, match=words):
        parse_steps_reply(ops, reply, [np.zeros(1)] * n_arrays)
