"""Hostile submissions: each is graded, in bounded time, with no points it did not earn and no
effect on the kit, the machine or the next submission. The catalogue says what each tries."""

import hashlib
import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from autograder.catalogue import load_catalogue, write_zip
from autograder.config import load_config
from autograder.grading import GradingOptions, grade_submission
from autograder.sandbox import detect_isolation
from conftest import REPO
from test_grader import assert_gradescope_schema

CONFIG = load_config()
CATALOGUE, _ = load_catalogue()
HOSTILE = sorted(k for k in CATALOGUE if k.startswith("hostile/"))
# The slowest honest outcome is sleep_at_import (the import time limit) and an infinite
# loop (two call time limits before the function is no longer called).
BOUND_S = CONFIG.limits["import_timeout_s"] + 2 * CONFIG.limits["call_timeout_s"] + 30


def kit_fingerprint():
    """sha256 over every tracked file and the fixture sets: any write to the kit changes it."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    paths = [REPO / p for p in tracked.decode().split("\0") if p]
    paths += sorted((REPO / "build" / "fixtures").rglob("*"))
    h = hashlib.sha256()
    for path in paths:
        if path.is_file():
            h.update(str(path).encode() + path.read_bytes())
    h.update(str(sorted(p.name for p in REPO.iterdir())).encode())     # no new top-level file
    return h.hexdigest()


class Listener:
    """A TCP listener on 127.0.0.1 that records whatever connects."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(100) or b"<connected>")
                except OSError:
                    self.received.append(b"<connected>")

    def close(self):
        self._stop = True
        self.thread.join()
        self.sock.close()


def leftover_sleepers():
    out = subprocess.run(["pgrep", "-f", "sleep 1234.5"], capture_output=True, text=True).stdout
    return out.split()


@pytest.fixture(scope="module")
def fingerprint_before():
    return kit_fingerprint()


@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_submission_gains_nothing_and_changes_nothing(tmp_path, key, fingerprint_before):
    entry = CATALOGUE[key]
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    listener = Listener()
    source = (entry.source.replace("{KIT_ROOT}", str(REPO)).replace("{MARKER_DIR}", str(marker_dir))
              .replace("{PORT}", str(listener.port)))
    submission = write_zip(type(entry)(entry.key, entry.story, source=source), tmp_path / "sub.zip")
    gradescope_results = Path("/autograder/results/results.json")
    gradescope_before = gradescope_results.exists()

    started = time.monotonic()
    try:
        report = grade_submission(submission, tmp_path / "out", GradingOptions())
    finally:
        listener.close()
    elapsed = time.monotonic() - started

    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert_gradescope_schema(results)
    assert results["extra_data"]["grader_version"], "results.json is the grader's, not a forgery"
    assert elapsed < BOUND_S, f"{key} took {elapsed:.1f} s"
    assert report.status == "graded", f"{key}: whatever the student's code does is its own failure, never ours"
    failed = {c.name for c in report.checks if c.passed < c.total}
    if entry.fails == ("all",):
        assert report.score == 0, f"{key}: {entry.must_not}"
    else:
        assert set(entry.fails) <= failed, f"{key} must fail {set(entry.fails) - failed}: {entry.must_not}"
    assert report.score == pytest.approx(sum(c.score for c in report.checks), abs=0.01)
    assert not any(marker_dir.iterdir()), f"{key}: something was unpickled in the grader"
    assert not leftover_sleepers(), f"{key}: a process outlived grading"
    assert kit_fingerprint() == fingerprint_before, f"{key} changed the kit's files"
    assert gradescope_results.exists() == gradescope_before, f"{key} wrote {gradescope_results}"
    if report.checks and report.extra.get("isolation") == "bwrap":
        assert listener.received == [], f"{key} reached 127.0.0.1 from the sandbox"
    assert len((tmp_path / "out" / "feedback.md").read_text()) < 200_000, "printed output must be capped"


def test_grading_after_hostile_submissions_is_unaffected(tmp_path):
    """Runs after the hostile ones (file order): the reference still earns full marks."""
    report = grade_submission(REPO / "reference" / "conv2d.py", tmp_path / "out", GradingOptions())
    assert report.status == "graded" and report.score == report.max_score


def test_isolation_level_used_is_recorded(tmp_path):
    report = grade_submission(REPO / "reference" / "conv2d.py", tmp_path / "out", GradingOptions())
    assert report.extra["isolation"] == detect_isolation()
