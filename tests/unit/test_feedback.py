"""autograder/feedback.py: narrow lines, inert Markdown, Start here told once, one check's lines,
the table's note and status word, on hand-made outcomes and root causes."""

import re

import pytest
from markdown_it import MarkdownIt

from autograder.failures import Failure, RootCause
from autograder.feedback import (MAX_CASE_LINES, WIDTH, block, blocked_counts, check_lines, md, narrow,
                                 start_here_markdown, start_here_text, status_word, table_note)
from autograder.results import CheckOutcome


def outcome(name, failures=(), passed=0, total=None, blocked=(), hint="the check's own hint"):
    failures = list(failures)
    return CheckOutcome(name, f"Title of {name}", 4, "visible", "c", hint, passed=passed,
                        total=len(failures) + len(blocked) + passed if total is None else total,
                        failures=failures, blocked=list(blocked))


def wrong(case="N=1", problem="dX: 3 of 9 values are wrong", function="Conv2d.backward", likely_bug="", detail=""):
    return Failure(case=case, problem=problem, function=function, likely_bug=likely_bug, detail=detail)


def crash(case="N=1", function="Conv2d.backward", detail="  line 4, in backward: NotImplementedError"):
    return Failure(case=case, problem="your code failed:", function=function, kind="exception", detail=detail)


def blocked(case, by):
    return Failure(case=case, problem="p", function="Conv2d.backward", blocked_by=by)


# --- narrow, md, block ------------------------------------------------------------------------

def test_narrow_wraps_long_lines_with_indented_continuations():
    line = "  " + " ".join(["word"] * 60)
    out = narrow(line, 40).split("\n")
    assert len(out) > 1 and all(len(x) <= 40 for x in out)
    assert out[0].startswith("  word") and all(x.startswith("      word") for x in out[1:])
    assert " ".join(x.strip() for x in out) == line.strip()


def test_narrow_breaks_a_word_longer_than_the_width():
    out = narrow("x" * 250, 100).split("\n")
    assert len(out) == 3 and all(len(x) <= 100 for x in out) and "".join(x.strip() for x in out) == "x" * 250


def test_narrow_leaves_map_rows_and_short_lines_as_drawn():
    row = "  " + "X." * 70                        # a drawn map row, wider than the width
    text = f"short\n{row}\n[0]   [1]"
    assert narrow(text, 100) == text


@pytest.mark.parametrize("text", ["# heading", "**bold** and _it_", "<script>alert(1)</script>", "[a](http://e.org)",
                                  "![img](x.png)", "`code`", "| a | b |", "http://example.org/x", "www.example.org",
                                  "<!-- c -->", "&amp; &#60;", "a\n# second line\n\n> quote", "$x$ ~~s~~ {y}"])
def test_md_text_renders_as_plain_text_only(text):
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md(text))
    tags = set(re.findall(r"<(\w+)", html))
    assert tags <= {"p"}, (text, md(text), html)


@pytest.mark.parametrize("text", ["see http://example.org/x", "see HTTPS://e.org", "www.example.org", "ftp://h"])
def test_md_breaks_what_gfm_would_link_bare(text):
    # GitHub-flavoured Markdown (Gradescope's) links bare URLs; commonmark above does not, so look at the text
    out = md(text)
    assert not re.search(r"\w://|(?i:www)\.", out), out
    assert out.replace("\\", "") == text


def test_md_joins_lines_and_drops_control_characters():
    assert md("a\nb\t c\x1b[1m") == "a b c\\[1m"


def test_block_is_a_code_block_of_narrow_lines():
    out = block("y" * 230)
    first, *body, last = out.split("\n")
    assert first == "```text" and last == "```" and len(body) == 3 and all(len(x) <= WIDTH for x in body)
    assert "".join(x.strip() for x in body) == "y" * 230


# --- Start here ---------------------------------------------------------------------------------

def causes_of(*pairs):
    return [RootCause(failure, check, tuple(checks)) for failure, check, checks in pairs]


def test_start_here_tells_each_cause_with_where_what_and_how_it_relates():
    causes = causes_of((crash(case="C=1", function="col2im", detail="  line 7, in col2im: IndexError"),
                        "col2im overlaps", ["col2im overlaps", "col2im stride"]),
                       (wrong(likely_bug="the crop"), "dX values", ["dX values"]))
    lines = start_here_text(causes, {"col2im": 3})
    text = "\n".join(lines)
    assert lines[0] == "1. col2im: fails 'col2im overlaps' on case C=1."
    assert "It did not answer on that case" in text
    assert "The same function also fails: 'col2im stride'." in text
    assert "Until it is fixed, 3 other check(s) cannot credit some cases (marked BLOCKED)." in text
    assert "      " + "  line 7, in col2im: IndexError" in lines     # the traceback, indented under its cause
    assert "2. Conv2d.backward: fails 'dX values' on case N=1." in lines
    assert "   dX: 3 of 9 values are wrong." in lines and "   Likely bug: the crop" in lines
    assert "   This may follow from col2im: fix that first." in lines


def test_a_later_crash_is_not_said_to_follow_from_the_first_cause():
    causes = causes_of((wrong(function="col2im"), "a", ["a"]), (crash(), "b", ["b"]))
    assert not any("may follow" in line for line in start_here_text(causes))


def test_start_here_lines_stay_within_the_width():
    long = wrong(problem="dX: " + "very " * 60 + "wrong", detail="detail " * 40)
    lines = start_here_text(causes_of((long, "t", ["t"])))
    assert max(len(x) for x in lines) <= WIDTH and len(lines) > 4


def test_start_here_markdown_escapes_the_prose_and_fences_the_detail():
    cause = wrong(problem="dX **is** <b>wrong</b>", detail="# not a heading\n```\nX.")
    head, detail = start_here_markdown(causes_of((cause, "t", ["t"])))
    assert head.startswith("**1. Conv2d.backward: fails 't' on case N=1.**") and "\\*\\*is\\*\\* \\<b\\>" in head
    fence = re.match(r"`+", detail)[0]
    assert len(fence) > 3 and detail.endswith("\n" + fence) and "# not a heading" in detail


def test_start_here_markdown_has_no_code_block_without_detail():
    assert len(start_here_markdown(causes_of((wrong(), "t", ["t"])))) == 1


# --- one check's lines ----------------------------------------------------------------------------

def test_a_passing_check_says_so():
    assert check_lines(outcome("a", passed=5), [], {}) == ["Passed all 5 case(s)."]


def test_a_failure_a_root_cause_tells_points_back_to_it():
    f = wrong(case="N=2")
    lines = check_lines(outcome("a", [f], passed=1), causes_of((f, "Title of a", ["Title of a"])), {})
    assert lines[:2] == ["Passed 1 of 2 case(s).", "- [N=2] the problem told in Start here (1)"]
    assert not any(f.problem in line for line in lines)          # told once, at the top


def test_the_same_crash_on_another_case_points_back_too():
    told, again = crash(case="N=1"), crash(case="N=7")
    lines = check_lines(outcome("b", [again]), causes_of((told, "Title of a", ["Title of a"])), {})
    assert "- [N=7] the problem told in Start here (1)" in lines
    assert not any(line.startswith("Hint") for line in lines)


def test_a_failure_nothing_tells_is_shown_with_its_detail_and_the_hint():
    f = wrong(case="N=3", detail="the map")
    lines = check_lines(outcome("a", [f]), [], {})
    assert lines == ["Passed 0 of 1 case(s).", "- [N=3] dX: 3 of 9 values are wrong\nthe map",
                     "Hint: the check's own hint"]


def test_the_hint_is_dropped_when_a_likely_bug_or_a_crash_says_more():
    for f in (wrong(likely_bug="the sign is flipped"), crash()):
        assert not any(x.startswith("Hint") for x in check_lines(outcome("a", [f]), [], {}))


def test_cases_failing_the_same_way_are_one_line_with_a_count():
    fs = [wrong(case=f"N={n}", problem=f"dX: {n} of 9 values are wrong") for n in range(1, 4)]
    lines = check_lines(outcome("a", fs), [], {})
    assert "- [N=1] dX: 1 of 9 values are wrong (and 2 more case(s) failing the same way)" in lines
    assert sum(line.startswith("- ") for line in lines) == 1


def test_at_most_a_few_distinct_problems_are_listed_and_the_rest_counted():
    fs = [wrong(case=f"N={n}", problem=f"problem {chr(97 + n)}") for n in range(5)]
    fs.append(wrong(case="N=9", problem="problem a"))              # the first problem again
    lines = check_lines(outcome("a", fs), [], {})
    listed = [x for x in lines if x.startswith("- [")]
    assert len(listed) == MAX_CASE_LINES
    assert f"- ... {len(fs) - MAX_CASE_LINES - 1} more failing case(s)" in lines


def test_blocked_cases_are_one_line_naming_the_blocking_checks_title():
    o = outcome("dx", blocked=[blocked("N=1", "col2im"), blocked("N=2", "col2im")], passed=1)
    titles = {"col2im": "col2im sums overlaps"}
    told = causes_of((wrong(function="col2im"), "col2im sums overlaps", ["col2im sums overlaps"]))
    assert check_lines(o, told, titles) == [
        "Passed 1 of 3 case(s).",
        "2 case(s) not credited: blocked by 'col2im sums overlaps', which fails on its own (see Start here). "
        "Fix that first."]
    # a blocker that Start here does not tell (a check shown only after the due date) is pointed at by name
    assert check_lines(o, [], titles)[1].endswith("which fails on its own (see that check). Fix that first.")


def test_a_wrong_answer_after_a_cause_in_another_function_may_follow_from_it():
    cause = causes_of((wrong(function="col2im"), "c", ["c"]))
    lines = check_lines(outcome("dx", [wrong(case="N=5", problem="other problem")]), cause, {})
    assert lines[-1] == "This may follow from the problem in col2im told at the top: fix that first."
    assert not any(x.startswith("Hint") for x in lines)


def test_a_second_problem_of_a_told_function_names_its_cause():
    cause = causes_of((wrong(case="N=1"), "c", ["c"]))
    lines = check_lines(outcome("b", [wrong(case="N=2", problem="dW is wrong")]), cause, {})
    assert "  (the same function as Start here (1))" in lines


# --- the table --------------------------------------------------------------------------------------

def test_status_word():
    assert status_word(outcome("a", passed=2)) == "PASS"
    assert status_word(outcome("a", [wrong()], passed=1)) == "FAIL"
    assert status_word(outcome("a", blocked=[blocked("x", "b")])) == "BLOCKED"
    assert status_word(outcome("a", [wrong()], blocked=[blocked("x", "b")])) == "FAIL"
    assert status_word(outcome("a", total=0)) == "FAIL"                  # no case ran: never a pass


def test_table_note_points_to_start_here_or_states_the_problem():
    f = wrong(function="col2im")
    assert table_note(outcome("a", passed=1), [], {}) == ""
    assert table_note(outcome("a", [f]), causes_of((f, "a", ["a"])), {}) == "see Start here (1)"
    assert table_note(outcome("a", [wrong(problem="dX | *bad*")]), [], {}) == "dX \\| \\*bad\\*"


def test_table_note_names_the_blocking_checks_once():
    o = outcome("a", blocked=[blocked("1", "b"), blocked("2", "b"), blocked("3", "c")])
    assert table_note(o, [], {"b": "B_title", "c": "C"}) == "3 case(s) blocked by *B\\_title*, *C*"


def test_blocked_counts_are_per_function_of_the_blocking_check():
    col2im = outcome("col2im", [wrong(function="col2im")])
    checks = [col2im, outcome("dx", blocked=[blocked("1", "col2im"), blocked("2", "col2im")]),
              outcome("dw", blocked=[blocked("1", "col2im")]), outcome("ok", passed=1)]
    assert blocked_counts(checks, []) == {"col2im": 2}       # two checks, however many cases
