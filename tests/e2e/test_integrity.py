"""Grades that only correct work can earn: no-work submissions score 0, every check fails
closed, every reply from the worker is untrusted end to end, the parent stays bounded, and
student text is inert in feedback.md."""

import io
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from autograder import protocol
from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.grading import GradingOptions, grade_submission
from autograder.protocol import FrameDecoder, ProtocolError, StepFailure, parse_steps_reply
from autograder.results import fenced, inert
from autograder.adapter import HELD_BYTES_CAP, CallResults, CodeAdapter
from helpers import CONV_LAB, NO_WORK, TEMPLATE

CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
TEMPLATE_TEXT = TEMPLATE.read_text(encoding="utf-8")
# Entries built on the untouched template: nothing of col2im or backward is correct in them.


def grade(tmp_path, key):
    zip_path = write_zip(CATALOGUE[key], tmp_path / "sub.zip", lab=CONV_LAB)
    return grade_submission(CONV_LAB, zip_path, tmp_path / "out", GradingOptions())


# ----------------------------------------------------------------- points only for right values

def test_no_work_catalogue_is_what_the_readme_counts():
    assert len(NO_WORK) == 8, NO_WORK


@pytest.mark.parametrize("key", NO_WORK)
def test_submissions_with_no_correct_col2im_or_backward_earn_nothing(tmp_path, key):
    report = grade(tmp_path, key)
    assert report.status == "graded"
    earned = {c.name: c.score for c in report.checks if c.score}
    assert report.score == 0, f"{key} earned {earned}"


def test_untouched_template_earns_nothing(tmp_path):
    report = grade_submission(CONV_LAB, TEMPLATE, tmp_path / "out", GradingOptions())
    assert report.status == "graded" and report.score == 0


def test_training_shortcut_is_named_in_the_feedback(tmp_path):
    report = grade(tmp_path, "hostile/learn_filter_by_least_squares")
    training = next(c for c in report.checks if c.name == "learns_filters")
    # its failure is told where the student reads it: the training check's own output, or, when the
    # wrong dW that blocks it is told at the top, as blocked by that check
    told = [f.problem for f in training.failures] + [f.blocked_by for f in training.blocked]
    assert training.score == 0 and told
    assert any("must be learned through a correct weight gradient" in t or t == "backward_dw_values" for t in told)


def test_a_changed_forward_makes_finite_differences_fail_not_pass(tmp_path):
    report = grade(tmp_path, "hostile/constant_forward_for_finite_differences")
    fd = {c.name: c for c in report.checks if c.name.startswith("finite_difference")}
    assert all(c.passed == 0 and c.total > 0 for c in fd.values())
    # a changed forward is forward_output's property: the finite-difference checks are blocked by it
    assert all(f.blocked_by == "forward_output" for c in fd.values() for f in c.blocked) and not any(
        c.failures for c in fd.values())
    assert "forward output (given code) is still correct" in (tmp_path / "out" / "feedback.md").read_text()


def test_a_truncated_reply_is_the_students_failure_not_a_grader_error(tmp_path):
    report = grade(tmp_path, "hostile/truncated_steps_reply")
    assert report.status == "graded" and "internal_errors" not in report.extra
    assert "malformed reply" in (tmp_path / "out" / "feedback.md").read_text()


# ----------------------------------------------------------------- a bounded parent

def test_replies_larger_than_any_correct_answer_are_refused(tmp_path):
    report = grade(tmp_path, "hostile/hoard_grader_memory")
    assert report.status == "graded" and report.score == 0
    assert "more data than any correct answer needs" in (tmp_path / "out" / "feedback.md").read_text()


def test_results_are_dropped_once_used_and_held_bytes_are_capped():
    code = CodeAdapter(sandbox=None, total_cpu_s=60)
    run = CallResults()
    run.put("result", np.zeros(1000))
    code._cached(("col2im", "a"), lambda: run)
    assert code._held == 8000
    code.forget("a")
    assert code._held == 0 and not code._cache
    huge = CallResults()
    huge.put("result", np.zeros(1))
    huge.nbytes = HELD_BYTES_CAP + 1          # as if it held more than the cap
    with pytest.raises(Exception, match="more data than any correct answer needs"):
        code._cached(("col2im", "b"), lambda: huge)["result"]


def test_a_print_flood_stops_the_submission_quickly(tmp_path):
    report = grade(tmp_path, "hostile/output_flood_per_call")
    assert report.status == "graded" and report.score == 0
    feedback = (tmp_path / "out" / "feedback.md").read_text()
    assert "the calls after that were not run" in feedback
    assert len(feedback) < 200_000


# ----------------------------------------------------------------- student text is inert

def _tokens(markdown):
    def walk(tokens):
        for token in tokens:
            yield token
            yield from walk(token.children or [])
    return list(walk(MarkdownIt("commonmark").parse(markdown)))


def test_forged_feedback_renders_as_text(tmp_path):
    report = grade(tmp_path, "hostile/forge_feedback_markdown")
    feedback = (tmp_path / "out" / "feedback.md").read_text()
    tokens = _tokens(feedback)
    h1 = [i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"]
    assert len(h1) == 1, "exactly one score heading, the grader's"
    assert tokens[h1[0] + 1].content == f"Feedback: {report.score:g} / {report.max_score:g} points"
    html = [t.content for t in tokens if t.type in ("html_block", "html_inline")]
    assert set(html) <= {"<sub>", "</sub>"}, f"live HTML from student text: {html}"
    assert not any(t.type == "image" for t in tokens)
    assert "# Feedback: 100 / 100 points" in feedback, "the student's text is shown, as text"
    assert not any(ord(c) < 32 and c not in "\n\t" for c in feedback)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "\x1b" not in json.dumps(results, ensure_ascii=False)


@given(st.text())
def test_a_fence_holds_any_text(text):
    tokens = MarkdownIt("commonmark").parse(fenced(text) + "\n\n# after\n")
    assert [t.type for t in tokens][:1] == ["fence"]
    # trailing newlines are the block's own (the fence adds one); everything before them is kept
    assert tokens[0].content.rstrip("\n") == inert(text).replace("\r", "").rstrip("\n") or "\r" in text
    assert sum(t.type == "heading_open" for t in tokens) == 1


# ----------------------------------------------------------------- untrusted replies, fuzzed

def npy(descr, shape, data=b"", fortran=False):
    body = "{'descr': %r, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    body += " " * (63 - (10 + len(body)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body.encode("latin1") + data


def frame(header_bytes, blobs):
    parts = [protocol.PREFIX.pack(protocol.MAGIC, len(header_bytes), len(blobs))]
    parts += [protocol.BLOB_LEN.pack(len(b)) for b in blobs]
    return b"".join(parts + [header_bytes] + list(blobs))


def decode_all(data, max_bytes=2**20):
    """The decoder's verdict on `data`: a frame, None (incomplete), or ProtocolError; nothing else."""
    decoder = FrameDecoder(max_bytes)
    for start in range(0, len(data), 7):
        decoder.feed(data[start:start + 7])
    return decoder.frame() if decoder.done else None


DESCRS = st.one_of(st.sampled_from(["<f8", "<f4", "<f3", "<f16", "|b1", "<i8", "<c16", "|O", "<U5", "V8",
                                    "<M8[s]", ">f8", "=f8", "f8", "<f99", "", "x"]),
                   st.text(max_size=8))
SHAPES = st.one_of(st.lists(st.integers(-3, 6), max_size=6).map(tuple),
                   st.lists(st.just(1), min_size=60, max_size=80).map(tuple),
                   st.sampled_from(["(", "()", "(2**70,)", "(1e3,)", "'a'", "(None,)", "__import__('os')"]))


@settings(max_examples=300)
@given(DESCRS, SHAPES, st.binary(max_size=64), st.booleans())
def test_npy_headers_give_an_array_or_a_protocol_error(descr, shape, data, fortran):
    try:
        blob = npy(descr, shape, data, fortran)
    except (TypeError, ValueError):
        return
    try:
        array = protocol.npy_to_array(blob)
    except ProtocolError:
        return
    assert isinstance(array, np.ndarray) and array.dtype.kind in protocol.ALLOWED_KINDS


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_give_a_frame_or_a_protocol_error(data):
    try:
        decode_all(data)
    except ProtocolError:
        pass


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=40), st.dictionaries(st.text(max_size=5), st.integers()).map(
    lambda d: json.dumps(d).encode()), st.just(b'{"ok": true, "results": [[[[[[[]]]]]]]}')),
       st.lists(st.tuples(DESCRS, SHAPES, st.binary(max_size=32)), max_size=3), st.integers(0, 3))
def test_structured_frames_give_a_frame_or_a_protocol_error(header, arrays, cut):
    blobs = []
    for descr, shape, data in arrays:
        try:
            blobs.append(npy(descr, shape, data))
        except (TypeError, ValueError):
            pass
    data = frame(header, blobs)
    try:
        decode_all(data[:len(data) - cut] if cut else data)
    except ProtocolError:
        pass


# A request's steps: set, get, call, a call echoing its n array arguments, a call whose result is ignored.
STEP = st.one_of(st.just({"op": "set"}), st.just({"op": "get"}), st.just({"op": "call"}),
                 st.builds(lambda n: {"op": "call", "echo": n}, st.integers(0, 2)),
                 st.just({"op": "call", "ignore": True}))
REF = st.builds(lambda i: {"__array__": i}, st.integers(-1, 4))
VALUE = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**64, 2**64), st.floats(), st.text(max_size=2),
                               REF, st.lists(st.integers(), max_size=2)),
                     lambda inner: st.one_of(st.builds(lambda v: {"__tuple__": v}, st.lists(inner, max_size=3)),
                                             st.dictionaries(st.sampled_from(["__array__", "__tuple__", "x"]), inner,
                                                             max_size=2)), max_leaves=6)
RESULT = st.one_of(st.fixed_dictionaries({"ok": st.just(True), "value": VALUE},
                                         optional={"after": st.one_of(st.lists(VALUE, max_size=3), VALUE)}),
                   st.fixed_dictionaries({"ok": st.just(False), "kind": st.sampled_from(["exception", "bad_reply", "x"]),
                                          "message": st.one_of(st.text(max_size=5), st.integers())}),
                   st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.integers(), st.none())


def _arrays_in(value):
    if isinstance(value, np.ndarray):
        return 1
    return sum(_arrays_in(v) for v in value) if isinstance(value, tuple) else 0


def _plain(value):
    """A result as the protocol allows it: None, bool, int, float, an array, or tuples of them."""
    if isinstance(value, tuple):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (bool, int, float, np.ndarray)


@settings(max_examples=500)
@given(st.lists(STEP, max_size=8), st.one_of(st.lists(RESULT, max_size=9), st.integers(), st.none()),
       st.integers(0, 5), st.booleans())
def test_steps_replies_give_one_entry_per_step_or_a_protocol_error(steps, results, n_arrays, ok):
    arrays = [np.zeros(2) for _ in range(n_arrays)]
    try:
        values = parse_steps_reply(steps, {"ok": ok, "results": results}, arrays)
    except ProtocolError:
        return
    ran_all = len(values) == len(steps)
    assert ran_all or isinstance(values[-1], StepFailure), "a short reply must end with the step that failed"
    assert not any(isinstance(v, StepFailure) for v in values[:-1])
    for step, value in zip(steps, values):
        if isinstance(value, StepFailure):
            continue
        assert _plain(value), value
        if step["op"] == "set" or step.get("ignore"):
            assert value is None
        if "echo" in step:
            assert len(value) == 2 and len(value[1]) == step["echo"]
            assert all(type(a) is np.ndarray for a in value[1])
    # every array of the reply is used by exactly one result, none twice
    used = [id(a) for v in values if not isinstance(v, StepFailure) for a in _flat(v)]
    assert sorted(used) == sorted(id(a) for a in arrays) and len(set(used)) == len(used)


def _flat(value):
    if isinstance(value, np.ndarray):
        return [value]
    return [a for v in value for a in _flat(v)] if isinstance(value, tuple) else []


@settings(max_examples=300)
@given(st.one_of(VALUE, st.none()), st.integers(0, 3), st.booleans())
def test_call_replies_give_a_plain_value_or_a_protocol_error(value, n_arrays, ok):
    from autograder.protocol import parse_call_reply
    arrays = [np.zeros(2) for _ in range(n_arrays)]
    try:
        got = parse_call_reply({"ok": ok, "value": value}, arrays)
    except ProtocolError:
        return
    assert _plain(got) and _arrays_in(got) == n_arrays


def test_a_short_reply_without_a_failure_is_malformed():
    steps = [{"op": "call", "echo": 1}, {"op": "call", "echo": 1}]
    ok = {"ok": True, "value": {"__array__": 0}, "after": [{"__array__": 1}]}
    with pytest.raises(ProtocolError, match="answers 1 of 2"):
        parse_steps_reply(steps, {"ok": True, "results": [ok]}, [np.zeros(1)] * 2)
    values = parse_steps_reply(steps,
                               {"ok": True, "results": [ok, {"ok": False, "kind": "exception", "message": "boom"}]},
                               [np.zeros(1)] * 2)
    assert isinstance(values[-1], StepFailure) and len(values) == 2
