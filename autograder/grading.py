"""Grading one submission: unpack, sandbox, run the checks, write the results.

    report = grade_submission(path, out_dir)

Data flow (design.md section 2): submission -> fixtures -> sandbox -> checks ->
results. The checks are pytest tests run here, in the trusted process; the
student's code only ever runs inside the sandbox's worker.
"""

import os
import tempfile
import time
import types
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.failures import CheckFailure, Failure
from autograder.fixtures import FixtureError, fixture_folder, load_fixture_set
from autograder.lab import load_lab
from autograder.results import CheckOutcome, GradeReport, write_report
from autograder.sandbox import Limits, Sandbox, StudentError
from autograder.submission import InvalidSubmission, SubmissionLimits, load_submission, write_source


@dataclass(frozen=True)
class GradingOptions:
    """Which fixtures and checks to use; the defaults grade for real."""
    which: str = "hidden"                # 'hidden' or 'public' fixture set
    public_only: bool = False            # run only checks marked public (students' self-check)
    fixtures_root: Path = None           # folder holding hidden/ and public/ (default build/fixtures)
    isolation: str = None                # force a sandbox level (tests); None picks the best
    config_path: Path = None             # the lab's config.toml (default assignment/config.toml)


class GradingPlugin:
    """pytest plugin: feeds cases and the student's code to the checks, collects outcomes."""

    def __init__(self, config, fixture_set, student, selected):
        self._config, self._fixture_set, self._student = config, fixture_set, student
        self.selected = selected
        self.outcomes = {name: CheckOutcome(name, spec.title, spec.points, spec.visibility,
                                            spec.category, spec.hint)
                         for name, spec in config.checks.items() if name in selected}
        self.internal_errors = []
        self._uses_left = Counter()            # case id -> checks still to run on it

    @staticmethod
    def check_name(item):
        marker = item.get_closest_marker("check")
        return marker.args[0] if marker else None

    @staticmethod
    def case_of(item):
        """The fixture case an item checks; None for a check with no case here (pytest's empty parameter set)."""
        case = item.callspec.params.get("case") if hasattr(item, "callspec") else None
        return case if isinstance(getattr(case, "id", None), str) else None

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "check(name, cases=None): a graded check named in the lab's "
                                "config.toml; cases(case) -> bool picks its fixture cases")

    def pytest_generate_tests(self, metafunc):
        marker = metafunc.definition.get_closest_marker("check")
        if marker and "case" in metafunc.fixturenames:
            cases = self._fixture_set.for_check(marker.args[0], marker.kwargs.get("cases"))
            metafunc.parametrize("case", cases, ids=[c.id for c in cases])

    def pytest_collection_modifyitems(self, items):
        items[:] = [item for item in items if self.check_name(item) in self.outcomes]
        self._uses_left = Counter(self.case_of(item).id for item in items if self.case_of(item) is not None)

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        """Records an expected failure (a check's verdict) here and tells pytest the call ran.

        pytest would otherwise filter and render a traceback for every failed case
        (~4 ms each, most of a template's grading time); our own message is all the
        feedback needs. Anything else (a bug in the grader) propagates as a failure.
        """
        try:
            return (yield)
        except StudentError as exc:
            case = self.case_of(pyfuncitem)
            pyfuncitem.grading_failure = Failure(case=case.describe() if case is not None else "",
                                                 problem="your code failed:", detail=exc.message,
                                                 function=exc.call, kind=exc.kind)
        except CheckFailure as exc:           # written for the student
            pyfuncitem.grading_failure = exc.failure
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self._record(item, report)
        return report

    def _record(self, item, report):
        case = self.case_of(item)
        if case is not None:                   # the last check on a case: its results can go
            self._uses_left[case.id] -= 1
            if self._uses_left[case.id] == 0:
                self._student.forget(case.id)
        outcome = self.outcomes[self.check_name(item)]
        outcome.total += 1
        if getattr(item, "grading_failure", None):
            outcome.failures.append(item.grading_failure)
        elif report.outcome == "passed":
            outcome.passed += 1
        else:
            # A bug in the grader itself: the student sees a neutral line, staff see the traceback.
            case = self.case_of(item)
            outcome.failures.append(Failure(case=case.describe() if case is not None else "", kind="internal",
                                            problem="the grader hit an internal error on this case "
                                                    "(course staff have been told)"))
            if len(self.internal_errors) < 5:
                self.internal_errors.append(f"{item.nodeid}: {report.longreprtext[-1500:]}")


def _session_fixtures(**values):
    """A plugin holding one session-scoped fixture per value: set up once per grading,
    not once per test item (pytest deprecates such fixtures as methods of a plugin)."""
    def fixture(name, value):
        return pytest.fixture(lambda: value, name=name, scope="session")
    plugin = types.ModuleType("grading_session_fixtures")    # pytest reads fixtures off a module's attributes
    for name, value in values.items():
        setattr(plugin, f"{name}_fixture", fixture(name, value))
    return plugin


def run_checks(lab, fixture_set, student, selected):
    """Runs the lab's selected checks with pytest in this process; returns the plugin with outcomes."""
    config = lab.config
    plugin = GradingPlugin(config, fixture_set, student, selected)
    checks_dir = lab.checks_dir
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"     # hypothesis's plugin costs 0.5 s to load
    # Plugins a grading run does not use: each adds work to every one of ~160 test items.
    unused = ["cacheprovider", "terminal", "warnings", "logging", "capture", "faulthandler", "junitxml",
              "doctest", "pastebin", "stepwise", "lsof", "tmpdir", "monkeypatch", "setuponly", "setupplan",
              "unraisableexception", "threadexception", "debugging", "legacypath", "nose"]
    args = [str(checks_dir), *(a for name in unused for a in ("-p", f"no:{name}")),
            "--assert=plain", "-c", os.devnull, "--rootdir", str(checks_dir),
            "-o", "python_files=check_*.py", "-o", "python_functions=test_*"]
    code = pytest.main(args, plugins=[plugin, _session_fixtures(student=student, config=config)])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        plugin.internal_errors.append(f"pytest exited with {code!r}")
    for name, outcome in plugin.outcomes.items():
        if outcome.total == 0:
            plugin.internal_errors.append(f"check {name} has no case in the fixture set")
    return plugin


def secret_paths(fixture_folder, out_dir, reference):
    """What the worker must not read where only file permissions protect it ('uid' isolation):
    the fixture set, the folder of the reference solution and this submission's results.
    Only these folders themselves are closed (never a parent such as /tmp); batch mode
    closes its own output folder so students cannot read each other's results."""
    return [p for p in (Path(fixture_folder), Path(out_dir), Path(reference).parent) if p.exists()]


def limits_from(config):
    """The sandbox's Limits from the config's typed [limits]."""
    lim = config.limits
    return Limits(call_timeout_s=lim.call_timeout_s, import_timeout_s=lim.import_timeout_s,
                  cpu_s=lim.cpu_s, memory_mb=lim.memory_mb, file_size_mb=lim.file_size_mb,
                  open_files=lim.open_files, processes=lim.processes)


def _report_without_checks(status, message, config, started, extra):
    outcomes = [CheckOutcome(n, s.title, s.points, s.visibility, s.category, s.hint)
                for n, s in config.checks.items()]
    return GradeReport(status=status, message=message, checks=outcomes, max_score=config.max_score,
                       execution_time=time.monotonic() - started, extra=extra)


def load_fixtures_for(config, options):
    """The verified fixture set that `options` asks for, worded by its lab; raises FixtureError."""
    seed = config.hidden_seed if options.which == "hidden" else config.public_seed
    lab = load_lab(config.path)
    folder = fixture_folder(options.which, options.fixtures_root or lab.fixtures_root)
    return load_fixture_set(folder, seed, options.which, lab=lab)


def grade_submission(path, out_dir, options=GradingOptions(), fixture_set=None):
    """Grades one submission into out_dir/results.json and feedback.md; returns the GradeReport.

    fixture_set: an already verified set (a batch's grading process verifies and loads
    it once for all its submissions); by default it is loaded and verified here.
    Never raises for anything the student did: an unusable submission gives status
    'invalid' with a message, a fixture problem gives status 'error' for the staff.
    """
    started = time.monotonic()
    lab = load_lab(options.config_path)
    config = lab.config
    extra = {"check_set": "public" if options.public_only else "all", "fixture_set": options.which}
    try:
        fixture_set = fixture_set or load_fixtures_for(config, options)
        seed = fixture_set.manifest["seed"]
        extra.update(fixture_set_hash=fixture_set.set_hash, fixture_seed=seed)
        submission = load_submission(Path(path), SubmissionLimits(target=config.submission_file, contract=lab.contract))
        extra.update(submission_sha256=submission.sha256, submission_origin=submission.origin)
        if submission.notes:
            extra["submission_notes"] = list(submission.notes)
    except FixtureError as exc:
        report = _report_without_checks("error", f"Grading could not start (staff problem, not yours): {exc}",
                                        config, started, extra)
        write_report(report, out_dir)
        return report
    except InvalidSubmission as exc:
        report = _report_without_checks("invalid", f"Your submission could not be graded: {exc.message}",
                                        config, started, extra)
        write_report(report, out_dir)
        return report

    selected = {n for n, s in config.checks.items() if s.public or not options.public_only}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="convkit-src-") as src:
        student_file = write_source(submission, Path(src), config.submission_file)
        with Sandbox(student_file, limits_from(config), isolation=options.isolation, contract=lab.contract,
                     secret_paths=secret_paths(fixture_set.folder, out_dir, lab.reference)) as sandbox:
            extra["isolation"] = sandbox.isolation
            student = lab.student_class(sandbox, config.limits.total_timeout_s)
            plugin = run_checks(lab, fixture_set, student, selected)
            printed = sandbox.output()
            import_error = sandbox.import_error
    outcomes = [plugin.outcomes[n] for n in config.checks if n in plugin.outcomes]
    if import_error is not None:
        message = (f"Your {config.submission_file} could not be imported, so every check failed: "
                   f"{import_error.message}")
    else:
        message = f"Graded {len(outcomes)} checks against the {options.which} fixtures."
    message = " ".join([message, *submission.notes])
    if plugin.internal_errors:
        extra["internal_errors"] = plugin.internal_errors
    report = GradeReport(status="error" if plugin.internal_errors else "graded", message=message,
                         checks=outcomes, max_score=sum(c.points for c in outcomes),
                         execution_time=time.monotonic() - started, extra=extra, student_output=printed)
    write_report(report, out_dir)
    return report
