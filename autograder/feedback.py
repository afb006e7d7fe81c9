"""What a student reads: one lesson per bug, told once, short, and stating how large the error is.

The root causes (failures.root_causes: one per function at fault, from the checks' own
failures) open the feedback under *Start here*, each with one map or one traceback. A check
failing for the same function gets one line pointing back; a check whose cases another
check's bug blocks (autograder.attribution) gets one line naming that check, and no hint of
its own. Rendered three ways from the same parts: plain text (terminal, PrairieLearn),
Markdown (feedback.md, Gradescope's "md"), and per check (Gradescope's and PrairieLearn's tests).

Only the grader writes markup: every text a student's code can reach is escaped in a
paragraph or sits in a code block whose fence nothing inside can close; code blocks hold
lines of about 100 characters at most, so nothing runs off a rendered page.
"""

import re
import textwrap

from autograder.text import fenced, inert

WIDTH = 100                  # widest line in a code block or a terminal paragraph
MAX_CASE_LINES = 2           # distinct failing problems listed per check; the rest are counted
_MAP_LINE = re.compile(r"^\s*[X.+\-\[\]0-9 ]*$")    # a drawn map row or panel label: never re-wrapped
_NUMBER = re.compile(r"[0-9][0-9.e+-]*")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&$])")      # what can start markup inside one line
_AUTOLINK = re.compile(r"(?i)(www)\.|(\w+):(//)")                  # GFM's bare links


def narrow(text, width=WIDTH):
    """Lines longer than `width` wrapped (continuations indented), map rows left as drawn."""
    out = []
    for line in str(text).splitlines():
        if len(line) <= width or _MAP_LINE.match(line):
            out.append(line)
        else:
            indent = re.match(r"\s*", line)[0]
            out += textwrap.wrap(line, width, subsequent_indent=indent + "    ", break_long_words=True,
                                 break_on_hyphens=False) or [""]
    return "\n".join(out)


def md(text):
    """Any text as inert Markdown inline text: control characters gone, punctuation escaped."""
    text = _MD_SPECIAL.sub(r"\\\1", " ".join(inert(text).split()))
    return _AUTOLINK.sub(lambda m: f"{m[1]}\\." if m[1] else f"{m[2]}\\:{m[3]}", text)


def block(text):
    """A code block of narrowed lines."""
    return fenced(narrow(text))


def cause_lines(number, cause, causes, blocked_count):
    """(prose lines, detail) of one root cause: where it is first seen, what is wrong and by how much,
    the likely bug, the other checks it explains; detail is its map or traceback ('' when none)."""
    f = cause.failure
    lines = [f"{number}. {f.function or 'your code'}: fails '{cause.check}'" + (f" on case {f.case}." if f.case else ".")]
    if f.raised:
        lines.append("It did not answer on that case; what happened (for an exception, with the line of your "
                     "code that raised it):")
    else:
        lines.append(f.problem.rstrip(".") + ".")
        if f.likely_bug:
            lines.append(f"Likely bug: {f.likely_bug}")
    others = [title for title in cause.checks if title != cause.check]
    if others:
        lines.append(f"The same function also fails: {', '.join(repr(t) for t in others)}.")
    if blocked_count:
        lines.append(f"Until it is fixed, {blocked_count} other check(s) cannot credit some cases (marked BLOCKED).")
    if number > 1 and not f.raised:
        lines.append(f"This may follow from {causes[0].function or 'the first problem'}: fix that first.")
    return lines, f.detail


def start_here_text(causes, blocked_counts=None):
    """Start here as plain text lines (terminal, PrairieLearn's message)."""
    out = []
    for number, cause in enumerate(causes, 1):
        (head, *rest), detail = cause_lines(number, cause, causes, (blocked_counts or {}).get(cause.function, 0))
        out += narrow(head).splitlines()
        out += ["   " + line for text in rest for line in narrow(text, WIDTH - 3).splitlines()]
        out += ["      " + line for line in narrow(inert(detail), WIDTH - 6).splitlines()] if detail else []
    return out


def start_here_markdown(causes, blocked_counts=None):
    """Start here as Markdown parts: each cause's lines as one escaped paragraph, its map or
    traceback in a code block."""
    parts = []
    for number, cause in enumerate(causes, 1):
        lines, detail = cause_lines(number, cause, causes, (blocked_counts or {}).get(cause.function, 0))
        head, *rest = lines
        parts.append("**" + md(head) + "**" + "".join("  \n" + md(line) for line in rest))
        if detail:
            parts.append(block(detail))
    return parts


def check_lines(outcome, causes, titles):
    """One check's feedback as lines (its test output on Gradescope and PrairieLearn, the terminal).
    A failure a root cause already tells is one line pointing there; cases another check's bug
    blocks are one line naming that check, with no hint of this check's own."""
    if outcome.ok:
        return [f"Passed all {outcome.total} case(s)."]
    lines = [f"Passed {outcome.passed} of {outcome.total} case(s)."] if outcome.total else []
    if outcome.blocked:
        blockers = list(dict.fromkeys(f.blocked_by for f in outcome.blocked))
        names = ", ".join(repr(titles.get(name, name)) for name in blockers)
        at_top = {title for c in causes for title in c.checks}
        where = "see Start here" if all(titles.get(n, n) in at_top for n in blockers) else "see that check"
        lines.append(f"{len(outcome.blocked)} case(s) not credited: blocked by {names}, "
                     f"which fails on its own ({where}). Fix that first.")
    told = {id(c.failure): number for number, c in enumerate(causes, 1)}
    by_function = {c.function: number for number, c in enumerate(causes, 1)}
    groups = _group_by_problem(outcome.failures)
    for shown, (failure, count) in enumerate(groups):
        if shown == MAX_CASE_LINES:
            lines.append(f"- ... {len(outcome.failures) - sum(n for _, n in groups[:shown])} more failing case(s)")
            break
        more = f" (and {count - 1} more case(s) failing the same way)" if count > 1 else ""
        members = [f for f in outcome.failures if _problem_key(f) == _problem_key(failure)]
        told_here = next((f for f in members if id(f) in told), None)
        number = told[id(told_here)] if told_here else next(
            (n for n, c in enumerate(causes, 1) if failure.same_cause(c.failure)), None)
        if number:                     # named by the case Start here shows
            lines.append(f"- [{(told_here or failure).case}] the problem told in Start here ({number}){more}")
        else:
            lines.append(f"- {failure.headline()}{more}" + (f"\n{failure.detail}" if failure.detail else ""))
            if failure.function in by_function and not failure.raised:
                lines.append(f"  (the same function as Start here ({by_function[failure.function]}))")
    earlier = _earlier_cause(outcome.failures, causes)
    if earlier is not None:
        lines.append(f"This may follow from the problem in {earlier.function} told at the top: fix that first.")
    elif outcome.failures and not any(f.raised or f.likely_bug for f in outcome.failures):
        # a named likely bug or a crash says more than the check's general hint, which could point away
        lines.append(f"Hint: {outcome.hint}")
    return lines


def table_note(outcome, causes, titles):
    """The feedback table's last column: why a check did not pass, in one short line (Markdown)."""
    if outcome.ok:
        return ""
    notes = []
    if outcome.failures:
        function = outcome.failures[0].function
        number = next((n for n, c in enumerate(causes, 1) if c.function == function), None)
        notes.append(f"see Start here ({number})" if number else md(outcome.failures[0].problem[:200]))     # cut before escaping: no half escape
    if outcome.blocked:
        blockers = dict.fromkeys(titles.get(f.blocked_by, f.blocked_by) for f in outcome.blocked)
        notes.append(f"{len(outcome.blocked)} case(s) blocked by " + ", ".join(f"*{md(t)}*" for t in blockers))
    return "; ".join(notes)


def status_word(outcome):
    """PASS, FAIL (its own property fails) or BLOCKED (only another check's bug stops it)."""
    return "PASS" if outcome.ok else "FAIL" if outcome.failures or not outcome.blocked else "BLOCKED"


def blocked_counts(checks, causes):
    """{function of a root cause: how many checks it blocks}, from the blocked failures' blockers."""
    by_name = {c.name: c for c in checks}
    counts = {}
    for c in checks:
        for function in {by_name[f.blocked_by].failures[0].function for f in c.blocked
                         if f.blocked_by in by_name and by_name[f.blocked_by].failures}:
            counts[function] = counts.get(function, 0) + 1
    return counts


def _earlier_cause(failures, causes):
    """The first root cause, when it lies in another function than every failure here (so these
    wrong answers may be its consequences); None otherwise, and for a crash, whose traceback
    says itself where it happened."""
    functions = {f.function for f in failures}
    if causes and failures and causes[0].function not in functions and not all(f.raised for f in failures):
        return causes[0]
    return None


def _problem_key(failure):
    return (_NUMBER.sub("#", failure.problem), failure.likely_bug, failure.kind, failure.function,
            failure.detail if failure.raised else "")


def _group_by_problem(failures):
    """(first failure, count) per distinct problem; the case (and its numbers: counts, error
    sizes) does not make a problem distinct."""
    groups = {}
    for failure in failures:
        key = _problem_key(failure)
        if key in groups:
            groups[key][1] += 1
        else:
            groups[key] = [failure, 1]
    return [tuple(g) for g in groups.values()]
