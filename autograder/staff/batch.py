"""Grading a whole folder of submissions, in parallel, resumably.

    python -m autograder batch FOLDER --out OUT [--jobs N] [--force] [--only ID,ID]

Every entry of FOLDER gets exactly one row (autograder.staff.batch_entries says what an
entry and its id are): graded, invalid with the reason, or error. As many grading
processes as there are cores (`python -m autograder batch-grader`, BLAS pinned to
one thread) each take submissions one at a time from this process and grade them
in-process, each with its own sandboxed student worker. A grading process that
crashes or hangs costs one row (status `error`, retried on the next run) and is
replaced; the batch goes on.

SIGINT (Ctrl-C) and SIGTERM stop the batch: the grading processes are killed, their
temporary folders (all inside one private folder, the grading processes' TMPDIR)
deleted, grades.csv written from the finished grades, and one line printed.

What a run leaves in OUT:
    submissions/<id>/grade.json                  per submission, the grade record (autograder.results)
    submissions/<id>/results.json, feedback.md   its renderings
    submissions/<id>/batch.json                  written last: the grade is final
    grades.csv, summary.md, scores.png, checks.png

Resuming: a submission whose batch.json records the same entry name, input sha256,
fixture set and grader version, beside a grade.json this grader reads, is not graded again (`--force` regrades everything,
`--only` exactly the named ids). Every file is written atomically, so killing the
batch at any moment loses no finished grade and never leaves half a grades.csv.

This module runs a batch from start to end; the rest is in one module each:
    autograder.staff.grading_pool     the grading processes, fed from a queue; their TMPDIR
    autograder.staff.batch_grader     one grading process (`batch-grader`)
    autograder.staff.batch_records    submissions/<id>/batch.json, and which ones a run keeps
    autograder.staff.grade_sheet      grades.csv
    autograder.staff.batch_console    the progress bar and the table printed at the end
"""

import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from autograder.fixtures import FixtureError, fixture_folder, load_fixture_set
from autograder.results import write_atomic
from autograder.sandbox import remove_temp_tree
from autograder.staff.batch_console import Progress, printable
from autograder.staff.batch_entries import discover
from autograder.staff.batch_records import earlier_record, finished_record, new_record
from autograder.staff.gradescope_export import ExportError, find_export
from autograder.staff.grade_sheet import grades_csv
from autograder.staff.grading_pool import GradingPool, batch_temp_dir, die_with_parent
from autograder.staff.integrity_job import IntegrityJob

CSV_EVERY_S = 1.0             # grades.csv is rewritten at most this often while grading (and at the end)

class BatchError(Exception):
    """The batch cannot start (bad folder, no submissions, bad fixtures); the message says why."""


class BatchInterrupted(Exception):
    """SIGINT or SIGTERM stopped the batch; `kept` finished grades are in grades.csv."""

    def __init__(self, signum, kept):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum, self.kept = signum, kept


def select_entries(entries, only):
    """The entries named by --only values: ids or entry names, comma-separated (a value that
    is itself an id or entry name is taken whole); BatchError names any unknown one."""
    known = {e.id for e in entries} | {e.path.name for e in entries}
    wanted = set()
    for value in only:
        wanted |= {value} if value in known else {n.strip() for n in value.split(",") if n.strip()}
    chosen = [e for e in entries if e.id in wanted or e.path.name in wanted]
    unknown = wanted - {e.id for e in chosen} - {e.path.name for e in chosen}
    if unknown:
        raise BatchError(f"--only: no entry has the id {', '.join(sorted(map(repr, unknown)))}; "
                         f"ids are entry names without .zip/.py, as in grades.csv")
    if not wanted:
        raise BatchError("--only: give at least one id")
    return chosen


class _Signals:
    """While armed, the first SIGINT or SIGTERM raises `Stop` in the main thread. Once disarmed
    (clean-up has begun) a signal is only remembered, so nothing can cut the clean-up short."""

    class Stop(BaseException):
        def __init__(self, signum):
            self.signum = signum

    def __init__(self):
        self.signum, self.armed, self._old = None, True, {}

    def _handle(self, signum, frame):
        first = self.signum is None
        self.signum = self.signum or signum
        if first and self.armed:
            raise self.Stop(signum)

    def disarm(self):
        """From now on signals are remembered, not raised; raise_pending() raises one later."""
        self.armed = False

    def raise_pending(self):
        if self.signum is not None:
            raise self.Stop(self.signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, handler in self._old.items():
            signal.signal(s, handler)


def run_batch(lab, folder, out_dir, jobs=None, force=False, only=None, progress_stream=sys.stderr):
    """Grades every entry of `folder` to `lab` (autograder.lab_loader.Lab) into `out_dir`; returns the list
    of records, one per entry.

    only: ids (or entry names) to regrade, whatever their state; every other entry keeps
    the row it has. Raises BatchError when the batch cannot start, BatchInterrupted on
    SIGINT / SIGTERM (after keeping every finished grade and deleting the temporary files).
    """
    records = {}
    with _Signals() as signals:
        try:
            return _grade_all(lab, Path(folder), Path(out_dir), jobs, force, only, progress_stream, signals, records)
        except _Signals.Stop as stop:
            raise BatchInterrupted(stop.signum, len(records)) from None

def _plan(entries, out_dir, fixture_hash, force, chosen):
    """(records kept from earlier runs by id, entries to grade, notes for the staff)."""
    kept, todo, stale, untouched = {}, [], 0, 0
    for entry in entries:
        if chosen is not None and entry.id not in chosen:
            old = earlier_record(entry, out_dir)            # --only: every other row stays as it is
            stale += bool(old and entry.sha256) and finished_record(entry, out_dir, fixture_hash) is None
            untouched += old is None
        else:
            old = None if force or chosen is not None else finished_record(entry, out_dir, fixture_hash)
            if old is None:
                todo.append(entry)
        if old is not None:
            kept[entry.id] = dict(old, note=entry.note)
    notes = []
    if chosen is None and kept:
        notes.append(f"{len(kept)} submission(s) already graded with these fixtures: kept "
                     f"(--force regrades them)")
    if chosen is not None:
        notes.append(f"--only: regrading {len(todo)} of {len(entries)} entries; the other rows are kept")
        if stale:
            notes.append(f"{stale} kept row(s) are out of date (changed submission or fixtures): "
                         "run without --only to regrade them")
        if untouched:
            notes.append(f"{untouched} entr{'y has' if untouched == 1 else 'ies have'} no grade this grader "
                         "reads (never graded, or graded by an older grader) and get no row: run without "
                         "--only to grade them")
    return kept, todo, notes

def refuse_open_folders_at_uid_level(folder, out_dir):
    """At the 'uid' level (the last resort: no namespaces, no chroot) each submission runs as
    a uid of its own but sees every file other users may read: a class folder other users can
    reach would hand every submission to every other. Refuse it, and say how to close it."""
    from autograder.sandbox.levels import detect_isolation
    from autograder.sandbox.python_env import untraversable_ancestor
    if detect_isolation() != "uid":
        return
    for path, what in ((folder, "the submissions"), (out_dir, "the grades and feedback")):
        path = path.resolve()
        probe = path / "x"                  # the folder itself counts: its own o+x lets others in
        if path.exists() and untraversable_ancestor(probe) is None:
            raise BatchError(f"this machine only offers the 'uid' isolation level, where student code can "
                             f"read every file other users may read, and {path} ({what}) is open to other "
                             f"users: close it with `chmod o-rwx {shlex.quote(str(path))}` (or install "
                             "bubblewrap, or grade as root where chroot works) and run the batch again")


def _grade_all(lab, folder, out_dir, jobs, force, only, progress_stream, signals, records):
    from autograder.staff.reports import write_summary
    config = lab.config
    try:
        fixture_hash = load_fixture_set(fixture_folder("hidden", lab.fixtures_root), config.fixture_seed("hidden"),
                                        lab=lab).set_hash
    except FixtureError as exc:
        raise BatchError(str(exc)) from None
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder of submissions")
    refuse_open_folders_at_uid_level(folder, out_dir)
    try:
        export = find_export(folder)       # a Gradescope export: its folders, plus who submitted each
    except ExportError as exc:
        raise BatchError(str(exc)) from None
    annotate = export.annotate if export else (lambda record: record)
    set_aside = [export.problem] if export and export.problem else []     # costs the names, never a grade
    entries, hidden = discover(export.folder if export else folder, out_dir)
    if not entries:
        raise BatchError(f"no submissions in {folder} (it holds no entries"
                         f"{', only hidden ones' if hidden else ''})")
    chosen = {e.id for e in select_entries(entries, only)} if only is not None else None
    if jobs is not None and jobs < 1:
        raise BatchError(f"--jobs must be at least 1 (got {jobs})")
    (out_dir / "submissions").mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir / "submissions", 0o700)     # students' results are private to the staff
    check_names = list(config.checks)
    kept, todo, notes = _plan(entries, out_dir, fixture_hash, force, chosen)
    records.update({sid: annotate(record) for sid, record in kept.items()})
    notes[:0] = [printable(p) for p in set_aside]
    if hidden:
        notes.insert(0, f"left out {len(hidden)} hidden entr{'y' if len(hidden) == 1 else 'ies'} "
                        f"(dot-files, __MACOSX, the output folder): {printable(', '.join(hidden))[:200]}")
    for note in notes:
        print(note, file=progress_stream)
    progress = Progress(len(records) + len(todo), kept=len(records), stream=progress_stream)
    notes_by_id = {e.id: e.note for e in todo}
    temp_dir, pool, integrity, flags = None, None, None, None
    try:
        temp_dir = batch_temp_dir()
        integrity = IntegrityJob(config.path, [(e.id, e.path) for e in entries], config.similarity_threshold,
                                 temp_dir, preexec_fn=die_with_parent)
        pool = GradingPool(config.path, todo, jobs or os.cpu_count() or 1, out_dir, fixture_hash, config.limits,
                           temp_dir)
        last_csv = time.monotonic()
        for record in pool.records(len(todo)):
            records[record["id"]] = annotate(dict(record, note=notes_by_id.get(record["id"], "")))
            progress.update(record)
            if time.monotonic() - last_csv >= CSV_EVERY_S:
                write_atomic(out_dir / "grades.csv", grades_csv(records.values(), check_names))
                last_csv = time.monotonic()
        for entry in todo:
            if entry.id not in records:
                records[entry.id] = annotate(dict(
                    new_record(entry, fixture_hash), status="error", seconds=0.0, score=0.0, max_score=0,
                    checks={}, passed=[], note=entry.note,
                    message="the batch lost this entry (a grader bug); run the batch again"))
    except BaseException:                 # an interrupt (or a batch bug): no summary will want it
        if integrity is not None:
            integrity.kill()
        raise
    finally:
        signals.disarm()                  # an interrupt from here on waits until the clean-up is done
        if pool is not None:
            pool.close()
        if integrity is not None:         # before its temp folder goes; an interrupt meanwhile kills it
            flags = integrity.result(stop=lambda: signals.signum is not None)
        if temp_dir is not None:
            remove_temp_tree(temp_dir)
        for entry in todo:                # interrupted: an entry not regraded yet keeps its earlier row
            if entry.id not in records and (old := earlier_record(entry, out_dir)) is not None:
                records[entry.id] = annotate(dict(old, note=entry.note))
        write_atomic(out_dir / "grades.csv", grades_csv(records.values(), check_names))
    signals.raise_pending()
    ordered = sorted(records.values(), key=lambda r: r["id"])
    write_summary(ordered, config, out_dir, integrity=flags, notes=set_aside)
    return ordered
