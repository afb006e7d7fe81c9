"""The Python that runs student code (the worker venv), built once per machine.

When the grader runs as root, student code runs as an unprivileged uid.  That uid often
cannot execute the grader's own interpreter (here it lives under /root, mode 700), so
the worker gets its own environment.  The rule, in one place:

* worker venv = ``$CONVKIT_WORKER_VENV`` if set, else
  ``/opt/convkit/worker-<h>``, where ``<h>`` is the first 10 hex digits of
  sha256("<real path of /usr/bin/python3>|numpy==<pin>"), the pin being the numpy
  line of the repository's requirements.txt (or the grader's numpy version if that
  file is absent).  A new Python minor version or a new pin gives a new folder.
* It is made by ``/usr/bin/python3 -m venv`` + ``pip install numpy==<pin>``, then
  ``chmod -R a+rX``; a marker file written last says it is complete.
* Without dropping privileges (not root, or isolation forced to 'process') the worker
  simply uses ``sys.executable``.  So does a root grader whose venv cannot be built
  (say /usr/bin/python3 is older than the pinned numpy allows) when other users can
  reach and read ``sys.executable`` and its prefixes; a warning says so.

``python -m autograder.runtime`` builds it at set-up time; otherwise it is built on
first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.sandbox import portable

try:
    import fcntl
except ImportError:                    # not POSIX: only the 'process' level runs, which builds nothing
    fcntl = None

BASE_PYTHON = "/usr/bin/python3"
VENV_PARENT = Path("/opt/convkit")
VENV_ENV_VAR = "CONVKIT_WORKER_VENV"
MARKER = ".convkit-ready"
REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


def requirement_pin(name: str) -> str | None:
    """'name==X.Y.Z' as pinned in requirements.txt, or None."""
    try:
        for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
            spec = line.split("#")[0].strip()
            if spec.lower().startswith(f"{name}=="):
                return spec
    except OSError:
        pass
    return None


def numpy_pin() -> str:
    """'numpy==X.Y.Z' from requirements.txt, else the version the grader runs."""
    import numpy
    return requirement_pin("numpy") or f"numpy=={numpy.__version__}"


def _venv_key() -> str:
    return f"{os.path.realpath(BASE_PYTHON)}|{numpy_pin()}"


def worker_venv_dir() -> Path:
    """Where the worker venv lives (see the module docstring for the rule)."""
    override = os.environ.get(VENV_ENV_VAR)
    if override:
        return Path(override)
    digest = hashlib.sha256(_venv_key().encode()).hexdigest()[:10]
    return VENV_PARENT / f"worker-{digest}"


def worker_venv_ready(venv: Path | None = None) -> bool:
    """True when the venv was built completely for the current key."""
    venv = venv or worker_venv_dir()
    try:
        return json.loads((venv / MARKER).read_text()).get("key") == _venv_key()
    except (OSError, ValueError):
        return False


def ensure_worker_venv(quiet: bool = False) -> Path:
    """Build the worker venv if it is not complete yet; return its folder.

    Safe to call from several processes at once (a lock file serialises builders).
    """
    venv = worker_venv_dir()
    return build_once(venv, lambda: worker_venv_ready(venv), lambda: _build_venv(venv, quiet))


def build_once(path: Path, ready, build) -> Path:
    """``build()`` unless ``ready()``; a lock file beside ``path`` makes concurrent callers
    (several grading processes starting at once) wait for one builder. Returns ``path``."""
    if ready():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready():                        # someone else may have built it meanwhile
            build()
    return path


def _build_venv(venv: Path, quiet: bool) -> None:
    if not os.access(BASE_PYTHON, os.X_OK):
        raise RuntimeError(f"{BASE_PYTHON} is missing: cannot build the worker venv")
    if not quiet:
        print(f"building the sandbox worker's Python in {venv} ...", file=sys.stderr)
    shutil.rmtree(venv, ignore_errors=True)    # a half-built one from an interrupted run
    python = venv / "bin" / "python"
    steps = [[BASE_PYTHON, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--no-input",
              "--disable-pip-version-check", "--quiet", numpy_pin()],
             [str(python), "-I", "-c", "import numpy"]]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building the worker venv failed at {' '.join(cmd)}:\n"
                               f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    _make_world_readable(venv)
    for folder in (venv.parent, venv):
        if folder != Path("/"):
            folder.chmod(folder.stat().st_mode | 0o755)
    (venv / MARKER).write_text(json.dumps({"key": _venv_key()}))
    (venv / MARKER).chmod(0o644)


def _make_world_readable(root: Path) -> None:
    """chmod -R a+rX: everyone may read files and enter folders; nothing becomes writable."""
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)


def untraversable_ancestor(path: Path) -> Path | None:
    """The first folder above ``path`` that other users cannot enter, if any."""
    for folder in Path(path).resolve().parents:
        if not folder.stat().st_mode & 0o001:
            return folder
    return None


def worker_python(drop_privileges: bool | None = None) -> str:
    """An interpreter the sandbox's uid can execute, with numpy importable.

    ``drop_privileges`` defaults to "running as root".  When dropping, the worker venv
    is built on first use (it takes a while: run ``python -m autograder.runtime`` at
    set-up instead).
    """
    if drop_privileges is None:
        drop_privileges = portable.is_root()
    if not drop_privileges:
        return sys.executable
    try:
        venv = ensure_worker_venv()
    except RuntimeError as exc:                # e.g. /usr/bin/python3 too old for the pin
        if not _others_can_run(sys.executable):
            raise
        print(f"WARNING: {exc}\nthe sandbox uses {sys.executable} instead", file=sys.stderr)
        return sys.executable
    blocked = untraversable_ancestor(venv / "bin")
    if blocked is not None:
        raise RuntimeError(f"the worker venv {venv} sits under {blocked}, which other users "
                           f"cannot enter; set {VENV_ENV_VAR} to a folder under /opt")
    return str(venv / "bin" / "python")


def _others_can_run(python: str) -> bool:
    """Whether other uids can reach and read ``python`` and its prefixes (a rough check)."""
    for path in [os.path.realpath(python), *runtime_paths(python)]:
        if untraversable_ancestor(Path(path)) or os.stat(path).st_mode & 0o005 != 0o005:
            return False
    return True


def runtime_paths(python: str) -> list[str]:
    """Folders the interpreter needs at run time, outside /usr (to bind read-only)."""
    if Path(python) == Path(sys.executable):
        candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    else:                                      # a venv: bin/python -> its own prefix
        candidates = {str(Path(python).parent.parent)}
    paths = {os.path.realpath(p) for p in candidates}
    return sorted(p for p in paths if not (p == "/usr" or p.startswith("/usr/")))
