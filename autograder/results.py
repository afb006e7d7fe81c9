"""Turning check outcomes into Gradescope's results.json and a readable feedback.md.

Gradescope's schema: top level `score`, `execution_time`, `output`, `tests[]`
(each with `name`, `number`, `score`, `max_score`, `status`, `output`, `tags`,
`visibility`) and `extra_data`. Both files are written atomically (temp file +
rename), so a reader never sees half a file.
"""

import html
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from autograder import __version__

MAX_CASE_LINES = 4          # failing cases listed per check; the rest are counted
PLAIN_TEXT = re.compile(r"[A-Za-z0-9 .,:;()'/=+-]*")     # safe to show outside a code block


def inert(text):
    """Student-reachable text without control or format characters (terminal escapes,
    bidi overrides); newlines and tabs stay."""
    return "".join(c for c in str(text)
                   if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))


def fenced(text):
    """A Markdown code block holding `text` literally: its fence is longer than any run of
    backticks inside, so nothing in it can close the block, and nothing in a code block
    is a heading, a link, an image, a tag or a comment."""
    text = inert(text)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


def paragraph(text):
    """Text as a Markdown paragraph when it is plainly inert, else as a code block."""
    text = inert(text)
    return text if PLAIN_TEXT.fullmatch(text) else fenced(text)


@dataclass
class CheckOutcome:
    """One check's result over its cases."""
    name: str
    title: str
    points: float
    visibility: str
    category: str
    hint: str
    passed: int = 0
    total: int = 0
    failures: list = field(default_factory=list)   # student-facing messages, one per failed case

    @property
    def score(self):
        return round(self.points * self.passed / self.total, 2) if self.total else 0.0

    def output(self):
        if self.total and self.passed == self.total:
            return f"Passed all {self.total} case(s)."
        lines = [f"Passed {self.passed} of {self.total} case(s)."] if self.total else []
        shown = 0
        for message, count in _group_by_problem(self.failures):
            if shown == MAX_CASE_LINES:
                lines.append(f"- ... and more failing cases ({len(self.failures)} in all)")
                break
            lines.append(f"- {message}" + (f" (and {count - 1} more case(s) failing the same way)" if count > 1 else ""))
            shown += 1
        lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)


def _group_by_problem(failures):
    """(first message, count) per distinct problem; the '[case] ' prefix does not make a problem distinct."""
    groups = {}
    for message in failures:
        problem = message.split("] ", 1)[1] if message.startswith("[") and "] " in message else message
        if problem in groups:
            groups[problem][1] += 1
        else:
            groups[problem] = [message, 1]
    return [tuple(g) for g in groups.values()]


@dataclass
class GradeReport:
    """Everything known about one graded (or refused) submission."""
    status: str                         # 'graded' | 'invalid' | 'error'
    message: str                        # top-level message for the student
    checks: list                        # CheckOutcome, in config order
    max_score: float
    execution_time: float = 0.0
    extra: dict = field(default_factory=dict)
    student_output: str = ""

    @property
    def score(self):
        return round(sum(c.score for c in self.checks), 2)

    def to_gradescope(self):
        tests = [dict(name=c.title, number=str(i), score=c.score, max_score=c.points,
                      status="passed" if c.total and c.passed == c.total else "failed",
                      output=inert(c.output()), tags=[c.category], visibility=c.visibility,
                      extra_data=dict(check=c.name, cases_passed=c.passed, cases=c.total))
                 for i, c in enumerate(self.checks, 1)]
        extra = dict(status=self.status, grader_version=__version__, max_score=self.max_score, **self.extra)
        return dict(score=self.score, execution_time=round(self.execution_time, 3), output=inert(self.message),
                    output_format="text", visibility="visible", stdout_visibility="hidden",
                    tests=tests, extra_data=extra)

    def to_markdown(self):
        """feedback.md. Every piece of text the student's code can reach (messages, printed
        output) is in a code block or plain, so only the grader writes headings and markup."""
        lines = [f"# Feedback: {self.score:g} / {self.max_score:g} points", "", paragraph(self.message), ""]
        if self.checks and self.status == "graded":
            lines += ["| check | points | cases passed |", "|---|---|---|"]
            lines += [f"| {'PASS' if c.total and c.passed == c.total else 'FAIL'} {c.title} | "
                      f"{c.score:g} / {c.points:g} | {c.passed} / {c.total} |" for c in self.checks]
            failing = [c for c in self.checks if not (c.total and c.passed == c.total)]
            if failing:
                lines += ["", "## What to fix", ""]
                for c in failing:
                    lines += [f"### {c.title} ({c.score:g} / {c.points:g})", "", fenced(c.output()), ""]
        if self.student_output.strip():
            lines += ["## What your code printed (first part)", "", fenced(self.student_output.rstrip()), ""]
        lines += [f"<sub>grader {__version__}; fixture set {html.escape(str(self.extra.get('fixture_set_hash', '?'))[:12])}; "
                  f"isolation {html.escape(str(self.extra.get('isolation', '?')))}</sub>", ""]
        return "\n".join(lines)


def write_atomic(path, text):
    """Writes text to path via a temp file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report, out_dir):
    """Writes out_dir/results.json and out_dir/feedback.md."""
    out_dir = Path(out_dir)
    write_atomic(out_dir / "results.json", json.dumps(report.to_gradescope(), indent=2) + "\n")
    write_atomic(out_dir / "feedback.md", report.to_markdown())
