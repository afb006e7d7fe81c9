"""autograder/error_map.py on hand-made masks, with no lab (the default layout) or a Layout made here:
which sets may show values, the drawn map (signs, panels, blocks), the reading of a pattern, and the
whole text under a failing check. (tests/labs/conv/test_error_map.py reads the conv lab's own layouts and the
catalogue's bugs.)"""

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from autograder.error_map import (EVERYWHERE, MAX_PANELS, MAX_VALUE_LINES, NO_PATTERN, Layout, coverage, draw,
                                  layout_for, mask_lines, read_pattern, values_may_be_shown, where_wrong)


def fixture_folder(tmp_path, name, manifest):
    folder = tmp_path / name
    folder.mkdir()
    if manifest is not None:
        (folder / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    return folder


@pytest.mark.parametrize("manifest, shown", [
    ({"which": "public"}, True),
    ({"which": "hidden"}, False),
    ({}, False),
    (None, False),                       # no manifest: treated as hidden
    ("{not json", False),
    ('["public"]', False),
])
def test_only_a_set_whose_manifest_says_public_may_show_values(tmp_path, manifest, shown):
    case = SimpleNamespace(folder=fixture_folder(tmp_path, "set", manifest))
    assert values_may_be_shown(case) is shown


def test_a_case_without_a_folder_is_hidden():
    assert not values_may_be_shown(SimpleNamespace(folder=None))
    assert not values_may_be_shown(object())


def test_the_default_layout_draws_panels_along_axis_0():
    assert layout_for(SimpleNamespace(lab=None), np.zeros((2, 3, 3))).panel_noun == "channel"
    assert layout_for(SimpleNamespace(lab=None), np.zeros((2, 2, 3, 3))).panel_noun == "slice"
    own = Layout("filter")
    lab = SimpleNamespace(error_layout=lambda case, expected: own)
    assert layout_for(SimpleNamespace(lab=lab), np.zeros(3)) is own


def test_draw_puts_panels_side_by_side_under_their_labels():
    assert draw([["X.", ".."], ["..", ".X", ".."]], ["[0]", "[1]"]) == ["[0]  [1]", "X.   ..", "..   .X", "     .."]
    assert draw([["X"]], [""]) == ["X"]


def test_signed_marks_and_some_of_each_when_channels_are_folded():
    wrong = np.zeros((1, 2, 2, 3), bool)            # one image, two channels folded into one panel
    high = np.zeros_like(wrong)
    wrong[0, 0, 0, 0] = high[0, 0, 0, 0] = True     # too high
    wrong[0, 0, 1, 1] = True                        # too low
    wrong[0, :, 0, 2] = True                        # too high in one channel, too low in the other
    high[0, 0, 0, 2] = True
    lines, note = mask_lines(wrong, high)
    assert lines == ["[0]", "+.X", ".-."] and note == ""


def test_panels_past_the_limit_are_counted_not_drawn():
    wrong = np.zeros((MAX_PANELS + 3, 2, 2), bool)
    wrong[MAX_PANELS + 1, 0, 0] = True
    lines, note = mask_lines(wrong)
    assert lines[0].split() == [f"[{k}]" for k in range(MAX_PANELS)]
    assert note == "3 more panels not drawn, 1 of them with wrong values"


def test_one_and_two_dimensional_masks_are_one_panel():
    assert mask_lines(np.array([True, False, True]))[0] == ["X.X"]
    assert mask_lines(np.array(True))[0] == ["X"]


# --- reading the pattern ----------------------------------------------------------------------------

def test_nothing_wrong_reads_nothing():
    assert read_pattern(np.zeros((1, 4, 4), bool), Layout("channel", np.ones((4, 4), int))) == ""


def test_wrong_everywhere_blames_no_place():
    assert read_pattern(np.ones((2, 3), bool), Layout("slice")) == EVERYWHERE
    assert read_pattern(np.ones((1, 4, 4), bool), Layout("channel", np.full((4, 4), 2))) == EVERYWHERE


def test_without_a_window_count_a_partial_mask_reads_nothing():
    wrong = np.zeros((2, 5), bool)
    wrong[0, 1] = True
    assert read_pattern(wrong, Layout("slice")) == ""


def test_every_third_row_is_the_stride():
    wrong = np.zeros((1, 9, 4), bool)
    wrong[:, 2::3, :] = True
    assert read_pattern(wrong, Layout("channel", np.ones((9, 4), int))).startswith("wrong in every third row only")


def test_pixels_no_window_covers_are_the_stride_before_any_other_reading():
    count = coverage(5, 5, 2, 2, 3)                 # windows at 0 and 3: row and column 2 uncovered
    assert (count == 0).any()
    wrong = np.broadcast_to(count == 0, (1, 5, 5)).copy()
    wrong[0, 0, 0] = True
    assert "pixels that no window covers are wrong" in read_pattern(wrong, Layout("channel", count))


def test_several_wrong_images_of_a_batch_are_named():
    wrong = np.zeros((4, 1, 3, 3), bool)
    wrong[[0, 2]] = True
    reading = read_pattern(wrong, Layout("image", np.ones((3, 3), int), batch=True))
    assert reading.startswith("only images 0, 2 (of images 0 to 3) are wrong, the other images are right")


def test_every_image_wrong_is_no_batch_reading():
    wrong = np.ones((2, 1, 3, 3), bool)
    assert "batch" not in read_pattern(wrong, Layout("image", np.ones((3, 3), int), batch=True))


def test_a_shift_up_and_left_is_named_as_such():
    rng = np.random.default_rng(2)
    padded = rng.standard_normal((1, 1, 9, 9))
    expected, actual = padded[:, :, 2:7, 2:7], padded[:, :, 4:9, 3:8]     # 2 rows down, 1 column right
    layout = Layout("image", np.ones((5, 5), int), batch=True, padding=2, meanings={"shift": "the crop"})
    reading = read_pattern(~np.isclose(actual, expected), layout, actual, expected, np.isclose)
    assert "the right values moved 2 rows up and 1 column left: the crop" in reading


def test_what_a_pattern_means_is_the_labs_word_else_the_fact_alone():
    wrong = np.zeros((3, 1, 3, 3), bool)
    wrong[1] = True
    fact = "only image 1 (of images 0 to 2) is wrong, the other images are right"
    assert read_pattern(wrong, Layout("image", np.ones((3, 3), int), batch=True)) == fact
    told = Layout("image", np.ones((3, 3), int), batch=True, meanings={"batch": "the loop over n"})
    assert read_pattern(wrong, told) == f"{fact}: the loop over n"
    with pytest.raises(ValueError, match="unknown pattern 'crop'"):
        Layout("image", meanings={"crop": "the crop"})


# --- the whole text ------------------------------------------------------------------------------------

def public_case(tmp_path):
    return SimpleNamespace(folder=fixture_folder(tmp_path, "public", {"which": "public"}), lab=None)


def test_a_public_case_shows_signs_and_the_worst_values_first(tmp_path):
    expected = np.arange(12, dtype=float).reshape(3, 4) / 4
    actual = expected.copy()
    actual[0, 1] += 0.5
    actual[2, 3] -= 3.0
    actual[1, 0] += 0.25
    text = where_wrong(actual, expected, np.isclose(actual, expected), public_case(tmp_path))
    lines = text.split("\n")
    assert lines[0] == "where it is wrong (+ too high, - too low, X some of each, . right):"
    assert lines[1:4] == ["  .+..", "  +...", "  ...-"]
    values = [line for line in lines if line.startswith("at [")]
    assert values[0] == "at [2, 3]: expected 2.75, got -0.25 (error -3)"
    assert values[1:] == ["at [0, 1]: expected 0.25, got 0.75 (error +0.5)",
                          "at [1, 0]: expected 1, got 1.25 (error +0.25)"]
    assert len(values) <= MAX_VALUE_LINES


def test_a_hidden_case_shows_the_mask_only(tmp_path):
    expected = np.arange(12, dtype=float).reshape(3, 4) / 7
    actual = expected.copy()
    actual[0, 1] += 0.5
    case = SimpleNamespace(folder=fixture_folder(tmp_path, "hidden", {"which": "hidden"}), lab=None)
    text = where_wrong(actual, expected, np.isclose(actual, expected), case)
    assert text.split("\n")[:2] == ["where it is wrong (X wrong, . right):", "  .X.."]
    assert "expected" not in text and not re.search(r"\d\.\d", text)
    assert text.endswith(f"reading: {NO_PATTERN}")


def test_the_legend_says_what_a_panel_is_and_when_channels_are_folded():
    ok = np.ones((2, 3, 4, 4), bool)
    ok[1, 2, 0, 0] = False
    case = SimpleNamespace(folder=None, lab=SimpleNamespace(error_layout=lambda c, e: Layout("image")))
    text = where_wrong(np.zeros((2, 3, 4, 4)), np.zeros((2, 3, 4, 4)), ok, case)
    assert "; one panel per image, a pixel marked if it is wrong in any channel):" in text.split("\n")[0]


def test_a_large_grid_says_it_is_drawn_in_blocks_and_drops_the_signs(tmp_path):
    expected = np.zeros((60, 60))
    actual = expected.copy()
    actual[0, 0] = 1.0
    text = where_wrong(actual, expected, actual == expected, public_case(tmp_path))
    assert "one character per 3x3 block of pixels" in text.split("\n")[0]
    assert "\n  X" + "." * 19 + "\n" in text
