"""The students' tools as a student meets them: lab.py and make as an unprivileged user with
the system Python, the same on a stand-in for Windows (windows_standin.py), safe
submission, the demo's dX check, and the notebook executed headless (reference and template).

The unprivileged user is `nobody` (uid 65534) through setpriv. The system Python may lack
numpy (this machine's does), so the handout's own Makefile builds the student's .venv from
that system python3 and the handout's pinned requirements.txt, through the pip index this
machine uses (its `pip config` settings are passed on as PIP_* variables): what a student
does, not `--system-site-packages` onto the kit's venv.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import student_tools
from autograder.staff.catalogue import load_catalogue
from helpers import CONV_LAB, OUT_OF_BUDGET, REPO, TEMPLATE, hang_guard
from windows_standin import install_shim, taskkill_calls, write_fake_taskkill

CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
CORRECT = CATALOGUE["correct/lecture_loops"].source
KIT = [sys.executable, "-m", "autograder"]
STUDENT_UID = 65534
SYSTEM_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)


def run(args, cwd, timeout=hang_guard(60), env=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


# ------------------------------------------------------------------ the unpacked handout

@pytest.fixture(scope="module")
def handout_zip(tmp_path_factory):
    dest = tmp_path_factory.mktemp("handout") / "handout.zip"
    built = run(KIT + ["package", "handout", "--out", str(dest)], cwd=REPO)
    assert built.returncode == 0, built.stderr
    return dest


def unpack(zip_path, folder):
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(folder)
    return folder


def machine_pip_env():
    """This machine's pip settings (index, find-links, constraints) as PIP_* variables, so the
    unprivileged user installs from the same place root does (offline if that is local)."""
    listed = run([sys.executable, "-m", "pip", "config", "list"], cwd=REPO).stdout
    env = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in ("index-url", "extra-index-url", "find-links", "constraint", "cert", "default-timeout"):
            env["PIP_" + name.upper().replace("-", "_")] = value.strip("'\"")
    return env


def as_student(args, cwd, home, timeout=hang_guard(90), extra_env=None):
    """Runs args as uid 65534 with a clean environment (PATH, HOME, the machine's pip settings)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           **machine_pip_env(), **(extra_env or {})}
    cmd = ["setpriv", f"--reuid={STUDENT_UID}", f"--regid={STUDENT_UID}", "--clear-groups", *args]
    return run(cmd, cwd=cwd, timeout=timeout, env=env)


def student_folder(zip_path):
    """The handout unpacked into a fresh folder owned by the student (outside root's tmp dirs,
    which the student cannot enter)."""
    folder = Path(tempfile.mkdtemp(prefix="convkit-student-"))
    unpack(zip_path, folder)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, STUDENT_UID, STUDENT_UID, follow_symlinks=False)
    return folder


@pytest.fixture(scope="module")
def student_lab(handout_zip):
    """The handout unpacked by `nobody`, its .venv built by `make check` from the system python3."""
    if os.geteuid() != 0:
        pytest.fail("these tests switch to an unprivileged user: run them as root (as CI does)")
    assert SYSTEM_PYTHON and shutil.which("setpriv") and shutil.which("make"), "needs python3, setpriv, make"
    folder = student_folder(handout_zip)
    first = as_student(["make", "check", f"PYTHON={SYSTEM_PYTHON}"], cwd=folder, home=folder)
    yield folder, first
    shutil.rmtree(folder, ignore_errors=True)


def first_line(text):
    return text.strip().splitlines()[0]


def test_make_targets_work_for_an_unprivileged_student(student_lab):
    folder, first = student_lab
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "Permission denied" not in first.stderr
    # The venv is the system interpreter's, with the handout's pins, and the stamp is the venv's own file.
    assert os.path.realpath(folder / ".venv" / "bin" / "python") == os.path.realpath(SYSTEM_PYTHON)
    assert (folder / ".venv" / ".installed").stat().st_uid == STUDENT_UID
    assert "col2im is not implemented yet" in first.stdout and "Public score: 0 /" in first.stdout
    # Not root: bubblewrap if unprivileged user namespaces work here, else the process level.
    assert "(isolation: bwrap)" in first.stdout or "(isolation: process)" in first.stdout

    again = as_student(["make", "check"], cwd=folder, home=folder)
    assert again.returncode == 0 and "-m venv" not in again.stdout   # the stamp is up to date

    (folder / "submission.zip").write_bytes(b"an old zip")
    stub = as_student(["make", "submission"], cwd=folder, home=folder)
    assert stub.returncode != 0
    assert first_line(stub.stdout).startswith("NOT SUBMITTED: public checks 0 / 34; unfinished: col2im, "
                                              "Conv2d.backward still raise NotImplementedError")
    assert not (folder / "submission.zip").exists(), "a stale submission.zip was left behind"

    (folder / "conv2d.py").write_text(CORRECT)
    check = as_student(["make", "check"], cwd=folder, home=folder)
    assert "FAIL" not in check.stdout and "Public score: 34 / 34" in check.stdout, check.stdout[-3000:]
    submit = as_student(["make", "submission"], cwd=folder, home=folder)
    assert submit.returncode == 0, submit.stdout[-3000:]
    assert first_line(submit.stdout) == (f"SUBMISSION READY: public checks 34 / 34; unfinished: nothing; zip: "
                                         f"{folder / 'submission.zip'} (holding only conv2d.py). "
                                         f"Upload it to Gradescope.")
    with zipfile.ZipFile(folder / "submission.zip") as zf:
        assert zf.namelist() == ["conv2d.py"] and zf.read("conv2d.py").decode() == CORRECT

    demo = as_student(["make", "demo"], cwd=folder, home=folder)
    assert demo.returncode == 0 and "Your layer learned the filter, and dX matches" in demo.stdout
    selfcheck = as_student(["make", "selfcheck"], cwd=folder, home=folder)
    assert selfcheck.returncode == 0, selfcheck.stdout[-2000:]

    (folder / "conv2d.py").write_text("def col2im(:\n")
    broken = as_student(["make", "submission"], cwd=folder, home=folder)
    assert broken.returncode != 0 and "syntax error at line 1" in first_line(broken.stdout)
    assert not (folder / "submission.zip").exists()
    shutil.copyfile(TEMPLATE, folder / "conv2d.py")     # the file stays the student's (copy keeps its owner)


def test_lab_py_with_the_bare_system_python(student_lab):
    """`python3 lab.py check` with the system Python, which has no numpy: the folder's .venv (made
    by make, or `python3 lab.py setup`) runs it (with no .venv, one clear message saying what to
    run: test_the_handouts_first_commands_work_verbatim_on_a_pep_668_python)."""
    folder, _ = student_lab
    result = as_student([SYSTEM_PYTHON, "lab.py", "check"], cwd=folder, home=folder)
    assert "Traceback" not in result.stdout + result.stderr
    assert "Public score:" in result.stdout, result.stdout[-2000:]
    bad = as_student([SYSTEM_PYTHON, "lab.py", "frobnicate"], cwd=folder, home=folder)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr and "Traceback" not in bad.stderr


def test_lab_py_on_a_windows_stand_in(student_lab):
    """A second venv on top of the student's packages whose site start-up takes away what a
    Windows Python lacks (windows_standin.py: resource, fcntl, fork, process groups, euid,
    select.poll, readv, dir_fd, Popen's pass_fds/sessions/preexec_fn/umask) from every
    interpreter it starts, the sandbox's worker included (-I keeps site-packages), with a
    taskkill on PATH that kills by parent pid as Windows' does. The checks still run, at the
    process level over the portable transport, the report says so, and runaway code, a print
    flood and a child process the student starts are all stopped."""
    folder, _ = student_lab
    nopix = folder / "nopix"
    made = as_student([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(nopix)], cwd=folder, home=folder)
    assert made.returncode == 0, made.stderr
    site = [p for p in (nopix / "lib").glob("python3*/site-packages")][0]
    student_site = [p for p in (folder / ".venv" / "lib").glob("python3*/site-packages")][0]
    (site / "student.pth").write_text(f"{student_site}\n")
    install_shim(site)
    tools = folder / "windows-tools"
    write_fake_taskkill(tools, SYSTEM_PYTHON)
    for path in (site, tools, *site.iterdir(), *tools.iterdir()):
        os.chown(path, STUDENT_UID, STUDENT_UID)
    windows_path = {"PATH": f"{tools}:/usr/local/bin:/usr/bin:/bin"}
    python = str(nopix / "bin" / "python")
    probe = as_student([python, "-I", "-c", PROBE_STAND_IN], cwd=folder, home=folder)
    assert probe.stdout.split() == ["ok"] * 6, probe.stdout + probe.stderr

    def lab(command, source, timeout=hang_guard(60)):
        """lab.py COMMAND on ``source``, warning of every text file opened without an encoding
        (Windows would read it as cp1252): none may be the kit's."""
        (folder / "conv2d.py").write_text(source)
        result = as_student([python, "-X", "warn_default_encoding", "-W", "always::EncodingWarning",
                             "lab.py", command], cwd=folder, home=folder, timeout=timeout, extra_env=windows_path)
        output = result.stdout + result.stderr
        assert "Traceback" not in output, result.stdout[-3000:] + result.stderr[-3000:]
        assert not [line for line in output.splitlines()               # the student's packages may warn
                    if "EncodingWarning" in line and str(folder) in line and "/.venv/" not in line], output[-3000:]
        return result

    stub = lab("check", TEMPLATE.read_text())
    assert "(isolation: process)" in stub.stdout
    assert ("this Python has no resource, fcntl, os.fork, os.setsid, os.killpg, os.geteuid, select.poll"
            in stub.stdout and "time limits only" in stub.stdout), stub.stdout[-3000:]
    assert "Public score: 0 / 34" in stub.stdout

    good = lab("check", CORRECT)
    assert "Public score: 34 / 34" in good.stdout, good.stdout[-3000:] + good.stderr[-3000:]
    assert taskkill_calls(tools) and all(call.startswith("/T /F /PID ") for call in taskkill_calls(tools))
    submit = lab("submit", CORRECT)
    assert submit.returncode == 0 and first_line(submit.stdout).startswith("SUBMISSION READY")

    hung = lab("check", "while True:\n    pass\n", timeout=hang_guard(20))   # only the time-out stops it
    assert "Public score: 0 / 34" in hung.stdout and "10 s" in hung.stdout, hung.stdout[-3000:]

    done = CORRECT.split("    def backward(self, dY):")[1].split("    def zero_grad")[0]
    spinning = CORRECT.replace(done, "\n        while True:\n            pass\n\n")
    assert spinning != CORRECT
    looped = lab("check", spinning)
    score = int(looped.stdout.split("Public score: ")[1].split()[0])
    assert 0 < score < 34 and "did not finish within 10 s" in looped.stdout, looped.stdout[-3000:]
    assert not [words for words in OUT_OF_BUDGET if words in looped.stdout], "a loop must cost two call limits, not the budget"

    flood = lab("check", "import sys\nsys.stdout.write('x' * (40 << 20))\n" + CORRECT, timeout=hang_guard(20))
    assert "Public score: 0 / 34" in flood.stdout and "printed 40 MB" in flood.stdout, flood.stdout[-3000:]

    pids = folder / "child-pids"
    spawner = ("import subprocess, sys\n"
               "_child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
               f"with open({str(pids)!r}, 'a') as _f:\n    _f.write(f'{{_child.pid}}\\n')\n")
    spawned = lab("check", spawner + CORRECT)
    assert "Public score: 34 / 34" in spawned.stdout, spawned.stdout[-3000:]
    children = [int(pid) for pid in pids.read_text().split()]
    assert children and not [pid for pid in children if running(pid)], "a student's child process outlived the check"
    shutil.copyfile(TEMPLATE, folder / "conv2d.py")


PROBE_STAND_IN = """\
import os, select, subprocess, numpy
print('ok' if not hasattr(os, 'fork') and not hasattr(os, 'killpg') and not hasattr(os, 'geteuid') else 'posix')
print('ok' if not hasattr(select, 'poll') else 'poll')
print('ok' if os.mkdir not in os.supports_dir_fd else 'dir_fd')
try:
    os.mkdir('x', dir_fd=os.open('.', os.O_RDONLY))
except NotImplementedError:
    print('ok')
for kwargs in ({'pass_fds': (0,)}, {'start_new_session': True}):
    try:
        subprocess.Popen(['true'], **kwargs)
    except ValueError:
        print('ok')
"""


def running(pid):
    """Alive and not a zombie (an orphan killed in a container may wait for a reaper)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


# ------------------------------------------------------------------ safe submission (in-process)

def submit(tmp_path, source, anyway=False, stale=True, capsys=None):
    path = tmp_path / "conv2d.py"
    path.write_text(source)
    dest = tmp_path / "submission.zip"
    if stale:
        dest.write_bytes(b"stale")
    code = student_tools.cmd_submit(CONV_LAB, path, dest, anyway=anyway)
    return code, capsys.readouterr().out, dest


def test_submit_refuses_the_template_and_removes_a_stale_zip(tmp_path, capsys):
    code, out, dest = submit(tmp_path, TEMPLATE.read_text(), capsys=capsys)
    assert code == 2 and not dest.exists()
    assert first_line(out) == ("NOT SUBMITTED: public checks 0 / 34; unfinished: col2im, Conv2d.backward "
                               "still raise NotImplementedError; the old submission.zip was removed, so it "
                               "cannot be uploaded by mistake. Fix that, or submit it as it is with --anyway.")
    assert "Public score: 0 / 34" in out                       # the details follow the summary


def test_submit_anyway_packages_the_unfinished_file_and_says_so(tmp_path, capsys):
    code, out, dest = submit(tmp_path, TEMPLATE.read_text(), anyway=True, capsys=capsys)
    assert code == 0 and zipfile.ZipFile(dest).read("conv2d.py").decode() == TEMPLATE.read_text()
    assert first_line(out).startswith("SUBMISSION READY: public checks 0 / 34; unfinished: col2im, "
                                      "Conv2d.backward still raise NotImplementedError; zip: ")


def test_submit_refuses_a_file_that_fails_to_import(tmp_path, capsys):
    code, out, dest = submit(tmp_path, "import no_such_module_here\n" + CORRECT, capsys=capsys)
    assert code == 2 and not dest.exists()
    assert first_line(out).startswith("NOT SUBMITTED: public checks 0 / 34; unfinished: conv2d.py fails to import")


def test_submit_never_packages_a_syntax_error(tmp_path, capsys):
    code, out, dest = submit(tmp_path, "def col2im(:\n", anyway=True, capsys=capsys)
    assert code == 2 and not dest.exists()
    assert first_line(out).startswith("NOT SUBMITTED: ") and "syntax error at line 1" in first_line(out)
    # the stale zip's fate ends the summary line; the caret line stays a caret line (issue 24.6)
    assert first_line(out).endswith("so it cannot be uploaded by mistake.") or "no submission.zip written" in first_line(out)
    caret = next(line for line in out.splitlines() if line.strip().startswith("^"))
    assert set(caret.strip()) <= {"^", "~"}


def test_submit_with_one_unfinished_function_names_only_it(tmp_path, capsys):
    """col2im done, backward still a stub: only Conv2d.backward is named."""
    stub = TEMPLATE.read_text().split("    def backward(self, dY):")[1].split("    def zero_grad")[0]
    done = CORRECT.split("    def backward(self, dY):")[1].split("    def zero_grad")[0]
    source = CORRECT.replace(done, stub)
    assert source != CORRECT
    code, out, _ = submit(tmp_path, source, capsys=capsys, stale=False)
    assert code == 2 and "unfinished: Conv2d.backward still raises NotImplementedError; no submission.zip written" \
        in first_line(out)


# ------------------------------------------------------------------ the demo checks dX

@pytest.mark.parametrize("key, learned", [("correct/lecture_loops", True), ("bug/crop_end_only", False),
                                          ("bug/crop_one_side", False)])
def test_train_filter_never_says_learned_while_dx_is_wrong(tmp_path, key, learned):
    shutil.copyfile(REPO / "student_template" / "train_filter.py", tmp_path / "train_filter.py")
    (tmp_path / "conv2d.py").write_text(CATALOGUE[key].source)
    result = run([sys.executable, "train_filter.py", "--epochs", "50"], cwd=tmp_path, timeout=hang_guard(30))
    final = result.stdout.split("largest kernel error", 1)[1]
    assert float(final.split()[0]) < 1e-6, "the kernel itself must converge: only dX is wrong"
    verdict = final.replace("learned kernel:", "").replace("learned_kernel.png", "")   # labels, not verdicts
    assert ("learned" in verdict) == learned, final
    assert ("Your layer learned the filter, and dX matches finite differences." in verdict) == learned
    assert (result.returncode == 0) == learned
    if not learned:
        assert "dX is wrong on N=2 C_in=1 C_out=1 H=5 W=5 kernel=3 stride=1 padding=1" in final


# ------------------------------------------------------------------ the notebook

def execute_notebook(folder):
    nb = nbformat.read(folder / "lab.ipynb", as_version=4)
    NotebookClient(nb, timeout=hang_guard(30), kernel_name="python3",                # per cell
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def code_outputs(nb):
    """Per code cell: (source, printed text, output types)."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            cells.append((cell.source, text, [o.output_type for o in cell.outputs]))
    return cells


def check_cell_lines(cells):
    """The per-check lines of every check cell: (status, rest of the line)."""
    lines = []
    for source, text, _ in cells:
        if "public_checks(" in source and "import" not in source:
            for line in text.splitlines():
                for status in ("PASS", "FAIL", "NOT IMPLEMENTED"):
                    if line.startswith(f"  {status} "):
                        lines.append((status, line))
    return lines


def test_notebook_against_the_reference(handout_zip, tmp_path):
    folder = unpack(handout_zip, tmp_path / "lab")
    shutil.copyfile(REPO / "reference" / "conv2d.py", folder / "conv2d.py")
    cells = code_outputs(execute_notebook(folder))
    assert not any("error" in kinds for _, _, kinds in cells)
    assert f"using {folder / 'conv2d.py'}" in cells[0][1]          # the student's file, not a copy
    assert "%autoreload 2" in cells[0][0]
    lines = check_cell_lines(cells)
    assert len(lines) >= 7 + 2 + 3 and all(status == "PASS" for status, _ in lines), lines
    assert any("display_data" in kinds for _, _, kinds in cells), "no kernel / loss-curve figure"
    assert "SUBMISSION READY: public checks 34 / 34; unfinished: nothing" in cells[-1][1]
    with zipfile.ZipFile(folder / "submission.zip") as zf:
        assert zf.read("conv2d.py") == (REPO / "reference" / "conv2d.py").read_bytes()


def test_notebook_against_the_template(handout_zip, tmp_path):
    folder = unpack(handout_zip, tmp_path / "lab")
    cells = code_outputs(execute_notebook(folder))
    assert not any("error" in kinds for _, _, kinds in cells)
    lines = check_cell_lines(cells)
    statuses = {status for status, _ in lines}
    assert statuses == {"NOT IMPLEMENTED", "PASS"}, lines
    assert [line for status, line in lines if status == "PASS"] == \
        [line for status, line in lines if "forward output (given code)" in line]
    assert any("col2im: not implemented yet" in text for _, text, _ in cells)
    # a failure's line carries what failed, never stops at its colon (issue 23: "your code failed:" and nothing)
    assert not [line for _, text, _ in cells for line in text.splitlines() if line.rstrip().endswith("failed:")]
    assert cells[-1][1].startswith("NOT SUBMITTED: public checks 0 / 34")
    assert not (folder / "submission.zip").exists()


def test_when_the_checks_cannot_start_submit_removes_the_stale_zip_and_lab_py_says_why(
        tmp_path, monkeypatch, capsys):
    import importlib.util

    def sandbox_cannot_start(lab, path):
        raise RuntimeError("no isolation level is usable here")
    monkeypatch.setattr(student_tools, "_run_public_checks", sandbox_cannot_start)
    (tmp_path / "conv2d.py").write_text(CORRECT)
    (tmp_path / "submission.zip").write_bytes(b"stale")
    with pytest.raises(RuntimeError):
        student_tools.cmd_submit(CONV_LAB, tmp_path / "conv2d.py", tmp_path / "submission.zip")
    assert not (tmp_path / "submission.zip").exists()

    spec = importlib.util.spec_from_file_location("_lab", REPO / "student_template" / "lab.py")
    lab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lab)
    capsys.readouterr()
    monkeypatch.setattr(sys, "path", list(sys.path))          # lab.main puts its folder first
    assert lab.main(["check"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("The checks could not start on this machine (RuntimeError: no isolation level")
    assert "python3 lab.py selfcheck" in out


@pytest.mark.skipif(os.geteuid() != 0, reason="what a root student (e.g. on Colab) gets")
def test_root_student_handout_is_closed_so_the_uid_level_can_run(tmp_path, monkeypatch, capsys):
    from autograder.sandbox import python_env
    handout = tmp_path / "handout"
    handout.mkdir(mode=0o755)
    monkeypatch.setattr(student_tools, "KIT_ROOT", handout)
    student_tools._close_handout_when_root()
    assert handout.stat().st_mode & 0o777 == 0o750
    assert "closed" in capsys.readouterr().out
    assert python_env.untraversable_ancestor(handout / "x") == handout      # what the uid level asks for

    staff_kit = tmp_path / "kit"
    (staff_kit / ".git").mkdir(parents=True)
    staff_kit.chmod(0o755)
    monkeypatch.setattr(student_tools, "KIT_ROOT", staff_kit)
    student_tools._close_handout_when_root()
    assert staff_kit.stat().st_mode & 0o777 == 0o755                           # the staff's kit is never changed


def test_the_handouts_first_commands_work_verbatim_on_a_pep_668_python(handout_zip):
    """Issue 23: `python3 -m pip install -r requirements.txt`, which the handout said first, is refused
    by a Debian-like system Python (PEP 668). The handout's first command now makes the .venv itself;
    an unprivileged student with the system python3 types §7's commands as written and gets checks."""
    if os.geteuid() != 0:
        pytest.fail("this test switches to an unprivileged user: run it as root (as CI does)")
    folder = student_folder(handout_zip)
    try:
        refused = as_student(["python3", "-m", "pip", "install", "-r", "requirements.txt"], cwd=folder, home=folder)
        assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr, \
            "this machine's python3 is not PEP 668-managed: the test would prove nothing"
        before = as_student(["python3", "lab.py", "check"], cwd=folder, home=folder)
        assert before.returncode == 2 and "In this folder, run:  python3 lab.py setup" in before.stdout, before.stdout
        section = (folder / "README.md").read_text(encoding="utf-8").split("## 7.", 1)[1]
        blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
        first = [line.split("#")[0].strip() for line in blocks[0].splitlines() if line.strip()]
        assert first == ["python3 lab.py setup"], first
        setup = as_student(["sh", "-c", first[0]], cwd=folder, home=folder, timeout=hang_guard(180))
        assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
        check_line = next(c for c in (line.split("#")[0].strip() for line in blocks[1].splitlines())
                          if c.endswith(" check"))
        check = as_student(["sh", "-c", check_line], cwd=folder, home=folder)
        assert check_line == "python3 lab.py check"
        assert "col2im is not implemented yet" in check.stdout and "Public score: 0 /" in check.stdout, \
            check.stdout[-3000:] + check.stderr[-3000:]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
