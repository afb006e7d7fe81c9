"""What each isolation level promises, checked from inside and outside the worker.

* Clean-up as root never follows a student's link, checks types, and removes only what a
  sandbox uid owns in world-writable folders.
* The chroot level: no writable place (disk budget 0), no /proc, nothing of the kit,
  seccomp refusing socket() of every family and the listed syscalls, a uid of its own
  without supplementary groups.
* The uid level refuses a kit other users can read; the process level refuses root.
* Without user namespaces (a Docker-like seccomp filter that makes bubblewrap fail for
  real) detection picks chroot.
"""

import os
import platform
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import LEVELS, Limits, LevelUnusable, Sandbox, workdirs
from autograder.sandbox.jail import _outside_the_kit, jail_dir
from autograder.sandbox.python_env import worker_python
from helpers import hang_guard

REPO = Path(__file__).resolve().parents[2]
ROOT = os.geteuid() == 0
WITHOUT_USERNS = [sys.executable, str(REPO / "tests" / "without_userns.py")]
needs_root = pytest.mark.skipif(not ROOT, reason="this level (or this clean-up) is root's")
FAST = Limits(call_cpu_s=5, import_cpu_s=10)

PROBES = '''
import ctypes, errno, os, socket
import numpy as np

def col2im(X_col, C, H, W, kH, kW, stride=1):
    return np.zeros((C, H, W))

_libc = ctypes.CDLL(None, use_errno=True)

def _refused(result):
    return result == -1 and ctypes.get_errno() in (errno.EPERM, errno.EACCES, errno.ENOSYS)

def writable_places():
    """How many of these places accept a new file."""
    count = 0
    for folder in (".", os.getcwd(), "/", "/tmp", "/work", os.path.expanduser("~"), "/opt", "/usr"):
        try:
            with open(os.path.join(folder, "probe-file"), "w") as f:
                f.write("x")
            count += 1
        except OSError:
            pass
    return np.array(count)

def sees(path):
    return np.array(os.path.exists(path))

def identity():
    return np.array([os.getuid(), os.geteuid(), os.getgid(), len(os.getgroups())])

def sockets():
    """1 per family that could be opened: AF_UNIX, then INET, INET6, NETLINK, PACKET."""
    opened = []
    for family, kind in ((socket.AF_UNIX, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_STREAM),
                         (socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_NETLINK, socket.SOCK_RAW),
                         (socket.AF_PACKET, socket.SOCK_RAW)):
        try:
            socket.socket(family, kind).close()
            opened.append(1)
        except OSError:
            opened.append(0)
    return np.array(opened)

# x86_64 numbers: ptrace 101, personality 135, mount 165, add_key 248, keyctl 250,
# unshare 272, setns 308, bpf 321, io_uring_setup 425, perf_event_open 298.
SYSCALLS = {"ptrace": (101, 0, 0, 0, 0), "personality": (135, 0xffffffff), "mount": (165, 0, 0, 0, 0, 0),
            "add_key": (248, 0, 0, 0, 0, 0), "keyctl": (250, 0, 0, 0, 0, 0),
            "unshare": (272, 0x10000000), "setns": (308, 0, 0), "bpf": (321, 0, 0, 0),
            "io_uring_setup": (425, 1, 0), "perf_event_open": (298, 0, 0, -1, -1, 0)}

def refused_syscalls():
    return np.array([_refused(_libc.syscall(*args)) for args in SYSCALLS.values()])
'''


def probe_sandbox(tmp_path, level):
    student = tmp_path / "conv2d.py"
    student.write_text(PROBES)
    return Sandbox(student, FAST, isolation=level)


# ------------------------------------------------------------------ clean-up never follows links

@needs_root
def test_removal_unlinks_links_and_never_touches_their_targets(tmp_path):
    target = tmp_path / "precious"
    target.mkdir(mode=0o755)
    (target / "keep.txt").write_text("keep")
    base = tmp_path / "base"
    base.mkdir(mode=0o711)
    work = base / "convkit-w1-x"
    (work / "a").mkdir(parents=True)
    (work / "a" / "link").symlink_to(target)
    (work / "locked").mkdir(mode=0)
    (work / "locked" / "f").write_text("x")
    deep = work
    for _ in range(workdirs.MAX_DEPTH * 2 + 5):     # deeper than the removal descends at once
        deep = deep / "d"
        deep.mkdir()
    os.chown(work, 61999, 61999)
    workdirs.remove_workdir(work)
    assert not work.exists() and os.listdir(base) == []
    assert (target / "keep.txt").read_text() == "keep"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755 and stat.S_IMODE(base.stat().st_mode) == 0o711


@needs_root
def test_a_work_dir_replaced_by_a_link_is_unlinked_not_followed(tmp_path):
    target = tmp_path / "precious"
    target.mkdir(mode=0o755)
    (target / "keep.txt").write_text("keep")
    base = tmp_path / "base"
    base.mkdir(mode=0o711)
    work = base / "convkit-w1-x"
    work.symlink_to(target)
    planted = base / "convkit-w999999999-planted"
    planted.symlink_to(target)
    workdirs.remove_workdir(work)
    workdirs.remove_stale_workdirs(base)
    assert os.listdir(base) == [] and (target / "keep.txt").read_text() == "keep"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


@needs_root
def test_only_the_sandbox_uids_files_go_from_world_writable_places(tmp_path):
    place = tmp_path / "tmp"
    place.mkdir()
    place.chmod(0o1777)
    shared = place / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    mine, other = 61998, 61997
    for path in (place / "f", place / "d", shared / "g"):
        (path.mkdir if path.name == "d" else path.write_text)(*(() if path.name == "d" else ("x",)))
        os.chown(path, mine, mine)
    (place / "d" / "inner").write_text("x")
    (place / "theirs").write_text("x")
    os.chown(place / "theirs", other, other)
    (place / "link").symlink_to(tmp_path)
    os.chown(place / "link", mine, mine, follow_symlinks=False)
    removed = workdirs.remove_files_of_uid(mine, places=[str(place)])
    assert sorted(os.listdir(place)) == ["shared", "theirs"] and os.listdir(shared) == []
    assert len(removed) == 4 and tmp_path.is_dir()


def test_a_work_dir_base_others_can_write_is_refused(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    base.chmod(0o777)
    with pytest.raises(workdirs.UnsafePath, match="no one else can write"):
        workdirs.check_owned_folder(base)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(workdirs.UnsafePath):
        workdirs.check_owned_folder(link)


# ------------------------------------------------------------------ the chroot level from inside

@needs_root
def test_chroot_level_has_no_writable_place_no_proc_and_nothing_of_the_kit(tmp_path):
    with probe_sandbox(tmp_path, "chroot") as sb:
        assert sb.import_error is None, sb.import_error
        assert sb.call("writable_places") == 0, "the disk budget of the chroot level is 0 bytes"
        for path in ("/proc", "/dev", "/etc/passwd", "/tmp", str(REPO), "/root", "/autograder"):
            assert sb.call("sees", path) == 0, path
        uid, euid, gid, groups = sb.call("identity").tolist()
        assert uid == euid == gid and 61000 <= uid < 62000 and groups == 0
    jail = jail_dir(worker_python(drop_privileges=True))
    names = {p.name for p in jail.rglob("*")}
    assert not names & {"reference", "submissions", "fixtures", "autograder", "proc", ".git"}
    assert stat.S_IMODE((jail / "work").stat().st_mode) == 0o711, "work dirs must not be listable"
    for path in [jail, *jail.rglob("*")]:
        st = os.lstat(path)
        assert st.st_uid == 0 and (stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o022), path


@needs_root
@pytest.mark.skipif(platform.machine() != "x86_64", reason="syscall numbers are x86_64's")
def test_chroot_level_seccomp_refuses_sockets_and_dangerous_syscalls(tmp_path):
    with probe_sandbox(tmp_path, "chroot") as sb:
        assert sb.call("sockets").tolist() == [0, 0, 0, 0, 0], "no socket of any family may open"
        assert sb.call("refused_syscalls").all()


@pytest.mark.skipif(platform.machine() != "x86_64", reason="syscall numbers are x86_64's")
def test_the_probes_can_fail_without_the_filter():
    """Unfiltered (in a throwaway process, as an unprivileged uid when root: the probes
    really make these syscalls), AF_INET opens and not every syscall is refused."""
    code = PROBES + "\nprint(sockets().tolist()[:2], bool(refused_syscalls().all()))\n"
    python = worker_python(drop_privileges=ROOT)
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if ROOT else []
    done = subprocess.run(drop + [python, "-I", "-c", code], capture_output=True, text=True,
                          timeout=hang_guard(5), cwd="/")              # a Python start and numpy's import
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[1,", "1]", "False"]


@needs_root
def test_uid_level_refuses_a_kit_other_users_can_read(tmp_path):
    mode = REPO.stat().st_mode
    REPO.chmod(mode | 0o005)
    try:
        with pytest.raises(LevelUnusable, match=f"chmod o-rwx {REPO}"):
            probe_sandbox(tmp_path, "uid")
    finally:
        REPO.chmod(mode)


@needs_root
def test_uid_level_work_dir_cannot_be_renamed_or_written(tmp_path):
    mode = REPO.stat().st_mode
    REPO.chmod(mode & ~0o007)
    student = tmp_path / "conv2d.py"
    student.write_text(PROBES + '''
def move_home():
    try:
        os.rename(os.getcwd(), os.getcwd() + "-moved")
        return np.array(1)
    except OSError:
        return np.array(0)
''')
    try:
        with Sandbox(student, FAST, isolation="uid") as sb:
            assert sb.call("move_home") == 0
            workdir = sb._worker.workdir
            st = os.lstat(workdir)
            assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o750
        assert not workdir.exists()
    finally:
        REPO.chmod(mode)


def test_process_level_refuses_root_and_says_why():
    reason = LEVELS["process"].unusable_reason()
    if ROOT:
        assert "refusing to run student code as root" in reason
    else:
        assert reason is None


# ------------------------------------------------------------------ the Gradescope condition

@needs_root
def test_without_user_namespaces_bubblewrap_fails_and_detection_picks_chroot():
    probe = ("from autograder.sandbox import LEVELS, detect_isolation; "
             "print(detect_isolation(), LEVELS['bwrap'].unusable_reason() is not None)")
    done = subprocess.run(WITHOUT_USERNS + [sys.executable, "-c", probe], cwd=REPO,
                          capture_output=True, text=True, timeout=hang_guard(10))      # ~1 s idle
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["chroot", "True"]
    plain = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                           timeout=hang_guard(10))
    if LEVELS["bwrap"].unusable_reason() is None:      # the wrapper is what took bubblewrap away
        assert plain.stdout.split() == ["bwrap", "False"]


@needs_root
def test_chroot_level_grades_a_file_like_bwrap(tmp_path):
    student = tmp_path / "conv2d.py"
    student.write_text(PROBES)
    with Sandbox(student, FAST, isolation="chroot") as sb:
        assert sb.call("col2im", np.ones((4, 1)), 1, 2, 2, 2, 2).shape == (1, 2, 2)


def test_readme_table_lists_the_registry_levels_in_order():
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("### Isolation levels"):].split("\n\n")[2]
    rows = [line.split("|")[1].strip().strip("`") for line in table.splitlines()[2:]]
    assert rows == list(LEVELS)


def test_the_jail_never_copies_a_sys_path_folder_that_holds_the_kit():
    assert _outside_the_kit([str(REPO), str(REPO / "autograder"), str(REPO.parent), "/usr/lib/python3.11"]) \
        == ["/usr/lib/python3.11"]
