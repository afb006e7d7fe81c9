"""Student commands (`check`, `submit`), as the CLI runs them.

    python -m autograder check FILE      public checks on the public fixtures, with points
    python -m autograder submit FILE     validate, run the public checks, write submission.zip

check and submit grade exactly like the real grader (same checks, same sandbox),
only with the public checks and the public fixture set.
"""

import tempfile
import zipfile
from pathlib import Path

from autograder.config import load_config
from autograder.grading import GradingOptions, grade_submission
from autograder.lab import load_lab
from autograder.submission import InvalidSubmission, load_submission

PUBLIC = GradingOptions(which="public", public_only=True)
NOT_IMPLEMENTED = "NotImplementedError"


def _run_public_checks(path):
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as out:
        return grade_submission(path, out, PUBLIC)


def print_public_report(report, path):
    """A friendly per-check summary with points; returns True when every public check passed."""
    print(f"Public checks on {path} (isolation: {report.extra.get('isolation', '?')})\n")
    for c in report.checks:
        ok = c.total and c.passed == c.total
        print(f"  {'PASS' if ok else 'FAIL'}  {c.title:<58} {c.score:>5g} / {c.points:g}")
        if not ok:
            for line in c.output().splitlines():
                print(f"          {line}")
    public_max = report.max_score
    hidden = load_config().max_score - public_max
    print(f"\nPublic score: {report.score:g} / {public_max:g}. The other {hidden:g} points come from hidden "
          f"checks (other shapes, strides and paddings) that run when you submit.")
    return all(c.total and c.passed == c.total for c in report.checks)


def cmd_check(path):
    report = _run_public_checks(path)
    if report.status == "invalid":
        print(report.message)
        return 2
    if report.status == "error":
        print(f"The check could not run: {report.message}")
        return 1
    return 0 if print_public_report(report, path) else 1


def cmd_submit(path, dest="submission.zip"):
    """Validates the file, runs the public checks and writes a zip holding exactly the lab's submission file."""
    path = Path(path)
    try:
        submission = load_submission(path)
    except InvalidSubmission as exc:
        print(f"Not submitted: {exc.message}")
        return 2
    report = _run_public_checks(path)
    if report.status == "graded":
        print_public_report(report, path)
    stubs = sorted({c.title for c in report.checks if any(NOT_IMPLEMENTED in m for m in c.failures)})
    dest = Path(dest)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(load_lab().config.submission_file, submission.source)
    if stubs or "NotImplementedError" in report.message:
        print("\nWARNING: your code still raises NotImplementedError (a TODO stub is left). "
              "Those parts will earn 0 points.")
    print(f"\nWrote {dest} (holding only {load_lab().config.submission_file}). Upload it to Gradescope.")
    return 0
