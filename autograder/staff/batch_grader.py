"""One of the batch's grading processes: `python -m autograder batch-grader`.

It reads one submission a line on stdin ({"id", "path", "sha256"}), grades it in this
process (each with its own sandboxed student worker), writes its folder under OUT (the grade
record grade.json and its renderings) and answers its batch record, taken from the grade
record in hand (autograder.staff.batch_records), as one JSON line on stdout. The
batch starts these processes and replaces them (autograder.staff.grading_pool).
"""

import json
import os
import sys
import time
from pathlib import Path

from autograder.fixtures import FixtureError
from autograder.staff.batch_entries import Entry, safe_id
from autograder.staff.batch_records import finish_record, new_record

TASKS_PER_PROCESS = 100        # a grading process is replaced after this many (bounds any leak)


def serve_grading_process(lab, out_dir, fixture_hash, max_tasks=TASKS_PER_PROCESS):
    """`batch-grader`: grade the submissions named on stdin to `lab`, one JSON record per line on stdout.

    Anything else that writes to stdout (pytest, a library) is sent to stderr
    instead, so that only records travel on the reply channel.
    """
    from autograder.grading import GradingOptions, load_fixtures_for
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    # Verified and loaded once for every submission this process grades (arrays stay cached);
    # a set that is not the one the batch started with is never used.
    try:
        fixture_set = load_fixtures_for(lab, GradingOptions())
        fixture_set = fixture_set if fixture_set.set_hash == fixture_hash else None
    except FixtureError:
        fixture_set = None                     # grade_submission reports it, per submission
    for done, line in enumerate(sys.stdin):
        task = json.loads(line)
        record = grade_in_process(lab, Entry(task["id"], Path(task["path"]), task["sha256"]), Path(out_dir),
                                  fixture_hash, fixture_set)
        reply.write(json.dumps(record) + "\n")
        if done + 1 >= max_tasks:
            break
    return 0


def grade_in_process(lab, entry, out_dir, fixture_hash, fixture_set=None):
    """Grades one submission in this (grading) process; returns its record, always."""
    from autograder.grading import grade_submission
    sub_dir = out_dir / "submissions" / entry.id
    sub_dir.mkdir(parents=True, exist_ok=True)
    record = new_record(entry, fixture_hash)
    started = time.monotonic()
    try:
        if entry.path.is_symlink():            # it could point at the reference, or another student's work
            report = refusal(lab.config, f"{safe_id(entry.path.name)} is a symbolic link; a batch grades files and "
                             "folders, never what a link points to", sub_dir)
        else:
            report = grade_submission(lab, entry.path, sub_dir, fixture_set=fixture_set)
        problem = ""
    except Exception as exc:                   # a grader bug: one row, not the batch
        report, problem = None, f"the grader failed: {exc!r}"[:500]
    return finish_record(record, sub_dir, report, time.monotonic() - started, problem)


def refusal(config, message, sub_dir):
    """Writes and returns the 'invalid' report of an entry the batch itself refuses."""
    from autograder.results import CheckOutcome, GradeReport, write_report
    report = GradeReport(status="invalid", message=f"Your submission could not be graded: {message}",
                         checks=[CheckOutcome.from_spec(n, c) for n, c in config.checks.items()],
                         max_score=config.max_score)
    write_report(report, sub_dir)
    return report
