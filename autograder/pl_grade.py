"""PrairieLearn's external grader: grade ROOT/student into ROOT/results/results.json.

    python -m autograder.pl_grade [--root /grade] [--config LAB/config.toml]
                                     (ROOT: --root, else $CONVKIT_GRADE_ROOT, else /grade)

Run by the question's tests/run_grader (written by `make prairielearn`, see
autograder/staff/prairielearn.py) from the kit's folder in /grade/serverFilesCourse.
PrairieLearn lays out /grade/student (the uploaded file), /grade/tests and
/grade/serverFilesCourse; this module grades exactly as `python -m autograder grade`
does (same sandbox level detection: chroot in a default Docker container, which refuses
user namespaces) and renders the report with GradeReport.to_prairielearn. The
grade record (grade.json) and the Gradescope results.json and feedback.md that grading
writes go to a temporary folder and are deleted: the report object in hand is the record. results.json is always written, and
exit status is 0 unless even that failed (run_grader then writes its own).
"""

import argparse
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from autograder.cli import lab_config_path
from autograder.results import GradeReport, write_prairielearn

ROOT_ENV = "CONVKIT_GRADE_ROOT"
DEFAULT_ROOT = "/grade"


def grade(root, config_path):
    """Grades root/student with the lab of config_path into root/results/results.json; returns the GradeReport."""
    root = Path(root)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="convkit-pl-"))
    try:
        from autograder.grading import grade_submission
        from autograder.lab_loader import load_lab
        report = grade_submission(load_lab(config_path), root / "student", scratch / "out")
    except Exception as exc:          # a grader problem: never the student's, never without results.json
        traceback.print_exc()
        report = GradeReport(status="error", checks=[], max_score=0,
                             message=f"The grader failed (a staff problem, not yours): {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_prairielearn(report, results)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.pl_grade", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get(ROOT_ENV) or DEFAULT_ROOT,
                        help=f"the job's folder (default: ${ROOT_ENV}, else {DEFAULT_ROOT})")
    parser.add_argument("--config", metavar="CONFIG_TOML",
                        help="the lab's config.toml (as `python -m autograder --config`; run_grader names it)")
    args = parser.parse_args(argv)
    report = grade(args.root, lab_config_path(args.config))
    print(f"{report.status}: {report.score:g} / {report.max_score:g}, isolation "
          f"{report.extra.get('isolation', '-')}, {report.execution_time:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
