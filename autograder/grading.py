"""Grading one submission: unpack, sandbox, run the checks, write the results.

    report = grade_submission(lab, path, out_dir)

Data flow (design.md section 2): submission -> fixtures -> sandbox -> checks ->
results. The checks (`test_*` functions declared with autograder.checks' @check) run here, in
the trusted process, through autograder.runner; the student's code only ever runs inside the
sandbox's worker. autograder/pytest_plugin.py opens the same sandbox (open_adapter) for pytest.
"""

import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from autograder.fixtures import FixtureError, fixture_folder, load_fixture_set
from autograder.results import CheckOutcome, GradeReport, write_report
from autograder.runner import run_checks
from autograder.sandbox import Sandbox
from autograder.submission import InvalidSubmission, SubmissionLimits, load_submission, write_source


@dataclass(frozen=True)
class GradingOptions:
    """Which fixtures and checks to use; the defaults grade for real."""
    which: str = "hidden"                # 'hidden' or 'public' fixture set
    public_only: bool = False            # run only checks marked public (students' self-check)
    fixtures_root: Path = None           # folder holding hidden/ and public/ (default build/fixtures)
    isolation: str = None                # force a sandbox level (tests); None picks the best


def secret_paths(fixture_folder, out_dir, reference):
    """What the worker must not read where only file permissions protect it ('uid' isolation):
    the fixture set, the folder of the reference solution and this submission's results.
    Only these folders themselves are closed (never a parent such as /tmp); batch mode
    closes its own output folder so students cannot read each other's results (out_dir None:
    there are none, e.g. under pytest)."""
    folders = (fixture_folder, out_dir, Path(reference).parent)
    return [Path(p) for p in folders if p is not None and Path(p).exists()]


def _report_without_checks(status, message, config, started, extra):
    outcomes = [CheckOutcome.from_spec(n, s) for n, s in config.checks.items()]
    return GradeReport(status=status, message=message, checks=outcomes, max_score=config.max_score,
                       execution_time=time.monotonic() - started, extra=extra)


def load_fixtures_for(lab, options):
    """The lab's verified fixture set that `options` asks for, worded by the lab; raises FixtureError."""
    folder = fixture_folder(options.which, options.fixtures_root or lab.fixtures_root)
    return load_fixture_set(folder, lab.config.fixture_seed(options.which), options.which, lab=lab)


@contextmanager
def open_adapter(lab, submission, fixture_set, out_dir=None, isolation=None):
    """The lab's Adapter on a loaded submission, its code running in the sandbox grading uses (the
    same limits, contract and closed folders); yields (code, sandbox). out_dir: the results' folder,
    closed to the worker too (None: nothing is written)."""
    config = lab.config
    with tempfile.TemporaryDirectory(prefix="convkit-src-") as src:
        student_file = write_source(submission, Path(src), config.submission_file)
        with Sandbox(student_file, config.limits, isolation=isolation, contract=lab.contract,
                     secret_paths=secret_paths(fixture_set.folder, out_dir, lab.reference)) as sandbox:
            yield lab.adapter_class(sandbox, config.limits.total_cpu_s), sandbox


def grade_submission(lab, path, out_dir, options=GradingOptions(), fixture_set=None):
    """Grades one submission to `lab` (autograder.lab_loader.Lab) into out_dir/grade.json (the record),
    results.json and feedback.md;
    returns the GradeReport.

    fixture_set: an already verified set (a batch's grading process verifies and loads
    it once for all its submissions); by default it is loaded and verified here.
    Never raises for anything the student did: an unusable submission gives status
    'invalid' with a message, a fixture problem gives status 'error' for the staff.
    """
    started = time.monotonic()
    config = lab.config
    extra = {"check_set": "public" if options.public_only else "all", "fixture_set": options.which}
    try:
        fixture_set = fixture_set or load_fixtures_for(lab, options)
        extra.update(fixture_set_hash=fixture_set.set_hash)      # never the seed: results.json reaches students
        submission = load_submission(Path(path), SubmissionLimits.of(lab))
        extra.update(submission_sha256=submission.sha256, submission_origin=submission.origin)
        if submission.notes:
            extra["submission_notes"] = list(submission.notes)
    except FixtureError as exc:
        report = _report_without_checks("error", f"Grading could not start (staff problem, not yours): {exc}",
                                        config, started, extra)
        write_report(report, out_dir)
        return report
    except InvalidSubmission as exc:
        report = _report_without_checks("invalid", f"Your submission could not be graded: {exc.message}",
                                        config, started, extra)
        write_report(report, out_dir)
        return report

    selected = {n for n, s in config.checks.items() if s.public or not options.public_only}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with open_adapter(lab, submission, fixture_set, out_dir, options.isolation) as (code, sandbox):
        extra["isolation"] = sandbox.isolation
        checked = run_checks(lab, fixture_set, code, selected)
        printed = sandbox.output()
        import_error = sandbox.import_error
    outcomes = [checked.outcomes[n] for n in config.checks if n in checked.outcomes]
    if import_error is not None:
        extra["import_failed"] = True      # as data: the student tools refuse to submit on it
        message = (f"Your {config.submission_file} could not be imported, so every check failed: "
                   f"{import_error.message}")
    else:
        message = f"Graded {len(outcomes)} checks against the {options.which} fixtures."
    message = " ".join([message, *submission.notes])
    if checked.internal_errors:
        extra["internal_errors"] = checked.internal_errors
    report = GradeReport(status="error" if checked.internal_errors else "graded", message=message,
                         checks=outcomes, max_score=sum(c.points for c in outcomes),
                         execution_time=time.monotonic() - started, extra=extra, student_output=printed)
    write_report(report, out_dir)
    return report
