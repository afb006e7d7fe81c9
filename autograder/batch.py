"""Grading a whole folder of submissions, in parallel, resumably.

    python -m autograder batch FOLDER --out OUT [--jobs N] [--force]

Every entry of FOLDER (a .zip, a sub-folder, or a .py file) is one submission;
its id is the entry's name without the extension. As many grading processes as
there are cores (`python -m autograder batch-worker`, BLAS pinned to one thread)
each take submissions one at a time from this process and grade them
in-process, each with its own sandboxed student worker. A grading process that
crashes or hangs costs one row (status `error`, retried on the next run) and is
replaced; the batch goes on.

What a run leaves in OUT:
    submissions/<id>/results.json, feedback.md   per submission
    submissions/<id>/batch.json                  written last: the grade is final
    grades.csv, summary.md, scores.png, checks.png

Resuming: a submission whose batch.json records the same input sha256, fixture
set and grader version is not graded again (`--force` regrades everything).
Every file is written atomically, so killing the batch at any moment loses no
finished grade and never leaves half a grades.csv.
"""

import csv
import ctypes
import hashlib
import io
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import __version__
from autograder.config import KIT_ROOT, load_config
from autograder.fixtures import FixtureError, fixture_folder, load_fixture_set
from autograder.gradescope_export import METADATA_FILE, STUDENT_COLUMNS, ExportError, find_export
from autograder.results import write_atomic

GRADER_MARGIN_S = 60          # beyond the config's total time, for start-up and writing
TASKS_PER_WORKER = 100        # a grading process is replaced after this many (bounds any leak)


class BatchError(Exception):
    """The batch cannot start (bad folder, no submissions, bad fixtures); the message says why."""


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    sha256: str          # of the input as found (input_sha256), computed once per run


def discover(folder):
    """The submissions in `folder`, sorted by id; ids must be unique."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder of submissions")
    entries, seen = [], {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")) or path.is_symlink() or path.name == METADATA_FILE:
            continue
        if path.is_dir() or path.suffix.lower() in (".zip", ".py"):
            sid = path.name if path.is_dir() else path.stem
            if sid in seen:
                raise BatchError(f"two submissions share the id {sid!r}: {seen[sid].name} and {path.name}")
            seen[sid] = path
            entries.append(Entry(sid, path, input_sha256(path)))
    if not entries:
        raise BatchError(f"no submissions in {folder} (looked for .zip files, folders and .py files)")
    return entries


def input_sha256(path):
    """sha256 of a file's bytes, or of a folder's relative paths and file bytes."""
    h = hashlib.sha256()
    path = Path(path)
    if path.is_file():
        h.update(path.read_bytes())
        return h.hexdigest()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
        h.update(str(f.relative_to(path)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def worker_env():
    """The environment of one grading process: one BLAS thread each, no stray plugins."""
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def new_record(entry, fixture_hash):
    return dict(id=entry.id, source=entry.path.name, input_sha256=entry.sha256,
                fixture_set_hash=fixture_hash, grader_version=__version__)


def finish_record(record, sub_dir, status, seconds, problem=""):
    """Completes a record from the submission's results.json and writes batch.json (last)."""
    results = _read_results(sub_dir / "results.json")
    if results is None:
        status, problem = "error", problem or "the grader wrote no results.json"
    extra = (results or {}).get("extra_data", {})
    record.update(status=status, seconds=round(seconds, 3),
                  score=results["score"] if results else 0.0, max_score=extra.get("max_score", 0),
                  message=problem or (results["output"] if results else ""),
                  submission_sha256=extra.get("submission_sha256", ""),
                  checks={t["extra_data"]["check"]: t["score"] for t in results["tests"]} if results else {},
                  passed=[t["extra_data"]["check"] for t in results["tests"] if t["status"] == "passed"]
                  if results else [])
    write_atomic(sub_dir / "batch.json", json.dumps(record, indent=1) + "\n")
    return record


def grade_in_process(entry, out_dir, fixture_hash, fixture_set=None):
    """Grades one submission in this (grading) process; returns its record, always."""
    from autograder.grading import grade_submission
    sub_dir = out_dir / "submissions" / entry.id
    sub_dir.mkdir(parents=True, exist_ok=True)
    record = new_record(entry, fixture_hash)
    started = time.monotonic()
    try:
        report = grade_submission(entry.path, sub_dir, fixture_set=fixture_set)
        status, problem = report.status, ""
    except Exception as exc:                   # a grader bug: one row, not the batch
        status, problem = "error", f"the grader failed: {exc!r}"[:500]
    return finish_record(record, sub_dir, status, time.monotonic() - started, problem)


def serve_worker(out_dir, fixture_hash, max_tasks=TASKS_PER_WORKER):
    """`batch-worker`: grade the submissions named on stdin, one JSON record per line on stdout.

    Anything else that writes to stdout (pytest, a library) is sent to stderr
    instead, so that only records travel on the reply channel.
    """
    from autograder.grading import GradingOptions, load_fixtures_for
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    # Verified and loaded once for every submission this process grades (arrays stay cached);
    # a set that is not the one the batch started with is never used.
    try:
        fixture_set = load_fixtures_for(load_config(), GradingOptions())
        fixture_set = fixture_set if fixture_set.set_hash == fixture_hash else None
    except FixtureError:
        fixture_set = None                     # grade_submission reports it, per submission
    for done, line in enumerate(sys.stdin):
        task = json.loads(line)
        record = grade_in_process(Entry(task["id"], Path(task["path"]), task["sha256"]), Path(out_dir), fixture_hash,
                                  fixture_set)
        reply.write(json.dumps(record) + "\n")
        if done + 1 >= max_tasks:
            break
    return 0


def _read_results(path):
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) and "tests" in data else None
    except (OSError, ValueError):
        return None


try:                                       # looked up here: nothing may be imported after fork
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):           # not Linux: a child exits at its next read instead
    _PRCTL = None
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child, before exec: be killed when the batch dies (even by SIGKILL), so no
    grading process outlives it and finishes a submission behind the next run's back."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


class GradingProcess:
    """One `batch-worker` child, replaced when it dies, hangs or has done its share."""

    def __init__(self, out_dir, fixture_hash, timeout_s):
        self.out_dir, self.fixture_hash, self.timeout_s = out_dir, fixture_hash, timeout_s
        self.proc, self.tasks = None, 0

    def _start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder", "batch-worker", "--out", str(self.out_dir),
             "--fixture-hash", self.fixture_hash], cwd=KIT_ROOT, env=worker_env(), text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent)
        self.tasks = 0

    def stop(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None

    def grade(self, entry):
        """The record of one submission; an error record if the grading process failed."""
        if self.proc is None or self.tasks >= TASKS_PER_WORKER or self.proc.poll() is not None:
            self.stop()
            self._start()
        self.tasks += 1
        started = time.monotonic()
        try:
            self.proc.stdin.write(json.dumps(dict(id=entry.id, path=str(entry.path.resolve()),
                                                  sha256=entry.sha256)) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout_s)
            line = self.proc.stdout.readline() if ready else ""
            if line:
                return json.loads(line)
            problem = ("the grader did not finish within {:.0f} s".format(self.timeout_s) if not ready
                       else "the grading process died")
        except (OSError, ValueError) as exc:
            problem = f"the grading process failed: {exc!r}"
        self.stop()
        sub_dir = self.out_dir / "submissions" / entry.id
        sub_dir.mkdir(parents=True, exist_ok=True)
        return finish_record(new_record(entry, self.fixture_hash), sub_dir, "error",
                             time.monotonic() - started, problem)


def finished_record(entry, out_dir, fixture_hash):
    """The earlier record of this submission if it is still valid, else None."""
    try:
        record = json.loads((out_dir / "submissions" / entry.id / "batch.json").read_text())
    except (OSError, ValueError):
        return None
    same = (record.get("fixture_set_hash") == fixture_hash and record.get("grader_version") == __version__
            and record.get("input_sha256") == entry.sha256 and record.get("status") != "error")
    return record if same and (out_dir / "submissions" / entry.id / "results.json").is_file() else None


def grades_csv(records, check_names):
    """The grade sheet as CSV text: one row per submission, one column per check
    (and, for a Gradescope export, the students' names, emails, SIDs and submission times)."""
    from autograder.spreadsheet import safe_cell
    students = STUDENT_COLUMNS if any(STUDENT_COLUMNS[0] in r for r in records) else ()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", *students, "score", "max_score", *check_names, "status", "message",
                     "submission_sha256", "fixture_set_hash", "grader_version"])
    for r in sorted(records, key=lambda r: r["id"]):
        writer.writerow([r["id"], *(safe_cell(r.get(c, "")) for c in students), r["score"], r["max_score"],
                         *(r["checks"].get(c, 0.0) for c in check_names),
                         r["status"], " ".join(str(r["message"]).split())[:300],
                         r.get("submission_sha256", ""), r["fixture_set_hash"], r["grader_version"]])
    return buf.getvalue()


class Progress:
    """A one-line progress bar on a terminal; a line per 10% elsewhere (CI logs)."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.stream, self.done, self.bad = total, stream, 0, 0
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self._last_decile = -1

    def update(self, record):
        self.done += 1
        self.bad += record["status"] != "graded"
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed * 60 if elapsed else 0.0
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


def run_batch(folder, out_dir, jobs=None, force=False, progress_stream=sys.stderr):
    """Grades every submission of `folder` into `out_dir`; returns the list of records."""
    from autograder.reports import write_summary
    config = load_config()
    try:
        fixture_hash = load_fixture_set(fixture_folder("hidden"), config.hidden_seed).set_hash
    except FixtureError as exc:
        raise BatchError(str(exc)) from None
    try:
        export = find_export(folder)       # a Gradescope export: its folders, plus who submitted each
    except ExportError as exc:
        raise BatchError(str(exc)) from None
    annotate = export.annotate if export else (lambda record: record)
    entries = discover(export.folder if export else folder)
    out_dir = Path(out_dir)
    (out_dir / "submissions").mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir / "submissions", 0o700)     # students' results are private to the staff
    check_names = list(config.checks)
    records = {}
    todo = []
    for entry in entries:
        old = None if force else finished_record(entry, out_dir, fixture_hash)
        if old:
            records[entry.id] = annotate(old)
        else:
            todo.append(entry)
    if records:
        print(f"{len(records)} submission(s) already graded with these fixtures: kept "
              f"(--force regrades them)", file=progress_stream)
    timeout_s = float(config.limits["total_timeout_s"]) + GRADER_MARGIN_S
    progress = Progress(len(todo), progress_stream) if todo else None
    tasks, results = queue.Queue(), queue.Queue()
    for entry in todo:
        tasks.put(entry)

    def slot():
        grader = GradingProcess(out_dir, fixture_hash, timeout_s)
        try:
            while True:
                try:
                    entry = tasks.get_nowait()
                except queue.Empty:
                    return
                results.put(grader.grade(entry))
        finally:
            grader.stop()

    threads = [threading.Thread(target=slot, daemon=True)
               for _ in range(min(len(todo), jobs or os.cpu_count() or 1))]
    for t in threads:
        t.start()
    for _ in todo:
        record = annotate(results.get())
        records[record["id"]] = record
        write_atomic(out_dir / "grades.csv", grades_csv(records.values(), check_names))
        progress.update(record)
    for t in threads:
        t.join()
    write_atomic(out_dir / "grades.csv", grades_csv(records.values(), check_names))
    write_summary(sorted(records.values(), key=lambda r: r["id"]), config, out_dir,
                  sources=[(e.id, e.path) for e in entries])
    return sorted(records.values(), key=lambda r: r["id"])


def grade_table(records, config):
    """The table printed at the end: submission, score / max, failed checks."""
    width = max(len("submission"), *(len(r["id"]) for r in records))
    lines = [f"{'submission':<{width}}  {'score':>13}  failed checks", "-" * (width + 40)]
    for r in records:
        failed = [c for c in config.checks if c not in r.get("passed", ())]
        if r["status"] != "graded":
            shown = f"{r['status'].upper()}: {' '.join(str(r['message']).split())[:90]}"
        else:
            shown = ", ".join(failed) if failed else "-"
        lines.append(f"{r['id']:<{width}}  {r['score']:>6g} / {r['max_score']:<4g}  {shown}")
    return "\n".join(lines)
