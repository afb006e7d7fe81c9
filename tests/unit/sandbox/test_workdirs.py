"""autograder/sandbox/workdirs.py on folders in tmp_path, with no worker: a private base folder, work
dirs holding copies of the given files, removal that removes links and never follows them, stale
work dirs of dead graders, the files a uid left in world-writable places, and what a killed grader
left: its work dirs, and the temporary tree it was given, removed without a chmod outside it.
(tests/e2e/test_isolation.py does the same as root against a real sandbox uid's leftovers.)"""

import os
import stat
import subprocess

import pytest

from autograder.sandbox import workdirs
from autograder.sandbox.workdirs import UnsafePath

ROOT = os.geteuid() == 0
DEAD_PID = 2**22 + 4321                  # above Linux's largest pid: no such process


@pytest.fixture
def base(tmp_path):
    return workdirs.private_base(tmp_path / "base")


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "student.py"
    path.write_text("x = 1\n")
    return path


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_base_folder_is_ours_and_closed_to_others(base):
    assert base.is_dir() and os.lstat(base).st_uid == os.geteuid()
    assert mode(base) == (0o711 if ROOT else 0o700)
    assert workdirs.private_base(base) == base                 # again: the same folder, still checked


def test_an_open_or_linked_base_is_refused(tmp_path, base):
    os.chmod(base, 0o777)
    with pytest.raises(UnsafePath, match="no one else can write"):
        workdirs.check_owned_folder(base)
    os.chmod(base, 0o700)
    (tmp_path / "link").symlink_to(base)
    with pytest.raises(UnsafePath):
        workdirs.check_owned_folder(tmp_path / "link")
    (tmp_path / "file").write_text("")
    with pytest.raises(UnsafePath):
        workdirs.check_owned_folder(tmp_path / "file")


def test_a_work_dir_holds_private_copies_of_the_files(base, source):
    work = workdirs.make_workdir(base, {"lab.py": source, "worker.py": source}, None)
    assert work.parent == base and work.name.startswith(f"{workdirs.WORKDIR_PREFIX}{os.getpid()}-")
    assert sorted(p.name for p in work.iterdir()) == ["lab.py", "worker.py"]
    assert (work / "lab.py").read_text() == "x = 1\n" and mode(work) == 0o700 and mode(work / "lab.py") == 0o600
    source.write_text("changed")
    assert (work / "lab.py").read_text() == "x = 1\n"          # a copy, not a link
    assert workdirs.make_workdir(base, {}, None) != work       # a new name each time


@pytest.mark.skipif(not ROOT, reason="giving a folder to another group needs root")
def test_a_sandbox_group_may_read_but_not_write(base, source):
    work = workdirs.make_workdir(base, {"lab.py": source}, group=54321)
    assert os.stat(work).st_gid == 54321 and mode(work) == 0o750
    assert os.stat(work / "lab.py").st_gid == 54321 and mode(work / "lab.py") == 0o640


def test_a_file_that_cannot_be_read_leaves_no_work_dir(base, tmp_path):
    with pytest.raises(FileNotFoundError):
        workdirs.make_workdir(base, {"lab.py": tmp_path / "absent.py"}, None)
    assert list(base.iterdir()) == []


def test_removal_removes_links_and_never_follows_them(base, source, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    work = workdirs.make_workdir(base, {"lab.py": source}, None)
    (work / "to_dir").symlink_to(outside)
    (work / "to_file").symlink_to(outside / "keep.txt")
    (work / "sub" / "deeper").mkdir(parents=True)
    (work / "sub" / "deeper" / "f").write_text("f")
    (work / "sub" / "deeper" / "up").symlink_to(outside)
    os.chmod(work / "sub", 0o500)                   # a read-only folder of the student's
    workdirs.remove_workdir(work)
    assert not os.path.lexists(work)
    assert (outside / "keep.txt").read_text() == "keep" and source.exists()


def test_a_chain_deeper_than_removal_descends_at_once_is_removed(base, source):
    work = workdirs.make_workdir(base, {"lab.py": source}, None)
    folder = work
    for _ in range(workdirs.MAX_DEPTH + 10):
        folder = folder / "d"
        folder.mkdir()
    (folder / "bottom").write_text("")
    workdirs.remove_workdir(work)
    assert list(base.iterdir()) == []


def test_removing_what_is_already_gone_is_fine(base):
    workdirs.remove_workdir(base / f"{workdirs.WORKDIR_PREFIX}1-gone")


def test_stale_work_dirs_are_those_of_dead_graders(base, source):
    dead = base / f"{workdirs.WORKDIR_PREFIX}{DEAD_PID}-abcd1234"
    dead.mkdir()
    (dead / "left.txt").write_text("")
    live = base / f"{workdirs.WORKDIR_PREFIX}1-abcd1234"          # pid 1 is alive
    live.mkdir()
    own = workdirs.make_workdir(base, {"lab.py": source}, None)
    other = base / "not-a-work-dir"
    other.mkdir()
    odd = base / f"{workdirs.WORKDIR_PREFIX}x12-abcd"              # no pid in the name
    odd.mkdir()
    workdirs.remove_stale_workdirs(base)
    assert sorted(p.name for p in base.iterdir()) == sorted([live.name, own.name, other.name, odd.name])


def test_what_a_uid_left_in_world_writable_places_is_removed(tmp_path):
    place = tmp_path / "tmp"
    (place / "shared").mkdir(parents=True)
    os.chmod(place / "shared", 0o777)
    (place / "shared" / "mine.txt").write_text("")
    (place / "left").mkdir()
    (place / "left" / "inner").write_text("")
    uid = 43210 if ROOT else os.geteuid()
    if ROOT:
        for path in (place / "shared" / "mine.txt", place / "left", place / "left" / "inner"):
            os.lchown(path, uid, -1)
        (place / "staff.txt").write_text("")                     # root's: stays
    removed = workdirs.remove_files_of_uid(uid, places=[str(place), str(tmp_path / "absent")])
    assert not (place / "left").exists() and not (place / "shared" / "mine.txt").exists()
    if ROOT:              # the uid's entries, found two levels down in a world-writable folder; root's stay
        assert sorted(removed) == sorted([str(place / "left"), str(place / "shared" / "mine.txt")])
        assert (place / "staff.txt").exists() and (place / "shared").exists()
    else:                 # everything there is ours: removed at the top level, whole
        assert sorted(removed) == sorted([str(place / "left"), str(place / "shared")])


def test_removing_a_temp_tree_never_changes_modes_outside_it(tmp_path):
    """rmtree's error hook must not chmod the parent (/tmp) when the tree is already gone."""
    parent = tmp_path / "parent"
    (parent / "tree" / "locked").mkdir(parents=True)
    (parent / "tree" / "locked" / "f").write_text("x")
    os.chmod(parent, 0o755)
    os.chmod(parent / "tree" / "locked", 0)               # as a student might leave it
    workdirs.remove_temp_tree(parent / "gone")
    workdirs.remove_temp_tree(parent / "tree")
    assert not (parent / "tree").exists()
    assert parent.stat().st_mode & 0o777 == 0o755


def test_removing_a_temp_tree_never_follows_a_students_link(tmp_path):
    outside = tmp_path / "kit"
    outside.mkdir()
    (outside / "keep.py").write_text("x")
    os.chmod(outside, 0o755)
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "link").symlink_to(outside)
    (tree / "link").symlink_to(outside / "keep.py")
    workdirs.remove_temp_tree(tree)
    assert not tree.exists() and (outside / "keep.py").read_text() == "x"
    assert outside.stat().st_mode & 0o777 == 0o755


def test_work_folders_of_killed_grading_processes_are_swept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    for pid in (dead.pid, os.getpid()):
        (tmp_path / f"convkit-w{pid}-abcd1234" / "sub").mkdir(parents=True)
    workdirs.remove_work_dirs_of([dead.pid, os.getpid()], bases=(tmp_path,))
    assert [p.name for p in tmp_path.iterdir()] == [f"convkit-w{os.getpid()}-abcd1234"]   # a live pid is not ours
