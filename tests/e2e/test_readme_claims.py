"""README.md's "Grader quality" table says what the tests prove: every number in it (the
mutation row aside, which tools/MUTANTS.md and its own test pin) is read here and compared
with the catalogue and with what the tests that prove it are parametrised over. Those tests
then pass only if the claim holds for every entry counted.
"""

import re
import subprocess
import sys

from autograder.staff.catalogue import load_catalogue
from helpers import BUGS, CONV_LAB, CORRECT, HOSTILE, NO_WORK, REPO, ROOT, SHAPE_BUGS, hang_guard, levels_under_test

CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
CONFIG = CONV_LAB.config
README = (REPO / "README.md").read_text(encoding="utf-8")


def kind(prefix):
    return sorted(k for k in CATALOGUE if k.startswith(prefix))


def quality_row(first_words):
    """The cells of the grader-quality table's row whose measure starts with ``first_words``."""
    table = README.split("## Grader quality", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    found = [r for r in rows if r[0].startswith(first_words)]
    assert len(found) == 1, f"one row starting {first_words!r} in README's grader-quality table: {found}"
    return found[0]


def numbers(text):
    return [int(n) for n in re.findall(r"\b\d+\b", text)]     # not the 2 of col2im


def test_correct_row_counts_every_correct_solution_graded_to_full_marks():
    measure, result, where = quality_row("correct-but-different solutions")
    n = len(kind("correct/"))
    assert n > 0
    full = f"{CONFIG.max_score:g}"
    assert re.search(rf"\b{n} of {n} earn {full}/{full}\b", result), (n, result)
    assert numbers(result) == [n, n, CONFIG.max_score, CONFIG.max_score, 0], result
    assert CORRECT == kind("correct/"), "test_correct_variant_earns_full_marks grades every one"
    assert where == "`tests/labs/conv/test_catalogue.py`"


def test_bug_row_counts_every_catalogued_bug_caught():
    measure, result, where = quality_row("one-bug solutions")
    n = len(kind("bug/"))
    assert n > 0
    assert numbers(result) == [n, n], result
    assert result.startswith(f"{n} of {n} lose points and fail exactly the checks recorded for them")
    assert sorted(BUGS) == kind("bug/"), "test_known_bug_is_caught grades every bug (helpers.BUGS)"


def test_hostile_row_counts_every_hostile_entry_at_every_level():
    measure, result, where = quality_row("hostile submissions")
    n = len(kind("hostile/"))
    assert n > 0
    assert numbers(measure) == [n], measure
    assert numbers(result) == [n], result
    assert f"all {n} through the batch command, one row each" in result
    assert HOSTILE == kind("hostile/"), "test_hostile_submission_gains_nothing_and_changes_nothing"
    assert "(`bwrap` and `chroot` as root, `process` as an unprivileged user)" in result
    if ROOT:
        assert levels_under_test()[-2:] == ["chroot", "process"]
        assert set(levels_under_test()) <= {"bwrap", "chroot", "process"}
    assert "no more points than its honest twin" in result


def test_no_work_row_counts_the_entries_that_earn_nothing():
    measure, result, where = quality_row("submissions with no correct col2im/backward")
    n = len(NO_WORK)
    assert n > 0
    assert numbers(measure) == [n], measure
    assert numbers(result) == [0], result
    assert all(CATALOGUE[k].fails == ("all",) for k in NO_WORK), "each must score 0"


def test_shape_property_row_covers_every_bug_with_a_stated_condition():
    measure, result, where = quality_row("random shapes")
    stated = SHAPE_BUGS
    unstated = [k for k in kind("bug/") if CATALOGUE[k].exposed_when_unstated]
    assert len(stated) + len(unstated) == len(kind("bug/"))
    assert numbers(result) == [len(stated), len(kind("bug/")), len(unstated)], result


def test_an_empty_parametrisation_fails_the_run(tmp_path):
    """pyproject.toml's empty_parameter_set_mark: an empty catalogue errors, it never skips."""
    (tmp_path / "test_empty.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('key', [])\ndef test_nothing(key):\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-c", str(REPO / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, timeout=hang_guard(10))
    assert done.returncode != 0, done.stdout
    assert "Empty parameter set in 'test_nothing'" in done.stdout + done.stderr
