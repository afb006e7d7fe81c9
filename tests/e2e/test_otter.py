"""otter-grader interoperability (autograder/staff/otter_bridge.py, autograder/otter_plugin.py, docs/otter.md).

`otter run` with the bridge's zip must give exactly the kit's scores, total and per
check, on the bundled examples (correct, buggy, hostile); a submission that tampers
with otter's own runner must gain nothing; `otter check` with public-tests/ must run
the public checks only. Nothing is skipped: otter-grader[grading] comes with the
kit's set-up (requirements-otter.txt) and `python -m autograder.staff.otter_bridge install`
makes the plugin importable by the `otter` command. The otter runs (about 4-7 s each)
go one at a time beside the kit's own grades, in one module fixture, so the file stays well
under two minutes.
"""

import json
import pickle
import re
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.staff.catalogue import correct_solution
from autograder.staff import otter_bridge
from autograder.staff.catalogue import write_examples
from helpers import CONV_LAB, hang_guard

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")   # traitlets, imported by otter

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
OTTER = Path(sys.executable).parent / "otter"
CONFIG = CONV_LAB.config
HIDDEN = {n for n, s in CONFIG.checks.items() if otter_bridge.is_hidden(s)}
PUBLIC = set(CONFIG.checks) - HIDDEN
# correct, a col2im bug, a backward bug, the hostile example (forges results.json files)
EXAMPLES = ["correct/lecture_loops", "bug/overwrite_overlaps", "bug/assign_grad_weight", "hostile/forge_results_json"]
COL2IM_VALUE_CHECKS = {"col2im_overlap_sum", "col2im_adjoint", "col2im_channel_order", "col2im_uncovered_zero"}

# A wrong col2im (= instead of +=, so overlapping windows overwrite each other) behind code
# that, run by otter's kernel, makes otter's test runner pass every case; the zip also
# carries an .OTTER_LOG whose unpickling (otter does it in its own parent process) would
# run code there. Marker files show whether either ever ran.
TAMPER_PRELUDE = '''
import sys as _sys
try:
    if "ipykernel" not in _sys.modules:          # only inside otter's kernel
        raise ImportError
    import otter.test_files.abstract_test as _at
    import otter.test_files.exception_test as _et
    def _always_pass(self, global_environment):
        self.test_case_results = [_at.TestCaseResult(test_case=tc, message="passed", passed=True)
                                  for tc in self.test_cases]
    _et.ExceptionTestFile.run = _always_pass
    _at.TestFile.run = _always_pass
    open({marker!r}, "w").write("otter's runner patched from the submission")
except Exception:
    pass
'''


class _Payload:
    """Unpickling this runs code: the .OTTER_LOG attack on otter's parent process."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('code ran in otter\\'s parent')",))


def tamper_source(marker):
    base = correct_solution("lecture_loops", lab=CONV_LAB)
    right = "x[:, i:i + kH, j:j + kW] += X_col[:, col].reshape(C, kH, kW)"
    assert base.count(right) == 1
    return TAMPER_PRELUDE.format(marker=str(marker)).lstrip() + base.replace(right, right.replace("+=", "="))


def write_tamper_zip(dest, kernel_marker, parent_marker):
    with zipfile.ZipFile(dest, "w") as zf:
        zf.writestr("conv2d.py", tamper_source(kernel_marker))
        zf.writestr(".OTTER_LOG", pickle.dumps(_Payload(str(parent_marker))))
    return dest


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=hang_guard(60), **kw)


# Jupyter's kernel start is racy on a shared machine: the client picks free TCP ports, closes
# them and writes them to a file, and the kernel dies when another process (another kernel,
# another suite) has bound one in between. Two otter runs at once made it happen in CI, so they
# go one at a time; a kernel that still dies before it ran anything is started once more.
KERNEL_NEVER_STARTED = "Kernel died before replying to kernel_info"


def otter_run(zip_path, submission, out, attempts=2):
    for _ in range(attempts):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        proc = run([OTTER, "run", "--no-logo", "-a", zip_path, "-o", out, submission], cwd=out)
        if proc.returncode == 0 or KERNEL_NEVER_STARTED not in proc.stderr:
            break
    results = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else None
    return proc, results


def printed(proc):
    """What a failed otter command printed: the end of stdout, the start of stderr (where a dying
    kernel's own error is) and its end (otter's traceback)."""
    return proc.stdout[-2000:] + proc.stderr[:2000] + "\n[...]\n" + proc.stderr[-2000:]


def kit_grade(submission, out):
    proc = run([PY, "-m", "autograder", "grade", submission, "--out", out, "--quiet"], cwd=REPO)
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr
    return json.loads((out / "results.json").read_text())


def scores_by_check(results):
    return {t["extra_data"]["check"]: t["score"] for t in results["tests"]}


def total(results):
    return round(sum(t.get("score", 0) for t in results["tests"]), 2)


@pytest.fixture(scope="module")
def otter_env(tmp_path_factory):
    """Builds the otter tests and zip, then runs every otter command the tests look at."""
    assert OTTER.is_file(), "otter-grader is not installed: pip install -r requirements-otter.txt"
    assert otter_bridge.plugin_importable(), \
        "the otter command cannot import the plugin: run `python -m autograder.staff.otter_bridge install`"
    root = tmp_path_factory.mktemp("otter")
    build = run([PY, "-m", "autograder", "package", "otter", "--out", root / "otter"], cwd=REPO)
    assert build.returncode == 0, build.stdout + build.stderr
    zip_path = root / "otter" / "autograder.zip"

    # The same tests and config without the plugin: plain otter, to show the attacks are real.
    plain = root / "plain"
    plain.mkdir()
    (plain / "otter_config.json").write_text(json.dumps({"lang": "python"}))
    gen = run([PY, "-m", "otter", "generate", "-t", root / "otter" / "tests", "-o", plain / "autograder.zip",
               "-c", plain / "otter_config.json", "--no-requirements", "--no-environment"], cwd=plain)
    assert gen.returncode == 0, gen.stdout + gen.stderr

    examples = {p.stem.replace("__", "/"): p for p in write_examples(root / "examples", EXAMPLES, lab=CONV_LAB)}
    markers = {k: root / f"{k}.marker" for k in ("kernel", "parent", "plain_kernel", "plain_parent")}
    tamper = write_tamper_zip(root / "tamper.zip", markers["kernel"], markers["parent"])
    plain_tamper = write_tamper_zip(root / "plain_tamper.zip", markers["plain_kernel"], markers["plain_parent"])
    tamper_src = root / "tamper_src"
    tamper_src.mkdir()
    (tamper_src / "conv2d.py").write_text(tamper_source(markers["kernel"]))
    check_dir = root / "check"
    check_dir.mkdir()
    (check_dir / "conv2d.py").write_bytes(zipfile.ZipFile(examples["bug/overwrite_overlaps"]).read("conv2d.py"))

    jobs = {f"otter/{k}": (otter_run, zip_path, p, root / "runs" / k) for k, p in examples.items()}
    jobs.update({f"kit/{k}": (kit_grade, p, root / "kit" / k) for k, p in examples.items()})
    jobs["otter/tamper"] = (otter_run, zip_path, tamper, root / "runs" / "tamper")
    jobs["otter/plain_tamper"] = (otter_run, plain / "autograder.zip", plain_tamper, root / "runs" / "plain_tamper")
    jobs["kit/tamper"] = (kit_grade, tamper_src, root / "kit" / "tamper")
    jobs["check"] = (run, [OTTER, "check", "conv2d.py", "-t", root / "otter" / "public-tests"])
    # each otter command starts a kernel: one at a time (see KERNEL_NEVER_STARTED), the kit's grades beside them
    with ThreadPoolExecutor(max_workers=1) as otter_pool, ThreadPoolExecutor(max_workers=1) as kit_pool:
        futures = {k: (kit_pool if k.startswith("kit/") else otter_pool).submit(
                       f, *args, **({"cwd": check_dir} if k == "check" else {}))
                   for k, (f, *args) in jobs.items()}
        done = {k: f.result() for k, f in futures.items()}
    return dict(root=root, zip=zip_path, examples=sorted(examples), markers=markers, done=done)


# --- what build writes -------------------------------------------------------------
def test_one_otter_test_per_check_with_points_and_visibility(otter_env):
    from otter.test_files import create_test_file
    from otter.nbmeta_config import NBMetadataConfig
    folder = otter_env["root"] / "otter"
    assert sorted(p.stem for p in (folder / "tests").glob("*.py")) == sorted(CONFIG.checks)
    assert sorted(p.stem for p in (folder / "public-tests").glob("*.py")) == sorted(PUBLIC)
    for sub in ("tests", "public-tests"):
        for path in (folder / sub).glob("*.py"):
            parsed = create_test_file(str(path), NBMetadataConfig())      # otter's own parser
            spec = CONFIG.checks[path.stem]
            assert parsed.name == spec.name
            assert parsed.possible == spec.points
            assert [tc.hidden for tc in parsed.test_cases] == [path.stem in HIDDEN]
    assert PUBLIC and HIDDEN and "col2im_overlap_sum" in HIDDEN and "col2im_adjoint" in PUBLIC


def test_zip_holds_otter_files_the_grader_and_hidden_fixtures_but_not_the_reference(otter_env):
    names = zipfile.ZipFile(otter_env["zip"]).namelist()
    for needed in ("run_autograder", "run_otter.py", "setup.sh", "environment.yml", "otter_config.json",
                   "autograder/__main__.py", "autograder/otter_plugin.py", "autograder/sandbox/core.py",
                   "autograder/worker.py", "assignment/config.toml", "build/fixtures/hidden/manifest.json"):
        assert needed in names, needed
    assert sorted(n[len("tests/"):-3] for n in names if n.startswith("tests/")) == sorted(CONFIG.checks)
    assert not [n for n in names if n.startswith(("reference/", "build/fixtures/public/", "assignment/catalogue"))]
    assert "assignment/fixture_builder.py" not in names
    config = json.loads(zipfile.ZipFile(otter_env["zip"]).read("otter_config.json"))
    assert [next(iter(p)) for p in config["plugins"]] == [otter_bridge.PLUGIN]
    # the zip's tests are the generated ones: made from config.toml alone, no fixture data in them
    for path in (otter_env["root"] / "otter" / "tests").glob("*.py"):
        assert zipfile.ZipFile(otter_env["zip"]).read(f"tests/{path.name}") == path.read_bytes()


# --- otter run == the kit ----------------------------------------------------------
@pytest.mark.parametrize("key", EXAMPLES)
def test_otter_run_gives_the_kits_scores(otter_env, key):
    assert key in otter_env["examples"]
    proc, otter = otter_env["done"][f"otter/{key}"]
    kit = otter_env["done"][f"kit/{key}"]
    assert proc.returncode == 0 and otter is not None, printed(proc)
    assert scores_by_check(otter) == scores_by_check(kit)
    assert otter["score"] == kit["score"] == total(otter)
    assert [t["extra_data"]["check"] for t in otter["tests"]] == list(CONFIG.checks)
    # named by the checks' titles, as Gradescope's results.json names them (issue 24.4)
    assert [t["name"] for t in otter["tests"]] == [spec.title for spec in CONFIG.checks.values()]
    assert [t["name"] for t in otter["tests"]] == [t["name"] for t in kit["tests"]]
    assert [t["max_score"] for t in otter["tests"]] == [t["max_score"] for t in kit["tests"]]
    assert [t["visibility"] for t in otter["tests"]] == [s.visibility for s in CONFIG.checks.values()]
    assert otter["extra_data"]["fixture_set_hash"] == kit["extra_data"]["fixture_set_hash"]
    assert otter["extra_data"]["isolation"] == kit["extra_data"]["isolation"]
    if key.startswith("correct/"):
        assert otter["score"] == CONFIG.max_score
    else:
        assert otter["score"] < CONFIG.max_score


def test_tampering_with_otters_runner_gains_nothing(otter_env):
    done, markers = otter_env["done"], otter_env["markers"]
    # Plain otter (same tests, no plugin): the attack works, which is why the plugin exists.
    proc, plain = done["otter/plain_tamper"]
    assert plain is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert total(plain) == CONFIG.max_score, "the tamper fixture no longer fools plain otter; fix the test"
    assert markers["plain_kernel"].exists() and markers["plain_parent"].exists()
    # With the plugin: the kernel never ran the file, the log was never unpickled, the score is the kit's.
    proc, otter = done["otter/tamper"]
    kit = done["kit/tamper"]
    assert proc.returncode == 0 and otter is not None, printed(proc)
    assert not markers["kernel"].exists(), "the submission ran in otter's kernel"
    assert not markers["parent"].exists(), "otter unpickled the submission's .OTTER_LOG"
    assert scores_by_check(otter) == scores_by_check(kit)
    assert otter["score"] == kit["score"] < CONFIG.max_score
    failed = {t["extra_data"]["check"] for t in otter["tests"] if t["status"] != "passed"}
    assert COL2IM_VALUE_CHECKS <= failed


# --- otter check: public checks only -----------------------------------------------
def test_otter_check_runs_the_public_checks_only(otter_env):
    proc = otter_env["done"]["check"]
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "col2im_adjoint results" in output and "Test case failed" in output, output   # a public check it fails
    # dW does not go through col2im, so the overlap bug leaves it right: a public check it passes
    assert "grad_accumulates results: All test cases passed!" in output, output
    assert set(re.findall(r"^(\w+) results", output, re.M)) == PUBLIC, output
    for name in HIDDEN:     # not as a test, nor anywhere when the name is not also an English word
        assert not re.search(rf"\b{name} (results|result|- \d)", output), name
        assert "_" not in name or name not in output, name


# --- the plugin's hooks, without otter (fast) ---------------------------------------
class _AgConfig:
    def __init__(self, autograder_dir):
        self.autograder_dir = str(autograder_dir)


def test_plugin_refuses_to_grade_without_the_kits_grader(tmp_path):
    from otter.run.run_autograder.utils import OtterRuntimeError
    from autograder.otter_plugin import KitGraderPlugin
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "conv2d.py").write_text("x = 1\n")
    plugin = KitGraderPlugin(str(tmp_path / "submission" / "conv2d.py"), {}, {})
    with pytest.raises(OtterRuntimeError, match="missing"):
        plugin.before_grading(_AgConfig(tmp_path))
    with pytest.raises(OtterRuntimeError, match="never started"):
        plugin.after_grading(None)


def test_plugin_empties_the_submission_folder_and_runs_nothing_in_the_kernel(tmp_path, monkeypatch):
    from autograder import otter_plugin
    source = tmp_path / "source"
    for needed in ("autograder/__main__.py", "assignment/config.toml", "build/fixtures/hidden/manifest.json"):
        (source / needed).parent.mkdir(parents=True, exist_ok=True)
        (source / needed).write_text("")
    (source / "LAB").write_text("assignment/config.toml\n")          # the packaged grader's lab
    sub = tmp_path / "submission"
    (sub / "tests").mkdir(parents=True)
    (sub / "tests" / "t.py").write_text("OK_FORMAT = False\n")
    (sub / "numpy").mkdir()
    (sub / "numpy" / "__init__.py").write_text("raise SystemExit\n")
    (sub / ".OTTER_LOG").write_bytes(b"not a log")
    (sub / "conv2d.py").write_text("print('student code')\n")
    started = []
    monkeypatch.setattr(otter_plugin.subprocess, "Popen", lambda cmd, **kw: started.append((cmd, kw)))
    plugin = otter_plugin.KitGraderPlugin(str(sub / "conv2d.py"), {}, {})
    plugin.before_grading(_AgConfig(tmp_path))
    assert sorted(p.name for p in sub.iterdir()) == ["conv2d.py", "tests"]
    assert "student code" not in (sub / "conv2d.py").read_text()
    (cmd, kw), = started
    graded = Path(cmd[cmd.index("grade") + 1])
    assert (graded / "conv2d.py").read_text() == "print('student code')\n"
    assert kw["cwd"] == source.resolve()
    assert cmd[cmd.index("--config") + 1] == str(source.resolve() / "assignment" / "config.toml")   # the lab, named
    notebook = plugin.before_execution(None)
    assert not (sub / "conv2d.py").exists()
    assert [c.source for c in notebook.cells] == [otter_plugin.PLACEHOLDER]
    plugin._proc = None
    plugin._cleanup()
