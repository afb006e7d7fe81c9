"""Failures as data, and feedback that leads with the cause.

- A failure's (case, problem, likely bug) goes from the check to the grade record (grade.json),
  rendered in results.json's extra_data; the batch reports count what the record says, whatever
  a rendering says.
- One crash or one wrong function is told once, at the top ("Start here"): the function, the
  first failing case, the student's line (for a crash), the likely bug; the other checks point
  back to it and keep hints that would point away to themselves.
- Gradescope's top-level output, shown at once, names only what visible checks found.
- Student text stays inert (in a code block whose fence nothing inside can close).
"""

import json
import re
from dataclasses import replace

from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.failures import Failure
from autograder.staff.reports import _likely_bugs
from autograder.results import CheckOutcome, GradeReport
from helpers import CONV_LAB, TEMPLATE
from helpers import grade

CATALOGUE, _ = load_catalogue(lab=CONV_LAB)


def outcome(name, visibility="visible", failures=(), passed=0, total=None, hint="general hint"):
    failures = list(failures)
    return CheckOutcome(name, f"title of {name}", 4, visibility, "c", hint, passed=passed,
                        total=len(failures) + passed if total is None else total, failures=failures)


def report_of(*outcomes):
    return GradeReport(status="graded", message="Graded.", checks=list(outcomes), max_score=4 * len(outcomes))


def start_here(markdown):
    """The 'Start here' section of a feedback.md (up to the next section)."""
    match = re.search(r"^## Start here\n(.*?)(?=^\| check |^## )", markdown, re.MULTILINE | re.DOTALL)
    assert match, markdown[:2000]
    return match[1]


def test_failures_reach_results_json_and_reports_as_data(tmp_path):
    report, results = grade(write_zip(CATALOGUE["bug/overwrite_overlaps"], tmp_path / "sub.zip", lab=CONV_LAB), tmp_path)
    overlap = next(t for t in results["tests"] if t["extra_data"]["check"] == "col2im_overlap_sum")
    failures = overlap["extra_data"]["failures"]
    assert len(failures) == overlap["extra_data"]["cases"] - overlap["extra_data"]["cases_passed"] > 0
    first = failures[0]
    assert set(first) == {"case", "problem", "likely_bug", "function", "kind"}
    assert first["function"] == "col2im" and first["kind"] == "wrong" and "stride=" in first["case"]
    assert first["likely_bug"].startswith("overlapping windows were overwritten")
    assert results["extra_data"]["root_causes"][0]["function"] == "col2im"
    # the batch_sum check fails too (dX goes through col2im), but its hint ("not the mean") would point away
    feedback = (tmp_path / "out" / "feedback.md").read_text()
    assert "dW sums over every image of the batch" in feedback and "not the mean" not in feedback
    # the same failures, as data, on the report object
    assert [f.to_data() for f in next(c for c in report.checks if c.name == "col2im_overlap_sum").failures] == failures

    # reports read the grade record, never a rendering: a likely bug only in results.json (its text or
    # its extra_data) is not counted, one only in the record is
    out = tmp_path / "batch"
    folder = out / "submissions" / "alice"
    folder.mkdir(parents=True)
    for test in results["tests"]:
        test["output"] += "\nlikely bug: made up in the text"
    results["tests"][0]["extra_data"]["failures"].append(
        Failure(case="c", problem="p", likely_bug="only in results.json").to_data())
    (folder / "results.json").write_text(json.dumps(results))
    overlap_check = next(c for c in report.checks if c.name == "col2im_overlap_sum")
    extended = replace(overlap_check, failures=overlap_check.failures + (
        Failure(case="c", problem="p", likely_bug="only in the record"),))
    (folder / "grade.json").write_text(replace(report, checks=[
        extended if c is overlap_check else c for c in report.checks]).to_json())
    counts = _likely_bugs(out, [{"id": "alice"}])
    assert counts["only in the record"] == 1 and "made up in the text" not in counts
    assert "only in results.json" not in counts
    assert counts[first["likely_bug"]] == 1


def test_one_exception_is_told_once_and_other_checks_point_back():
    traceback = "col2im raised IndexError: index 5 is out of bounds\n  conv2d.py, line 42, in col2im: x[i] += y"
    crash = [Failure(case=f"case {i}", problem="your code failed", detail=traceback, function="col2im",
                     kind="exception") for i in range(3)]
    report = report_of(outcome("a", failures=crash[:2]), outcome("b", failures=crash[2:]),
                       outcome("c", failures=crash))
    markdown = report.to_markdown()
    assert markdown.count("line 42, in col2im") == 1, markdown
    top = start_here(markdown)
    assert "1. col2im: fails 'title of a' on case case 0." in top and "line 42, in col2im" in top
    assert "The same function also fails: 'title of b', 'title of c'." in top
    # each check one table row, pointing back
    assert markdown.count("see Start here (1)") == 3, markdown
    assert "general hint" not in markdown            # a crash is not explained by the checks' hints
    gradescope = report.to_gradescope()
    assert gradescope["output"].count("line 42, in col2im") == 1
    assert all("line 42" not in t["output"] and "told in Start here (1)" in t["output"] for t in gradescope["tests"])


def test_a_later_function_points_to_the_earlier_cause_and_drops_its_own_hint():
    col2im = Failure(case="k", problem="col2im's result: 3 of 9 values are wrong",
                     likely_bug="overlapping windows were overwritten", function="col2im")
    dX = Failure(case="k2", problem="dX: 5 of 9 values are wrong", function="Conv2d.backward")
    report = report_of(outcome("col", failures=[col2im]),
                       outcome("batch", failures=[dX], hint="SUM over n: not the mean"))
    markdown = report.to_markdown()
    top = start_here(markdown)
    assert top.index("1. col2im") < top.index("2. Conv2d.backward") and "Likely bug: overlapping" in top
    assert "This may follow from col2im: fix that first." in top
    assert "not the mean" not in markdown       # the hint would point away from the cause
    assert "This may follow from the problem in col2im told at the top" in report.checks[1].output(report.causes())
    # a check whose own failure names no likely bug, with no earlier cause, keeps its hint
    alone = report_of(outcome("batch", failures=[dX], hint="SUM over n: not the mean"))
    assert "Hint: SUM over n: not the mean" in alone.checks[0].output(())


def test_a_blocked_check_says_so_in_one_line_naming_the_blocking_check():
    col2im = Failure(case="k", problem="col2im's result: 3 of 9 values are wrong", likely_bug="overwritten",
                     function="col2im")
    blocked = [Failure(case=f"k{i}", problem="dX: 5 of 9 values are wrong", function="Conv2d.backward",
                       blocked_by="col") for i in range(3)]
    batch = replace(outcome("batch", total=5, passed=2, hint="SUM over n: not the mean"), blocked=blocked)
    report = report_of(outcome("col", failures=[col2im]), batch)
    markdown = report.to_markdown()
    assert "| BLOCKED title of batch | 1.6 / 4 | 2 / 5 | 3 case(s) blocked by *title of col* |" in markdown
    assert "not the mean" not in markdown and "dX: 5 of 9" not in markdown
    assert batch.output(report.causes(), report.titles()).splitlines()[1] == (
        "3 case(s) not credited: blocked by 'title of col', which fails on its own (see Start here). Fix that first.")


def test_gradescope_top_output_names_only_what_visible_checks_found():
    secret = Failure(case="SECRET hidden case", problem="wrong", likely_bug="hidden bug", function="col2im")
    seen = Failure(case="public case", problem="wrong too", function="Conv2d.backward")
    report = report_of(outcome("hidden", "after_due_date", [secret]), outcome("shown", "visible", [seen]))
    output = report.to_gradescope()["output"]
    assert "Start here" in output and "public case" in output
    assert "SECRET" not in output and "hidden bug" not in output
    assert "SECRET hidden case" in start_here(report.to_markdown())      # feedback.md tells everything


def test_student_text_in_a_failure_stays_inert():
    hostile = "`````\n# Heading\n<img src=x onerror=alert(1)>\x1b[31m red \u202e"
    report = report_of(outcome("a", failures=[Failure(case="k", problem="your code failed", detail=hostile,
                                                      function="col2im", kind="exception")]))
    markdown = report.to_markdown()
    assert "\x1b" not in markdown and "\u202e" not in markdown
    # every line of the student's text sits inside a fenced block opened by a longer fence
    for block in re.finditer(r"^(`{6,})text\n(.*?)\n\1$", markdown, re.MULTILINE | re.DOTALL):
        assert "# Heading" in block[2]
        break
    else:
        raise AssertionError(markdown)
    outside = re.sub(r"^(`{3,})text\n.*?\n\1$", "", markdown, flags=re.MULTILINE | re.DOTALL)
    assert "<img" not in outside and "# Heading" not in outside
    assert "\x1b" not in report.to_gradescope()["output"]


def test_template_feedback_opens_with_each_stub_once(tmp_path):
    report, results = grade(TEMPLATE, tmp_path)
    markdown = (tmp_path / "out" / "feedback.md").read_text()
    top = start_here(markdown)
    assert top.index("1. col2im") < top.index("Conv2d.backward")
    # each stub's traceback once, at the top; the checks point back to it
    assert markdown.count("col2im is not implemented yet") == 1, markdown
    assert markdown.count("Conv2d.backward is not implemented yet") == 1, markdown
    assert "see Start here (1)" in markdown and "see Start here (2)" in markdown
    assert "col2im is not implemented yet" in results["output"]


def test_student_check_opens_with_the_root_cause_once(tmp_path, capsys):
    # `python lab.py check` prints the same "Start here" as feedback.md, before the first check line.
    from autograder.student_tools import cmd_check
    path = write_zip(CATALOGUE["bug/overwrite_overlaps"], tmp_path / "sub.zip", lab=CONV_LAB)
    assert cmd_check(CONV_LAB, path) == 1
    out = capsys.readouterr().out
    assert "Start here:" in out and out.index("Start here:") < out.index("  FAIL  ")
    first_cause = out.split("Start here:", 1)[1].strip().splitlines()[0]
    assert first_cause.startswith("1. col2im:"), first_cause


def test_student_check_names_each_stub_once_with_its_line(capsys):
    from autograder.student_tools import cmd_check
    assert cmd_check(CONV_LAB, TEMPLATE) == 1
    out = capsys.readouterr().out
    head = out.split("  FAIL  ", 1)[0]
    assert head.count("raised NotImplementedError") == 2                       # each stub once, at the top
    assert re.search(r"conv2d\.py, line \d+, in col2im", head) and re.search(r"line \d+, in backward", head)
    assert "raised NotImplementedError" not in out.split("  FAIL  ", 1)[1]      # the checks point back instead
