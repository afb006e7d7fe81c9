"""A lab's checks run by pytest on one submission: how a TA sees, test by test, what the grader sees.

    .venv/bin/python -m pytest -p autograder.pytest_plugin --submission conv2d.py assignment/checks
    .venv/bin/python -m pytest -p autograder.pytest_plugin --config=examples/linear_lab/config.toml \\
        --submission linear.py examples/linear_lab/checks

Options (`pytest --help`, group "autograder"):
  --submission FILE     what `python -m autograder grade` takes: a zip, a folder or the lab's file
  --config=CONFIG       the lab's config.toml (default as `python -m autograder`'s: autograder.cli.lab_config_path)
  --fixture-set WHICH   hidden: every check on the hidden cases, as grading does (the default when the
                        lab's hidden set is built); public: the public checks on the public cases, as
                        `grade --public` and the students' `lab.py check` do. (pytest's own --fixtures
                        lists fixtures, hence the name.)

Fixtures for the checks (`test_*` functions declared with autograder.checks' @check):
  code      the submission's code in the sandbox grading uses (autograder.grading.open_adapter: the
            same isolation, limits and closed folders), one per session
  config    the lab's config
  parameters  the lab's own parameters (its [parameters] table, typed by its interface.py's Parameters)
  case      each check is parametrized over the fixture cases it grades (FixtureSet.for_check, as the
            grader runs them), ids the case ids: test_stride[layer_N2_Cin3_Cout2_7x7_k3x3_s2_p1_float64]

Given the checks folder, pytest collects the lab's check_*.py (its own default is test_*.py); the
items run in the grader's order (files by name, functions as defined, cases in fixture order), and
a case's cached results are dropped after its last check, as autograder/runner.py does.

Each item's verdict is the check's own, read as autograder.runner reads it: a case passes when the
check returns; a CheckFailure or a StudentError (the student's code raised, hung, crashed) fails it
with the failure's text (case, problem, likely bug, detail: what feedback.md shows) instead of a
traceback; any other exception is a bug in the grader and fails with its traceback. Which failed
cases another check's bug blocks (autograder/attribution.py) is decided once every check has run,
so pytest fails a blocked case as the check raised it; at the session's end, when every graded case
ran (no -k, -x, --lf, ...), the terminal summary adds the grader's view: per check its points and
the cases passed, failed on their own and blocked (by which check), and the score.
"""

import fnmatch
from collections import Counter
from functools import cached_property
from pathlib import Path

import pytest

from autograder.attribution import attribute
from autograder.checks import declared_check
from autograder.cli import lab_config_path
from autograder.config import ConfigError
from autograder.failures import CheckFailure
from autograder.fixtures import FixtureError, fixture_folder
from autograder.grading import GradingOptions, load_fixtures_for, open_adapter
from autograder.lab_loader import load_lab
from autograder.runner import CheckTally, verdict
from autograder.sandbox import StudentError
from autograder.submission import InvalidSubmission, SubmissionLimits, load_submission

KIT = pytest.StashKey()
FAILURE = pytest.StashKey()         # on an item: the Failure its check raised


class NoCase:
    """The parameter of a check that runs on no case: one the grader does not run, or one that selects
    no case of the fixture set (the grader's own error)."""

    def __repr__(self):
        return "no case"


NO_CASE = NoCase()


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "a lab's checks on one submission (autograder.pytest_plugin)")
    group.addoption("--submission", metavar="FILE", dest="kit_submission",
                    help="the submission to run the checks on: a zip, a folder or the lab's file")
    group.addoption("--config", metavar="CONFIG", dest="kit_config",
                    help="the lab's config.toml (default: python -m autograder's, autograder.cli.lab_config_path); "
                         "write --config=CONFIG")
    group.addoption("--fixture-set", choices=("hidden", "public"), dest="kit_fixture_set",
                    help="hidden: every check on the hidden cases (the default when the lab's hidden set is "
                         "built); public: the public checks on the public cases")


def pytest_configure(config):
    config.stash[KIT] = KitSession(config)


def _kit(config):
    return config.stash[KIT]


class KitSession:
    """The lab, its fixture set, the submission and the verdicts of one pytest session, each loaded on first use."""

    def __init__(self, config):
        self.pytestconfig = config
        self.code = None                # the session's Adapter while it is open
        self.isolation = None           # the sandbox's level, once the student's code ran
        self.items = {}                 # nodeid -> (check name, case or None): the graded items to run
        self.uses_left = Counter()      # case id -> graded items still to run on it
        self.run = None                 # the autograder.runner.CheckTally the verdicts are recorded in
        self.expected = 0               # graded cases the grader runs
        self.recorded = 0               # ... and those that ran here

    def option(self, name):
        return self.pytestconfig.getoption(name)

    @cached_property
    def lab(self):
        try:
            return load_lab(lab_config_path(self.option("kit_config")))
        except ConfigError as exc:
            raise pytest.UsageError(f"autograder: {exc}") from None

    @cached_property
    def which(self):
        if self.option("kit_fixture_set"):
            return self.option("kit_fixture_set")
        hidden = fixture_folder("hidden", self.lab.fixtures_root)
        return "hidden" if (hidden / "manifest.json").is_file() else "public"

    @cached_property
    def selected(self):
        """The checks the grader runs on this set: all on the hidden one, the public ones on the public one."""
        return {name for name, spec in self.lab.config.checks.items() if spec.public or self.which == "hidden"}

    @cached_property
    def fixture_set(self):
        try:
            return load_fixtures_for(self.lab, GradingOptions(which=self.which))
        except (FixtureError, ConfigError) as exc:
            raise pytest.UsageError(f"autograder: the {self.which} fixture set: {exc}") from None

    @cached_property
    def submission(self):
        path = self.option("kit_submission")
        if not path:
            raise pytest.UsageError("autograder: name the submission to run the checks on: --submission FILE")
        try:
            return load_submission(Path(path), SubmissionLimits.of(self.lab))
        except InvalidSubmission as exc:
            raise pytest.UsageError(f"autograder: {path} cannot be graded (the grader's status 'invalid'): "
                                    f"{exc.message}") from None

    def check_of(self, item):
        """The name of the check an item runs, when it is a check of the lab, else None."""
        declared = declared_check(getattr(item, "function", None))
        return declared.name if declared is not None and declared.name in self.lab.config.checks else None


class _Crash:
    """Where and what, in one line: pytest's short summary (-rA), --tb=line and junitxml's message read it."""

    def __init__(self, path, lineno, message):
        self.path, self.lineno, self.message = path, lineno, message

    def __str__(self):
        return f"{self.path}:{self.lineno}: {self.message}"


class FailureText:
    """A failed case's report: the Failure's text, as feedback.md shows it (case, problem, likely bug,
    detail), instead of a traceback through the grader's code; its headline is the one-line message."""

    def __init__(self, failure, item):
        path, lineno, _ = item.location
        self.text = failure.text()
        self.reprcrash = _Crash(path, (lineno or 0) + 1, failure.headline())
        self.one_line = item.config.getoption("tbstyle") == "line"     # then pytest prints reprcrash alone

    def toterminal(self, tw):
        for line in [] if self.one_line else self.text.splitlines():
            tw.line(line)

    def __str__(self):
        return self.text


def _case_of(item):
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("case") if callspec is not None else None


# -- collection ---------------------------------------------------------------------------------

def pytest_sessionstart(session):
    """Refuses, before collecting, a path into another lab's checks folder than --config's."""
    kit = _kit(session.config)
    for arg in session.config.args:
        path = Path(session.config.invocation_params.dir, arg.split("::")[0]).resolve()
        for folder in (path, *path.parents):
            if folder.name == "checks" and (folder.parent / "interface.py").is_file():
                if folder != kit.lab.checks_dir.resolve():
                    raise pytest.UsageError(f"autograder: {arg} is in the checks of another lab than "
                                            f"{kit.lab.config.path}: pass --config={folder.parent / 'config.toml'}")
                break


def pytest_collect_file(file_path, parent):
    """The lab's checks/check_*.py, which pytest's own python_files (test_*.py) leave out."""
    if file_path.suffix != ".py" or not file_path.name.startswith("check_"):
        return None
    if parent.session.isinitpath(file_path) or any(fnmatch.fnmatch(file_path.name, pattern)
                                                   for pattern in parent.config.getini("python_files")):
        return None                                 # pytest's python plugin collects it
    if file_path.parent.resolve() != _kit(parent.config).lab.checks_dir.resolve():
        return None
    return parent.ihook.pytest_pycollect_makemodule(module_path=file_path, parent=parent)


def pytest_generate_tests(metafunc):
    declared = declared_check(metafunc.function)
    if declared is None or not declared.takes_case or "case" not in metafunc.fixturenames:
        return
    kit = _kit(metafunc.config)
    cases = kit.fixture_set.for_check(declared.name) if declared.name in kit.selected else []
    if cases:
        metafunc.parametrize("case", cases, ids=[case.id for case in cases])
    else:
        metafunc.parametrize("case", [NO_CASE], ids=["no-case"])


def pytest_collection_modifyitems(config, items):
    kit = _kit(config)
    for item in items:
        declared = declared_check(getattr(item, "function", None))
        if declared is None:
            continue
        if declared.name not in kit.lab.config.checks:
            item.add_marker(pytest.mark.skip(reason=f"{declared.name} is not a check of {kit.lab.config.path}: "
                                                    f"the grader does not run it"))
        elif declared.name not in kit.selected:
            item.add_marker(pytest.mark.skip(reason=f"{declared.name} is not public: the grader runs it on the "
                                                    f"hidden fixture set only"))


def pytest_collection_finish(session):
    kit = _kit(session.config)
    for item in session.items:
        name, case = kit.check_of(item), _case_of(item)
        if name in kit.selected and case is not NO_CASE:
            kit.items[item.nodeid] = (name, case)
            if case is not None:
                kit.uses_left[case.id] += 1
    if kit.items and not session.config.option.collectonly:
        kit.submission                              # an invalid submission stops here, with its reason
        kit.run = CheckTally(kit.lab.config, kit.selected)
        kit.expected = sum(len(kit.fixture_set.for_check(name)) if takes_case else 1
                           for name, _, _, takes_case in kit.lab.check_functions if name in kit.selected)


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def code(pytestconfig):
    """The submission's code in the grader's sandbox (the lab's Adapter), one per session."""
    kit = _kit(pytestconfig)
    with open_adapter(kit.lab, kit.submission, kit.fixture_set) as (code, sandbox):
        kit.code, kit.isolation = code, sandbox.isolation
        try:
            yield code
        finally:
            kit.code = None


@pytest.fixture(scope="session")
def config(pytestconfig):
    """The lab's config (autograder.config.Config)."""
    return _kit(pytestconfig).lab.config


@pytest.fixture(scope="session")
def parameters(pytestconfig):
    """The lab's own parameters, its [parameters] table typed by its Parameters
    (autograder.lab_loader.Lab.parameters)."""
    return _kit(pytestconfig).lab.parameters


# -- running ------------------------------------------------------------------------------------

def pytest_runtest_setup(item):
    if _case_of(item) is NO_CASE:
        kit = _kit(item.config)
        pytest.fail(f"{kit.check_of(item)} has no case in the {kit.which} fixture set (the grader reports this "
                    f"as its own error): rebuild the fixtures, or widen its cases=", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    """A check's verdict on its case: a CheckFailure or StudentError becomes a plain pytest failure
    holding the Failure, so pytest does not render a traceback through the grader's code that nobody
    reads (~35 ms a failed case); with --pdb the exception goes through as it is, for the debugger."""
    kit = _kit(pyfuncitem.config)
    entry = kit.items.get(pyfuncitem.nodeid)
    try:
        return (yield)
    except (CheckFailure, StudentError) as exc:
        if entry is None:
            raise
        failure = verdict(exc, entry[1])
        pyfuncitem.stash[FAILURE] = failure
        if pyfuncitem.config.getoption("usepdb"):
            raise
        pytest.fail(failure.text(), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    kit = _kit(item.config)
    entry = kit.items.get(item.nodeid)
    if entry is None or call.when != "call" or kit.run is None:
        return report
    name, case = entry
    exc = call.excinfo.value if call.excinfo is not None else None
    failure = item.stash.get(FAILURE, None)
    if failure is not None:
        report.longrepr = FailureText(failure, item)
    if case is not None:                         # the last check on a case: its results can go
        kit.uses_left[case.id] -= 1
        if kit.uses_left[case.id] == 0 and kit.code is not None:
            kit.code.forget(case.id)
    if exc is None or failure is not None or isinstance(exc, Exception):    # not a skip, an exit, an interrupt
        kit.run.record(name, case, failure or (None if exc is None else report.longreprtext))
        kit.recorded += 1
    return report


# -- the grader's view, once every case ran -----------------------------------------------------

def pytest_terminal_summary(terminalreporter):
    kit = _kit(terminalreporter.config)
    if kit.run is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("autograder: the grader's verdict")
    if kit.recorded < kit.expected:
        write(f"not computed: {kit.recorded} of the {kit.expected} graded cases ran; which failed cases another "
              f"check's bug blocks, and the score, need every case (run without -k, -x, --lf, ...)")
        return
    outcomes = kit.run.outcomes
    attribute(outcomes)
    width = max(len(name) for name in outcomes)
    for name, outcome in outcomes.items():
        if outcome.total == 0:
            write(f"{name:<{width}}  no case in the {kit.which} fixture set (the grader's error)")
            continue
        cases = f"{outcome.passed}/{outcome.total} passed"
        if outcome.failures:
            cases += f", {len(outcome.failures)} failed"
        if outcome.blocked:
            blockers = ", ".join(dict.fromkeys(f.blocked_by for f in outcome.blocked))
            cases += f", {len(outcome.blocked)} blocked by {blockers}"
        write(f"{name:<{width}}  {outcome.score:>5g} / {outcome.points:<3g} {cases}")
    score = round(sum(o.score for o in outcomes.values()), 2)
    total = sum(o.points for o in outcomes.values())
    write(f"score {score:g} / {total:g} on the {kit.which} fixtures (isolation {kit.isolation})")
    if any(outcome.blocked for outcome in outcomes.values()):
        write("blocked: failed above, but because another check's property is wrong (autograder/attribution.py); "
              "it earns nothing, as a failure does, and is not this check's failure")
