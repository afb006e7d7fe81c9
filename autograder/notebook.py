"""What the students' notebook (lab.ipynb) calls: the public checks inline, the zip.

The notebook imports the student's file for its worked examples, but the checks
here grade the file on disk exactly as `python3 lab.py check` does (same checks, same
sandbox, public fixtures). Nothing here raises for what the student's code does: an
unfinished TODO shows as "not implemented", a sandbox that cannot start is one message.
"""

import contextlib
import io
from pathlib import Path

from autograder import student_tools

NOT_IMPLEMENTED = "NOT IMPLEMENTED"


def check_status(outcome):
    """'PASS', 'FAIL', 'BLOCKED' (only another check's bug stops it) or 'NOT IMPLEMENTED' for one CheckOutcome."""
    if outcome.ok:
        return "PASS"
    if any(f.raised and student_tools.NOT_IMPLEMENTED in f.text() for f in outcome.failures + outcome.blocked):
        return NOT_IMPLEMENTED
    return "FAIL" if outcome.failures else "BLOCKED"


def first_failure_line(failure, width=300):
    """The failure in one line: its headline, and when that ends in a colon ('your code failed:')
    the first line of what follows, so the line never stops at the colon."""
    line = failure.headline()
    if line.rstrip().endswith(":") and failure.detail:
        line = f"{line} {failure.detail.strip().splitlines()[0]}"
    return line[:width]


def public_checks(lab, path=None, categories=None):
    """Grades `path` on `lab`'s public checks and prints one line per check of `categories`
    (all when None): status, title, points, and the first failure of a failing check.
    Returns {check name: status}, or {} when the checks could not run (the reason is printed).
    path: default, the lab's submission file."""
    path = Path(path or lab.config.submission_file)
    if not path.is_file():
        print(f"No {path} here: run this notebook in the unpacked handout folder.")
        return {}
    try:
        report = student_tools._run_public_checks(lab, path)
    except Exception as exc:                   # the sandbox cannot start here: say why, once
        print(f"The checks could not start on this machine: {exc}")
        return {}
    if report.status != "graded":
        print(report.message)
        return {}
    print(f"Public checks on {path.name} (isolation: {report.extra.get('isolation', '?')})")
    if student_tools.isolation_note():
        print(student_tools.isolation_note())
    statuses = {}
    titles = {c.name: c.title for c in report.checks}
    for c in report.checks:
        if categories and c.category not in categories:
            continue
        status = check_status(c)
        statuses[c.name] = status
        print(f"  {status:<15} {c.title:<58} {c.score:>5g} / {c.points:g}")
        if status != "PASS" and c.failures:
            print("                  " + first_failure_line(c.failures[0]))
        elif status != "PASS" and c.blocked:
            blocker = titles.get(c.blocked[0].blocked_by, c.blocked[0].blocked_by)
            print(f"                  blocked by '{blocker}': fix that first")
    shown = [c for c in report.checks if c.name in statuses]
    print(f"  {sum(c.score for c in shown):g} / {sum(c.points for c in shown):g} points in these checks; "
          f"all public checks: {report.score:g} / {report.max_score:g}")
    return statuses


def build_submission(lab, path=None, anyway=False):
    """Runs `python3 lab.py submit` on `path` (default: the lab's submission file); returns the
    zip's Path, or None when refused."""
    path = Path(path or lab.config.submission_file).resolve()
    dest = path.parent / "submission.zip"
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            code = student_tools.cmd_submit(lab, path, dest, anyway=anyway)
    except Exception as exc:                   # the sandbox cannot start here
        print(f"No zip: the checks could not start on this machine: {exc}")
        return None
    print(buffer.getvalue().split("\n\n", 1)[0])     # the summary line: score, unfinished, zip
    return dest if code == 0 else None
