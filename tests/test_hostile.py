"""Hostile submissions: each is graded, in bounded time, with no points it did not earn and no
effect on the kit, the machine or the next submission. The catalogue says what each tries.

The whole catalogue runs at every isolation level this machine offers: as root, bwrap
(where bubblewrap works) and chroot in this process, and process as an unprivileged user
(the grader itself runs as uid 65534 in a subprocess: as root that level is refused).
Not as root: the best level and process. Where a level documents that it does not stop an
attack (README, levels.py), the test says so by name instead of skipping the case.

Each entry is scored against its honest twin (catalogue.toml's `twin`: the same code without
the attack), graded for real at the same level once per session: no more points, and no
check passed that the twin fails.
"""

import hashlib
import json
import os
import resource
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder.staff.catalogue import correct_solution, load_catalogue, write_zip
from autograder.config import load_config
from autograder.grading import GradingOptions, grade_submission
from autograder.sandbox import LEVELS, detect_isolation, python_env
from autograder.sandbox.uids import SLOT_COUNT, SLOT_UID_BASE
from autograder.sandbox.workdirs import WORLD_WRITABLE_PLACES
from autograder.student import HELD_BYTES_CAP
from helpers import HOSTILE, REPO, ROOT, TEMPLATE, assert_gradescope_schema, levels_under_test

CONFIG = load_config()
CATALOGUE, _ = load_catalogue()
UNPRIVILEGED = 65534
# The slowest honest outcome is sleep_at_import (the import time limit) and an infinite
# loop (two call time limits before the function is no longer called).
BOUND_S = CONFIG.limits.import_timeout_s + 2 * CONFIG.limits.call_timeout_s + 30
KIT_STATE_DIR = Path("/opt/convkit")
SCRATCH_PREFIX = "convkit-leftover"
PLANTED = "convkit-w999999999-planted"
SCRATCH_PARENT = "/var/tmp"            # world-traversable, and not the grader's own temp dir


LEVELS_UNDER_TEST = levels_under_test()
# What the 'process' level is documented not to stop: the code runs as the grader's own user.
NOT_STOPPED_AT_PROCESS = {
    "hostile/read_hidden_fixtures": "reads what the grader's user can read",
    "hostile/import_reference": "reads what the grader's user can read",
    "hostile/read_other_student": "reads what the grader's user can read",
    "hostile/steal_kit_solution_via_proc": "sees the grader's own /proc entries",
    "hostile/proc_snooping_for_fixtures": "sees the grader's own /proc entries",
    "hostile/leave_files_behind": "its files in /tmp are the grader user's own",
    "hostile/fill_the_disk": "its files in /tmp are the grader user's own",
    "hostile/symlinked_work_dir": "may rename its work dir, which its own user owns",
}


# They reach the test's listener wherever a level leaves the network open (process), which
# also shows that the attacks work where a level reports that nothing arrived.
NETWORK_ATTACKS = ("hostile/network_call", "hostile/network_any_family")


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


def watched_modes(extra=()):
    """Mode and owner of the folders an attack could try to turn the grader against."""
    paths = [Path(p) for p in WORLD_WRITABLE_PLACES] + [KIT_STATE_DIR, KIT_STATE_DIR / "work", REPO,
                                                      REPO / "build", *KIT_STATE_DIR.glob("jail-*/work"),
                                                      *extra]
    state = {}
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        state[str(path)] = (stat.filemode(st.st_mode), st.st_uid, st.st_gid)
    return state


def leftovers():
    """What sandboxes left in world-writable folders: the attacks' files, planted links,
    anything owned by a sandbox slot uid."""
    found = []
    for place in WORLD_WRITABLE_PLACES:
        try:
            names = os.listdir(place)
        except OSError:
            continue
        for name in names:
            try:
                owner = os.lstat(os.path.join(place, name)).st_uid
            except FileNotFoundError:
                continue
            if name.startswith((SCRATCH_PREFIX, PLANTED)) or SLOT_UID_BASE <= owner < SLOT_UID_BASE + SLOT_COUNT:
                found.append(os.path.join(place, name))
    return found


def remove_known_leftovers():
    """After a 'process' run: its documented leftovers, so the next case starts clean."""
    for path in leftovers():
        if os.path.basename(path).startswith((SCRATCH_PREFIX, PLANTED)):
            subprocess.run(["rm", "-rf", "--", path], check=False)


class Listener:
    """A TCP listener on 127.0.0.1 that records whatever connects (bounded: stops at close)."""

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


def sleepers():
    out = subprocess.run(["pgrep", "-f", r"sleep.1234\.5"], capture_output=True, text=True).stdout   # sleep 1234.5, or Python's sleep(1234.5
    return set(out.split())


def leftover_sleepers(before, grace_s=5.0):
    """outlive_grading's sleepers that appeared during this case and are still alive.

    Other graders on the machine (another checkout's tests) may run the same entry at the
    same moment; theirs are gone within their own grading, ours would live 1234.5 s."""
    deadline = time.monotonic() + grace_s
    while (new := sleepers() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    return sorted(new)


@pytest.fixture(scope="module")
def fingerprint_before():
    return kit_fingerprint()


@pytest.fixture(scope="module")
def public_folder():
    """A world-traversable scratch folder (pytest's tmp_path is 0700): another student's file,
    and what the unprivileged grader reads and writes."""
    folder = Path(tempfile.mkdtemp(prefix="convkit-hostile-", dir=SCRATCH_PARENT))
    folder.chmod(0o755)
    other = folder / "other_student" / "conv2d.py"
    other.parent.mkdir(mode=0o755)
    other.write_text(correct_solution("lecture_loops"))
    other.chmod(0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def unprivileged_kit(public_folder):
    """A copy of what the grader needs, readable by uid 65534: the grader package, the config,
    the hidden fixtures and pytest (the grader's .venv interpreter may sit under /root)."""
    kit = public_folder / "kit"
    for part in ("autograder", "assignment", "requirements.txt", "build/fixtures/hidden"):
        source, dest = REPO / part, kit / part
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    site = public_folder / "site"
    for module in ("pytest", "_pytest", "py", "pluggy", "iniconfig", "packaging", "pygments"):
        spec = __import__(module)
        origin = Path(spec.__file__)
        source = origin.parent if origin.name == "__init__.py" else origin
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, site / source.name)
    subprocess.run(["chmod", "-R", "a+rX", str(public_folder)], check=True)
    return kit, site


def grade_as_unprivileged_user(kit_and_site, submission, out_dir):
    """`python -m autograder grade --isolation process` as uid 65534; returns its exit code."""
    kit, site = kit_and_site
    out_dir.mkdir()
    os.chown(out_dir, UNPRIVILEGED, UNPRIVILEGED)
    python = python_env.worker_python(drop_privileges=True)     # numpy, reachable by any uid
    env = {"PATH": "/usr/bin:/bin", "HOME": str(out_dir), "PYTHONPATH": f"{kit}:{site}", "TMPDIR": SCRATCH_PARENT,
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "OPENBLAS_NUM_THREADS": "1", "LANG": "C.UTF-8"}
    cmd = ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups",
           python, "-m", "autograder", "grade", str(submission), "--out", str(out_dir),
           "--isolation", "process", "--quiet"]
    return subprocess.run(cmd, cwd=kit, env=env, capture_output=True, text=True, timeout=BOUND_S + 30)


def grade(level, submission, out_dir, kit_and_site):
    """Grade at ``level``; results.json as a dict."""
    if level == "process" and ROOT:
        done = grade_as_unprivileged_user(kit_and_site, submission, out_dir)
        assert done.returncode in (0, 2), done.stderr[-3000:]
    else:
        grade_submission(submission, out_dir, GradingOptions(isolation=level))
    return json.loads((out_dir / "results.json").read_text())


@pytest.fixture(scope="session")
def twin_grades():
    """(twin, level) -> (score, failed checks): each honest twin graded once per level."""
    return {}


def twin_grade(twin, level, public_folder, kit_and_site, cache):
    """The honest twin's score and failed checks at ``level`` (graded for real, once per session)."""
    if (twin, level) not in cache:
        case = Path(tempfile.mkdtemp(prefix="twin-", dir=public_folder))
        case.chmod(0o755)
        source = TEMPLATE.read_text(encoding="utf-8") if twin == "template" else CATALOGUE[twin].source
        submission = case / "conv2d.py"
        submission.write_text(source)
        submission.chmod(0o644)
        results = grade(level, submission, case / "out", kit_and_site)
        assert results["extra_data"]["status"] == "graded", results["output"][:2000]
        cache[twin, level] = (results["score"], failed_checks(results))
    return cache[twin, level]


def failed_checks(results):
    return {t["extra_data"]["check"] for t in results["tests"] if t["score"] < t["max_score"]}


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_every_hostile_entry_names_an_honest_twin_that_exists():
    assert HOSTILE, "the hostile catalogue is empty"
    for key in HOSTILE:
        twin = CATALOGUE[key].twin
        assert twin == "template" or twin.startswith(("correct/", "bug/")) and twin in CATALOGUE, (key, twin)


@pytest.mark.parametrize("key", HOSTILE)
@pytest.mark.parametrize("level", LEVELS_UNDER_TEST)
def test_hostile_submission_gains_nothing_and_changes_nothing(key, level, fingerprint_before,
                                                              public_folder, twin_grades, request):
    entry = CATALOGUE[key]
    kit_and_site = request.getfixturevalue("unprivileged_kit") if level == "process" and ROOT else None
    twin_score, twin_failed = twin_grade(entry.twin, level, public_folder, kit_and_site, twin_grades)
    case = Path(tempfile.mkdtemp(prefix="case-", dir=public_folder))
    case.chmod(0o755)
    marker_dir = case / "markers"
    marker_dir.mkdir(mode=0o755)
    if level == "process" and ROOT:
        os.chown(marker_dir, UNPRIVILEGED, UNPRIVILEGED)    # the grader writes there if it unpickles
    listener = Listener()
    source = (entry.source.replace("{KIT_ROOT}", str(REPO)).replace("{MARKER_DIR}", str(marker_dir))
              .replace("{PORT}", str(listener.port))
              .replace("{OTHER_STUDENT}", str(public_folder / "other_student" / "conv2d.py")))
    submission = write_zip(type(entry)(entry.key, entry.story, source=source), case / "sub.zip")
    submission.chmod(0o644)
    gradescope_results = Path("/autograder/results/results.json")
    gradescope_before = gradescope_results.exists()
    modes_before = watched_modes([marker_dir, case])
    not_stopped = NOT_STOPPED_AT_PROCESS.get(key) if level == "process" else None
    sleepers_before = sleepers()
    in_this_process = not (level == "process" and ROOT)
    rss_before = peak_rss_bytes()

    started = time.monotonic()
    try:
        results = grade(level, submission, case / "out", kit_and_site)
    finally:
        listener.close()
    elapsed = time.monotonic() - started
    try:
        assert_gradescope_schema(results)
        assert results["extra_data"]["grader_version"], "results.json is the grader's, not a forgery"
        assert results["extra_data"].get("isolation", level) == level
        assert elapsed < BOUND_S, f"{key} took {elapsed:.1f} s"
        assert results["extra_data"]["status"] == "graded", f"{key}: whatever the student's code does is its own failure, never ours"
        failed = failed_checks(results)
        score = results["score"]
        if not_stopped is None:
            # Scored against its honest twin: no point, and no check, that the same code without
            # the attack would not earn.
            assert score <= twin_score + 0.01, f"{key} scored {score}, its twin {entry.twin} {twin_score}"
            assert twin_failed <= failed, f"{key} passed {sorted(twin_failed - failed)}, which {entry.twin} fails"
            if entry.fails == ("all",):
                assert score == 0, f"{key}: {entry.must_not}"
            elif entry.fails:
                assert set(entry.fails) <= failed, f"{key} must fail {set(entry.fails) - failed}: {entry.must_not}"
            else:     # otherwise correct: it keeps exactly the points its twin earns
                assert (score, failed) == (twin_score, twin_failed), f"{key} lost {sorted(failed - twin_failed)}"
            assert not set(entry.passes) & failed, f"{key} must still pass {sorted(set(entry.passes) & failed)}"
            if twin_score > 0:
                assert (score == 0) == bool(entry.loses_all), \
                    f"{key} scored {score} of its twin's {twin_score}: loses_all must say so, and why, exactly when it scores 0"
        assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]), abs=0.01)
        assert not any(marker_dir.iterdir()), f"{key}: something was unpickled in the grader"
        assert not leftover_sleepers(sleepers_before), f"{key}: a process outlived grading"
        assert kit_fingerprint() == fingerprint_before, f"{key} changed the kit's files"
        assert watched_modes([marker_dir, case]) == modes_before, f"{key} changed a folder outside its work dir"
        assert gradescope_results.exists() == gradescope_before, f"{key} wrote {gradescope_results}"
        if not_stopped is None:
            assert leftovers() == [], f"{key} left files behind"
        if LEVELS[level].blocks_network:
            assert listener.received == [], f"{key} reached 127.0.0.1 from the {level} sandbox"
        elif key in NETWORK_ATTACKS:    # what this level cannot stop, named: the attack gets through
            assert "network" in LEVELS[level].does_not_stop, f"{level} neither blocks the network nor says so"
            assert listener.received, f"{key} did not reach the listener at {level}, which leaves the network open"
        feedback = (case / "out" / "feedback.md").read_text()
        assert len(feedback) < 200_000, "printed output must be capped"
        assert not any(ord(c) < 32 and c not in "\n\t" for c in feedback), f"{key} put a control character in feedback.md"
        if not_stopped is None:
            assert entry.feedback_says in feedback, f"{key}: feedback.md does not say {entry.feedback_says!r}"
        if in_this_process:     # the grader's own peak memory (the unprivileged grader runs in a subprocess)
            grown = peak_rss_bytes() - rss_before
            assert grown < HELD_BYTES_CAP + 64 * 2**20, f"{key} grew the grader's peak memory by {grown >> 20} MB"
    finally:
        if level == "process":
            remove_known_leftovers()


def test_grading_after_hostile_submissions_is_unaffected(tmp_path):
    """Runs after the hostile ones (file order): the reference still earns full marks."""
    for level in LEVELS_UNDER_TEST:
        if level == "process" and ROOT:
            continue
        report = grade_submission(REPO / "reference" / "conv2d.py", tmp_path / level, GradingOptions(isolation=level))
        assert report.status == "graded" and report.score == report.max_score, level


def test_isolation_level_used_is_recorded(tmp_path):
    report = grade_submission(REPO / "reference" / "conv2d.py", tmp_path / "out", GradingOptions())
    assert report.extra["isolation"] == detect_isolation()


def test_unprivileged_process_level_really_runs_as_that_user(public_folder, request):
    """The 'process' runs above are not root in disguise: the worker's uid is 65534."""
    if not ROOT:
        pytest.skip("not root: the suite itself already runs unprivileged")
    kit_and_site = request.getfixturevalue("unprivileged_kit")
    case = Path(tempfile.mkdtemp(prefix="case-", dir=public_folder))
    case.chmod(0o755)
    probe = correct_solution("lecture_loops") + (
        "\nimport os as _os\nif _os.getuid() != 65534 or _os.geteuid() != 65534:\n"
        "    raise RuntimeError('running as uid %d' % _os.getuid())\n")
    submission = case / "conv2d.py"
    submission.write_text(probe)
    submission.chmod(0o644)
    results = grade("process", submission, case / "out", kit_and_site)
    assert results["extra_data"]["isolation"] == "process"
    assert results["score"] == CONFIG.max_score, results["output"][:2000]


def test_process_level_is_refused_as_root(tmp_path):
    if not ROOT:
        pytest.skip("the refusal concerns root")
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(REPO / "reference" / "conv2d.py"),
                           "--out", str(tmp_path / "out"), "--isolation", "process"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "refusing to run student code as root" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "out" / "results.json").exists(), "nothing was graded"
