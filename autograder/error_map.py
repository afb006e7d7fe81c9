"""Where a student's array is wrong, drawn as plain text, and what that pattern suggests.

For windowed operations the place is the diagnosis: wrong pixels where windows
overlap, wrong pixels that no window covers, one wrong image in a batch, the right
values one pixel off. The lab says how its arrays are laid out and what each of these
patterns means in its own terms (its `error_layout`, a Layout with `meanings`).
`where_wrong` draws the mask of wrong positions (one character per pixel, or per
block for large arrays) and adds one line reading its pattern. It is plain text, so
it reads the same in Gradescope, a terminal, feedback.md and a notebook.

What a student may see depends on the fixture set, not on the check: a case from
the public set (shipped in the handout) may show signed errors and expected values;
a case from the hidden set shows only the mask (right / wrong per position), never a
value, so nothing of a hidden answer leaks. Anything not recognisably public is
treated as hidden.
"""
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

MAX_SIDE = 24           # a grid side drawn one character per pixel; larger sides get one per block
MAX_PANELS = 4          # images (or channels) drawn side by side (a map stays about 100 characters wide); the rest are counted
MAX_VALUE_LINES = 3     # public cases: wrong positions listed with their values
RIGHT, WRONG, TOO_HIGH, TOO_LOW = ".", "X", "+", "-"
EVERYWHERE = "wrong everywhere, so no single place is to blame: see the likely bug or the hint above"
NO_PATTERN = "no known pattern fits these positions"
# The patterns read_pattern recognises, by the key a Layout's `meanings` gives each one's lab-specific sense.
PATTERNS = ("batch", "shift", "uncovered", "border", "overlaps", "period")


@lru_cache(maxsize=8)
def _set_is_public(folder):
    """True only when the fixture set's manifest says it is the public set."""
    try:
        return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8")).get("which") == "public"
    except (OSError, ValueError, AttributeError):
        return False


def values_may_be_shown(case):
    """Whether feedback on this case may print expected values: only for public fixture cases."""
    folder = getattr(case, "folder", None)
    return folder is not None and _set_is_public(str(folder))


@lru_cache(maxsize=64)
def coverage(H, W, kH, kW, stride):
    """(H, W) int array, read-only: how many (kH, kW) windows at multiples of `stride` contain
    each pixel. Cached: a batch draws the same few geometries for every failing case."""
    count = np.zeros((H, W), int)
    H_out, W_out = max(0, (H - kH) // stride + 1), max(0, (W - kW) // stride + 1)
    for ki in range(kH):               # offset (ki, kj) of every window at once
        for kj in range(kW):
            count[ki:ki + stride * H_out:stride, kj:kj + stride * W_out:stride] += 1
    count.flags.writeable = False
    return count


class Layout:
    """How to draw and read one compared array: which axis makes the panels, for
    image-shaped arrays how many windows cover each pixel of the grid, and what each
    pattern of PATTERNS means in the lab's terms (`meanings`: {pattern: likely cause},
    e.g. "overlaps": "overlaps must be summed (+=)"); a pattern with no meaning is
    reported as the fact alone."""

    def __init__(self, panel_noun, count=None, batch=False, padding=0, meanings=None):
        self.panel_noun = panel_noun    # what one panel is: 'image', 'channel', 'filter'
        self.count = count              # (H, W) window counts of the drawn grid, or None
        self.batch = batch              # axis 0 is the batch: some images right, others wrong
        self.padding = padding
        self.meanings = dict(meanings or {})
        unknown = set(self.meanings) - set(PATTERNS)
        if unknown:
            raise ValueError(f"Layout meanings: unknown pattern {sorted(unknown)[0]!r} (the patterns: {PATTERNS})")

    def reading(self, pattern, fact):
        """The fact, followed by what it means in this lab when the lab says."""
        meaning = self.meanings.get(pattern)
        return f"{fact}: {meaning}" if meaning else fact


def layout_for(case, expected):
    """The Layout of the array compared with `expected` on `case`: the lab's error_layout
    when it has one (it knows its arrays' geometry), else panels along axis 0."""
    lab = getattr(case, "lab", None)
    layout = lab.error_layout(case, expected) if lab is not None else None
    return layout or Layout("channel" if expected.ndim == 3 else "slice")


def _panels(mask):
    """mask of any shape -> (list of 2-D panels, labels): axis 0 makes the panels, the axes
    between it and the last two are folded in (a pixel is marked if any of them is)."""
    if mask.ndim == 0:
        mask = mask.reshape(1, 1)
    if mask.ndim == 1:
        mask = mask.reshape(1, -1)
    if mask.ndim == 2:
        return [mask], [""]
    folded = mask.reshape(mask.shape[0], -1, *mask.shape[-2:]).any(axis=1) if mask.ndim > 3 else mask
    return list(folded), [f"[{k}]" for k in range(mask.shape[0])]


def _block(panel):
    """A grid whose sides are at most MAX_SIDE: each cell is True if any pixel of its block is."""
    rows, cols = panel.shape
    step = max(1, -(-rows // MAX_SIDE), -(-cols // MAX_SIDE))
    if step == 1:
        return panel, 1
    padded = np.zeros((-(-rows // step) * step, -(-cols // step) * step), panel.dtype)
    padded[:rows, :cols] = panel
    return padded.reshape(padded.shape[0] // step, step, padded.shape[1] // step, step).any(axis=(1, 3)), step


def draw(chars_per_panel, labels):
    """Panels of equal-length strings, side by side under their labels."""
    width = max([len(row) for panel in chars_per_panel for row in panel] + [len(label) for label in labels])
    lines = ["  ".join(label.ljust(width) for label in labels).rstrip()] if any(labels) else []
    for r in range(max(len(panel) for panel in chars_per_panel)):
        lines.append("  ".join((panel[r] if r < len(panel) else "").ljust(width)
                               for panel in chars_per_panel).rstrip())
    return lines


def mask_lines(wrong, too_high=None):
    """The text map of a boolean array `wrong`. With `too_high` (boolean, public cases only)
    a wrong cell shows + (too high), - (too low) or X (some of each: channels or blocks).
    Returns (lines, note about blocks or panels not drawn)."""
    panels, labels = _panels(wrong)
    if too_high is not None:
        highs, lows = _panels(wrong & too_high)[0], _panels(wrong & ~too_high)[0]
    else:
        highs = lows = [None] * len(panels)
    note = ""
    if len(panels) > MAX_PANELS:
        rest = sum(bool(p.any()) for p in panels[MAX_PANELS:])
        note = f"{len(panels) - MAX_PANELS} more panels not drawn, {rest} of them with wrong values"
        panels, labels = panels[:MAX_PANELS], labels[:MAX_PANELS]
    drawn = []
    for panel, high, low in zip(panels, highs, lows):
        grid, step = _block(panel)
        if step > 1:
            note = f"one character per {step}x{step} block of pixels"
            high = None
        if high is None:
            drawn.append(["".join(WRONG if v else RIGHT for v in row) for row in grid])
        else:
            signed = np.where(high & low, WRONG, np.where(high, TOO_HIGH, np.where(low, TOO_LOW, RIGHT)))
            drawn.append(["".join(row) for row in signed])
    return draw(drawn, labels), note


# --- reading the pattern -------------------------------------------------------------

def _pixels(wrong, layout):
    """(H, W) mask of pixels wrong in any image / channel, when the array is image-shaped."""
    if layout.count is None or wrong.ndim < 2 or wrong.shape[-2:] != layout.count.shape:
        return None
    return wrong.reshape(-1, *wrong.shape[-2:]).any(axis=0)


def _periodic(flags):
    """The period q >= 2 of a 1-D on/off pattern that has both on and off entries, else 0."""
    if flags.all() or not flags.any():
        return 0
    for q in range(2, len(flags) // 2 + 1):
        if np.array_equal(flags[:-q], flags[q:]):
            return q
    return 0


def _shift(actual, expected, close, padding):
    """(dy, dx) with actual[..., y + dy, x + dx] == expected[..., y, x] on their overlap, or None."""
    H, W = expected.shape[-2:]
    for dy in range(-padding, padding + 1):
        for dx in range(-padding, padding + 1):
            if (dy, dx) == (0, 0) or abs(dy) >= H or abs(dx) >= W:
                continue
            a = actual[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)]
            e = expected[..., max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
            if e.size and np.any(e) and np.all(close(a, e)):
                return dy, dx
    return None


def _moved(dy, dx):
    """(1, 1) -> '1 row down and 1 column right'."""
    parts = [f"{abs(d)} {noun}{'s' if abs(d) > 1 else ''} {back if d < 0 else ahead}"
             for d, noun, back, ahead in ((dy, "row", "up", "down"), (dx, "column", "left", "right")) if d]
    return " and ".join(parts)


def _which(indices, total):
    """[1] of 3 -> 'image 1 (of images 0 to 2) is'; [1, 2] -> 'images 1, 2 (of images 0 to 2) are'."""
    names = ", ".join(str(int(k)) for k in indices)
    many = len(indices) > 1
    return f"image{'s' if many else ''} {names} (of images 0 to {total - 1}) {'are' if many else 'is'}"


def read_pattern(wrong, layout, actual=None, expected=None, close=None):
    """One line saying what the mask of wrong positions suggests, or '' if no known pattern fits.

    wrong: boolean array, True where the student's value is off. actual, expected and
    close(a, e) -> boolean array are used only to spot a shifted (mis-cropped) answer.
    """
    if not wrong.any():
        return ""
    if layout.batch and wrong.ndim >= 3 and wrong.shape[0] > 1:
        per_image = wrong.reshape(wrong.shape[0], -1).any(axis=1)
        if not per_image.all():
            bad = np.flatnonzero(per_image)
            return layout.reading("batch", f"only {_which(bad, wrong.shape[0])} wrong, the other images are right")
    if layout.padding and close is not None and wrong.all():
        shift = _shift(actual, expected, close, layout.padding)
        if shift:
            return layout.reading("shift", f"every value is wrong, but they are the right values moved "
                                           f"{_moved(*shift)}")
    pixels = _pixels(wrong, layout)
    if pixels is None:
        return EVERYWHERE if wrong.all() else ""
    count = layout.count
    if (pixels & (count == 0)).any():
        return layout.reading("uncovered", "pixels that no window covers are wrong")
    if layout.padding:
        p = layout.padding
        border = np.ones_like(pixels)
        border[p:-p, p:-p] = False
        if border.any() and not border.all() and not (pixels & ~border).any():
            return layout.reading("border", f"only the border ({p} pixel{'s' if p > 1 else ''} wide) is wrong")
    if not (pixels & (count < 2)).any() and (count == 1).any():
        return layout.reading("overlaps", "only pixels that several windows cover are wrong, pixels in one "
                                          "window are right")
    for axis, noun in ((0, "column"), (1, "row")):
        q = _periodic(pixels.any(axis=axis))
        if q:
            nth = {2: "second", 3: "third"}.get(q, f"{q}th")
            return layout.reading("period", f"wrong in every {nth} {noun} only")
    if pixels.all():
        return EVERYWHERE
    return ""


# --- the whole text ------------------------------------------------------------------

def where_wrong(actual, expected, ok, case, close=None):
    """The map and its reading, as lines to put under a failing value check's message.

    actual, expected: arrays of the same shape; ok: boolean array, True where within
    tolerance; case: the fixtures.Case (its params give the geometry, its fixture set
    decides whether values may be shown); close(a, e): the tolerance test, element-wise.
    """
    wrong = ~np.asarray(ok, bool)
    layout = layout_for(case, expected)
    public = values_may_be_shown(case)
    error = actual.astype(np.float64) - expected
    lines, note = mask_lines(wrong, error > 0 if public else None)
    noun = layout.panel_noun
    panels = ""
    if wrong.ndim >= 3:
        folded = ", a pixel marked if it is wrong in any channel" if wrong.ndim > 3 else ""
        panels = f"; one panel per {noun}{folded}"
    marks = f"{TOO_HIGH} too high, {TOO_LOW} too low, {WRONG} some of each" if public else f"{WRONG} wrong"
    legend = f"where it is wrong ({marks}, {RIGHT} right{panels}" + (f"; {note}" if note else "") + "):"

    text = [legend, *("  " + line for line in lines)]
    reading = read_pattern(wrong, layout, actual, expected, close) or NO_PATTERN
    text.append(f"reading: {reading}")
    if public:
        worst = np.unravel_index(int(np.argmax(np.where(wrong, np.abs(error), -1))), error.shape)
        others = [tuple(i) for i in np.argwhere(wrong)[:MAX_VALUE_LINES] if tuple(i) != worst]
        for index in [worst, *others][:MAX_VALUE_LINES]:
            where = ", ".join(str(int(i)) for i in index)
            text.append(f"at [{where}]: expected {float(expected[index]):.6g}, got {float(actual[index]):.6g} "
                        f"(error {float(error[index]):+.3g})")
    return "\n".join(text)
