"""Your lab's commands, on any machine with Python 3.10 or newer: no make, no root needed.

    python3 lab.py setup             first, once: a .venv in this folder with the pinned packages
                                     (Windows: py lab.py setup); the other commands then use it
    python3 lab.py check              the public graded checks on conv2d.py, with points
    python3 lab.py submit             checks conv2d.py, then writes submission.zip (refused while
                                     a TODO still raises NotImplementedError; --anyway overrides)
    python3 lab.py demo [--kernel sobel_x ...]   train your layer to learn a known 3x3 filter
    python3 lab.py selfcheck          properties every correct solution has

`setup` works where pip may not install into the system's Python (PEP 668: Debian, Ubuntu,
Homebrew): it never does. `make check`, `make submission`, `make demo` and `make selfcheck`
use the same .venv.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed"                    # the handout's Makefile writes the same one
INSTALL = f"{'py' if os.name == 'nt' else 'python3'} lab.py setup"


def setup():
    """Make .venv here (if missing) and install requirements.txt into it; 0 when done."""
    if not VENV_PYTHON.exists():
        try:
            import ensurepip  # noqa: F401  (venv needs it to put pip in the new environment)
            import venv
        except ImportError:
            print("This Python cannot make virtual environments. On Debian or Ubuntu: "
                  "sudo apt install python3-venv; elsewhere install Python from python.org. "
                  "Then run this command again.")
            return 2
        print(f"Creating {VENV} ...")
        venv.create(VENV, with_pip=True)
    print("Installing the pinned packages (requirements.txt) into it ...")
    code = subprocess.call([str(VENV_PYTHON), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", "-r", str(HERE / "requirements.txt")])
    if code != 0:
        print("pip could not install them (see above); check your network and run this command again.")
        return code
    STAMP.touch()
    print(f"Done. Now: {INSTALL.replace('setup', 'check')}")
    return 0


def in_the_venv(argv):
    """This command run again with .venv's Python (when this Python lacks the packages), or
    None when .venv is not set up or is this Python already."""
    if not STAMP.exists() or Path(sys.prefix).resolve() == VENV.resolve():
        return None
    return subprocess.call([str(VENV_PYTHON), str(Path(__file__).resolve()), *argv])


def main(argv=None):
    if sys.version_info < (3, 10):
        print(f"This lab needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
        return 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("command", choices=["setup", "check", "submit", "demo", "selfcheck"])
    parser.add_argument("--anyway", action="store_true",
                        help="submit: write the zip even if a TODO is left or the import fails")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "demo":
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    if args.command == "setup":
        return setup()
    try:
        import numpy  # noqa: F401  (the checks and your code need it)
    except ImportError:
        code = in_the_venv(sys.argv[1:] if argv is None else argv)
        if code is not None:
            return code
        print(f"numpy is not installed for {sys.executable}.\nIn this folder, run:  {INSTALL}")
        return 2
    if args.command in ("demo", "selfcheck"):
        script = HERE / ("train_filter.py" if args.command == "demo" else "self_check.py")
        return subprocess.call([sys.executable, str(script), *rest], cwd=HERE)
    sys.path.insert(0, str(HERE))
    try:
        from autograder.cli import lab_config_path
        from autograder.lab_loader import load_lab
        from autograder.student_tools import cmd_check, cmd_submit
    except ImportError as exc:                 # e.g. pytest, which the grader runs its checks with
        print(f"{exc.name or exc} is not installed for {sys.executable}.\nIn this folder, run:  {INSTALL}")
        return 2
    try:
        lab = load_lab(lab_config_path())          # the handout's LAB file names it
        if args.command == "check":
            return cmd_check(lab, HERE / "conv2d.py")
        return cmd_submit(lab, HERE / "conv2d.py", HERE / "submission.zip", anyway=args.anyway)
    except Exception as exc:                   # the grader's sandbox cannot start on this machine
        print(f"The checks could not start on this machine ({type(exc).__name__}: {exc}).\n"
              f"`python3 lab.py selfcheck` and `python3 lab.py demo` still work; you can also upload "
              f"conv2d.py to Gradescope, which runs the same checks.")
        return 1


if __name__ == "__main__":
    sys.exit(main())
