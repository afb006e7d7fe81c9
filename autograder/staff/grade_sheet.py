"""The batch's grade sheet, grades.csv: one row per entry, one column per check.

    id, [student_name, student_email, student_sid, submitted_at,] score, max_score,
    <one column per check>, status, message, submission_sha256, fixture_set_hash, grader_version

The student columns come only with a Gradescope export (autograder.staff.gradescope_export);
no cell is a formula (autograder.staff.spreadsheet).
"""

import csv
import io

from autograder.staff.gradescope_export import STUDENT_COLUMNS
from autograder.staff.spreadsheet import safe_cell

GRADE_COLUMNS_AFTER = ["status", "message", "submission_sha256", "fixture_set_hash", "grader_version"]


def grade_row(record, check_names, students=()):
    """One grades.csv row, in the order of the header: id, the student columns (a Gradescope
    export), score, max_score, one column per check, then GRADE_COLUMNS_AFTER."""
    message = " ".join(filter(None, [str(record["message"]), record.get("note", "")]))
    return [record["id"], *(record.get(c, "") for c in students), record["score"], record["max_score"],
            *(record["checks"].get(c, 0.0) for c in check_names),
            record["status"], " ".join(message.split())[:300],
            record.get("submission_sha256", ""), record["fixture_set_hash"], record["grader_version"]]


def grades_csv(records, check_names):
    """The grade sheet as CSV text: one row per entry, one column per check (and, for a
    Gradescope export, the students' names, emails, SIDs and submission times); no cell
    is a formula."""
    records = list(records)
    students = STUDENT_COLUMNS if any(STUDENT_COLUMNS[0] in r for r in records) else ()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", *students, "score", "max_score", *check_names, *GRADE_COLUMNS_AFTER])
    for r in sorted(records, key=lambda r: r["id"]):
        writer.writerow([safe_cell(v) for v in grade_row(r, check_names, students)])
    return buf.getvalue()
