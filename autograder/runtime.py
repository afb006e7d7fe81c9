"""One-time machine set-up for the sandbox: ``python -m autograder.runtime``.

Idempotent; when everything is in place it takes well under a second.  As root it
installs what the isolation levels need, by package name only:

* Debian's ``bubblewrap`` (the ``bwrap`` level) and ``libseccomp2`` (the ``chroot``
  level's filter library), with apt-get, when missing;
* PyPI's ``pyseccomp`` at the pin in requirements.txt, when the grader's Python lacks it
  (``make setup`` and Gradescope's ``setup.sh`` install it with the other pins);
* the worker venv (``sandbox.python_env``) and, where chroot + seccomp work, the chroot
  built from it (``sandbox.jail``).

Then it prints the isolation level this machine gets.  This module uses the sandbox
package; the sandbox never imports it.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys

from autograder.sandbox import describe_isolation, detect_isolation, levels, python_env
from autograder.sandbox.jail import ensure_jail
from autograder.sandbox.python_env import ensure_worker_venv, worker_python

FALLBACK_PYSECCOMP = "pyseccomp==0.1.2"


def apt_install(packages: list[str]) -> bool:
    """apt-get update + install (root only); False, with a warning, if that fails."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"],
                ["apt-get", "install", "-y", "--no-install-recommends", *packages]):
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        except OSError as exc:
            done = subprocess.CompletedProcess(cmd, 1, "", str(exc))
        if done.returncode != 0:
            print(f"WARNING: '{' '.join(cmd)}' failed; the sandbox falls back to a weaker "
                  f"isolation level.\n{done.stderr[-1000:]}", file=sys.stderr)
            return False
    return True


def pyseccomp_pin() -> str:
    return python_env.requirement_pin("pyseccomp") or FALLBACK_PYSECCOMP


def ensure_pyseccomp() -> None:
    try:
        import pyseccomp  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", pyseccomp_pin()], check=False)


def prepare() -> str:
    """Make this machine ready for the sandbox; return its isolation level."""
    if os.geteuid() == 0:
        missing = []
        if levels.bwrap_binary() is None:
            missing.append("bubblewrap")
        if ctypes.util.find_library("seccomp") is None:
            missing.append("libseccomp2")
        if missing:
            apt_install(missing)
            levels.bwrap_binary.cache_clear()
        ensure_pyseccomp()
        ensure_worker_venv()
        if levels.ChrootLevel.unusable_reason() is None:
            ensure_jail(worker_python(drop_privileges=True))
    level = detect_isolation()
    print(f"sandbox isolation on this machine: {level} ({describe_isolation(level)})")
    return level


if __name__ == "__main__":
    prepare()
