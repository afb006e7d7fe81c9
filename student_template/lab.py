"""Your lab's commands, on any machine with Python 3.10 or newer: no make, no root needed.

    python lab.py check              the public graded checks on conv2d.py, with points
    python lab.py submit             checks conv2d.py, then writes submission.zip (refused while
                                     a TODO still raises NotImplementedError; --anyway overrides)
    python lab.py demo [--kernel sobel_x ...]   train your layer to learn a known 3x3 filter
    python lab.py selfcheck          properties every correct solution has

Install what they need once, into the Python you run them with (a venv is a good idea):
    python -m pip install -r requirements.txt
`make check`, `make submission`, `make demo` and `make selfcheck` do the same in a .venv.
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTALL = f"{Path(sys.executable).name} -m pip install -r requirements.txt"


def main(argv=None):
    if sys.version_info < (3, 10):
        print(f"This lab needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
        return 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("command", choices=["check", "submit", "demo", "selfcheck"])
    parser.add_argument("--anyway", action="store_true",
                        help="submit: write the zip even if a TODO is left or the import fails")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "demo":
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    try:
        import numpy  # noqa: F401  (the checks and your code need it)
    except ImportError:
        print(f"numpy is not installed for {sys.executable}.\nIn this folder, run:  {INSTALL}")
        return 2
    if args.command in ("demo", "selfcheck"):
        script = HERE / ("train_filter.py" if args.command == "demo" else "self_check.py")
        return subprocess.call([sys.executable, str(script), *rest], cwd=HERE)
    sys.path.insert(0, str(HERE))
    try:
        from autograder.student_tools import cmd_check, cmd_submit
    except ImportError as exc:                 # e.g. pytest, which the grader runs its checks with
        print(f"{exc.name or exc} is not installed for {sys.executable}.\nIn this folder, run:  {INSTALL}")
        return 2
    try:
        if args.command == "check":
            return cmd_check(HERE / "conv2d.py")
        return cmd_submit(HERE / "conv2d.py", HERE / "submission.zip", anyway=args.anyway)
    except Exception as exc:                   # the grader's sandbox cannot start on this machine
        print(f"The checks could not start on this machine ({type(exc).__name__}: {exc}).\n"
              f"`python lab.py selfcheck` and `python lab.py demo` still work; you can also upload "
              f"conv2d.py to Gradescope, which runs the same checks.")
        return 1


if __name__ == "__main__":
    sys.exit(main())
