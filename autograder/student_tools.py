"""Student commands (`check`, `submit`), as the CLI runs them (`verify`: autograder/staff/verify.py).

    python -m autograder check FILE      public checks on the public fixtures, with points
    python -m autograder submit FILE     validate, run the public checks, write submission.zip
                                         (refused while a stub or the import fails; --anyway)

check and submit grade exactly like the real grader (same checks, same sandbox),
only with the public checks and the public fixture set.
"""

import os
import re
import tempfile
import zipfile
from pathlib import Path

from autograder.config import KIT_ROOT
from autograder.grading import GradingOptions, grade_submission
from autograder.feedback import WIDTH, blocked_counts, narrow, start_here_text, status_word
from autograder.sandbox.levels import missing_posix
from autograder.sandbox.portable import is_root
from autograder.submission import InvalidSubmission, SubmissionLimits, load_submission

PUBLIC = GradingOptions(which="public", public_only=True)
NOT_IMPLEMENTED = "NotImplementedError"
STUB = re.compile(r"([A-Za-z_][\w.]*) raised NotImplementedError")


def _run_public_checks(lab, path, options=PUBLIC):
    _close_handout_when_root()
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as out:
        return grade_submission(lab, path, out, options)


def _close_handout_when_root():
    """As root without bubblewrap (e.g. Colab), the sandbox runs your code as another user,
    and only after the handout folder is closed to other users; the folder is the
    student's own, holding nothing secret, so the tool closes it (chmod o-rwx) itself."""
    if not is_root() or (KIT_ROOT / ".git").exists():
        return                                  # not root, or the staff's kit: never changed here
    mode = KIT_ROOT.stat().st_mode
    if mode & 0o007:
        os.chmod(KIT_ROOT, mode & ~0o007)
        print(f"(running as root: closed {KIT_ROOT} to other users, so the sandbox's user cannot read it)")


def isolation_note():
    """'' on POSIX; on a Python without resource/fcntl/fork (Windows) what that costs."""
    missing = missing_posix()
    if not missing:
        return ""
    return (f"Note: this Python has no {', '.join(missing)} (not POSIX, e.g. Windows), so your code ran "
            f"at the 'process' level with time limits only (no memory or CPU limits).")


def print_public_report(lab, report, path):
    """A friendly per-check summary with points; returns True when every public check passed."""
    print(f"Public checks on {path} (isolation: {report.extra.get('isolation', '?')})")
    if isolation_note():
        print(isolation_note())
    print()
    causes = report.causes()
    if causes:                       # one root cause per function, once; the checks below point back
        print("Start here:")
        for line in start_here_text(causes, blocked_counts(report.checks, causes)):
            print(f"  {line}")
        print()
    titles = {c.name: c.title for c in report.checks}
    for c in report.checks:
        print(f"  {status_word(c):<7}  {c.title:<58} {c.score:>5g} / {c.points:g}")
        if not c.ok:
            for line in narrow(c.output(causes, titles), WIDTH - 11).splitlines():
                print(f"           {line}")
    public_max = report.max_score
    hidden = lab.config.max_score - public_max
    print(f"\nPublic score: {report.score:g} / {public_max:g}. The other {hidden:g} points come from hidden "
          f"checks (other shapes, strides and paddings) that run when you submit.")
    return all(c.ok for c in report.checks)


def cmd_check(lab, path):
    """The public checks on the file `path`, graded as the grader does, with points; the exit status."""
    report = _run_public_checks(lab, path)
    if report.status == "invalid":
        print(report.message)
        return 2
    if report.status == "error":
        print(f"The check could not run: {report.message}")
        return 1
    return 0 if print_public_report(lab, report, path) else 1


def unfinished_functions(report):
    """Names of the functions that still raise NotImplementedError (TODO stubs), in order seen."""
    failures = [f for c in report.checks for f in c.failures]
    names = [m.group(1) for m in STUB.finditer(report.message)]
    names += [f.function or "a function" for f in failures if f.raised and NOT_IMPLEMENTED in f.text()]
    if not names and NOT_IMPLEMENTED in report.message:
        names = ["a function"]
    return list(dict.fromkeys(names))


def submission_problems(lab, report):
    """Why this file should not be uploaded yet ([] when nothing is wrong enough to refuse)."""
    problems = []
    if report.status == "error":
        problems.append(f"the public checks could not run ({report.message})")
    elif report.extra.get("import_failed"):
        problems.append(f"{lab.config.submission_file} fails to import, so every check fails")
    stubs = unfinished_functions(report)
    if stubs:
        problems.append(f"{', '.join(stubs)} still raise{'s' if len(stubs) == 1 else ''} NotImplementedError")
    return problems


def _remove_stale(dest):
    if dest.exists():
        dest.unlink()
        return f"the old {dest.name} was removed, so it cannot be uploaded by mistake"
    return f"no {dest.name} written"


def cmd_submit(lab, path, dest="submission.zip", anyway=False):
    """Validates the file, runs the public checks and writes a zip holding exactly the lab's file.

    The first line printed is the summary: public score, what is unfinished, where the zip is.
    A file that cannot be read as Python is never packaged; one that fails to import or still
    raises NotImplementedError is packaged only with ``anyway``. On refusal a stale zip is
    removed and the exit code is 2.
    """
    path, dest = Path(path), Path(dest).resolve()
    try:
        submission = load_submission(path, SubmissionLimits.of(lab))
    except InvalidSubmission as exc:         # the summary line first; a syntax error's source and caret after it
        head, _, rest = exc.message.partition("\n")
        print(f"NOT SUBMITTED: {head}; {_remove_stale(dest)}.")
        if rest.strip("\n"):
            print(rest.rstrip("\n"))
        return 2
    try:
        report = _run_public_checks(lab, path)
    except BaseException:                      # the checks could not run here: no stale zip either
        _remove_stale(dest)
        raise
    problems = submission_problems(lab, report)
    score = (f"public checks {report.score:g} / {report.max_score:g}" if report.status == "graded"
             else "public checks did not run")
    if problems and not anyway:
        print(f"NOT SUBMITTED: {score}; unfinished: {'; '.join(problems)}; {_remove_stale(dest)}. "
              f"Fix that, or submit it as it is with --anyway.")
    else:
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(lab.config.submission_file, submission.source)
        unfinished = "; ".join(problems) if problems else "nothing"
        print(f"SUBMISSION READY: {score}; unfinished: {unfinished}; zip: {dest} "
              f"(holding only {lab.config.submission_file}). "
              f"Upload it to Gradescope.")
    print()
    if report.status == "graded":
        print_public_report(lab, report, path)
    return 2 if problems and not anyway else 0
