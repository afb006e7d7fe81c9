"""One grade record (GradeReport, with a CheckOutcome per check), and its renderings: Gradescope's
results.json, PrairieLearn's results.json and a readable feedback.md. The record has its own
versioned file, grade.json (GradeReport.to_json / from_json), which is what crosses from a
grading process to whoever reads the grade later (the batch, its reports, the otter plugin); no
rendered file is ever read back as the record.

Gradescope's schema: top level `score`, `execution_time`, `output`, `tests[]`
(each with `name`, `number`, `score`, `max_score`, `status`, `output`, `tags`,
`visibility`) and `extra_data`. PrairieLearn's (its external grading): `score` as a
fraction 0-1, `gradable` (false: an invalid submission, with `format_errors`), `message`,
`output`, `tests[]` (each with `name`, `description`, `points`, `max_points`, `message`,
`output`), the whole file under 1 MB. Files are written atomically (temp file +
rename), so a reader never sees half a file.
"""

import html
import json
import os
import re
import stat
import tempfile
import unicodedata
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from autograder import __version__
from autograder.failures import Failure, root_causes
from autograder.feedback import (block, blocked_counts, check_lines, md, start_here_markdown, start_here_text,
                                 status_word, table_note)
from autograder.text import clipped, fenced, inert, paragraph  # noqa: F401  (importers of results use them)

PL_LIMIT_BYTES = 1_000_000  # PrairieLearn's limit on results.json
PL_TARGET_BYTES = 900_000   # what to_prairielearn stays under (compact JSON, ASCII), whatever the student printed
PL_TEXT_LIMITS = {"message": 20_000, "output": 20_000, "test": 12_000}   # characters, before any shrinking
PL_EXTRA_KEYS = ("check_set", "fixture_set", "fixture_set_hash", "isolation", "submission_sha256", "import_failed")
GRADE_FILE = "grade.json"              # the record, beside its renderings
GRADE_FORMAT = "convkit-grade"         # grade.json's "format"
GRADE_VERSION = 1                      # grade.json's "version": a reader refuses any other
STATUSES = ("graded", "invalid", "error")


class GradeRecordError(ValueError):
    """A grade.json that is not a grade record of this version; the message says what is wrong."""


def check_markdown(text):
    """A check's feedback (CheckOutcome.output) as Markdown: its summary line ('Passed 3 of 5
    case(s).') as a paragraph, the cases, maps and hints after it in a code block of narrow lines,
    whose layout (the X/. maps) Markdown would otherwise reflow."""
    summary, _, rest = inert(text).partition("\n")
    return "\n\n".join([paragraph(summary), *([block(rest)] if rest.strip() else [])])


@dataclass(frozen=True)
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
    failures: tuple = ()     # failures.Failure, one per case failing this check's property
    blocked: tuple = ()      # failures.Failure (blocked_by set): cases another check's bug blocks
    needs: tuple = ()        # the checks this one's cases rely on (config's `needs`)

    def __post_init__(self):
        for name in ("failures", "blocked", "needs"):       # any sequence given, a tuple kept
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @classmethod
    def from_spec(cls, name, spec):
        """No case run yet, for the check `name` of the config (its [checks.NAME] table)."""
        return cls(name, spec.title, spec.points, spec.visibility, spec.category, spec.hint, needs=spec.needs)

    @property
    def score(self):
        return round(self.points * self.passed / self.total, 2) if self.total else 0.0

    @property
    def ok(self):
        return bool(self.total and self.passed == self.total)

    def output(self, causes=(), titles=None):
        """The check's feedback (autograder.feedback.check_lines). causes: the submission's root
        causes, told once at the top; titles: {check name: title}, to name a blocking check."""
        return "\n".join(check_lines(self, causes, titles or {}))

    def to_record(self):
        """The check in grade.json: its data, and its score and status for a reader's eye (checked on reading)."""
        return dict(name=self.name, title=self.title, points=self.points, visibility=self.visibility,
                    category=self.category, hint=self.hint, needs=list(self.needs), passed=self.passed,
                    total=self.total, score=self.score, status=status_word(self),
                    failures=[f.to_record() for f in self.failures], blocked=[f.to_record() for f in self.blocked])

    @classmethod
    def from_record(cls, data):
        """The CheckOutcome to_record() wrote; GradeRecordError says what is wrong with anything else."""
        where = f"check {data.get('name')!r}" if isinstance(data, dict) else "a check"
        data = _fields(data, where, name=str, title=str, points=(int, float), visibility=str, category=str,
                       hint=str, needs=list, passed=int, total=int, score=(int, float), status=str,
                       failures=list, blocked=list)
        try:
            failures = [Failure.from_record(f) for f in data["failures"]]
            blocked = [Failure.from_record(f) for f in data["blocked"]]
        except ValueError as exc:
            raise GradeRecordError(f"{where}: {exc}") from None
        if not all(isinstance(n, str) for n in data["needs"]):
            raise GradeRecordError(f"{where}: needs must list check names")
        outcome = cls(**{k: data[k] for k in ("name", "title", "points", "visibility", "category", "hint",
                                              "passed", "total")}, needs=data["needs"], failures=failures,
                      blocked=blocked)
        if (outcome.score, status_word(outcome)) != (data["score"], data["status"]):
            raise GradeRecordError(f"{where}: its score and status ({data['score']}, {data['status']}) are not "
                                   f"what its cases give ({outcome.score}, {status_word(outcome)})")
        return outcome


def _fields(data, where, **types):
    """data, once it is a dict holding exactly these keys with values of these types (bool is no number)."""
    if not isinstance(data, dict):
        raise GradeRecordError(f"{where} is not a JSON object")
    if set(data) != set(types):
        missing, unknown = sorted(set(types) - set(data)), sorted(set(data) - set(types))
        raise GradeRecordError(f"{where}: " + "; ".join(filter(None, [
            missing and f"missing {', '.join(missing)}", unknown and f"unknown {', '.join(unknown)}"])))
    for key, kind in types.items():
        if not isinstance(data[key], kind) or isinstance(data[key], bool) and kind is not bool:
            raise GradeRecordError(f"{where}: {key} has the wrong type ({type(data[key]).__name__})")
    return data


@dataclass(frozen=True)
class GradeReport:
    """Everything known about one graded (or refused) submission: the grade record, built once."""
    status: str                         # 'graded' | 'invalid' | 'error'
    message: str                        # top-level message for the student
    checks: tuple                       # CheckOutcome, in config order
    max_score: float
    execution_time: float = 0.0
    extra: dict = field(default_factory=dict)   # facts for the staff and the platforms (JSON values)
    student_output: str = ""

    def __post_init__(self):
        object.__setattr__(self, "checks", tuple(self.checks))

    @property
    def score(self):
        return round(sum(c.score for c in self.checks), 2)

    def causes(self, visible_only=False):
        """Root causes of the failures (visible_only: from checks a student sees before the due date)."""
        checks = [c for c in self.checks if not visible_only or c.visibility == "visible"]
        return root_causes(checks) if self.status == "graded" else []

    def titles(self):
        return {c.name: c.title for c in self.checks}

    def before_the_due_date(self):
        """The checks as a student sees them on Gradescope before the due date: only visible ones
        are shown, so a visible check's case blocked by a hidden check's bug is told as its own
        failure (pointing to a check not shown would be pointing nowhere)."""
        hidden = {c.name for c in self.checks if c.visibility != "visible"}
        seen = []
        for c in self.checks:
            if c.visibility == "visible":
                unseen = [f for f in c.blocked if f.blocked_by in hidden]
                c = replace(c, failures=c.failures + tuple(replace(f, blocked_by="") for f in unseen),
                            blocked=[f for f in c.blocked if f not in unseen])
            seen.append(c)
        return seen

    def to_json(self):
        """grade.json: the record, versioned; from_json reads it back as the same GradeReport."""
        return json.dumps(dict(format=GRADE_FORMAT, version=GRADE_VERSION, status=self.status,
                               message=self.message, score=self.score, max_score=self.max_score,
                               execution_time=self.execution_time, extra=self.extra,
                               student_output=self.student_output,
                               checks=[c.to_record() for c in self.checks]), indent=1) + "\n"

    @classmethod
    def from_json(cls, text):
        """The GradeReport of a grade.json of this version; GradeRecordError says why anything else
        (another version, a missing or mistyped field, a score its cases do not give) is refused."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise GradeRecordError(f"not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != GRADE_FORMAT:
            raise GradeRecordError(f"not a grade record (no \"format\": \"{GRADE_FORMAT}\")")
        if data.get("version") != GRADE_VERSION:
            raise GradeRecordError(f"a grade record of version {data.get('version')!r}; this grader "
                                   f"({__version__}) reads version {GRADE_VERSION}: grade the submission again")
        data = _fields(data, "the grade record", format=str, version=int, status=str, message=str,
                       score=(int, float), max_score=(int, float), execution_time=(int, float), extra=dict,
                       student_output=str, checks=list)
        if data["status"] not in STATUSES:
            raise GradeRecordError(f"the grade record's status {data['status']!r} is not one of {', '.join(STATUSES)}")
        report = cls(checks=[CheckOutcome.from_record(c) for c in data["checks"]],
                     **{f.name: data[f.name] for f in fields(cls) if f.name != "checks"})
        if report.score != data["score"]:
            raise GradeRecordError(f"the grade record's score {data['score']} is not its checks' sum {report.score}")
        return report

    @classmethod
    def read(cls, folder):
        """The record in folder/grade.json; GradeRecordError (with the file named) when there is none
        of this version."""
        path = Path(folder) / GRADE_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GradeRecordError(f"{path}: cannot be read ({exc})") from None
        try:
            return cls.from_json(text)
        except GradeRecordError as exc:
            raise GradeRecordError(f"{path}: {exc}") from None

    def to_gradescope(self):
        # Gradescope shows the top-level output at once: its root causes come from visible checks only,
        # as the student sees them before the due date.
        seen = self.before_the_due_date()
        visible_causes = root_causes([c for c in seen if c.visibility == "visible"]) if self.status == "graded" else []
        causes = self.causes()
        titles = self.titles()
        graded = self.status != "invalid"    # a refused submission gets its refusal and nothing else
        tests = [dict(name=c.title, number=str(i), score=c.score, max_score=c.points,
                      status="passed" if c.ok else "failed",
                      # pointing back only to what the top shows: a hidden check's own failure in full
                      output=check_markdown(as_seen.output(visible_causes, titles)),
                      tags=[c.category], visibility=c.visibility,
                      extra_data=dict(check=c.name, cases_passed=c.passed, cases=c.total,
                                      failures=[f.to_data() for f in c.failures],
                                      blocked=[f.to_data() for f in c.blocked]))
                 for i, (c, as_seen) in enumerate(zip(self.checks, seen), 1)] if graded else []
        extra = dict(status=self.status, grader_version=__version__, max_score=self.max_score,
                     message=inert(self.message), **self.extra)
        extra["root_causes"] = [dict(function=r.function, check=r.check, checks=list(r.checks),
                                     failure=r.failure.to_data()) for r in causes]
        # Markdown, as Gradescope renders "md": only the grader writes markup; every text the
        # student's code can reach is escaped or in a code block (as in feedback.md)
        output = [paragraph(self.message)]
        if visible_causes:
            output += ["**Start here**", *start_here_markdown(visible_causes, blocked_counts(self.checks, causes))]
        return dict(score=self.score, execution_time=round(self.execution_time, 3), output="\n\n".join(output),
                    output_format="md", test_output_format="md", visibility="visible",
                    stdout_visibility="hidden", tests=tests, extra_data=extra)

    def to_prairielearn(self, max_bytes=PL_TARGET_BYTES):
        """PrairieLearn's results.json as a dict whose compact JSON (json.dumps, ASCII) stays under
        max_bytes: every text is clipped, and clipped harder until the whole fits, so no amount of
        printed output or exception text can push the file past PrairieLearn's 1 MB.

        PrairieLearn shows every test at once (it has no 'after the due date'), so every check is
        here with its own feedback, and Start here tells the root causes of all checks."""
        extra = dict(status=self.status, grader_version=__version__, max_score=self.max_score,
                     **{k: self.extra[k] for k in PL_EXTRA_KEYS if k in self.extra})
        causes = self.causes()
        start = "\n".join(start_here_text(causes, blocked_counts(self.checks, causes)))
        titles = self.titles()
        outputs = [(c, *c.output(causes, titles).partition("\n")[::2]) for c in self.checks]   # 'Passed p of n case(s).', cases
        score = min(1.0, max(0.0, self.score / self.max_score)) if self.max_score else 0.0
        printed = self.student_output.strip()
        scale = 1.0
        while True:
            limit = {k: max(200, int(v * scale)) for k, v in PL_TEXT_LIMITS.items()}
            if self.status != "graded":    # invalid submission, or a grader problem: no attempt is used
                message = clipped(self.message, limit["message"])
                results = dict(gradable=False, score=0.0, format_errors=[message], tests=[], extra_data=extra)
            else:
                message = clipped(self.message, limit["message"] // 4)
                if causes:
                    message += "\n\nStart here:\n" + clipped(start, limit["message"] // 2)
                tests = [dict(name=c.title, description=f"{c.name} ({c.category})", points=c.score,
                              max_points=c.points, message=clipped(summary, limit["test"] // 4),
                              output=clipped(details, limit["test"])) for c, summary, details in outputs]
                # Never the prints themselves: they ran on the secret inputs, which a print would hand
                # to the student (Gradescope's stdout_visibility is 'hidden' for the same reason).
                output = (f"Your code printed {len(printed)} characters while it was graded. They are not shown: "
                          "grading runs it on secret inputs. Your prints on the public cases are shown when you "
                          "run the public checks yourself.") if printed else ""
                results = dict(gradable=True, score=round(score, 6), message=message, output=output, tests=tests,
                               extra_data=extra)
            if len(json.dumps(results)) <= max_bytes or scale < 1e-3:
                return results
            scale /= 4

    def to_markdown(self):
        """feedback.md: the score, Start here (each root cause once, with its map or traceback),
        and one table row per check whose last column says in one line why it did not pass. A
        refused submission gets its refusal and nothing else. Every piece of text the student's
        code can reach is escaped or in a code block, so only the grader writes headings and markup."""
        lines = [f"# Feedback: {self.score:g} / {self.max_score:g} points", "", paragraph(self.message), ""]
        causes = self.causes()
        if causes:
            lines += ["## Start here", ""]
            for part in start_here_markdown(causes, blocked_counts(self.checks, causes)):
                lines += [part, ""]
        if self.checks and self.status == "graded":
            titles = self.titles()
            lines += ["| check | points | cases passed | why not |", "|---|---|---|---|"]
            lines += [f"| {status_word(c)} {md(c.title)} | {c.score:g} / {c.points:g} | {c.passed} / {c.total} | "
                      f"{table_note(c, causes, titles)} |" for c in self.checks]
            lines.append("")
            unexplained = [c for c in self.checks if c.failures and not any(
                f.function == cause.function for f in c.failures for cause in causes)]
            for c in unexplained:          # own failures no root cause tells (a grader error, say)
                lines += [f"### {md(c.title)}", "", block(c.output(causes, titles)), ""]
        if self.student_output.strip() and self.status == "graded":
            lines += ["## What your code printed (first part)", "", block(self.student_output.rstrip()), ""]
        lines += [f"<sub>grader {__version__}; fixture set {html.escape(str(self.extra.get('fixture_set_hash', '?'))[:12])}; "
                  f"isolation {html.escape(str(self.extra.get('isolation', '?')))}</sub>", ""]
        return "\n".join(lines)


def current_umask():
    """The process's umask, read without changing it where Linux tells it (/proc/self/status);
    elsewhere set and restored at once."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def plain_write_mode(path):
    """The permission bits open(path, "w") would leave: an existing file's own, else 0666 less the umask.
    (mkstemp makes its file 0600, which would shut the rest of the staff group out of every output.)"""
    try:
        st = os.stat(path, follow_symlinks=False)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~current_umask()


def write_atomic(path, text):
    """Writes text to path via a temp file in the same folder and a rename; the file gets the mode
    a plain write would give it (the existing file's, else 0666 less the umask), not mkstemp's 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = plain_write_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_prairielearn(report, results_dir):
    """Writes results_dir/results.json in PrairieLearn's schema (under its 1 MB)."""
    write_atomic(Path(results_dir) / "results.json", json.dumps(report.to_prairielearn()) + "\n")


def write_report(report, out_dir):
    """Writes out_dir/grade.json (the record, first), then its renderings results.json and feedback.md."""
    out_dir = Path(out_dir)
    write_atomic(out_dir / GRADE_FILE, report.to_json())
    write_atomic(out_dir / "results.json", json.dumps(report.to_gradescope(), indent=2) + "\n")
    write_atomic(out_dir / "feedback.md", report.to_markdown())
