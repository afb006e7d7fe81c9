"""Student commands (`check`, `submit`) and the TA's `verify`, as the CLI runs them.

    python -m autograder check conv2d.py     public checks on the public fixtures, with points
    python -m autograder submit conv2d.py    validate, run the public checks, write submission.zip
    python -m autograder verify              reference full marks, template zero, examples graded

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
    with tempfile.TemporaryDirectory(prefix="conv2d-check-") as out:
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
    """Validates conv2d.py, runs the public checks and writes a zip holding exactly conv2d.py."""
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


def cmd_verify():
    """Grades the reference, the template and the bundled examples; non-zero if the grader is off."""
    from autograder.catalogue import load_catalogue, write_zip
    entries, examples = load_catalogue()
    config = load_config()
    rows, problems = [], []
    with tempfile.TemporaryDirectory(prefix="conv2d-verify-") as tmp:
        tmp = Path(tmp)
        lab = load_lab()
        subjects = [("reference", lab.reference, "full"), ("template", lab.template, "zero")]
        for key in examples:
            expect = "full" if key.startswith("correct/") else "less"
            subjects.append((key, write_zip(entries[key], tmp / f"{key.replace('/', '__')}.zip"), expect))
        for name, path, expect in subjects:
            report = grade_submission(path, tmp / "out" / name.replace("/", "__"))
            failed = [c.name for c in report.checks if c.passed < c.total]
            ok = (report.status == "graded" and
                  {"full": report.score == config.max_score, "zero": report.score == 0,
                   "less": report.score < config.max_score}[expect])
            if not ok:
                problems.append(f"{name}: expected {expect} marks, got {report.score:g} ({report.status})")
            rows.append((name, f"{report.score:g} / {config.max_score:g}", "ok" if ok else "WRONG",
                         ", ".join(failed) or "-"))
    width = max(len(r[0]) for r in rows)
    print(f"{'submission':<{width}}  {'score':>10}  verdict  failed checks")
    for name, score, verdict, failed in rows:
        print(f"{name:<{width}}  {score:>10}  {verdict:<7}  {failed}")
    if problems:
        print("\nVERIFY FAILED: the grader does not tell right from wrong with these fixtures:")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print("\nverify: the reference earns full marks, the template zero, every example as expected.")
    return 0
