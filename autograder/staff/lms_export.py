"""Grades out to an LMS gradebook: grades.csv joined with the class roster.

    python -m autograder export canvas --grades OUT/grades.csv --roster roster.csv \\
        --assignment "Lab 7" > canvas.csv

The roster is the LMS's own gradebook export (Canvas: Grades > Export), or any
CSV with a name column and a SID and/or email column. A student is matched by
SID first, then by email (both compared trimmed and case-blind); nothing else is
guessed. Whoever is left over on either side is listed on stderr, never dropped
silently: roster students with no grade, graded students not on the roster, and
rows that cannot be exported (grader errors, to be regraded). A group submission
(names joined by '; ' in grades.csv) gives each member the grade. Rows keep the
roster's order. --assignment is matched to the roster's own column as Canvas
matches it on import ("Lab 7" to "Lab 7 (12345)": by id, then title), and stderr
says which column was matched, or why none was (a new column is a new assignment).

An exporter is one function from a Join to CSV text, registered in EXPORTERS:
a Moodle or plain-roster format is one more function.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.staff.gradescope_export import JOIN
from autograder.staff.spreadsheet import cell_value, safe_cell

MAX_CSV_BYTES = 64 * 2**20
ROSTER_COLUMNS = {     # our field -> header names it may have (case-blind), Canvas's first
    "name": ("student", "name", "student name", "full name"),
    "sid": ("sis user id", "sid", "student id", "student number", "student_id", "id number"),
    "email": ("sis login id", "email", "e-mail", "email address", "login id", "login"),
}
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_COLUMN_ID = re.compile(r"^(?P<title>.*?)\s*\((?P<id>\d+)\)$")    # Canvas's assignment header: "Title (id)"
NOT_ASSIGNMENT = re.compile(r"(?i)^(?:student|id|sis user id|sis login id|integration id|root account|section"
                            r"|(?:.* )?(?:unposted )?(?:current|final|override) (?:score|points|grade))$")


class GradebookError(Exception):
    """The grades or the roster cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Grade:
    """One student's grade from grades.csv (a group submission gives one per member)."""
    submission: str
    name: str
    sid: str
    email: str
    score: float
    max_score: float
    status: str
    submitted_at: str


@dataclass(frozen=True)
class RosterStudent:
    name: str
    sid: str
    email: str
    row: dict          # the roster's own columns, so an exporter can give the LMS back its ids


@dataclass
class Join:
    matched: list = field(default_factory=list)            # (RosterStudent, Grade)
    no_grade: list = field(default_factory=list)           # RosterStudent with no submission
    not_on_roster: list = field(default_factory=list)      # Grade whose student is not on the roster
    not_exported: list = field(default_factory=list)       # (Grade, reason): on the roster, but no score to send
    notes: list = field(default_factory=list)              # choices made that staff should know about
    column: str = ""                                       # the assignment column written, and why it was chosen
    column_note: str = ""

    @property
    def max_score(self):
        return max((g.max_score for _, g in self.matched), default=0.0)


def _key(text):
    return " ".join(str(text).split()).lower()


def _read_csv(path, what):
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise GradebookError(f"{what} {path} is larger than {MAX_CSV_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise GradebookError(f"{what} {path} is not UTF-8 text: save it as \"CSV UTF-8\" and try again") from None
    except OSError as exc:
        raise GradebookError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","   # Canvas accepts and writes both
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)]
    if not rows:
        raise GradebookError(f"{what} {path} is empty")
    return rows


def read_grades(path):
    """[Grade] from grades.csv; (grades, notes)."""
    rows = _read_csv(path, "grades file")
    header = [h.strip() for h in rows[0]]
    missing = {"id", "score", "max_score", "status"} - set(header)
    if missing:
        raise GradebookError(f"{path} is not a grades.csv from `python -m autograder batch`: "
                          f"no column {', '.join(sorted(missing))}")
    notes = []
    has_students = "student_sid" in header or "student_email" in header
    if not has_students:
        notes.append(f"{path} has no student columns (not a Gradescope export): its id column is matched as SIDs")
    grades = []
    for line, row in enumerate(rows[1:], 2):
        r = {h: cell_value(row[i]) if i < len(row) else "" for i, h in enumerate(header)}
        try:
            score, max_score = float(r["score"]), float(r["max_score"])
        except ValueError:
            raise GradebookError(f"{path} line {line}: score {r['score']!r} is not a number") from None
        if has_students:
            names, sids, emails = (r.get(c, "").split(JOIN) for c in ("student_name", "student_sid", "student_email"))
        else:
            names, sids, emails = [r["id"]], [r["id"]], [""]
        for i in range(max(len(names), len(sids), len(emails))):
            pick = lambda values: values[i].strip() if i < len(values) else ""    # noqa: E731
            grades.append(Grade(r["id"], pick(names), pick(sids), pick(emails), score, max_score,
                                r["status"], r.get("submitted_at", "")))
    return grades, notes


def read_roster(path):
    """[RosterStudent] from the LMS's gradebook export or a plain roster CSV."""
    rows = _read_csv(path, "roster")
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    columns = {f: next((lower.index(n) for n in names if n in lower), None) for f, names in ROSTER_COLUMNS.items()}
    if columns["sid"] is None and columns["email"] is None:
        raise GradebookError(f"roster {path}: no SID or email column (looked for "
                          f"{', '.join(ROSTER_COLUMNS['sid'] + ROSTER_COLUMNS['email'])}); header was {header[:8]}")
    students = []
    for row in rows[1:]:
        first = row[0].strip().lower() if row else ""
        if "points possible" in first or first.startswith("student, test"):   # Canvas's extra rows
            continue
        get = lambda f: row[columns[f]].strip() if columns[f] is not None and columns[f] < len(row) else ""  # noqa
        students.append(RosterStudent(get("name"), get("sid"), get("email"),
                                      {h: (row[i] if i < len(row) else "") for i, h in enumerate(header)}))
    return students


def roster_header(path):
    """The roster's header row, as written."""
    return [h.strip() for h in _read_csv(path, "roster")[0]]


def match_assignment(header, assignment):
    """(column title, what was matched) for --assignment against the roster's own columns.

    Canvas imports a column by its trailing "(id)" first, then by its exact title, and makes a
    NEW assignment of anything else; so "Lab 7" is matched here to the roster's "Lab 7 (12345)".
    A title or id given in full, an id alone, or a title without the id all match; a title that
    names two columns is refused; no match writes the given title, and says why."""
    wanted = " ".join(assignment.split())
    columns = [h for h in header if h and not NOT_ASSIGNMENT.match(h)]
    fold = lambda text: " ".join(text.split()).casefold()      # noqa: E731
    exact = [h for h in columns if fold(h) == fold(wanted)]
    given = CANVAS_COLUMN_ID.match(wanted)
    given_id = given["id"] if given else (wanted if wanted.isdigit() else None)
    by_id = [h for h in columns if (m := CANVAS_COLUMN_ID.match(h)) and m["id"] == given_id]
    by_title = [h for h in columns if (m := CANVAS_COLUMN_ID.match(h)) and fold(m["title"]) == fold(wanted)]
    for found, how in ((by_id, "its assignment id"), (exact, "its title"), (by_title, "its title, without the id")):
        if len(found) == 1:
            return found[0], f"--assignment {wanted!r} matched the roster's column {found[0]!r} (by {how})"
        if len(found) > 1:
            raise GradebookError(f"--assignment {wanted!r} matches {len(found)} roster columns: "
                                 f"{', '.join(repr(h) for h in found)}; give the one meant in full, "
                                 f"e.g. --assignment {found[0]!r}")
    ids = [h for h in columns if CANVAS_COLUMN_ID.match(h)]
    if ids:
        why = (f"no roster column has that title or id (its assignments: {', '.join(repr(h) for h in ids)})")
    else:
        why = "the roster has no assignment columns titled \"Title (id)\" (not a Canvas gradebook export)"
    return wanted, (f"--assignment {wanted!r} matched no roster column: {why}; wrote a new column {wanted!r}, "
                    f"which Canvas imports as a NEW assignment")


def join(grades, roster):
    """Matches each roster student to a grade by SID, then email; lists everyone left over."""
    result = Join()
    by_sid, by_email = {}, {}
    for g in grades:
        if g.sid:
            by_sid.setdefault(_key(g.sid), []).append(g)
        if g.email:
            by_email.setdefault(_key(g.email), []).append(g)
    used = {}                  # id(grade) -> roster students given it
    for student in roster:
        found = (by_sid.get(_key(student.sid), []) if student.sid else []) or \
                (by_email.get(_key(student.email), []) if student.email else [])
        if not found:
            result.no_grade.append(student)
            continue
        for g in found:
            used.setdefault(id(g), []).append(student)
        if len(found) > 1:   # two submissions for one student: the latest counts, and staff are told
            found = sorted(found, key=lambda g: (g.submitted_at, g.submission))
            result.notes.append(f"{student.name or student.sid}: {len(found)} submissions "
                                f"({', '.join(g.submission for g in found)}); exported the latest, "
                                f"{found[-1].submission}")
        grade = found[-1]
        if grade.status == "error":
            result.not_exported.append((grade, "grader error: regrade it (`python -m autograder batch` again)"))
            continue
        if grade.status == "invalid":
            result.notes.append(f"{student.name or student.sid}: submission {grade.submission} is invalid; "
                                f"exported as {grade.score:g}")
        result.matched.append((student, grade))
    result.not_on_roster = [g for g in grades if id(g) not in used]
    for g in grades:
        if len(used.get(id(g), ())) > 1:
            result.notes.append(f"{g.submission} ({g.sid or g.email}) matches {len(used[id(g)])} roster students: "
                                f"{', '.join(s.name or s.sid for s in used[id(g)])}; each was given its grade")
    return result


def canvas_csv(joined, assignment):
    """Canvas's gradebook import: identity columns, Section, then the assignment; a Points Possible row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*CANVAS_IDENTITY, assignment])
    writer.writerow(["Points Possible", "", "", "", "", f"{joined.max_score:g}"])
    for student, grade in joined.matched:          # the roster's own order
        identity = [student.row.get(c, "") for c in CANVAS_IDENTITY]
        identity[0] = identity[0] or student.name
        identity[2] = identity[2] or student.sid
        identity[3] = identity[3] or student.email
        writer.writerow([*(safe_cell(c) for c in identity), f"{grade.score:g}"])
    return buf.getvalue()


def roster_csv(joined, assignment):
    """A plain sheet for any other gradebook: the roster's name, SID and email, then the grade."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "sid", "email", assignment, "max_score", "submission", "submitted_at", "status"])
    for student, grade in joined.matched:          # the roster's own order
        writer.writerow([*(safe_cell(v) for v in (student.name, student.sid, student.email)), f"{grade.score:g}",
                         f"{grade.max_score:g}", *(safe_cell(v) for v in (grade.submission, grade.submitted_at)),
                         grade.status])
    return buf.getvalue()


EXPORTERS = {"canvas": canvas_csv, "csv": roster_csv}


def unmatched_report(joined):
    """The leftovers, for stderr: one line each, grouped."""
    lines = [f"exported {len(joined.matched)} grade(s)"]
    if joined.column_note:
        lines.append(joined.column_note)
    if joined.no_grade:
        lines.append(f"{len(joined.no_grade)} roster student(s) with no grade (not in the CSV):")
        lines += [f"  {s.name} (SID {s.sid or '-'}, {s.email or 'no email'})" for s in joined.no_grade]
    if joined.not_on_roster:
        lines.append(f"{len(joined.not_on_roster)} graded student(s) not on the roster (not in the CSV):")
        lines += [f"  {g.name or '?'} (SID {g.sid or '-'}, {g.email or 'no email'}), submission {g.submission}, "
                  f"{g.score:g} / {g.max_score:g}" for g in joined.not_on_roster]
    if joined.not_exported:
        lines.append(f"{len(joined.not_exported)} roster student(s) whose grade was not exported:")
        lines += [f"  {g.name or g.sid} ({g.submission}): {why}" for g, why in joined.not_exported]
    lines += [f"note: {n}" for n in joined.notes]
    return "\n".join(_printable(line) for line in lines)


def _printable(line):
    """A line for the terminal: student text cannot move the cursor or send escape sequences."""
    return "".join(ch if ch.isprintable() else " " for ch in line)


def export(lms, grades_path, roster_path, assignment):
    """(CSV text, Join) for one LMS format."""
    if lms not in EXPORTERS:
        raise GradebookError(f"unknown LMS format {lms!r}; known: {', '.join(EXPORTERS)}")
    if not assignment.strip():
        raise GradebookError("--assignment must name the LMS column, e.g. \"Lab 7\"")
    grades, notes = read_grades(grades_path)
    roster = read_roster(roster_path)
    joined = join(grades, roster)
    joined.notes[:0] = notes
    joined.column, joined.column_note = match_assignment(roster_header(roster_path), assignment)
    return EXPORTERS[lms](joined, joined.column), joined
