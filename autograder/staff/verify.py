"""`python -m autograder verify` (make verify): the grader tells right from wrong with these fixtures.

The reference must earn full marks, the template zero, the catalogue's bundled examples
what their folder says (correct: full, others: less).
"""

import tempfile
from pathlib import Path

from autograder.grading import grade_submission


def verify(lab):
    """Grades `lab`'s reference, template and bundled examples; non-zero if the grader is off."""
    from autograder.staff.catalogue import load_catalogue, write_zip
    entries, examples = load_catalogue(lab=lab)
    config = lab.config
    rows, problems = [], []
    with tempfile.TemporaryDirectory(prefix="autograder-verify-") as tmp:
        tmp = Path(tmp)
        subjects = [("reference", lab.reference, "full"), ("template", lab.template, "zero")]
        for key in examples:
            expect = "full" if key.startswith("correct/") else "less"
            subjects.append((key, write_zip(entries[key], tmp / f"{key.replace('/', '__')}.zip", lab=lab), expect))
        for name, path, expect in subjects:
            report = grade_submission(lab, path, tmp / "out" / name.replace("/", "__"))
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
