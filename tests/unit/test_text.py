"""autograder/text.py: student-reachable text made inert, fenced so nothing inside can close the block,
clipped with a count of what was cut, and a paragraph only when plainly inert."""

import re

import pytest

from autograder.text import clipped, fenced, inert, paragraph


def fence_of(block):
    """The opening fence of a code block fenced() wrote, and its body lines."""
    first, *body, last = block.split("\n")
    fence = re.match(r"`+", first)[0]
    assert first == fence + "text" and last == fence, block
    return fence, body


def test_inert_drops_control_and_format_characters_and_keeps_layout_and_letters():
    text = "a\x1b[31mred\x00\x07 \u202eevil\u200b é 中\n\tnext\r"
    assert inert(text) == "a[31mred evil é 中\n\tnext"


def test_inert_accepts_any_object():
    assert inert(ValueError("x\x1by")) == "xy"


@pytest.mark.parametrize("text", ["plain", "```", "a ```` b\n`````", "`" * 12, "```\n# heading\n```"])
def test_the_fence_is_longer_than_any_backtick_run_inside(text):
    fence, body = fence_of(fenced(text))
    assert len(fence) >= 3
    longest = max((len(r) for r in re.findall(r"`+", text)), default=0)
    assert len(fence) > longest
    assert "\n".join(body) == text             # held literally


def test_fenced_text_is_made_inert_first():
    _, body = fence_of(fenced("x\x1b[2Jy\u202e"))
    assert body == ["x[2Jy"]


def test_clipped_keeps_short_text_whole_but_inert():
    assert clipped("short\x1b", 100) == "short"


def test_clipped_cuts_long_text_and_says_how_much():
    text = "abcdefghij" * 100                     # 1000 characters
    out = clipped(text, 200)
    head, note = out.split("\n")
    assert text.startswith(head) and len(head) == 200 - 60
    assert note == f"... [{1000 - len(head)} more characters cut]"
    assert len(out) <= 200 + 10


def test_clipped_cuts_before_making_inert():
    text = "\x1b" * 10 + "y" * 1000               # the escapes count towards the head, then go
    head = clipped(text, 100).split("\n")[0]
    assert head == "y" * 30


@pytest.mark.parametrize("text", ["Passed 3 of 5 case(s).", "dX: 2 of 9 values are wrong (rtol 1e-07, atol=1e-09)"])
def test_plain_text_is_a_paragraph(text):
    assert paragraph(text) == text


@pytest.mark.parametrize("text", ["# heading", "**bold**", "<script>", "[link](http://x)", "a_b", "line\nbreak",
                                  "`code`", "| table |"])
def test_anything_markdown_could_read_goes_in_a_code_block(text):
    out = paragraph(text)
    fence, body = fence_of(out)
    assert "\n".join(body) == text
