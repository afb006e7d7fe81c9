"""Each role's command end to end: batch grading (resumable, SIGKILL-safe), the Gradescope zip,
the students' handout (its contents; its tools run as a student in test_student_tools.py), the TA's
fixtures and verify."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.config import load_config
from helpers import CONV_LAB, REPO, hang_guard
from helpers import assert_gradescope_schema

CONFIG = CONV_LAB.config
CATALOGUE, EXAMPLES = load_catalogue(lab=CONV_LAB)
KIT = [sys.executable, "-m", "autograder"]


def run(args, cwd=REPO, timeout=hang_guard(60), env=None, **kwargs):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env or dict(os.environ), **kwargs)


def class_of_submissions(folder, count):
    """`count` zips named student_000.zip ..., cycling through correct and buggy catalogue entries."""
    keys = [k for k in CATALOGUE if k.startswith(("correct/", "bug/"))]
    folder.mkdir(parents=True, exist_ok=True)
    return [write_zip(CATALOGUE[keys[i % len(keys)]], folder / f"student_{i:03d}.zip", lab=CONV_LAB) for i in range(count)]


def read_grades(out):
    with open(out / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


def grading_processes_of(out):
    """Live batch-grader processes writing into `out`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"batch-grader" in cmdline and str(out).encode() in cmdline and state != "Z":
            found.append(int(pid))
    return found


def test_batch_of_50_with_sigkill_and_resume(tmp_path):
    subs = tmp_path / "subs"
    class_of_submissions(subs, 50)
    (subs / "broken.zip").write_bytes(b"this is not a zip")
    out = tmp_path / "out"
    proc = subprocess.Popen(KIT + ["batch", str(subs), "--out", str(out)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + hang_guard(20)               # waits: each ends once its condition holds
    while len(list(out.glob("submissions/*/batch.json"))) < 8 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)                           # the batch only: its graders must follow
    proc.wait()
    deadline = time.monotonic() + hang_guard(2)
    while grading_processes_of(out) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not grading_processes_of(out), "a grading process outlived the killed batch"
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("submissions/*/batch.json")}
    assert len(finished) >= 8
    rows = read_grades(out)                                     # never half-written: parses whole
    assert {r["id"] for r in rows} <= set(finished) and all(r["status"] for r in rows)

    again = run(KIT + ["batch", str(subs), "--out", str(out)])
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{len(finished)} submission(s) already graded" in again.stderr
    for sid, mtime in finished.items():                         # finished grades were not redone
        assert (out / "submissions" / sid / "batch.json").stat().st_mtime_ns == mtime
    rows = {r["id"]: r for r in read_grades(out)}
    assert len(rows) == 51
    assert rows["broken"]["status"] == "invalid" and "not a valid zip file" in rows["broken"]["message"]
    graded = [r for r in rows.values() if r["status"] == "graded"]
    assert len(graded) == 50 and {c for c in CONFIG.checks} <= set(rows["student_000"])
    assert all(r["fixture_set_hash"] and r["grader_version"] and r["submission_sha256"] for r in graded)
    for name in ("summary.md", "scores.png", "checks.png"):
        assert (out / name).stat().st_size > 500
    summary = (out / "summary.md").read_text()
    assert "| col2im_overlap_sum |" in summary and "Most common likely bugs" in summary
    assert "/min" in again.stderr                                # the progress bar reports throughput

    third = run(KIT + ["batch", str(subs), "--out", str(out)])  # nothing new: nothing regraded
    assert "51 submission(s) already graded" in third.stderr
    forced = run(KIT + ["batch", str(subs), "--out", str(out), "--force", "--jobs", "2"])
    assert forced.returncode == 0 and "already graded" not in forced.stderr


def test_batch_runs_every_hostile_submission_to_one_row_each(tmp_path):
    subs = tmp_path / "subs"
    keys = sorted(k for k in CATALOGUE if k.startswith("hostile/"))
    for key in keys:
        write_zip(CATALOGUE[key], subs / f"{key.split('/')[1]}.zip", lab=CONV_LAB)
    out = tmp_path / "out"
    result = run(KIT + ["batch", str(subs), "--out", str(out)])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = read_grades(out)
    assert sorted(r["id"] for r in rows) == sorted(k.split("/")[1] for k in keys)
    assert all(r["status"] == "graded" for r in rows)


def test_batch_reports_bad_folder_clearly(tmp_path):
    missing = run(KIT + ["batch", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert missing.returncode == 2 and "is not a folder" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = run(KIT + ["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    assert empty.returncode == 2 and "no submissions" in empty.stderr


def unzip(path, dest):
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(dest / info.filename, mode)
    return dest


def assert_no_secrets(zip_path, allow_hidden_fixtures):
    """No reference code in the zip; hidden fixtures only where allowed."""
    reference_sources = {p.read_bytes() for p in (REPO / "reference").glob("*.py")}
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert not any(n.startswith("reference/") or n.endswith("fixture_builder.py") for n in names)
        for name in names:
            data = zf.read(name)
            assert data not in reference_sources, f"{name} is reference code"
            assert b"batch_col2im" not in data and b"from reference" not in data, name
    hidden = [n for n in names if n.startswith("build/fixtures/hidden/")]
    assert bool(hidden) == allow_hidden_fixtures
    return names


@pytest.fixture(scope="module")
def handout_zip(tmp_path_factory):
    dest = tmp_path_factory.mktemp("handout") / "handout.zip"
    result = run(KIT + ["package", "handout", "--out", str(dest)])
    assert result.returncode == 0, result.stderr
    return dest


def test_handout_holds_template_and_public_fixtures_but_no_secrets(handout_zip):
    names = assert_no_secrets(handout_zip, allow_hidden_fixtures=False)
    # The training targets (blur, Sobel) are public knowledge, printed in the handout itself.
    hidden_files = {p.read_bytes() for p in (REPO / "build" / "fixtures" / "hidden").glob("*.npy")
                    if not p.name.endswith("__kernel.npy")}
    with zipfile.ZipFile(handout_zip) as zf:
        assert not any(zf.read(n) in hidden_files for n in names if n.endswith(".npy"))
        assert zf.read("conv2d.py") == (REPO / "student_template" / "conv2d.py").read_bytes()
    for needed in ("README.md", "Makefile", "train_filter.py", "self_check.py", "figures/coverage.png",
                   "build/fixtures/public/manifest.json", "assignment/checks/check_col2im.py", "LAB"):
        assert needed in names


def test_gradescope_zip_grades_like_gradescope(tmp_path):
    dest = tmp_path / "autograder.zip"
    assert run(KIT + ["package", "gradescope", "--out", str(dest)]).returncode == 0
    names = assert_no_secrets(dest, allow_hidden_fixtures=True)
    assert {"setup.sh", "run_autograder", "requirements-grader.txt"} <= set(names)
    root = tmp_path / "autograder"
    unzip(dest, root / "source")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root))
    setup = run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", env=env)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    for key, full in (("correct/lecture_loops", True), ("bug/overwrite_overlaps", False), (None, False)):
        submission = root / "submission"
        if submission.exists():
            subprocess.run(["rm", "-rf", str(submission), str(root / "results")], check=True)
        submission.mkdir()
        if key:                                   # Gradescope unpacks the upload into submission/
            (submission / "conv2d.py").write_text(CATALOGUE[key].source)
        else:
            (submission / "conv.py").write_text("x = 1\n")
        graded = run(["bash", str(root / "source" / "run_autograder")], cwd=root, env=env)
        assert graded.returncode == 0
        results = json.loads((root / "results" / "results.json").read_text())
        assert_gradescope_schema(results)
        assert (results["score"] == CONFIG.max_score) == full
        if key is None:
            assert results["score"] == 0 and "no conv2d.py found" in results["output"]


def test_fixtures_command_reports_hash_before_and_after(tmp_path):
    first = run(KIT + ["fixtures", "--out", str(tmp_path)])
    assert first.returncode == 0 and "(was absent)" in first.stdout
    second = run(KIT + ["fixtures", "--out", str(tmp_path)])
    assert second.stdout.count("(unchanged)") == 2


def test_a_stored_hidden_seed_is_read_from_its_file_and_leaves_the_config_alone(tmp_path):
    from autograder.seeds import store_hidden_seed
    config = tmp_path / "config.toml"
    text = (REPO / "assignment" / "config.toml").read_text()
    config.write_text(text)
    store_hidden_seed(load_config(config).hidden_seed_path, 2**100 + 3)
    assert load_config(config).hidden_seed == 2**100 + 3 and config.read_text() == text
    assert load_config(config).hidden_seed_path == tmp_path / "secrets" / "hidden_seed"
    assert load_config(config).checks == CONFIG.checks


def test_verify_passes_and_fails_loudly_when_the_reference_is_not_full_marks(monkeypatch, capsys):
    from autograder.grading import GradingOptions
    from autograder.staff import verify
    assert verify.verify(CONV_LAB) == 0
    real = verify.grade_submission

    def reference_loses_a_point(lab, path, out, options=GradingOptions()):
        report = real(lab, path, out, options)
        if "reference" in str(path):          # the record is frozen: a copy with one case less passed
            first = report.checks[0]
            report = replace(report, checks=(replace(first, passed=first.passed - 1), *report.checks[1:]))
        return report
    monkeypatch.setattr(verify, "grade_submission", reference_loses_a_point)
    assert verify.verify(CONV_LAB) == 1
    assert "VERIFY FAILED" in capsys.readouterr().out


def test_summary_counts_a_failed_zero_point_check_as_failed():
    """Pass rates come from each check's pass/fail, not from its score (0-point checks score 0 either way)."""
    from autograder.staff.reports import summary_markdown
    everything = list(CONFIG.checks)
    records = [dict(id="a", status="graded", score=100.0, checks={}, passed=everything, message=""),
               dict(id="b", status="graded", score=100.0, checks={}, message="",
                    passed=[c for c in everything if c != "forward_output"])]
    summary = summary_markdown(records, CONFIG, bug_counts={})
    # passed fully, failed on its own (no results.json says another check blocked it), blocked only, pass rate
    assert "| forward_output | 0 | 1 / 2 | 1 | 0 | 50% (1/2) |" in summary
    assert "| col2im_overlap_sum | 8 | 2 / 2 | 0 | 0 | 100% (2/2) |" in summary
