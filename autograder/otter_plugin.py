"""otter-grader plugin: scores come from the kit's sandboxed grader, never from otter's kernel.

Named in the otter_config.json that `python -m autograder package otter` (autograder/staff/otter_bridge.py) writes.
Otter (7.0.0, pinned) calls, in its own parent process: ``before_grading`` (copy the one
.py otter picked to a private folder, empty the submission folder, start
``python -m autograder grade`` on the copy from the kit inside the zip), ``before_execution``
(the kernel gets a comment cell: it never runs student code), ``after_grading`` (the
results are REBUILT from the kit's grade record, grade.json, rendered as Gradescope's results.json
is; otter's are discarded). If the kit's
grader cannot run, OtterRuntimeError: score 0, never a score from otter's kernel.
Why this holds and what it does not protect: docs/otter.md.
"""

import atexit
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.run.run_autograder.utils import OtterRuntimeError
from otter.test_files import GradingResults
from otter.test_files.abstract_test import TestCase, TestCaseResult, TestFile

from autograder.limits import Limits
from autograder.results import GradeRecordError, GradeReport

PLUGIN_NAME = "autograder.otter_plugin.KitGraderPlugin"
DEFAULT_TIMEOUT_S = Limits().outer_timeout_s()     # the bridge writes the lab's own into otter_config.json
LAB_FILE = "LAB"                   # the packaged grader's pointer to its lab's config.toml (config.LAB_POINTER)
KEEP = "tests"                     # otter's own test files, copied fresh from the zip by otter
PLACEHOLDER = ("# This submission is graded by the kit's sandboxed grader (autograder.otter_plugin);\n"
               "# otter's kernel does not run it.\n")


class KitCheckFile(TestFile):
    """One kit check as an otter test file: one case, the kit's score and feedback."""

    @classmethod
    def from_check(cls, entry):
        name = entry["extra_data"]["check"]
        case = TestCase(name=name, body=None, hidden=entry.get("visibility") != "visible",
                        points=entry["max_score"], success_message=None, failure_message=None)
        test_file = cls(name, f"tests/{name}.py", [case], all_or_nothing=False)
        test_file.test_case_results = [TestCaseResult(test_case=case, message=entry.get("output", ""),
                                                      passed=entry.get("status") == "passed")]
        test_file.update_score(entry["score"])
        return test_file

    @classmethod
    def from_file(cls, path):
        raise NotImplementedError("kit checks are not read from files")

    @classmethod
    def from_metadata(cls, s, path):
        raise NotImplementedError("kit checks are not read from notebook metadata")

    def run(self, global_environment):
        raise NotImplementedError("kit checks run in the kit's grader, not in otter's kernel")


class KitGradingResults(GradingResults):
    """GradingResults whose Gradescope dict is the kit's grade record rendered as its results.json is: tests
    named by the checks' titles, as on Gradescope (the check's id stays in extra_data.check)."""

    def to_gradescope_dict(self, ag_config):
        kit = self.get_plugin_data(PLUGIN_NAME)
        if kit is None:                       # not graded by the plugin: otter's own format
            return super().to_gradescope_dict(ag_config)
        tests = []
        for entry in kit.get("tests", []):
            tests.append(dict(entry))          # the kit's own name: the check's title, as on Gradescope
        output = dict(kit, tests=tests)
        output["extra_data"] = dict(kit.get("extra_data", {}), graded_via="otter-grader + autograder.otter_plugin")
        return output


def _remove(path):
    """Removes a file, link or folder without following links."""
    mode = os.lstat(path).st_mode
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


class KitGraderPlugin(AbstractOtterPlugin):
    """Grades the submission with the kit's grader in a child process and makes its scores otter's."""

    def __init__(self, submission_path, submission_metadata, plugin_config):
        super().__init__(submission_path, submission_metadata, plugin_config or {})
        self._private = None
        self._proc = None
        self._kit = None
        atexit.register(self._cleanup)

    # -- hooks ---------------------------------------------------------------------
    def during_generate(self, otter_config, assignment):
        """Nothing to change: the bridge writes the config. Being called proves the plugin imports."""

    def before_grading(self, config):
        kit_root = Path(self.plugin_config.get("kit_root") or Path(config.autograder_dir) / "source").resolve()
        # The packaged grader: the engine and the LAB file naming its lab's config.toml (whose fixtures
        # the grader itself checks, with a message in results.json when they are missing).
        needed = ["autograder/__main__.py", LAB_FILE]
        if (kit_root / LAB_FILE).is_file():
            needed.append((kit_root / LAB_FILE).read_text(encoding="utf-8").strip())
        for name in needed:
            if not (kit_root / name).is_file():
                raise OtterRuntimeError(f"the kit's grader is missing from {kit_root} ({name}): rebuild the "
                                        f"autograder zip with `python -m autograder package otter`")
        self._private = Path(tempfile.mkdtemp(prefix="convkit-otter-"))
        submission_dir = self._private / "submission"
        submission_dir.mkdir()
        student = Path(self.submission_path)
        if stat.S_ISREG(os.lstat(student).st_mode):
            shutil.copyfile(student, submission_dir / student.name)     # a folder: the kit finds the lab's file or says why not
        for entry in student.parent.iterdir():
            if entry.name != KEEP:
                _remove(entry)
        student.write_text(PLACEHOLDER, encoding="utf-8")               # otter reads it once, before before_execution
        out_dir = self._private / "out"
        config = kit_root / (kit_root / "LAB").read_text(encoding="utf-8").strip()   # the kit's lab (packaging)
        cmd = [sys.executable, "-m", "autograder", "--config", str(config), "grade", str(submission_dir),
               "--out", str(out_dir), "--quiet"]
        env = dict(os.environ, PYTHONPATH=str(kit_root), PYTHONDONTWRITEBYTECODE="1",
                   PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        self._out_dir = out_dir
        self._proc = subprocess.Popen(cmd, cwd=kit_root, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def before_execution(self, submission):
        Path(self.submission_path).unlink(missing_ok=True)
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PLACEHOLDER)])

    def after_grading(self, results):
        kit = self._wait_for_kit()
        results.clear_results()
        for entry in kit.get("tests", []):
            test_file = KitCheckFile.from_check(entry)
            results.results[test_file.name] = test_file
        results._catastrophic_error = None         # otter's kernel results are discarded, failed or not
        results.set_output(kit.get("output", ""))
        results.set_plugin_data(PLUGIN_NAME, kit)
        results.__class__ = KitGradingResults

    def generate_report(self):
        if self._kit is None:
            return "the kit's grader did not run"
        extra = self._kit.get("extra_data", {})
        return (f"Scores from the kit's sandboxed grader: {self._kit.get('score', 0):g} / "
                f"{extra.get('max_score', 0):g} ({extra.get('status')}; isolation {extra.get('isolation', '?')}; "
                f"grader {extra.get('grader_version')}; fixture set {str(extra.get('fixture_set_hash', '?'))[:12]})")

    # -- helpers -------------------------------------------------------------------
    def _wait_for_kit(self):
        if self._proc is None:
            raise OtterRuntimeError("the kit's grader was never started (before_grading did not run)")
        timeout = float(self.plugin_config.get("timeout_s", DEFAULT_TIMEOUT_S))
        try:
            log, _ = self._proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            raise OtterRuntimeError(f"the kit's grader did not finish within {timeout:g} s") from None
        try:
            kit = GradeReport.read(self._out_dir).to_gradescope()
        except GradeRecordError as exc:
            raise OtterRuntimeError(f"the kit's grader wrote no grade record (exit "
                                    f"{self._proc.returncode}): {exc}\n{(log or '')[-2000:]}") from None
        self._kit = kit
        self._cleanup()
        return kit

    def _cleanup(self):
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None
