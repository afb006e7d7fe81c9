"""The minimal root the 'chroot' level runs the worker in, built once per machine.

It holds only what the worker needs: the worker's interpreter (every link of its path
kept as a link), the folders on its ``sys.path`` (stdlib, lib-dynload, the venv's
site-packages with numpy and numpy.libs; pip, tests and GUI modules left out), every
shared library that ``ldd`` lists for the interpreter and for each extension module
(the loader and libc included; ldd runs only on these trusted files), and an empty
root-owned ``/work`` (mode 711) where each sandbox gets its work dir.  There is no
/proc, /dev, /tmp, /etc/passwd or anything of the kit.  Paths inside are the same as
outside, so the interpreter finds its prefix as it does outside.

Its folder is ``/opt/convkit/jail-<h>`` (``<h>`` hashes the interpreter and the
numpy pin, like the worker venv); a marker written last says it is complete.  It is
built in a temporary folder, checked by importing numpy inside it as an unprivileged
uid, then renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from autograder.sandbox.python_env import VENV_PARENT, build_once, numpy_pin

KIT_ROOT = Path(__file__).resolve().parents[2]
MARKER = ".convkit-jail-ready"
WORK = "work"                          # the jail's folder of work dirs (inside: /work)
CHECK_UID = 65534                      # the uid the finished jail is tried as
SKIPPED = {"test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
           "pydoc_data", "pip", "setuptools", "_distutils_hack", "pkg_resources", "wheel",
           "__phello__", "distutils-precedence.pth"}
PROBE = ("import json, os, sys, numpy; print(json.dumps({'executable': sys.executable, "
         "'prefix': sys.prefix, 'path': [p for p in sys.path if os.path.isdir(p)]}))")
LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


def _key(python: str) -> str:
    return f"{os.path.realpath(python)}|{python}|{numpy_pin()}|jail-v3"


def jail_dir(python: str) -> Path:
    return VENV_PARENT / f"jail-{hashlib.sha256(_key(python).encode()).hexdigest()[:10]}"


def jail_ready(python: str) -> bool:
    try:
        marker = jail_dir(python) / MARKER
        return json.loads(marker.read_text()).get("key") == _key(python)
    except (OSError, ValueError):
        return False


def ensure_jail(python: str, quiet: bool = False) -> Path:
    """Build the jail for ``python`` unless it is complete; return its folder (root only)."""
    jail = jail_dir(python)

    def build():
        if not quiet:
            print(f"building the sandbox's chroot in {jail} ...", file=sys.stderr)
        _build(python, jail)
    return build_once(jail, lambda: jail_ready(python), build)


def _build(python: str, jail: Path) -> None:
    done = subprocess.run([python, "-I", "-c", PROBE], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{python} cannot import numpy: {done.stderr[-1000:]}")
    info = json.loads(done.stdout)
    staging = jail.with_name(f"{jail.name}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o755)
    try:
        for path in [python, info["executable"], *_outside_the_kit(info["path"])]:
            _mirror(path, staging)
        venv_cfg = Path(info["prefix"]) / "pyvenv.cfg"
        if venv_cfg.is_file():
            _mirror(str(venv_cfg), staging)
        for library in _shared_libraries(staging):
            _mirror(library, staging)
        if os.path.isfile("/etc/ld.so.cache"):
            _mirror("/etc/ld.so.cache", staging)
        (staging / WORK).mkdir()
        _close_for_writing(staging)
        (staging / WORK).chmod(0o711)          # a sandbox enters its own work dir, lists none
        _try_inside(staging, python)
        shutil.rmtree(jail, ignore_errors=True)   # an older, incomplete one
        staging.rename(jail)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (jail / MARKER).write_text(json.dumps({"key": _key(python)}))
    (jail / MARKER).chmod(0o644)


def _outside_the_kit(paths: list[str]) -> list[str]:
    """sys.path folders that neither hold nor lie inside the kit (a .pth file can put the
    kit itself on sys.path, e.g. the otter plugin's)."""
    kept = []
    for path in paths:
        real = Path(os.path.realpath(path))
        if real == KIT_ROOT or KIT_ROOT in real.parents or real in KIT_ROOT.parents:
            print(f"the sandbox's chroot leaves out {path}: it holds the kit", file=sys.stderr)
            continue
        kept.append(path)
    return kept


def _mirror(path: str, jail: Path) -> None:
    """Make ``path`` exist in ``jail`` as on the host: each symlink on the way is
    recreated as the same symlink and followed; the file or folder at the end is copied."""
    parts = Path(os.path.abspath(path)).parts
    current = Path("/")
    for i, part in enumerate(parts[1:], start=1):
        current = current / part
        inside = jail / current.relative_to("/")
        if current.is_symlink():
            target = os.readlink(current)
            if not inside.is_symlink():
                inside.parent.mkdir(parents=True, exist_ok=True)
                inside.symlink_to(target)
            resolved = os.path.normpath(os.path.join(current.parent, target))
            return _mirror(os.path.join(resolved, *parts[i + 1:]), jail)
    inside = jail / current.relative_to("/")
    inside.parent.mkdir(parents=True, exist_ok=True)
    if current.is_dir():
        shutil.copytree(current, inside, symlinks=True, dirs_exist_ok=True,
                        ignore=lambda folder, names: [n for n in names if n in SKIPPED])
    elif current.exists():
        shutil.copy2(current, inside)


def _shared_libraries(staging: Path) -> set[str]:
    """Host paths of the libraries that ldd lists for the ELF files copied so far."""
    elves = []
    for folder, _, names in os.walk(staging):
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            if name.endswith(".so") or ".so." in name or os.access(path, os.X_OK):
                with open(path, "rb") as f:
                    if f.read(4) == b"\x7fELF":
                        elves.append("/" + str(path.relative_to(staging)))
    found = set()
    for elf in elves:
        done = subprocess.run(["ldd", elf], capture_output=True, text=True)
        found.update(m.group(1) for m in LDD_PATH.finditer(done.stdout))
    return found


def _close_for_writing(root: Path) -> None:
    """Root-owned, and writable by no one else (copies may carry group-writable modes)."""
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files, None]:
            path = Path(folder) if name is None else Path(folder) / name
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            os.chown(path, 0, 0)
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o022 | 0o444
                     | (0o111 if stat.S_ISDIR(st.st_mode) else 0))


def _try_inside(root: Path, python: str) -> None:
    """Import numpy in the new jail as an unprivileged uid, as a sandbox will."""
    def enter():
        os.chroot(root)
        os.chdir("/")
        os.setgroups([])
        os.setgid(CHECK_UID)
        os.setuid(CHECK_UID)
    done = subprocess.run([python, "-I", "-B", "-c", "import numpy, ctypes; numpy.ones(3) @ numpy.ones(3)"],
                          preexec_fn=enter, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin", "PYTHONHASHSEED": "0",
                               "OPENBLAS_NUM_THREADS": "1"})
    if done.returncode != 0:
        raise RuntimeError(f"the chroot in {root} cannot run numpy:\n{done.stderr[-2000:]}")
