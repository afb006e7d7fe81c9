"""Every command in README.md and docs/ works when pasted as written (issue 24.4).

The commands are read from the documents themselves (every ```sh block, and the inline
commands a reader is told to run), then run with bash, as written, in a scratch folder
laid out like a clone of the kit (.venv, autograder/, assignment/, examples/ linked to
this one) with the files the commands name: a Gradescope export zipped as
submissions.zip, Canvas's gradebook, a submission. Outputs go to the scratch folder
only. A command not run here is in SKIPPED with the reason, and the test fails if the
documents gain a command that is neither run nor skipped by name.
"""

import csv
import io
import json
import re
import shutil
import subprocess
import zipfile

import pytest

from autograder.staff import otter_bridge
from helpers import CONV_LAB, REPO, hang_guard

DOCS = ("README.md", "docs/otter.md", "docs/new-lab.md")
# Inline commands README.md tells a reader to paste (in prose or a table); the placeholders in capitals
# (OUT, ROSTER.csv, SUBMISSION, DIR, SUBMISSIONS) are files the scratch folder holds under those names.
INLINE = re.compile(r"`((?:mkdir -p \S+ && )?\.venv/bin/[^`]+|otter check conv2d\.py[^`]*)`")
SKIPPED = {     # a command's start -> why it is not run here
    "make ": "the Makefile's targets run the whole set-up or suite (tests/e2e/test_workflows.py runs make grade)",
    ".venv/bin/pip install": "installs from the network; requirements-otter.txt is installed by the set-up",
    ".venv/bin/python -m autograder fixtures": "rebuilds the kit's own fixture sets, which other tests read "
                                               "(tests/e2e/test_hidden_seed.py runs it on a copy)",
    # docs/new-lab.md's `--config $CONFIG fixtures` is run as pasted: a clean clone has no Linear-lab set,
    # and the commands after it need one (the same seed gives the same set, so a rerun changes nothing).
    "docker ": "PrairieLearn's image: needs Docker and a registry",
    "cp -R build/prairielearn": "PrairieLearn: copies into the course's own repository",
    "cd ~/pl-course": "PrairieLearn: commits to the course's own repository",
}
PY = REPO / ".venv" / "bin" / "python"


def shell_blocks(text):
    return [block for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def commands_of(line):
    """The commands of one line, its comment left out."""
    line = re.sub(r"\s+#.*$", "", line).strip()
    return [line] if line and not line.startswith("#") else []


def skip_reason(command):
    for start, why in SKIPPED.items():
        if command.startswith(start) and why:
            return why
    return None


def documented():
    """{document: [(kind, commands)]}: each ```sh block (a list of lines) and each inline command."""
    found = {}
    for name in DOCS:
        text = (REPO / name).read_text(encoding="utf-8")
        items = [("block", [c for line in block.splitlines() for c in commands_of(line)])
                 for block in shell_blocks(text)]
        prose = " ".join(re.sub(r"```.*?```", "", text, flags=re.S).split())
        items += [("inline", [c]) for c in INLINE.findall(prose)] if name == "README.md" else []
        found[name] = items
    return found


def write_scratch(root):
    """A scratch folder laid out like a clone, holding the files the documented commands name."""
    from e2e.test_staff_outputs import CANVAS_ROSTER, CORRECT, write_export
    for name in (".venv", "autograder", "assignment", "examples"):
        (root / name).symlink_to(REPO / name)
    download = root / "download"
    export = write_export(download)
    with zipfile.ZipFile(root / "submissions.zip", "w") as zf:          # Gradescope's Export Submissions
        for path in sorted(export.rglob("*")):
            zf.write(path, path.relative_to(download).as_posix())
    shutil.rmtree(download)
    (root / "canvas-gradebook.csv").write_text(CANVAS_ROSTER, encoding="utf-8")
    (root / "ROSTER.csv").write_text(CANVAS_ROSTER, encoding="utf-8")
    (root / "conv2d.py").write_text(CORRECT, encoding="utf-8")
    with zipfile.ZipFile(root / "submission.zip", "w") as zf:
        zf.writestr("conv2d.py", CORRECT)
    (root / "SUBMISSION").mkdir()
    (root / "SUBMISSION" / "conv2d.py").write_text(CORRECT, encoding="utf-8")
    (root / "SUBMISSIONS").mkdir()
    shutil.copy(REPO / "examples" / "linear_lab" / "solutions" / "buggy.py", root / "SUBMISSIONS" / "linear.py")


def bash(script, cwd):
    env = {"PATH": f"{REPO / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=hang_guard(600), env=env)


@pytest.fixture(scope="module")
def pasted(tmp_path_factory):
    """Runs every documented command in one scratch folder, in the documents' order; the results."""
    assert otter_bridge._otter_installed(), "otter-grader is not installed: pip install -r requirements-otter.txt"
    root = tmp_path_factory.mktemp("scratch")
    write_scratch(root)
    runs, skipped, inline_otter = [], [], []
    docs = documented()
    order = [("README.md", "block"), ("README.md", "inline"), ("docs/otter.md", "block"),
             ("docs/new-lab.md", "block")]
    for name, kind in order:
        for item_kind, commands in docs[name]:
            if item_kind != kind:
                continue
            if name == "README.md" and kind == "inline" and any("export canvas --grades OUT/" in c for c in commands):
                (root / "OUT").mkdir(exist_ok=True)        # OUT is a batch's output folder in the table
                shutil.copy(root / "out" / "lab7" / "grades.csv", root / "OUT" / "grades.csv")
            if name == "README.md" and any(c.startswith(("otter check", "mkdir -p OUT")) for c in commands):
                inline_otter.append(commands)              # needs build/otter: run after docs/otter.md's block
                continue
            script = []
            for command in commands:
                why = skip_reason(command)
                (skipped if why else script).append(command if not why else (command, why))
            if script:
                runs.append((name, script, bash("\n".join(script), root)))
        if name == "docs/otter.md":
            for commands in inline_otter:                  # `otter` on PATH, as a student's install puts it
                runs.append(("README.md", commands, bash("\n".join(commands), root)))
    return dict(root=root, runs=runs, skipped=skipped, docs=docs)


def test_every_documented_command_runs_as_pasted(pasted):
    assert len(pasted["runs"]) >= 4
    for name, script, proc in pasted["runs"]:
        assert proc.returncode == 0, f"{name}:\n" + "\n".join(script) + f"\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    ran = [c for _, script, _ in pasted["runs"] for c in script]
    for needed in ("autograder batch lab7", "export canvas --grades out/lab7/grades.csv", "autograder package otter",
                   "otter run -a build/otter/autograder.zip -o OUT submission.zip", "otter check conv2d.py",
                   "package gradescope --out build/linear-autograder.zip", "autograder grade SUBMISSION --out DIR",
                   "-p autograder.pytest_plugin --submission SUBMISSION assignment/checks",
                   "-p autograder.pytest_plugin --config=$CONFIG"):
        assert any(needed in c for c in ran), f"not run: {needed}"
    # nothing skipped but what SKIPPED names, each with its reason
    assert {why for _, why in pasted["skipped"]} <= {w for w in SKIPPED.values() if w}


def test_batch_and_export_as_pasted_give_a_canvas_import(pasted):
    root = pasted["root"]
    rows = list(csv.reader(io.StringIO((root / "canvas.csv").read_text(encoding="utf-8"))))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] and len(rows) == 7
    assert (root / "out" / "lab7" / "report.html").is_file() and (root / "out" / "lab7" / "similarity.html").is_file()
    assert (root / "DIR" / "results.json").is_file()                       # the table's grade command


def test_otter_as_pasted_names_checks_by_their_titles(pasted):
    root = pasted["root"]
    results = json.loads((root / "OUT" / "results.json").read_text(encoding="utf-8"))
    config = CONV_LAB.config
    assert [t["name"] for t in results["tests"]] == [spec.title for spec in config.checks.values()]
    assert results["score"] == config.max_score
    checks = [proc for name, script, proc in pasted["runs"] if any("otter check" in c for c in script)]
    assert len(checks) == 2 and all("All tests passed!" in proc.stdout for proc in checks)   # docs/otter.md, README


def test_package_as_pasted_writes_the_linear_labs_zip(pasted):
    assert zipfile.is_zipfile(pasted["root"] / "build" / "linear-autograder.zip")
