"""Per-check pass rates in summary.md, report.html and checks.png count only a check's own failures;
a check another check's bug blocked is counted apart, with the check that blocked it (issue 23.2).

A real batch of catalogue entries: one correct solution, two copies of bug/overwrite_overlaps (it
fails col2im_overlap_sum on its own and blocks about ten other checks) and bug/reshape_dY_in_place
(it fails only inputs_unchanged). inputs_unchanged then passed 1, failed on its own 1 (reshape), was
blocked 2 (the overlap bug): a pass rate of 50 %, not the 25 % of "passed every case".
"""

import json
import re
import shutil
from pathlib import Path

import pytest

from autograder.config import load_config
from autograder.failures import Failure
from autograder.results import CheckOutcome, GradeReport
from autograder.staff.batch import run_batch
from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.staff.check_stats import check_stats
from autograder.staff.reports import (CheckOutcomeData, batch_stats, plot_checks,
                                      read_submission_results, write_summary)
from helpers import CONV_LAB

CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
CONFIG = CONV_LAB.config
BATCH = {"correct": "correct/lecture_loops", "overlaps_1": "bug/overwrite_overlaps",
         "overlaps_2": "bug/overwrite_overlaps", "reshape": "bug/reshape_dY_in_place"}
OVERLAP_TITLE = CONFIG.checks["col2im_overlap_sum"].title          # "col2im sums overlapping windows"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for sid, key in BATCH.items():
        write_zip(CATALOGUE[key], folder / f"{sid}.zip", lab=CONV_LAB)
    out = tmp_path_factory.mktemp("out")
    records = run_batch(CONV_LAB, folder, out, jobs=2)
    assert [r["status"] for r in records] == ["graded"] * len(BATCH)
    return out, records


def expected_counts(records):
    """{check: (passed, failed on its own, blocked only)} from the catalogue: an entry fails on its own
    exactly the checks its `fails` names; any other check it did not pass was blocked."""
    counts = {}
    for check in CONFIG.checks:
        passed = sum(check in r["passed"] for r in records)
        failed = sum(check in CATALOGUE[BATCH[r["id"]]].fails for r in records)
        counts[check] = (passed, failed, len(records) - passed - failed)
    return counts


def summary_rows(out):
    """{check: its cells in summary.md's check table}."""
    text = (out / "summary.md").read_text(encoding="utf-8")
    table = text[text.index("| check | points | passed fully | failed on its own | blocked only | pass rate"):]
    table = table[:table.index("\n\n")]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows}


def report_rows(out):
    """{check: its cells' text in report.html's check table}."""
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index("id='checks'"):page.index("id='bugs'")]
    rows = re.findall(r"<tr>(.*?)</tr>", section[section.index("<tbody>"):])
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    return {c[0]: c for c in cells}


def test_the_batch_is_what_the_catalogue_says(batch):
    _, records = batch
    by_id = {r["id"]: r for r in records}
    assert set(CONFIG.checks) - set(by_id["correct"]["passed"]) == set()
    assert set(CONFIG.checks) - set(by_id["reshape"]["passed"]) == {"inputs_unchanged"}
    # the overlap bug fails one check on its own and leaves many more not passed: the blocked ones
    assert len(set(CONFIG.checks) - set(by_id["overlaps_1"]["passed"])) >= 8
    assert CATALOGUE["bug/overwrite_overlaps"].fails == ("col2im_overlap_sum",)
    assert CATALOGUE["bug/reshape_dY_in_place"].fails == ("inputs_unchanged",)


def test_summary_counts_own_failures_and_blocked_ones_apart(batch):
    out, records = batch
    rows = summary_rows(out)
    assert set(rows) == set(CONFIG.checks)
    for check, (passed, failed, blocked) in expected_counts(records).items():
        cells = rows[check]
        assert cells[2] == f"{passed} / {len(records)}", (check, cells)
        assert cells[3] == str(failed), (check, cells)
        if blocked:       # counted apart, naming the check whose bug blocked it
            assert cells[4] == f"{blocked} (blocked by {OVERLAP_TITLE}: {blocked})", (check, cells)
        else:
            assert cells[4] == "0", (check, cells)
        assert cells[5] == f"{passed / (passed + failed):.0%} ({passed}/{passed + failed})", (check, cells)
    # the TA's case: one submission wrote into dY, two more were blocked by a col2im bug
    assert rows["inputs_unchanged"][2:6] == ["1 / 4", "1", f"2 (blocked by {OVERLAP_TITLE}: 2)", "50% (1/2)"]
    # a check blocked for a submission is never counted as failed: padding_crop has no failure of its own
    assert rows["padding_crop"][3:6] == ["0", f"2 (blocked by {OVERLAP_TITLE}: 2)", "100% (2/2)"]
    assert rows["col2im_overlap_sum"][2:6] == ["2 / 4", "2", "0", "50% (2/4)"]
    # mean points stay over every graded submission, blocked ones included
    means = {c: sum(r["checks"][c] for r in records) / len(records) for c in CONFIG.checks}
    assert all(rows[c][6] == f"{means[c]:.2f}" for c in CONFIG.checks)


def test_report_html_shows_the_same_counts(batch):
    out, records = batch
    rows, summary = report_rows(out), summary_rows(out)
    assert set(rows) == set(CONFIG.checks)
    for check in expected_counts(records):
        assert rows[check][2:6] == summary[check][2:6], check      # the titles hold no markup to escape
    assert rows["inputs_unchanged"][2:6] == ["1 / 4", "1", f"2 (blocked by {OVERLAP_TITLE}: 2)", "50% (1/2)"]
    page = (out / "report.html").read_text(encoding="utf-8")
    header = page[page.index("id='checks'"):page.index("id='bugs'")]
    assert "<th>failed on its own</th><th>blocked only</th><th>pass rate</th>" in header


def test_checks_png_labels_give_the_pass_rate_over_judged_submissions(batch, tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out, records = batch
    bugs, outcomes = read_submission_results(out, records)
    stats = batch_stats(records, CONFIG, bugs, outcomes=outcomes)
    saved = {}
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, path, **kw: saved.__setitem__(Path(path).name, fig))
    plot_checks(stats, CONFIG, tmp_path / "checks.png")
    ax = saved["checks.png"].axes[0]
    texts = [t.get_text() for t in ax.texts]
    mean = lambda check: sum(r["checks"][check] for r in records) / len(records)      # noqa: E731
    assert f"50% (1/2), mean {mean('inputs_unchanged'):.1f}/4 pts; 2 blocked" in texts
    assert f"100% (2/2), mean {mean('padding_crop'):.1f}/6 pts; 2 blocked" in texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["passed fully", "failed on its own", "blocked only (another check's bug)"]
    # the three segments of every bar add up to every graded submission
    widths = {}
    for patch in ax.patches:
        y = round(patch.get_y(), 6)
        widths[y] = widths.get(y, 0) + patch.get_width()
    assert len(widths) == len(CONFIG.checks) and all(abs(w - 100) < 1e-9 for w in widths.values())


def test_a_folder_from_before_grade_records_counts_every_check_not_passed_as_failed(batch, tmp_path):
    """A submission folder with results.json but no grade.json (a grader before grade records): the
    reports never read results.json back, so nothing says another check blocked it (as with no file)."""
    out, records = batch
    old = tmp_path / "old"
    shutil.copytree(out, old)
    for sid in ("overlaps_1", "overlaps_2"):
        (old / "submissions" / sid / "grade.json").unlink()
        assert (old / "submissions" / sid / "results.json").is_file()
    write_summary(records, CONFIG, old)
    rows = summary_rows(old)
    assert rows["inputs_unchanged"][2:6] == ["1 / 4", "3", "0", "25% (1/4)"]
    assert rows["padding_crop"][2:6] == ["2 / 4", "2", "0", "50% (2/4)"]


def test_without_a_grade_record_a_check_not_passed_is_failed(batch, tmp_path):
    """No grade.json to say another check blocked it (lost, unreadable): counted as failed, as before."""
    out, records = batch
    write_summary(records, CONFIG, tmp_path)          # an output folder holding no submissions/
    rows = summary_rows(tmp_path)
    assert rows["inputs_unchanged"][2:6] == ["1 / 4", "3", "0", "25% (1/4)"]


def hostile_record(sid):
    """grade.json files a hand (or a bug) could leave: not records, a record of the wrong types, and a
    valid record whose blocking check's name is markup."""
    blocked = [Failure(case="c", problem="p", blocked_by="<script>alert(1)</script>|x`*"),
               Failure(case="c", problem="p", blocked_by="col2im_overlap_sum")]
    valid = GradeReport(status="graded", message="m", max_score=4, checks=[
        CheckOutcome("inputs_unchanged", "t", 4, "visible", "c", "h", passed=1, total=3, blocked=blocked),
        CheckOutcome("no_such_check", "t", 0, "visible", "c", "h", total=1, blocked=blocked[1:])])
    mistyped = json.loads(valid.to_json())
    mistyped["checks"][0]["blocked"][0]["blocked_by"] = ["a list"]
    return {"sub_list": "[1, 2]", "sub_deep": "[" * 100_000 + "]" * 100_000, "sub_valid": valid.to_json(),
            "sub_mistyped": json.dumps(mistyped)}[sid]


def test_hostile_grade_records_are_read_safely(tmp_path):
    """grade.json is the grader's, but it sits in a folder: a file that is not a record of this version is
    refused whole, and a name a record gives is text in both pages."""
    (tmp_path / "submissions").mkdir()
    records = []
    for sid in ("sub_list", "sub_deep", "sub_valid", "sub_mistyped", "sub_missing"):
        (tmp_path / "submissions" / sid).mkdir()
        if sid != "sub_missing":
            (tmp_path / "submissions" / sid / "grade.json").write_text(hostile_record(sid))
        records.append(dict(id=sid, status="graded", score=0.0, max_score=100, checks={}, message="",
                            passed=["forward_output"]))
    write_summary(records, CONFIG, tmp_path)
    rows = summary_rows(tmp_path)
    # only sub_valid says anything usable, and only about inputs_unchanged: blocked, by two checks
    assert rows["inputs_unchanged"][3] == "4"
    assert rows["inputs_unchanged"][4] == (f"1 (blocked by &lt;script&gt;alert(1)&lt;/script&gt;\\|x\\`\\*: 1; "
                                           f"{OVERLAP_TITLE}: 1)")
    assert rows["padding_crop"][3:5] == ["5", "0"] and rows["stride"][3:5] == ["5", "0"]
    assert rows["forward_output"][2:6] == ["5 / 5", "0", "0", "100% (5/5)"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;|x`*: 1" in page


def test_a_check_blocked_everywhere_has_no_pass_rate():
    outcomes = {"a": {"stride": CheckOutcomeData(own=0, blocked_by=("col2im_overlap_sum",))}}
    records = [dict(id="a", status="graded", score=0.0, checks={}, passed=[], message="")]
    row = next(r for r in check_stats(CONFIG, records, outcomes) if r.name == "stride")
    assert (row.passed, row.failed, row.blocked, row.rate) == (0, 0, 1, None)
    assert row.rate_text() == "n/a (all blocked)"
    assert row.blocked_text(CONFIG) == f"1 (blocked by {OVERLAP_TITLE}: 1)"


def test_console_table_lists_own_failures_and_counts_blocked_ones(batch):
    from autograder.staff.batch_console import grade_table
    _, records = batch
    rows = {line.split()[0]: line for line in grade_table(records, CONFIG).splitlines()[2:]}
    blocked = len(set(CONFIG.checks) - set(next(r for r in records if r["id"] == "overlaps_1")["passed"])) - 1
    assert rows["overlaps_1"].endswith(f"col2im_overlap_sum (+{blocked} blocked)"), rows["overlaps_1"]
    assert rows["reshape"].endswith("inputs_unchanged") and rows["correct"].endswith("-")
    # a record from before the split (no "failed") lists every check not passed, as it always did
    old = [dict(r, failed=None) for r in records if r["id"] == "overlaps_1"]
    assert "(+" not in grade_table(old, CONFIG).splitlines()[2]
