"""A stand-in for Windows on Linux (there is no Windows machine to test on).

``NO_POSIX_SHIM`` is imported at start-up by every interpreter of a venv (a .pth line), the
grader's and the sandbox worker's alike, and takes away what a Windows Python lacks, or
makes it fail as it fails there.  It is a stand-in, not a Windows run: paths, the console,
DLL loading and the real ``taskkill`` are not exercised.  ``write_fake_taskkill`` puts a
``taskkill`` on PATH that kills a process tree by parent pid as Windows' does (/T /F /PID)
and logs each call, so the kill path taken on Windows is the one that runs here.
"""

import os
import stat
from pathlib import Path

REMOVED_OS_CALLS = ("fork", "killpg", "setsid", "getpgid", "geteuid", "getuid", "set_blocking",
                    "readv", "O_DIRECTORY", "O_NOFOLLOW")
NO_DIR_FD_CALLS = ("mkdir", "open", "stat", "lstat", "unlink", "remove", "rmdir", "chmod")

NO_POSIX_SHIM = f'''\
# Stand-in for Windows (tests/windows_standin.py): in the tools and the worker alike.
import os, sys, select
sys.modules["resource"] = None
sys.modules["fcntl"] = None
for _name in {REMOVED_OS_CALLS!r}:
    if hasattr(os, _name):
        delattr(os, _name)
for _name in ("poll", "epoll"):                  # before subprocess/selectors are imported
    if hasattr(select, _name):
        delattr(select, _name)


def _no_dir_fd(func):
    def call(*args, dir_fd=None, **kwargs):
        if dir_fd is not None:
            raise NotImplementedError(f"{{func.__name__}}: dir_fd unavailable on this platform")
        return func(*args, **kwargs)
    call.__name__ = func.__name__
    return call


for _name in {NO_DIR_FD_CALLS!r}:
    setattr(os, _name, _no_dir_fd(getattr(os, _name)))
os.supports_dir_fd = set()

import subprocess
_popen_init = subprocess.Popen.__init__


def _windows_popen_init(self, args, *rest, pass_fds=(), start_new_session=False, preexec_fn=None,
                        umask=-1, **kwargs):
    if pass_fds:
        raise ValueError("pass_fds is not supported on Windows")
    if start_new_session:
        raise ValueError("start_new_session is not supported on Windows")
    if preexec_fn is not None:
        raise ValueError("preexec_fn is not supported on Windows platforms")
    if umask != -1:
        raise ValueError("umask is not supported on Windows")
    _popen_init(self, args, *rest, **kwargs)


subprocess.Popen.__init__ = _windows_popen_init
'''

FAKE_TASKKILL = '''\
"""taskkill /T /F /PID n, as on Windows: the process and its descendants by parent pid."""
import os, signal, sys
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "taskkill.log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if not ("/T" in args and "/F" in args and "/PID" in args):
    sys.exit("this stand-in only does /T /F /PID")
root = int(args[args.index("/PID") + 1])


def parents():
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            found[int(name)] = int(data[data.rindex(b")") + 2:].split()[1])
    return found


killed = set()
for _ in range(5):                            # a tree may grow while it is being killed
    by_parent, tree = parents(), {root}
    if root not in by_parent:
        break
    grew = True
    while grew:
        grew = False
        for pid, parent in by_parent.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    for pid in tree - killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    killed |= tree
sys.exit(0 if killed else 128)                 # 128: "process not found", as taskkill says
'''


def write_fake_taskkill(folder: Path, python: str) -> Path:
    """``folder/taskkill`` run by ``python``; its calls are logged in ``folder/taskkill.log``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "taskkill"
    script.write_text(f"#!{python}\n" + FAKE_TASKKILL, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def taskkill_calls(folder: Path) -> list[str]:
    log = folder / "taskkill.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def install_shim(site_packages: Path) -> None:
    """A .pth "import" line, not sitecustomize.py: Debian's own sitecustomize would shadow that one."""
    (site_packages / "_no_posix.py").write_text(NO_POSIX_SHIM, encoding="utf-8")
    (site_packages / "_no_posix.pth").write_text("import _no_posix\n", encoding="utf-8")

