"""Work dirs, and removing what student code left, without ever following its links.

Root acts on folders a student's uid could have written to.  Every such operation
here is relative to an open directory fd, opens with O_NOFOLLOW, checks type and
owner with lstat, and never chmods or chowns anything but an entry it just made.
Work dirs sit in a root-owned folder that no one else may write to, so a student
cannot rename its work dir or plant a link in its place; the folder's entries were
all made by the grader, so the stale-dir sweep can trust their names.

A grader that is killed leaves its work dirs; whoever ran it removes them with
``remove_work_dirs_of`` (by the grader's pid) and the TMPDIR it gave it with
``remove_temp_tree``: shutil.rmtree (fd-based, links never followed) that opens up, by
fchmod on a folder opened with O_NOFOLLOW, only folders inside the tree it removes.

Where fd-relative calls do not exist (Windows: ``os.mkdir`` takes no ``dir_fd``) only the
'process' level runs, as the user on their own machine: a work dir is a plain
``mkdtemp`` in a folder of the user's, removed by ``shutil.rmtree``, which does not
follow links either; stale dirs are told by age, as no pid can be probed safely there.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from autograder.sandbox.portable import effective_uid

WORKDIR_PREFIX = "convkit-w"           # + grader pid + random: convkit-w1234-abcd1234
ROOT_WORK_BASE = Path("/opt/convkit/work")
# Where remove_work_dirs_of looks for a killed grader's work dirs, besides the TMPDIR it was given
# (whoever gave that removes it whole): ROOT_WORK_BASE (private_base as root) and /tmp.
WORK_BASES_BESIDE_TMPDIR = (Path("/tmp"), ROOT_WORK_BASE)
MAX_DEPTH = 32                          # deeper folders are moved up before removal
DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) \
    | getattr(os, "O_CLOEXEC", 0)                      # the getattrs: Windows has none of these
STALE_AGE_S = 24 * 3600                 # without fd-relative calls: a work dir this old is stale
# Folders where any uid may create files: what a sandbox uid leaves there is removed.
WORLD_WRITABLE_PLACES = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


class UnsafePath(RuntimeError):
    """A folder the grader would have to trust is not safe to trust."""


def private_base(root: Path | None = None) -> Path:
    """The folder work dirs are made in: owned by us, writable by no one else.

    As root it is ``/opt/convkit/work`` (mode 711: a sandbox uid may enter its own
    work dir, but not list the others); otherwise a 700 folder of ours in the temp dir.
    """
    uid = effective_uid()
    if root is None:
        root = ROOT_WORK_BASE if uid == 0 else \
            Path(tempfile.gettempdir()) / f"convkit-{'user' if uid is None else uid}"
    mode = 0o711 if uid == 0 else 0o700
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        root.mkdir(mode=mode)
    except FileExistsError:
        pass
    check_owned_folder(root)
    return root


def check_owned_folder(path: Path) -> None:
    """Raise UnsafePath unless ``path`` is a real folder of ours that others cannot write
    (without uids, as on Windows, only that it is a real folder: the user's own temp dir)."""
    st = os.lstat(path)
    if effective_uid() is None:
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePath(f"{path} must be a folder; remove it and try again")
        return
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise UnsafePath(f"{path} must be a folder owned by uid {os.geteuid()} that no one "
                         f"else can write to (it is mode {stat.filemode(st.st_mode)}, "
                         f"uid {st.st_uid}); remove it and try again")


def make_workdir(base: Path, files: dict, group: int | None) -> Path:
    """A new folder in ``base`` holding ``files`` (name -> source path).

    With ``group`` (a sandbox gid): folder root:group 750 and files 640, so that uid may
    read them but neither write there nor rename them; other sandboxes cannot enter.
    """
    if not fd_relative():
        return _make_plain_workdir(base, files, group)
    name = f"{WORKDIR_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    base_fd = os.open(base, DIR_FLAGS)
    try:
        os.mkdir(name, 0o700, dir_fd=base_fd)
        dir_fd = os.open(name, DIR_FLAGS, dir_fd=base_fd)
        try:
            for file_name, source in files.items():
                _write_file(dir_fd, file_name, Path(source).read_bytes(), group)
            if group is not None:
                os.fchown(dir_fd, -1, group)
                os.fchmod(dir_fd, 0o750)
        finally:
            os.close(dir_fd)
    except BaseException:
        remove_entry(base_fd, name)
        raise
    finally:
        os.close(base_fd)
    return base / name


def fd_relative() -> bool:
    """Whether fd-relative calls exist here (not on Windows)."""
    return os.mkdir in os.supports_dir_fd


def _make_plain_workdir(base: Path, files: dict, group: int | None) -> Path:
    """make_workdir without fd-relative calls: the 'process' level only (no sandbox group)."""
    if group is not None:
        raise UnsafePath("a work dir for a sandbox uid needs fd-relative calls (POSIX)")
    path = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-", dir=base))
    try:
        for file_name, source in files.items():
            with open(path / file_name, "xb") as f:
                f.write(Path(source).read_bytes())
    except BaseException:
        _remove_plain(path)
        raise
    return path


def _remove_plain(path: Path) -> None:
    """rmtree that removes links without following them and read-only entries too."""
    def make_writable_and_retry(func, failed, _exc):
        try:
            os.chmod(failed, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
            func(failed)
        except FileNotFoundError:
            pass
    handler = "onexc" if sys.version_info >= (3, 12) else "onerror"     # same call, renamed in 3.12
    if os.path.lexists(path):
        shutil.rmtree(path, **{handler: make_writable_and_retry})


def _write_file(dir_fd: int, name: str, data: bytes, group: int | None) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600, dir_fd=dir_fd)
    try:
        os.write(fd, data)
        if group is not None:
            os.fchown(fd, -1, group)
            os.fchmod(fd, 0o640)
    finally:
        os.close(fd)


def remove_workdir(path: Path) -> None:
    """Remove a work dir made by ``make_workdir`` (its parent is trusted, the inside not)."""
    if not fd_relative():
        _remove_plain(path)
        return
    base_fd = os.open(path.parent, DIR_FLAGS)
    try:
        remove_entry(base_fd, path.name)
    finally:
        os.close(base_fd)


def remove_entry(parent_fd: int, name: str) -> None:
    """Remove ``name`` in the folder ``parent_fd`` and everything below it; links are
    removed, never followed.  Missing entries are fine."""
    pending = [name]
    while pending:
        _remove_tree(parent_fd, pending.pop(), parent_fd, pending, 0)


def _remove_tree(dir_fd: int, name: str, top_fd: int, pending: list, depth: int) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        _ignore_missing(os.unlink, name, dir_fd=dir_fd)
        return
    if depth >= MAX_DEPTH:                     # a deep chain: move it up, remove it later
        moved = f".convkit-rm-{secrets.token_hex(6)}"
        os.rename(name, moved, src_dir_fd=dir_fd, dst_dir_fd=top_fd)
        pending.append(moved)
        return
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    except PermissionError:                    # not root: the student's own 000 folder
        os.chmod(name, 0o700, dir_fd=dir_fd)   # (same uid as the student: nothing to gain)
        fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    try:
        got = os.fstat(fd)
        if (got.st_dev, got.st_ino) != (st.st_dev, st.st_ino):
            raise UnsafePath(f"{name} was replaced while it was being removed")
        for child in os.listdir(fd):
            _remove_tree(fd, child, top_fd, pending, depth + 1)
    finally:
        os.close(fd)
    _ignore_missing(os.rmdir, name, dir_fd=dir_fd)


def _ignore_missing(func, *args, **kwargs) -> None:
    try:
        func(*args, **kwargs)
    except FileNotFoundError:
        pass


def remove_stale_workdirs(base: Path) -> None:
    """Delete work dirs of graders that died before close().  Only the grader writes in
    ``base``, so a name's pid is the grader's; a live pid keeps its dirs."""
    if not fd_relative():
        _remove_old_plain_workdirs(base)
        return
    base_fd = os.open(base, DIR_FLAGS)
    try:
        for name in os.listdir(base_fd):
            pid = name[len(WORKDIR_PREFIX):].split("-")[0]
            if not name.startswith(WORKDIR_PREFIX) or not pid.isdigit() \
                    or int(pid) == os.getpid():
                continue
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                remove_entry(base_fd, name)
            except PermissionError:
                pass                           # alive, someone else's
    finally:
        os.close(base_fd)


def _remove_old_plain_workdirs(base: Path) -> None:
    """Without fd-relative calls (Windows) a pid cannot be probed safely (os.kill(pid, 0)
    terminates it there): work dirs older than STALE_AGE_S are taken for stale."""
    for entry in os.scandir(base):
        if entry.name.startswith(WORKDIR_PREFIX) \
                and not entry.name.startswith(f"{WORKDIR_PREFIX}{os.getpid()}-"):
            try:
                if time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_AGE_S:
                    _remove_plain(Path(entry.path))
            except OSError:
                pass


def remove_work_dirs_of(pids, bases=WORK_BASES_BESIDE_TMPDIR) -> None:
    """Delete the work dirs (``convkit-w<pid>-...``) of graders that were killed (``pids``:
    the processes that ran the sandboxes): those in the TMPDIR a grader was given go with
    that folder; the others stand in one of ``bases``.  A pid alive again is not ours."""
    for pid in pids:
        if Path(f"/proc/{pid}").exists():      # not ours any more: the pid was reused
            continue
        for base in bases:
            for folder in base.glob(f"{WORKDIR_PREFIX}{pid}-*"):
                remove_temp_tree(folder)


def remove_temp_tree(path) -> None:
    """rmtree that also gets through folders a student made unreadable: for a temporary
    folder that graders' sandboxes wrote in (their TMPDIR) and a dead grader's work dirs.

    It only ever changes modes inside `path`, and only of real folders (opened with
    O_NOFOLLOW: a link a student left is never followed): a retry never touches `path`'s
    parent (it would be /tmp), and something already gone (another process removing it)
    is fine. shutil.rmtree itself never follows links (fd-based on Linux).
    """
    root = Path(path)

    def open_up(folder):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)

    def retry(func, target, exc_info):
        if isinstance(exc_info[1], FileNotFoundError):
            return
        parent = Path(os.path.dirname(target))
        if Path(target) == root or not (parent == root or root in parent.parents):
            return
        try:
            open_up(parent)
            if func is not os.unlink:
                open_up(target)
            func(target)
        except OSError:
            pass
    shutil.rmtree(root, onerror=retry)


def remove_files_of_uid(uid: int, places=WORLD_WRITABLE_PLACES, depth: int = 3) -> list[str]:
    """Remove everything ``uid`` owns in world-writable folders; returns what was removed.

    A sandbox uid can create entries only in folders it may write to: its own (removed
    whole) and world-writable ones, which are searched ``depth`` levels down.
    """
    removed = []
    for place in places:
        try:
            fd = os.open(place, DIR_FLAGS)
        except OSError:                        # missing, or a link (e.g. /var/lock)
            continue
        try:
            _remove_owned(fd, place, uid, depth, removed)
        finally:
            os.close(fd)
    return removed


def _remove_owned(dir_fd: int, where: str, uid: int, depth: int, removed: list) -> None:
    for name in os.listdir(dir_fd):
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if st.st_uid == uid:
            remove_entry(dir_fd, name)
            removed.append(os.path.join(where, name))
        elif depth > 1 and stat.S_ISDIR(st.st_mode) and st.st_mode & 0o002:
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue
            try:
                _remove_owned(fd, os.path.join(where, name), uid, depth - 1, removed)
            finally:
                os.close(fd)
