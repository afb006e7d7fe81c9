"""Building what leaves the staff's machine: Gradescope's autograder.zip and students' handout.zip.

    python -m autograder package gradescope --out build/autograder.zip
    python -m autograder package handout --out build/handout.zip

Both are assembled from an explicit list of files, so nothing is shipped by
accident: the reference solution, the fixture builder and the hidden fixtures
never go to students; the reference never goes to Gradescope (its expected
answers travel only inside the hidden fixture set). Zip entries get a fixed
timestamp, so the same inputs give the same zip.
"""

import stat
import zipfile
from pathlib import Path

from autograder.config import KIT_ROOT
from autograder.fixtures import FIXTURES_ROOT

# The grader modules that run at grading time (the builder, catalogue and packaging stay home).
GRADER_MODULES = ["__init__.py", "__main__.py", "cli.py", "config.py", "fixtures.py", "grading.py",
                  "compare.py", "error_map.py", "failures.py", "results.py", "worker.py", "protocol.py",
                  "runtime.py", "student.py", "submission.py", "student_tools.py"]
GRADESCOPE_DIR = KIT_ROOT / "autograder" / "gradescope"
HANDOUT_DIR = KIT_ROOT / "autograder" / "handout"
FIXED_TIME = (2026, 1, 1, 0, 0, 0)
# The students' files at the handout's top level, from student_template/ (README.md lists them).
STUDENT_FILES = ("conv2d.py", "lab.py", "lab.ipynb", "train_filter.py", "self_check.py")


def _grader_files():
    pkg = KIT_ROOT / "autograder"
    files = {f"autograder/{m}": pkg / m for m in GRADER_MODULES}
    files.update({f"autograder/checks/{p.name}": p for p in sorted((pkg / "checks").glob("*.py"))})
    files.update({f"autograder/sandbox/{p.name}": p for p in sorted((pkg / "sandbox").glob("*.py"))})
    files["assignment/config.toml"] = KIT_ROOT / "assignment" / "config.toml"
    return files


def _fixture_files(which):
    folder = FIXTURES_ROOT / which
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"no {which} fixture set in {folder}: run `make fixtures` first")
    return {f"build/fixtures/{which}/{p.name}": p for p in sorted(folder.iterdir())}


def _write_zip(dest, files, executable=()):
    """files: archive name -> source Path (or str contents)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            source = files[name]
            data = source.encode() if isinstance(source, str) else Path(source).read_bytes()
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            mode = 0o755 if name in executable else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(dest)
    return dest


def gradescope_files():
    """Everything Gradescope needs: setup.sh and run_autograder at the root, the grader, hidden fixtures."""
    files = {"setup.sh": GRADESCOPE_DIR / "setup.sh", "run_autograder": GRADESCOPE_DIR / "run_autograder",
             "requirements-grader.txt": GRADESCOPE_DIR / "requirements-grader.txt"}
    files.update(_grader_files())
    files.update(_fixture_files("hidden"))
    return files


def handout_files():
    """What students get: the template, the handout and its figures, public fixtures, check tools."""
    template = KIT_ROOT / "student_template"
    assignment = KIT_ROOT / "assignment"
    files = {name: template / name for name in STUDENT_FILES}
    files["README.md"] = assignment / "README.md"
    files.update({f"figures/{p.name}": p for p in sorted((assignment / "figures").glob("*.png"))})
    files["Makefile"] = HANDOUT_DIR / "Makefile"
    files["requirements.txt"] = HANDOUT_DIR / "requirements.txt"
    files.update(_grader_files())
    files["autograder/notebook.py"] = KIT_ROOT / "autograder" / "notebook.py"
    files.update(_fixture_files("public"))
    return files


def build_gradescope_zip(dest):
    return _write_zip(dest, gradescope_files(), executable={"setup.sh", "run_autograder"})


def build_handout_zip(dest):
    return _write_zip(dest, handout_files())
