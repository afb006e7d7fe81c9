"""autograder/staff/reports.py's text on hand-made batch records: inert table cells, the score
histogram, summary.md's sections, and the likely bugs counted from
the grade records (grade.json). (The per-check rows: test_check_stats.py; the plots and the whole batch:
tests/e2e/test_staff_outputs.py.)"""

from collections import Counter
from types import SimpleNamespace

import pytest
from markdown_it import MarkdownIt

from autograder.failures import Failure
from autograder.results import CheckOutcome, GradeReport, write_report
from autograder.staff.integrity import IntegrityReport, SimilarPair
from autograder.staff.reports import (_likely_bugs, batch_stats, entries_markdown, histogram, integrity_markdown,
                                      md_cell, stats_markdown)

CONFIG = SimpleNamespace(max_score=10, checks={
    "a": SimpleNamespace(points=6, hint="fix | *a*"), "b": SimpleNamespace(points=4, hint="hint b")})


def record(sid, status="graded", score=0.0, passed=(), checks=None, message="", **extra):
    return dict(id=sid, status=status, score=score, max_score=10, passed=list(passed), checks=checks or {},
                message=message, **extra)


@pytest.mark.parametrize("text", ["a | b", "<img src=x onerror=1>", "*bold* _it_ `code`", "[x](http://y)",
                                  "line\nbreak", "# h", "!x", "~~s~~", "&lt;", "\x1b[31m"])
def test_a_cell_is_one_inert_line(text):
    cell = md_cell(text)
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(f"| h |\n|---|\n| {cell} |\n")
    assert html.count("<td>") == 1 and not set(__import__("re").findall(r"<(\w+)", html)) - {
        "table", "thead", "tr", "th", "tbody", "td"}, (text, cell, html)
    assert "\n" not in cell and "\x1b" not in cell


def test_a_cell_is_cut_at_its_limit():
    assert len(md_cell("x" * 500, limit=20)) == 20


@pytest.mark.parametrize("scores, counts", [([0, 10, 10, 5, 9.99], [1, 0, 0, 0, 0, 1, 0, 0, 0, 3]),
                                            ([], [0] * 10)])
def test_histogram_bins_are_equal_and_the_top_one_closed(scores, counts):
    edges, got = histogram(scores, 10)
    assert edges == [float(i) for i in range(11)] and got == counts


def test_a_zero_max_score_puts_everything_in_the_first_bin():
    assert histogram([0, 0], 0)[1][0] == 2


def test_median_and_mean():
    stats = batch_stats([record(str(i), score=s) for i, s in enumerate([1, 3, 8, 10])] + [record("e", "error")],
                        CONFIG, {})
    assert stats.median == 5.5 and stats.mean == 5.5 and len(stats.graded) == 4
    assert batch_stats([record("x", score=7)], CONFIG, {}).median == 7


def test_summary_has_every_section_and_escapes_what_students_wrote():
    records = [record("alice", score=10, passed=["a", "b"], checks={"a": 6, "b": 4}, student_name="Alice"),
               record("bob", score=4, checks={"b": 4}),
               record("<evil>", "invalid", message="no conv2d.py | *found*")]
    integrity = IntegrityReport(threshold=0.8, not_attempted=["bob"], similar=[SimilarPair("alice", "bob", 0.9, 0.8)])
    text = stats_markdown(batch_stats(records, CONFIG, {"the sign is flipped": 2}, integrity, ["a note"]), CONFIG)
    assert "3 submissions: 2 graded (1 of them not attempted), 1 invalid, 0 grader errors." in text
    assert "mean 7.0, median 7, min 4, max 10; 1 full marks." in text
    assert "| a | 6 | 1 / 2 | 1 | 0 | 50% (1/2) | 3.00 | fix \\| \\*a\\* |" in text
    assert "| the sign is flipped | 2 |" in text
    assert "| &lt;evil&gt; | invalid | no conv2d.py \\| \\*found\\* |" in text
    assert "| Alice (alice) | bob | 90% | 80% |" in text and "Note: a note" in text


def test_no_bug_and_no_graded_submission():
    text = stats_markdown(batch_stats([record("x", "error", message="boom")], CONFIG, {}), CONFIG)
    assert "No known bug pattern was recognised." in text and "Scores (graded only" not in text


def test_every_entry_is_listed_with_duplicates_first():
    lines = entries_markdown([record("a", note="duplicate id 'a': also a.zip"), record("b", score=2.5)])
    text = "\n".join(lines)
    assert text.index("## Duplicate ids") < text.index("## Every entry")
    assert "| b | graded | 2.5 |  |" in text and "| a | duplicate id 'a': also a.zip |" in text


def test_integrity_section_names_students_and_says_none():
    assert integrity_markdown(None) == []
    text = "\n".join(integrity_markdown(IntegrityReport(threshold=0.5, identical=[["a", "b"]]), {"a": "Ann"}))
    assert "Not attempted (both stubs as in the template): none." in text and "- Ann (a), b" in text


def test_likely_bugs_are_counted_once_per_submission_from_the_grade_records(tmp_path):
    def graded(sid, *failures_per_check):
        checks = [CheckOutcome(f"c{i}", "t", 1, "visible", "c", "h", total=len(f), failures=f)
                  for i, f in enumerate(failures_per_check)]
        write_report(GradeReport(status="graded", message="m", checks=checks, max_score=len(checks)),
                     tmp_path / "submissions" / sid)
    bug = Failure(case="x", problem="p", likely_bug="the crop")
    graded("a", [bug, bug], [bug])
    graded("b", [bug, Failure(case="y", problem="q")])
    graded("c", [bug])
    (tmp_path / "submissions" / "c" / "grade.json").write_text("{broken")          # no record: not counted
    graded("d", [bug])
    (tmp_path / "submissions" / "d" / "grade.json").unlink()                        # results.json only: neither
    counts = _likely_bugs(tmp_path, [record("a"), record("b"), record("c"), record("d"), record("missing")])
    assert counts == Counter({"the crop": 2})
