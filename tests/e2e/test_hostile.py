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

Only this run's own state is looked at, so that other graders and other checkouts' tests may
run on the same machine at the same time: the files, links and sleeping processes an attack
leaves carry this run's tag (own_names); the sandbox uids whose files count are those this
run's graders took (the kit appends each to the file CONVKIT_UID_SLOT_LOG names); the work
dirs are this process's (named with its pid) or in the unprivileged grader's own TMPDIR; the
kit's fingerprint is taken around each case. Time bounds are guards against a hang that hold
on a loaded machine, never speed checks.
"""

import hashlib
import json
import os
import re
import resource
import secrets
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
from autograder.grading import GradingOptions, grade_submission
from autograder.sandbox import LEVELS, WORKDIR_PREFIX, detect_isolation, python_env
from autograder.sandbox.jail import jail_dir
from autograder.sandbox.uids import SLOT_LOG_ENV
from autograder.sandbox.workdirs import WORLD_WRITABLE_PLACES, private_base
from autograder.adapter import HELD_BYTES_CAP
from helpers import (CONV_LAB, HOSTILE, OUT_OF_BUDGET, REPO, ROOT, TEMPLATE, assert_gradescope_schema,
                     levels_under_test)

CONFIG = CONV_LAB.config
CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
UNPRIVILEGED = 65534
# A guard against a hang, not a speed check (speed is `make bench`'s): grading stops at its outer
# wall-clock bound (total_wall_s) at the latest; the margin is for the grader's start and write-up
# on a loaded machine (2 cores, 4 CPU hogs beside it: a process gets about a third of a core).
# That grading stays well inside its budget (an infinite loop costs two call limits, not the
# budget) is checked without a clock (OUT_OF_BUDGET).
HANG_GUARD_S = CONFIG.limits.total_wall_s + 300
KIT_STATE_DIR = Path("/opt/convkit")
SCRATCH_PARENT = "/var/tmp"            # world-traversable, and not the grader's own temp dir
# This run's names for what the attacks leave behind: another run's are never counted or removed.
RUN_TAG = f"{os.getpid()}-{secrets.token_hex(4)}"
SCRATCH_PREFIX = f"convkit-leftover-{RUN_TAG}"
PLANTED = f"convkit-w999999999-planted-{RUN_TAG}"      # still named like a dead grader's work dir
SLEEP_S = f"1234.5{secrets.randbelow(10**6):06d}"       # fixed width: no run's is a prefix of another's
OWN_NAMES = {"convkit-leftover": SCRATCH_PREFIX, "convkit-w999999999-planted": PLANTED, "1234.5": SLEEP_S}


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


def own_names(source):
    """An entry's source with this run's names (OWN_NAMES) for the files, links and sleepers it leaves."""
    for shared, own in OWN_NAMES.items():
        source = source.replace(shared, own)
    return source


def own_workdir_bases(level):
    """The folders this process's sandboxes at ``level`` make their work dirs in (named with its pid)."""
    if level == "chroot":
        return [jail_dir(python_env.worker_python(drop_privileges=True)) / "work"]
    return [private_base()]


def own_workdirs(level, grader_tmp):
    """Work dirs this case's grading left: this process's, or any in the unprivileged grader's own TMPDIR."""
    if level == "process" and ROOT:
        return sorted(str(p) for p in grader_tmp.glob(f"convkit-*/{WORKDIR_PREFIX}*"))
    mine = f"{WORKDIR_PREFIX}{os.getpid()}-"
    return sorted(str(p) for base in own_workdir_bases(level) if base.is_dir()
                  for p in base.iterdir() if p.name.startswith(mine))


def watched_paths(level, extra=()):
    """The folders an attack could try to turn the grader against (of the jails, this run's)."""
    paths = [Path(p) for p in WORLD_WRITABLE_PLACES] + [KIT_STATE_DIR, KIT_STATE_DIR / "work", REPO,
                                                      REPO / "build", *extra]
    if level == "chroot":
        paths += own_workdir_bases(level)
    return paths


def watched_modes(paths):
    """Mode and owner of ``paths`` (watched_paths)."""
    state = {}
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        state[str(path)] = (stat.filemode(st.st_mode), st.st_uid, st.st_gid)
    return state


def leftovers(uids=()):
    """What this run's sandboxes left in world-writable folders: the attacks' files and planted
    links (this run's names), anything owned by ``uids`` (slot uids this run's graders took)."""
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
            if name.startswith((SCRATCH_PREFIX, PLANTED)) or owner in uids:
                found.append(os.path.join(place, name))
    return found


def remove_known_leftovers():
    """After a 'process' run: its documented leftovers (this run's names only), so the next case starts clean."""
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
    """This run's outlive_grading sleepers: `sleep SLEEP_S`, or Python's sleep(SLEEP_S)."""
    out = subprocess.run(["pgrep", "-f", f"sleep.{re.escape(SLEEP_S)}"], capture_output=True, text=True,
                         timeout=120).stdout          # a guard against a hang: pgrep takes milliseconds
    return set(out.split())


def leftover_sleepers(before, grace_s=60.0):
    """This run's sleepers that appeared during this case and are still alive ``grace_s`` later
    (the wait ends as soon as they are gone: generous for a loaded machine, as they would live
    over 1234 s). Another run's sleepers sleep another SLEEP_S and are never seen here."""
    deadline = time.monotonic() + grace_s
    while (new := sleepers() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    return sorted(new)


@pytest.fixture(scope="module", autouse=True)
def slot_log(tmp_path_factory):
    """The file the kit appends each sandbox uid slot taken to, for this run's graders (subprocesses
    included, as they inherit the variable): the uids whose files this run counts."""
    log = tmp_path_factory.mktemp("uid-slots") / "taken"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SLOT_LOG_ENV, str(log))
        yield log


def slots_taken(log, since):
    """The uids appended to ``log`` after its first ``since`` bytes."""
    try:
        with open(log, "rb") as f:
            f.seek(since)
            return {int(line) for line in f.read().split()}
    except FileNotFoundError:
        return set()


def log_size(log):
    try:
        return log.stat().st_size
    except FileNotFoundError:
        return 0


@pytest.fixture(scope="module")
def public_folder():
    """A world-traversable scratch folder (pytest's tmp_path is 0700): another student's file,
    and what the unprivileged grader reads and writes."""
    folder = Path(tempfile.mkdtemp(prefix="convkit-hostile-", dir=SCRATCH_PARENT))
    folder.chmod(0o755)
    other = folder / "other_student" / "conv2d.py"
    other.parent.mkdir(mode=0o755)
    other.write_text(correct_solution("lecture_loops", lab=CONV_LAB))
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
    """`python -m autograder grade --isolation process` as uid 65534; returns its exit code.
    Its TMPDIR (where its work dirs go) is its own, beside out_dir: no other run shares it."""
    kit, site = kit_and_site
    out_dir.mkdir()
    os.chown(out_dir, UNPRIVILEGED, UNPRIVILEGED)
    grader_tmp = grader_tmp_of(out_dir)
    grader_tmp.mkdir(mode=0o700)
    os.chown(grader_tmp, UNPRIVILEGED, UNPRIVILEGED)
    python = python_env.worker_python(drop_privileges=True)     # numpy, reachable by any uid
    env = {"PATH": "/usr/bin:/bin", "HOME": str(out_dir), "PYTHONPATH": f"{kit}:{site}", "TMPDIR": str(grader_tmp),
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "OPENBLAS_NUM_THREADS": "1", "LANG": "C.UTF-8"}
    cmd = ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups",
           python, "-m", "autograder", "grade", str(submission), "--out", str(out_dir),
           "--isolation", "process", "--quiet"]
    return subprocess.run(cmd, cwd=kit, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)


def grader_tmp_of(out_dir):
    return out_dir.with_name(out_dir.name + "-tmp")


def grade(level, submission, out_dir, kit_and_site):
    """Grade at ``level``; results.json as a dict."""
    if level == "process" and ROOT:
        done = grade_as_unprivileged_user(kit_and_site, submission, out_dir)
        assert done.returncode in (0, 2), done.stderr[-3000:]
    else:
        grade_submission(CONV_LAB, submission, out_dir, GradingOptions(isolation=level))
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
def test_hostile_submission_gains_nothing_and_changes_nothing(key, level, public_folder, twin_grades,
                                                              slot_log, request):
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
    source = (own_names(entry.source).replace("{KIT_ROOT}", str(REPO)).replace("{MARKER_DIR}", str(marker_dir))
              .replace("{PORT}", str(listener.port))
              .replace("{OTHER_STUDENT}", str(public_folder / "other_student" / "conv2d.py")))
    submission = write_zip(type(entry)(entry.key, entry.story, source=source), case / "sub.zip", lab=CONV_LAB)
    submission.chmod(0o644)
    gradescope_results = Path("/autograder/results/results.json")
    gradescope_before = gradescope_results.exists()
    watched = watched_paths(level, [marker_dir, case])
    modes_before = watched_modes(watched)
    not_stopped = NOT_STOPPED_AT_PROCESS.get(key) if level == "process" else None
    sleepers_before = sleepers()
    in_this_process = not (level == "process" and ROOT)
    rss_before = peak_rss_bytes()
    fingerprint_before = kit_fingerprint()     # around the case: an edit to the checkout meanwhile is not the attack's
    slots_since = log_size(slot_log)

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
        assert elapsed < HANG_GUARD_S, f"{key} took {elapsed:.1f} s: grading did not stop at its budget"
        assert not [words for words in OUT_OF_BUDGET if words in json.dumps(results)], \
            f"{key} used up grading's whole time budget"
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
        modes_after = watched_modes(watched)     # of the folders there before (another run may make one)
        assert {path: modes_after.get(path) for path in modes_before} == modes_before, \
            f"{key} changed a folder outside its work dir"
        assert gradescope_results.exists() == gradescope_before, f"{key} wrote {gradescope_results}"
        uids = slots_taken(slot_log, slots_since)
        if level == "chroot":
            assert uids, "the chroot level took no uid slot this run knows of: its leftovers would go unseen"
        if not_stopped is None:
            assert leftovers(uids) == [], f"{key} left files behind"
            assert own_workdirs(level, grader_tmp_of(case / "out")) == [], f"{key}: a work dir outlived grading"
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
        report = grade_submission(CONV_LAB, REPO / "reference" / "conv2d.py", tmp_path / level, GradingOptions(isolation=level))
        assert report.status == "graded" and report.score == report.max_score, level


def test_isolation_level_used_is_recorded(tmp_path):
    report = grade_submission(CONV_LAB, REPO / "reference" / "conv2d.py", tmp_path / "out", GradingOptions())
    assert report.extra["isolation"] == detect_isolation()


def test_unprivileged_process_level_really_runs_as_that_user(public_folder, request):
    """The 'process' runs above are not root in disguise: the worker's uid is 65534."""
    if not ROOT:
        pytest.skip("not root: the suite itself already runs unprivileged")
    kit_and_site = request.getfixturevalue("unprivileged_kit")
    case = Path(tempfile.mkdtemp(prefix="case-", dir=public_folder))
    case.chmod(0o755)
    probe = correct_solution("lecture_loops", lab=CONV_LAB) + (
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
                          cwd=REPO, capture_output=True, text=True, timeout=HANG_GUARD_S)   # refused at once
    assert done.returncode != 0
    assert "refusing to run student code as root" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "out" / "results.json").exists(), "nothing was graded"
