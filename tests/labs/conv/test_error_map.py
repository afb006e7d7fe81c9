"""The map of wrong positions in feedback: it names the bug class, and hidden cases leak no value."""

import json
import re
from types import SimpleNamespace

import itertools

import numpy as np
import pytest

from assignment.interface import READINGS
from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.error_map import Layout, coverage, mask_lines, read_pattern, where_wrong
from autograder.fixtures import fixture_folder, load_fixture_set
from autograder.grading import GradingOptions, grade_submission
from helpers import CONV_LAB

CONFIG = CONV_LAB.config
CATALOGUE, _ = load_catalogue(lab=CONV_LAB)

# (catalogue bug, the check whose feedback must read its class, a word the reading must hold)
BUG_CLASSES = [
    ("bug/crop_end_only", "padding_crop", "the crop"),
    ("bug/overwrite_overlaps", "col2im_overlap_sum", "overlaps must be summed"),
    ("bug/offset_slices_ignore_stride", "col2im_adjoint", "the stride"),   # the check owning window placement
    ("bug/dX_first_image_for_all", "batch_sum", "the batch loop"),
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Each bug of BUG_CLASSES graded for real on the hidden set: (results.json tests by check, feedback.md)."""
    out = {}
    for key, _, _ in BUG_CLASSES:
        folder = tmp_path_factory.mktemp(key.replace("/", "_"))
        grade_submission(CONV_LAB, write_zip(CATALOGUE[key], folder / "sub.zip", lab=CONV_LAB), folder / "out")
        results = json.loads((folder / "out" / "results.json").read_text())
        out[key] = ({t["extra_data"]["check"]: t for t in results["tests"]},
                    (folder / "out" / "feedback.md").read_text(), points_printed(results))
    return out


def points_printed(results):
    """The grade's own points as feedback prints them (`:g`: total, each check's score and maximum).
    They count passed cases, so they say nothing of a case's values; with thousands of expected
    values per hidden case, one of them rounds to a score such as 63.56 about once in 20 seeds."""
    values = [results["score"]] + [t[k] for t in results["tests"] for k in ("score", "max_score")]
    return {f"{v:g}" for v in values}


def readings(output):
    """Each 'reading:' line with its wrapped continuations (indented 4 more), as one line."""
    return [" ".join(r.split()) for r in re.findall(r"^reading: (.*(?:\n    .*)*)$", output, flags=re.M)]


@pytest.mark.parametrize("key,check,words", BUG_CLASSES)
def test_catalogue_bug_map_and_reading_name_its_class(graded, key, check, words):
    tests, feedback, _ = graded[key]
    # the map is under the check on Gradescope, or, when the check tells the root cause, under Start here
    output = tests[check]["output"]
    if "the problem told in Start here" in output:
        assert tests[check]["visibility"] == "visible"
        output = feedback[feedback.index("## Start here"):feedback.index("| check |")]
    assert "where it is wrong (X wrong, . right" in output, output
    assert re.search(r"^  [.X ]*X[.X ]*$", output, flags=re.M), "the map marks no wrong position"
    assert any(words in r for r in readings(output)), f"{key}: no reading names {words!r}:\n{output}"
    # a reading names its own class only: no other class's words
    for other_key, _, other in BUG_CLASSES:
        if other != words:
            assert not any(other in r for r in readings(output)), (key, other, output)


def value_tokens(values):
    """The ways a feedback text could print these numbers: 4 to 8 significant digits (3 would
    match scores such as 3.33), fixed and exponent."""
    tokens = set()
    for v in np.asarray(values, np.float64).ravel():
        if abs(v) < 1e-3:                       # zeros and tiny numbers would match case sizes
            continue
        for digits in range(4, 9):
            tokens |= {f"{v:.{digits}g}", f"{abs(v):.{digits}g}", f"{v:.{digits - 1}e}"}
    return {t for t in tokens if len(t.lstrip("-").replace(".", "")) >= 4}


def printed_values(text, values, besides=frozenset()):
    """The tokens of `values` that occur in text as whole numbers (not inside a longer number),
    other than the tokens `besides` (numbers the text prints for another reason)."""
    numbers = set(re.findall(r"-?\d+\.?\d*(?:e[+-]\d+)?", text)) - set(besides)
    return value_tokens(values) & numbers


def messages_by_case(outputs):
    """{case description: text of every failure message about that case} from check outputs
    (a message starts with '- [description]' and runs until the next one or the hint)."""
    found = {}
    for output in outputs:
        for block in re.split(r"^(?=- \[|Hint: )", output, flags=re.M):
            described = re.match(r"- \[([^\]]*)\]", block)
            if described:
                found[described.group(1)] = found.get(described.group(1), "") + block
    return found


@pytest.mark.parametrize("key", [k for k, _, _ in BUG_CLASSES])
def test_hidden_feedback_holds_no_expected_value(graded, key):
    """Everything the student reads (every check's output and feedback.md), searched for the expected
    answers of every case the bug fails or blocks. Numbers are printed with 2 significant digits
    (error sizes) or as counts, so a 4-digit token of an expected value never matches by chance;
    the points, which can print 4 digits, are set aside (test_points_are_set_aside_and_nothing_else)."""
    tests, feedback, points = graded[key]
    hidden = load_fixture_set(fixture_folder("hidden", CONV_LAB.fixtures_root), CONFIG.hidden_seed, lab=CONV_LAB)
    text = "\n".join(t["output"] for t in tests.values()) + "\n" + feedback
    failing = {f["case"] for t in tests.values() for f in t["extra_data"]["failures"] + t["extra_data"]["blocked"]}
    searched = 0
    for case in hidden.cases:
        if case.describe() not in failing:
            continue
        for name in ("expected", "dX", "dW", "y"):
            if name in case.arrays:
                leaked = printed_values(text, case.array(name), besides=points)
                assert not leaked, f"{key}: feedback prints {sorted(leaked)[:5]} from {case.id}'s {name}"
                searched += 1
    assert searched >= 4, f"{key}: only {searched} expected arrays searched"
    assert "where it is wrong (X wrong" in feedback and not re.search(r"^at \[", feedback, flags=re.M)


def test_points_are_set_aside_and_nothing_else():
    """A clean-clone run drew a hidden seed with a dW value of 63.5577, and the grade was 63.56: the
    search reported the score as a leak. Points are set aside; any other printed value is still found."""
    results = {"score": 63.56, "tests": [{"score": 2.86, "max_score": 10}, {"score": 0.7, "max_score": 4}]}
    text = "# Feedback: 63.56 / 100 points\n| backward dX values | 2.86 / 10 |\n"
    values = np.array([63.5577, -12.3456])
    assert printed_values(text, values) == {"63.56"}            # what the old search reported
    assert printed_values(text, values, besides=points_printed(results)) == set()
    assert printed_values(text + "at [0, 1]: expected -12.35\n", values,
                          besides=points_printed(results)) == {"-12.35"}


def test_public_cases_show_values_and_the_search_finds_them(tmp_path):
    """Public fixtures are in the handout: their maps may print expected values and signs. This also
    shows that the search of the test above finds printed values."""
    folder = fixture_folder("public", CONV_LAB.fixtures_root)
    public = load_fixture_set(folder, CONFIG.public_seed, "public", lab=CONV_LAB)
    grade_submission(CONV_LAB, write_zip(CATALOGUE["bug/overwrite_overlaps"], tmp_path / "sub.zip", lab=CONV_LAB),
                     tmp_path / "out", GradingOptions(which="public"))
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    tests = {t["extra_data"]["check"]: t for t in results["tests"]}
    output = tests["col2im_overlap_sum"]["output"]
    assert "(+ too high, - too low, X some of each, . right" in output and "expected " in output, output
    case = next(c for c in public.cases if "col2im_overlap_sum" in c.checks)
    assert printed_values(output, case.array("expected"))


# --- the map and its reading on arrays made by hand ----------------------------------------

class HandMadeCase(SimpleNamespace):
    """What error_map reads of a fixtures.Case: kind, params, its named arrays, its lab; no folder (hidden)."""
    folder = None
    lab = CONV_LAB

    def array(self, name):
        return self.named[name]

    @property
    def arrays(self):
        return tuple(self.named)


def col2im_case(expected, kH, kW, s):
    C, H, W = expected.shape
    return HandMadeCase(kind="col2im", params=dict(C=C, H=H, W=W, kH=kH, kW=kW, stride=s),
                        named={"expected": expected})


def layer_case(dX, C_out, k, s, p):
    N, C_in, H, W = dX.shape
    return HandMadeCase(kind="layer", named={"dX": dX}, params=dict(
        N=N, C_in=C_in, C_out=C_out, H=H, W=W, kernel_size=list(k), stride=s, padding=p))


def test_map_draws_one_character_per_pixel_and_one_panel_per_channel():
    wrong = np.zeros((2, 3, 4), bool)
    wrong[1, 0, 2] = True
    lines, note = mask_lines(wrong)
    assert lines == ["[0]   [1]", "....  ..X.", "....  ....", "....  ...."] and note == ""


def test_large_grids_are_drawn_in_blocks():
    wrong = np.zeros((100, 60), bool)
    wrong[99, 0] = True
    lines, note = mask_lines(wrong)
    assert len(lines) == 20 and lines[-1] == "X" + "." * 11 and "5x5 block" in note


def test_hidden_case_map_shows_no_value():
    expected = np.arange(25, dtype=float).reshape(1, 5, 5) + 0.123456
    case = col2im_case(expected, 3, 3, 1)
    actual = expected.copy()
    actual[0, 2, 2] += 1
    text = where_wrong(actual, expected, actual == expected, case)
    assert "X" in text and not re.search(r"\d\.\d", text), text


@pytest.mark.parametrize("shape,pick,words", [
    ((1, 5, 5, 3, 3, 1), lambda count: count >= 2, "overlaps must be summed"),      # overlaps
    ((1, 7, 7, 1, 1, 3), lambda count: count == 0, "the stride"),                   # gaps, stride > kernel
    ((1, 6, 6, 3, 3, 2), lambda count: count == 0, "the stride"),                   # the uncovered tail
])
def test_reading_of_col2im_masks(shape, pick, words):
    C, H, W, kH, kW, s = shape
    wrong = np.broadcast_to(pick(coverage(H, W, kH, kW, s)), (C, H, W))
    layout = Layout("channel", coverage(H, W, kH, kW, s), meanings=READINGS)
    assert words in read_pattern(wrong, layout)


def test_reading_of_every_second_column():
    wrong = np.zeros((1, 6, 6), bool)
    wrong[:, :, 1::2] = True
    assert "every second column" in read_pattern(wrong, Layout("channel", np.ones((6, 6), int)))


def test_reading_of_a_wrong_border_and_a_shift_is_the_crop():
    layout = Layout("image", np.full((6, 6), 4), batch=True, padding=1, meanings=READINGS)
    wrong = np.zeros((2, 1, 6, 6), bool)
    wrong[:, :, 0, :] = wrong[:, :, :, -1] = True
    assert "the crop" in read_pattern(wrong, layout)
    rng = np.random.default_rng(0)
    padded = rng.standard_normal((2, 1, 8, 8))              # dX_pad; the answer is its middle 6x6
    expected, actual = padded[:, :, 1:7, 1:7], padded[:, :, :6, :6]
    case = layer_case(expected, C_out=1, k=(3, 3), s=1, p=1)
    text = where_wrong(actual, expected, np.isclose(actual, expected), case, np.isclose)
    assert "moved 1 row down and 1 column right: the crop" in text, text


def test_reading_of_one_wrong_image_is_the_batch_loop():
    wrong = np.zeros((3, 2, 4, 4), bool)
    wrong[1] = True
    reading = read_pattern(wrong, Layout("image", np.ones((4, 4), int), batch=True, meanings=READINGS))
    assert reading.startswith("only image 1 (of images 0 to 2) is wrong") and "the batch loop" in reading


def test_no_reading_when_no_pattern_fits():
    wrong = np.zeros((1, 5, 5), bool)
    wrong[0, 0, 0] = wrong[0, 2, 2] = True
    assert read_pattern(wrong, Layout("channel", coverage(5, 5, 2, 2, 1))) == ""


def test_forward_output_of_dX_shape_gets_no_dX_reading():
    """y and dX can have the same shape; the map reads y as y (no crop or overlap reading)."""
    rng = np.random.default_rng(1)
    y = rng.standard_normal((2, 1, 6, 6))
    case = layer_case(rng.standard_normal((2, 1, 6, 6)), C_out=1, k=(3, 3), s=1, p=1)
    case.named["y"] = y
    actual = np.zeros((2, 1, 8, 8))
    actual[:, :, 1:7, 1:7] = y
    actual = actual[:, :, :6, :6]                            # y moved like a bad crop
    text = where_wrong(actual, y, np.isclose(actual, y), case, np.isclose)
    assert "the crop" not in text and "one panel per image" in text


def test_coverage_counts_every_window_as_a_loop_over_windows_does():
    # coverage() adds one kernel offset of all windows at a time; a loop over windows is the definition.
    for H, W, kH, kW, s in itertools.product(range(1, 8), range(1, 8), range(1, 5), range(1, 5), range(1, 4)):
        count = np.zeros((H, W), int)
        for i in range(0, H - kH + 1, s):
            for j in range(0, W - kW + 1, s):
                count[i:i + kH, j:j + kW] += 1
        assert np.array_equal(coverage(H, W, kH, kW, s), count), (H, W, kH, kW, s)
    assert not coverage(5, 5, 3, 3, 1).flags.writeable       # cached: no caller may change it


def test_tolerance_bounds_are_reused_only_for_arrays_nothing_can_change():
    from autograder.compare import tolerance_ok
    tol = SimpleNamespace(atol=1e-9, rtol=1e-7)
    expected = np.linspace(1.0, 2.0, 12)
    expected.setflags(write=False)
    close = expected * (1 + 5e-8)
    assert tolerance_ok(close, expected, tol).all()
    assert not tolerance_ok(close, expected, SimpleNamespace(atol=1e-9, rtol=1e-9)).any()   # a bound per tolerance
    changing = np.linspace(1.0, 2.0, 12)                         # writeable: its bound is computed anew
    assert tolerance_ok(close, changing, tol).all()
    changing *= 10
    assert not tolerance_ok(close, changing, tol).any()
    base = np.linspace(1.0, 2.0, 12)
    view = base[:]
    view.setflags(write=False)                                   # read-only, but its base can change
    assert tolerance_ok(close, view, tol).all()
    base *= 10
    assert not tolerance_ok(close, view, tol).any()
