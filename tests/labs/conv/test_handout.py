"""The handout agrees with the config (points, tolerances), with the real window coverage and with its figures."""

import ast
import re

import numpy as np

from assignment import make_figures
from autograder.fixtures import fixture_folder, load_fixture_set
from helpers import CONV_LAB, REPO, TEMPLATE
from reference.oracle import coverage

CONFIG = CONV_LAB.config


def graded_table():
    text = (REPO / "assignment" / "README.md").read_text()
    section = text.split("## 6. What is graded", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1] and not cells[1].startswith(("check", "---", "**")):
            rows[cells[1]] = cells
    return section, rows


def test_every_check_is_in_the_handout_with_its_points_and_visibility():
    section, rows = graded_table()
    assert set(rows) == {spec.title for spec in CONFIG.checks.values()}
    for spec in CONFIG.checks.values():
        category, _, points, public, shown = rows[spec.title]
        assert category == spec.category
        assert float(re.match(r"[\d.]+", points).group()) == spec.points, spec.name
        assert public == ("yes" if spec.public else "no"), spec.name
        assert (shown == "on submission") == (spec.visibility == "visible"), spec.name
    assert f"**{CONFIG.max_score:g}**" in section and f"{len(CONFIG.checks)} checks" in section


def latex_number(value):
    """1e-07 -> '10^{-7}', 2e-04 -> '2\\cdot10^{-4}': how the handout writes tolerances."""
    mantissa, exponent = f"{value:.0e}".split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa}\\cdot{power}"


def test_handout_quotes_the_configured_tolerances():
    text = (REPO / "assignment" / "README.md").read_text()
    for dtype, tol in vars(CONFIG.tolerances).items():
        quoted = text[text.index(f"{dtype}: rtol"):][:80]
        assert latex_number(tol.rtol) in quoted and latex_number(tol.atol) in quoted, (dtype, quoted)


# --- uncovered pixels: what the handout, the template and the hint say, against the real coverage ---

HANDOUT = (REPO / "assignment" / "README.md").read_text()
TEMPLATE_COL2IM = ast.get_docstring(next(node for node in ast.parse(TEMPLATE.read_text()).body
                                         if isinstance(node, ast.FunctionDef) and node.name == "col2im"))
HINT = CONFIG.checks["col2im_uncovered_zero"].hint


def uncovered_as_stated(H, k, s):
    """The rows no window covers, as the three texts state it: the last (H - k) % s rows, and,
    when s > k, the s - k rows after each window but the last."""
    H_out = (H - k) // s + 1
    tail = set(range(H - (H - k) % s, H))
    gaps = {u * s + k + t for u in range(H_out - 1) for t in range(s - k)}
    return tail | gaps


def uncovered_tail_only(H, k, s):
    """The old statement: only the last (H - k) % s rows, when that is nonzero."""
    return set(range(H - (H - k) % s, H))


def stated_mask(rule, H, W, kH, kW, s):
    rows, cols = np.zeros(H, bool), np.zeros(W, bool)
    rows[list(rule(H, kH, s))] = True
    cols[list(rule(W, kW, s))] = True
    return rows[:, None] | cols[None, :]


def hidden_images():
    """(H, W, kH, kW, stride) of every image col2im folds on the hidden set: col2im cases at their
    size, layer cases at their padded size."""
    shapes = set()
    for case in load_fixture_set(fixture_folder("hidden", CONV_LAB.fixtures_root), CONFIG.hidden_seed, lab=CONV_LAB).cases:
        p = case.params
        if case.kind == "col2im":
            shapes.add((p["H"], p["W"], p["kH"], p["kW"], p["stride"]))
        elif case.kind == "layer":
            kH, kW = p["kernel_size"]
            shapes.add((p["H"] + 2 * p["padding"], p["W"] + 2 * p["padding"], kH, kW, p["stride"]))
    return sorted(shapes)


def test_the_texts_state_both_causes_of_uncovered_pixels():
    for name, text in (("handout", HANDOUT), ("template's col2im", TEMPLATE_COL2IM), ("config hint", HINT)):
        flat = " ".join(text.split())
        assert "(H - kH) % stride" in flat or "(H - k_H) \\bmod s" in flat, name
        assert ("stride > kH" in flat and "stride - kH" in flat) or ("s > k_H" in flat and "s - k_H" in flat), name
    assert "(when (H - kH) % stride != 0)" not in HANDOUT + TEMPLATE_COL2IM
    assert "leaves rows 1, 2, 4 and 5" in " ".join(HANDOUT.split())
    assert uncovered_as_stated(7, 1, 3) == {1, 2, 4, 5}


def test_stated_uncovered_pixels_match_coverage_on_the_hidden_shapes():
    shapes = hidden_images()
    assert len(shapes) >= 15
    for H, W, kH, kW, s in shapes:
        uncovered = coverage(H, W, kH, kW, s) == 0
        assert np.array_equal(stated_mask(uncovered_as_stated, H, W, kH, kW, s), uncovered), (H, W, kH, kW, s)
    # The hidden set has images with gaps between windows, which the old statement missed.
    missed = [shape for shape in shapes
              if not np.array_equal(stated_mask(uncovered_tail_only, *shape), coverage(*shape) == 0)]
    assert missed, "no hidden image has uncovered pixels between windows"


# --- the figures and the text about them ---

def test_coverage_figure_cases_are_the_ones_the_handout_describes():
    described = re.findall(r"\*\*(First|Second|Third|Fourth), \$H = W = (\d+)\$, \$k = (\d+)\$, \$s = (\d+)\$", HANDOUT)
    assert [tuple(int(v) for v in d[1:]) for d in described] == \
        [(H, k, s) for H, W, k, s, _ in make_figures.COVERAGE_CASES]
    H, W, k, s, _ = make_figures.COVERAGE_CASES[3]          # "rows and columns 2 and 5 lie between windows"
    count = coverage(H, W, k, k, s)
    assert set(np.flatnonzero((count == 0).all(axis=1))) == {2, 5} and "rows and columns 2 and 5" in HANDOUT
    H, W, k, s, _ = make_figures.COVERAGE_CASES[2]          # "the last row and last column lie in no window"
    assert set(np.flatnonzero((coverage(H, W, k, k, s) == 0).all(axis=1))) == {H - 1}


def test_worked_example_is_the_figure_x():
    """The handout's example x = np.arange(1, 17).reshape(1, 4, 4): window (1, 1) is column 4,
    and col2im(im2col(x)) is x times the coverage, as the figure's right panel shows."""
    from reference.conv2d import col2im, im2col
    assert "np.arange(1, 17).reshape(1, 4, 4)" in HANDOUT
    x = np.arange(1, 17, dtype=float).reshape(1, 4, 4)
    X_col = im2col(x, 2, 2)
    assert np.array_equal(X_col[:, 1 * 3 + 1], x[0, 1:3, 1:3].reshape(-1))
    assert np.array_equal(col2im(X_col, 1, 4, 4, 2, 2), x * coverage(4, 4, 2, 2, 1))


# --- the handout's file table against handout.zip ---

def file_table():
    """The rows of 'Files you get': {path: why}. A path ending in '/' stands for a folder."""
    section = HANDOUT.split("**Files you get**", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in section.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1]
    return rows


def test_file_table_lists_exactly_what_handout_zip_holds(tmp_path):
    from autograder.staff.packaging import build_handout_zip
    import zipfile
    with zipfile.ZipFile(build_handout_zip(tmp_path / "handout.zip", CONV_LAB)) as zf:
        names = zf.namelist()
    rows = file_table()
    assert len(rows) >= 10 and all(len(why) > 10 for why in rows.values()), rows

    def row_of(name):
        return [r for r in rows if name == r or (r.endswith("/") and name.startswith(r))]
    unlisted = [n for n in names if not row_of(n)]
    assert not unlisted, f"in handout.zip but not in the handout's file table: {unlisted}"
    assert all(len(row_of(n)) == 1 for n in names), "a file is listed twice"
    empty = [r for r in rows if not any(r in row_of(n) for n in names)]
    assert not empty, f"in the file table but not in handout.zip: {empty}"


def test_committed_notebook_is_what_make_notebook_writes():
    """The notebook and its source are the ones config.toml's [handout] names."""
    import importlib.util
    import nbformat
    spec = importlib.util.spec_from_file_location("notebook_source", CONFIG.resolve(CONFIG.handout.notebook_source))
    make_notebook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_notebook)
    assert make_notebook.NOTEBOOK == CONFIG.resolve(CONFIG.handout.notebook).resolve()
    committed = nbformat.read(make_notebook.NOTEBOOK, as_version=4)
    built = make_notebook.build_notebook()
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in built.cells]
    assert all(not c.get("outputs") for c in committed.cells), "the shipped notebook must hold no outputs"
