"""A batch that loses no student (issue 12): one row per entry, lenient names, nothing that one
entry does can stop the batch, safe outputs, clean interrupts, regrade controls.

The end-to-end tests grade a folder holding every awkward entry an instructor's download
or a hostile student can produce, through `python -m autograder batch` as staff run it.
"""

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.staff.batch import select_entries
from autograder.staff.grade_sheet import GRADE_COLUMNS_AFTER, grades_csv
from autograder.staff.spreadsheet import safe_cell
from autograder.staff.batch_entries import ID_MAX_BYTES, assign_ids, discover, input_sha256, safe_id
from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.staff.reports import md_cell, summary_markdown
from helpers import CONV_LAB, REPO, hang_guard

CONFIG = CONV_LAB.config
CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
KIT = [sys.executable, "-m", "autograder"]
CORRECT = CATALOGUE["correct/offset_slices"]           # a quick correct solution
FORMULA_NAMES = ['=HYPERLINK("http:x","click")', "+cmd|' calc'!A0", "@SUM(1+1)", "-2+3"]


def run(args, timeout=hang_guard(60), **kwargs):
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout, **kwargs)


def read_grades(out):
    with open(out / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


def sparse_file(path, size=4 * 2**30):
    """A file of `size` bytes that takes no disk space (never write 4 GiB)."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# ----------------------------------------------------------------- ids and entries

def test_ids_are_names_without_extension_and_clashes_keep_whole_names(tmp_path):
    for name in ("alice.zip", "bob.py", "carol.txt", "Bob.ZIP"):
        (tmp_path / name).write_text("x")
    (tmp_path / "alice").mkdir()
    (tmp_path / "dan.v2").mkdir()
    ids, notes = assign_ids(sorted(tmp_path.iterdir()))
    by_name = {p.name: sid for p, sid in ids.items()}
    assert by_name == {"alice": "alice", "alice.zip": "alice.zip", "bob.py": "bob.py", "Bob.ZIP": "Bob.ZIP",
                       "carol.txt": "carol", "dan.v2": "dan.v2"}
    assert notes[tmp_path / "alice.zip"] == "duplicate id 'alice': also alice; graded as 'alice.zip'"
    assert tmp_path / "carol.txt" not in notes
    again, _ = assign_ids(sorted(tmp_path.iterdir(), reverse=True))
    assert again == ids                                         # stable: order does not matter


def test_ids_stay_unique_when_a_whole_name_is_another_id(tmp_path):
    """alice.zip.py's id is 'alice.zip', the whole name alice.zip takes when it clashes with alice/."""
    (tmp_path / "alice").mkdir()
    for name in ("alice.zip", "alice.zip.py", "ALICE.ZIP.py"):
        (tmp_path / name).write_text("x")
    ids, _ = assign_ids(sorted(tmp_path.iterdir()))
    assert len({sid.casefold() for sid in ids.values()}) == 4, ids


def test_ids_are_printable_and_short(tmp_path):
    assert safe_id(os.fsdecode(b"eve\xff\n\x1b[31mred")) == "eve\\xff\\n\\x1b[31mred"
    long_id = safe_id("\u00e9" * 200)
    assert len(long_id.encode()) <= ID_MAX_BYTES and long_id != safe_id("\u00e9" * 201)


def test_hidden_entries_and_the_output_folder_are_not_entries(tmp_path):
    for name in (".DS_Store", "__MACOSX", "out", "alice.zip"):
        (tmp_path / name).mkdir() if "." not in name[1:] else (tmp_path / name).write_text("x")
    entries, hidden = discover(tmp_path, out_dir=tmp_path / "out")
    assert [e.id for e in entries] == ["alice"] and sorted(hidden) == [".DS_Store", "__MACOSX", "out"]


def test_hash_streams_and_checks_sizes_before_reading(tmp_path):
    small = tmp_path / "s.zip"
    small.write_bytes(os.urandom(3 * 2**20))
    assert input_sha256(small) == hashlib.sha256(small.read_bytes()).hexdigest()
    folder = tmp_path / "dave"
    folder.mkdir()
    (folder / "conv2d.py").write_text("x = 1\n")
    sparse_file(folder / "huge.bin")
    started = time.process_time()                               # this process's CPU: no other load counts
    assert input_sha256(folder) == "" and input_sha256(sparse_file(tmp_path / "huge.zip")) == ""
    assert time.process_time() - started < 1.0                  # nothing was read
    (folder / "huge.bin").unlink()
    assert len(input_sha256(folder)) == 64
    (tmp_path / "link.zip").symlink_to(small)
    assert input_sha256(tmp_path / "link.zip") == ""


def test_only_names_ids_or_entry_names_and_refuses_unknown_ones(tmp_path):
    for name in ("alice.zip", "bob.py", "x,y.zip"):
        (tmp_path / name).write_text("x")
    entries, _ = discover(tmp_path)
    assert [e.id for e in select_entries(entries, ["alice,bob.py"])] == ["alice", "bob"]
    assert [e.id for e in select_entries(entries, ["x,y"])] == ["x,y"]
    from autograder.staff.batch import BatchError
    with pytest.raises(BatchError, match="no entry has the id 'carol'"):
        select_entries(entries, ["alice,carol"])


# ------------------------------------------------------------------------ outputs

@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_would_start_a_formula_are_neutralised(value):
    assert safe_cell(value) == "'" + value
    assert safe_cell("alice") == "alice" and safe_cell(-1.0) == -1.0


def test_grades_csv_has_no_live_formula_in_any_cell():
    records = [dict(id=sid, score=0.0, max_score=100, checks={}, status="invalid", message=sid,
                    fixture_set_hash="h", grader_version="v", note="") for sid in FORMULA_NAMES]
    rows = list(csv.reader(grades_csv(records, list(CONFIG.checks)).splitlines()))
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    assert rows[0][-len(GRADE_COLUMNS_AFTER):] == GRADE_COLUMNS_AFTER


def test_markdown_cells_escape_pipes_newlines_and_html():
    assert md_cell("a|b\nc <img>") == "a\\|b c &lt;img&gt;"
    records = [dict(id="x|y\nz", status="invalid", score=0.0, checks={}, passed=[], message="m|n\n| o",
                    note="")]
    table = [line for line in summary_markdown(records, CONFIG, {}).splitlines() if line.startswith("| x")]
    assert table == ["| x\\|y z | invalid | m\\|n \\| o |", "| x\\|y z | invalid | 0 | m\\|n \\| o |"]


# -------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def awkward_folder(tmp_path_factory):
    """Every entry the issue names, and a few more; {entry name: what its row must say}."""
    folder = tmp_path_factory.mktemp("awkward") / "subs"
    folder.mkdir()
    expect = {}
    (folder / "ben_scott_90909.txt").write_text("my homework is in the email")
    expect["ben_scott_90909"] = ("invalid", "not a submission: .txt file")
    for name in ("alice_smith_1234.py", "conv2d (1).py", "Conv2D.py"):
        (folder / name).write_text(CORRECT.source)
        expect[name[:-3]] = ("graded", "please name it conv2d.py next time")
    (folder / "alice").mkdir()
    (folder / "alice" / "conv2d.py").write_text(CORRECT.source)
    write_zip(CORRECT, folder / "alice.zip", lab=CONV_LAB)
    expect["alice"] = expect["alice.zip"] = ("graded", "duplicate id 'alice'")
    (folder / "dave").mkdir()
    (folder / "dave" / "conv2d.py").write_text(CORRECT.source)
    sparse_file(folder / "dave" / "lecture_recording.bin")
    expect["dave"] = ("invalid", "the limit is 50.0 MiB")
    sparse_file(folder / "erin.zip")
    expect["erin"] = ("invalid", "the limit is 20.0 MiB")
    for name in FORMULA_NAMES:
        write_zip(CORRECT, folder / f"{name}.zip", lab=CONV_LAB)
        expect["'" + name] = ("graded", "")
    write_zip(CORRECT, folder / os.fsdecode(b"f\xffrank\n.zip"), lab=CONV_LAB)
    expect["f\\xffrank\\n"] = ("graded", "")
    (folder / "linked.py").symlink_to(REPO / "reference" / "conv2d.py")
    expect["linked"] = ("invalid", "is a symbolic link")
    os.mkfifo(folder / "pipe.zip")                              # reading it would block forever
    expect["pipe"] = ("invalid", "is not a regular file")
    write_zip(CATALOGUE["bug/overwrite_overlaps"], folder / "gina.zip", lab=CONV_LAB)
    expect["gina"] = ("graded", "")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return folder, expect


@pytest.fixture(scope="module")
def graded_awkward(awkward_folder, tmp_path_factory):
    folder, expect = awkward_folder
    out = tmp_path_factory.mktemp("awkward-out")
    result = run(KIT + ["batch", str(folder), "--out", str(out)])
    return folder, expect, out, result


def test_every_entry_gets_one_row_and_every_innocent_student_100(graded_awkward):
    folder, expect, out, result = graded_awkward
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    rows = {r["id"]: r for r in read_grades(out)}
    assert len(read_grades(out)) == len(expect) == len(os.listdir(folder)) - 1   # .DS_Store is hidden
    assert set(rows) == set(expect)
    for sid, (status, words) in expect.items():
        assert rows[sid]["status"] == status and words in rows[sid]["message"], (sid, rows[sid])
    innocent = [sid for sid, (status, _) in expect.items() if status == "graded" and sid != "gina"]
    assert all(float(rows[sid]["score"]) == CONFIG.max_score for sid in innocent), \
        {sid: rows[sid]["score"] for sid in innocent}
    assert float(rows["gina"]["score"]) < CONFIG.max_score
    assert f"{len(expect)}/{len(expect)} done" in result.stderr                 # progress counts every entry
    assert "left out 1 hidden entry" in result.stderr and ".DS_Store" in result.stderr
    assert "invalid: ben_scott_90909: " in result.stderr                       # said on the console too


def test_awkward_rows_reach_the_summary_and_the_feedback(graded_awkward):
    _, expect, out, _ = graded_awkward
    summary = (out / "summary.md").read_text()
    not_graded = summary.split("## Not graded")[1].split("##")[0]
    assert sum(line.startswith("| ") for line in not_graded.splitlines()) - 1 == \
        sum(status != "graded" for status, _ in expect.values())
    assert "## Duplicate ids" in summary and "| alice.zip | duplicate id 'alice'" in summary
    every = summary.split("## Every entry")[1].strip().splitlines()[2:]
    assert len(every) == len(expect)                                          # one line per entry
    feedback = (out / "submissions" / "conv2d (1)" / "feedback.md").read_text()
    assert "# Feedback: 100 / 100" in feedback and "please name it conv2d.py next time" in feedback
    for line in (out / "grades.csv").read_text().splitlines()[1:]:
        assert not line.startswith(("=", "+", "-", "@", "\t", "\r", '"=', '"+', '"-', '"@'))


def test_only_regrades_exactly_the_named_students(graded_awkward):
    folder, expect, out, _ = graded_awkward
    stamp = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("submissions/*/batch.json")}
    before = {r["id"]: r for r in read_grades(out)}
    result = run(KIT + ["batch", str(folder), "--out", str(out), "--only", "gina,conv2d (1).py"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--only: regrading 2 of" in result.stderr
    changed = {sid for sid, ns in stamp.items()
               if (out / "submissions" / sid / "batch.json").stat().st_mtime_ns != ns}
    assert changed == {"gina", "conv2d (1)"}
    after = {r["id"]: r for r in read_grades(out)}
    assert set(after) == set(before) and after["gina"]["score"] == before["gina"]["score"]
    unknown = run(KIT + ["batch", str(folder), "--out", str(out), "--only", "nobody"])
    assert unknown.returncode == 2 and "no entry has the id 'nobody'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def grading_pids(out, batch_pid=None):
    """Live grading processes of the batch writing to `out`, and (given its pid) its integrity child."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, ppid = stat[0], int(stat[1])
        if state == "Z":
            continue
        if (b"batch-grader" in cmdline and str(out).encode() in cmdline) or \
                (b"autograder.staff.integrity_job" in cmdline and ppid == batch_pid):
            pids.append(int(pid))
    return pids


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_batch_cleans_up_keeps_its_grades_and_resumes(tmp_path, signum):
    subs, out, temp = tmp_path / "subs", tmp_path / "out", tmp_path / "tmp"
    temp.mkdir()
    for i in range(12):
        write_zip(CATALOGUE["correct/lecture_loops"], subs / f"s{i:02d}.zip", lab=CONV_LAB)
    env = dict(os.environ, TMPDIR=str(temp))
    proc = subprocess.Popen(KIT + ["batch", str(subs), "--out", str(out)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + hang_guard(20)               # a wait: it ends once 3 are graded
    seen = set()
    while len(list(out.glob("submissions/*/batch.json"))) < 3 and time.monotonic() < deadline:
        seen.update(grading_pids(out, proc.pid))
        time.sleep(0.1)
    seen.update(grading_pids(out, proc.pid))
    assert seen, "the grading processes were not running"
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=hang_guard(5))    # its clean-up: ~1 s idle
    assert proc.returncode == 128 + signum
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"interrupted by {signal.Signals(signum).name}: ") and "run the same command" in last
    assert not grading_pids(out), "a grading process outlived the interrupt"
    assert not [pid for pid in seen if alive(pid)], "a child of the batch (the integrity job?) outlived it"
    places = (temp, Path("/tmp"), Path("/opt/convkit/work"))      # TMPDIR and the sandbox's fallbacks
    left = [p for base in places if base.is_dir() for p in base.glob("convkit-*")
            if p.name.startswith(f"convkit-batch{proc.pid}-") or any(f"-w{pid}-" in p.name for pid in seen)]
    assert left == [] and list(temp.iterdir()) == [], "temporary folders were left behind"
    finished = {p.parent.name for p in out.glob("submissions/*/batch.json")}
    rows = read_grades(out)
    assert {r["id"] for r in rows} == finished and len(finished) < 12

    again = run(KIT + ["batch", str(subs), "--out", str(out)], env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{len(finished)} submission(s) already graded" in again.stderr
    rows = read_grades(out)
    assert len(rows) == 12 and all(float(r["score"]) == CONFIG.max_score for r in rows)
    assert list(temp.iterdir()) == []


def test_batch_help_lists_every_control():
    result = run(KIT + ["batch", "--help"])
    assert result.returncode == 0
    for words in ("--out", "--jobs", "--force", "--only", "--examples", "resuming", "interrupting",
                  "exit status", "make grade SUBMISSIONS=folder", "JOBS=N", "FORCE=1", "ONLY="):
        assert words in result.stdout, words
    bad = run(KIT + ["batch", "x", "--out", "y", "--jobs", "0"])
    assert bad.returncode == 2 and "must be at least 1" in bad.stderr


def test_make_grade_passes_the_controls():
    dry = run(["make", "-n", "grade", "SUBMISSIONS=some folder", "OUT=o", "FORCE=1", "JOBS=3", "ONLY=alice,bob"])
    command = dry.stdout.replace("\\\n", " ")
    assert 'batch "some folder" --out "o"' in command
    assert '--force --jobs "3" --only "alice,bob"' in " ".join(command.split())
    plain = run(["make", "-n", "grade", "SUBMISSIONS=s", "FORCE=0"])
    assert "--force" not in plain.stdout and "--jobs" not in plain.stdout


def test_uid_level_refuses_a_class_folder_other_users_can_read(tmp_path, monkeypatch):
    """At the 'uid' level a student's code can read whatever other users may: a batch whose
    submissions (or grades) other users can reach would show every student the others' files."""
    import autograder.sandbox.levels as levels
    from autograder.staff.batch import BatchError, refuse_open_folders_at_uid_level
    monkeypatch.setattr(levels, "detect_isolation", lambda: "uid")
    scratch = Path(tempfile.mkdtemp(prefix="convkit-uid-", dir="/var/tmp"))   # tmp_path is 0700
    try:
        subs, out = scratch / "subs", scratch / "out"
        subs.mkdir(mode=0o755)
        out.mkdir(mode=0o700)
        scratch.chmod(0o755)
        with pytest.raises(BatchError, match=r"chmod o-rwx .*subs"):
            refuse_open_folders_at_uid_level(subs, out)
        subs.chmod(0o750)                      # closed to others: the batch may go on
        refuse_open_folders_at_uid_level(subs, out)
        out.chmod(0o755)
        with pytest.raises(BatchError, match=r"grades and feedback"):
            refuse_open_folders_at_uid_level(subs, out)
        scratch.chmod(0o750)                   # a closed parent closes both
        out.chmod(0o755)
        subs.chmod(0o755)
        refuse_open_folders_at_uid_level(subs, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    monkeypatch.setattr(levels, "detect_isolation", lambda: "bwrap")
    refuse_open_folders_at_uid_level(tmp_path, tmp_path)      # the other levels hide the host's files
