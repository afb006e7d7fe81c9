"""What the batch shows the staff on their terminal: progress while it grades, the table at the end.

Ids, messages and students' names come from students: every piece is made printable first
(no escape sequence reaches the terminal), and names of any width line up.
"""

import sys
import time


def printable(text):
    """Text safe to print on the staff's terminal: no escape sequences, one line."""
    return "".join(c if c.isprintable() else " " if c.isspace() else ascii(c)[1:-1] for c in str(text))


class Progress:
    """A one-line progress bar on a terminal; a line per 10% elsewhere (CI logs).

    The total is every entry of the folder; grades kept from an earlier run count as done.
    A line is printed for every entry that is not graded, as it finishes.
    """

    def __init__(self, total, kept=0, stream=sys.stderr):
        self.total, self.stream, self.kept = total, stream, kept
        self.done, self.bad = kept, 0
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self._last_decile = -1

    def update(self, record):
        self.done += 1
        self.bad += record["status"] != "graded"
        if record["status"] != "graded":
            self._say(f"{record['status']}: {printable(record['id'])}: "
                      f"{printable(' '.join(str(record['message']).split()))[:200]}")
        elapsed = time.monotonic() - self.started
        rate = (self.done - self.kept) / elapsed * 60 if elapsed else 0.0
        width = 30
        filled = int(width * self.done / self.total)
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} done, "
                f"{self.bad} invalid/error, {rate:.0f}/min")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if self.done == self.total else ""))
        elif self.done * 10 // self.total != self._last_decile or self.done == self.total:
            self._last_decile = self.done * 10 // self.total
            self.stream.write(line + "\n")
        self.stream.flush()

    def _say(self, text):
        self.stream.write(("\r\033[K" if self.tty else "") + text + "\n")


def grade_table(records, config):
    """The table printed at the end: submission, the student's name (a Gradescope export), score / max,
    the checks failing on their own, and how many more only another check's bug blocks."""
    names = {r["id"]: printable(" ".join(str(r.get("student_name", "")).split()))[:40] for r in records}
    name_width = max((text_width(n) for n in names.values()), default=0)
    if name_width:
        name_width = max(name_width, len("student"))
    width = max(len("submission"), *(len(printable(r["id"])) for r in records))
    student = f"{'student':<{name_width}}  " if name_width else ""
    lines = [f"{'submission':<{width}}  {student}{'score':>13}  failed checks", "-" * (width + name_width + 42)]
    for r in records:
        not_passed = [c for c in config.checks if c not in r.get("passed", ())]
        failed = [c for c in not_passed if c in r["failed"]] if isinstance(r.get("failed"), list) else not_passed
        blocked = len(not_passed) - len(failed)
        if r["status"] != "graded":
            shown = f"{r['status'].upper()}: {printable(' '.join(str(r['message']).split()))[:90]}"
        else:
            shown = (", ".join(failed) if failed else "-") + (f" (+{blocked} blocked)" if blocked else "")
        if r.get("note"):
            shown += f"  ({printable(r['note'])})"
        name = names[r["id"]] + " " * (name_width - text_width(names[r["id"]])) + "  " if name_width else ""
        lines.append(f"{printable(r['id']):<{width}}  {name}{r['score']:>6g} / {r['max_score']:<4g}  {shown}")
    return "\n".join(lines)


def text_width(text):
    """Columns text takes on a terminal: East Asian wide and full-width characters take two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
               for c in text)
