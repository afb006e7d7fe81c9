"""Student-reachable text made safe to show: no control characters, and Markdown that only the
grader writes (a code block nothing inside can close, a paragraph only when plainly inert)."""

import re
import unicodedata

PLAIN_TEXT = re.compile(r"[A-Za-z0-9 .,:;()'/=+-]*")     # safe to show outside a code block


def inert(text):
    """Student-reachable text without control or format characters (terminal escapes,
    bidi overrides); newlines and tabs stay."""
    return "".join(c for c in str(text)
                   if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))


def fenced(text):
    """A Markdown code block holding `text` literally: its fence is longer than any run of
    backticks inside, so nothing in it can close the block, and nothing in a code block
    is a heading, a link, an image, a tag or a comment."""
    text = inert(text)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


def clipped(text, limit):
    """Inert text of at most about `limit` characters: its head, and a line saying how much was cut
    (cut before it is made inert, so a huge text costs no more than its head)."""
    text = str(text)
    if len(text) <= limit:
        return inert(text)
    keep = max(0, limit - 60)
    return f"{inert(text[:keep])}\n... [{len(text) - keep} more characters cut]"


def paragraph(text):
    """Text as a Markdown paragraph when it is plainly inert, else as a code block."""
    text = inert(text)
    return text if PLAIN_TEXT.fullmatch(text) else fenced(text)
