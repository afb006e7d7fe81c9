"""The handout's "What is graded" table says what assignment/config.toml says."""

import re

from autograder.config import load_config
from conftest import REPO

CONFIG = load_config()


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
    for dtype, tol in CONFIG.tolerances.items():
        quoted = text[text.index(f"{dtype}: rtol"):][:80]
        assert latex_number(tol.rtol) in quoted and latex_number(tol.atol) in quoted, (dtype, quoted)
