"""Runs a lab's checks on their fixture cases, in the trusted process, and tallies the outcomes.

The checks are `test_*` functions declared with `@check(name, cases=select)` (autograder/checks.py)
taking `code`, `config`, `parameters` and `case` (those they name), so a lab author reads and
writes plain pytest tests, and a TA can run them with pytest on one submission (autograder/pytest_plugin.py). Grading calls them
directly rather than through `pytest.main`: a pytest session costs ~70 ms of CPU per submission for
its ~180 items (collection, hooks, reports), about a sixth of a batch's whole cost per submission,
and grading uses none of its features. The order is pytest's: files by name, functions as defined,
cases in fixture order.
"""

import inspect
import traceback
from collections import Counter
from dataclasses import replace

from autograder.attribution import attribute
from autograder.failures import CheckFailure, Failure
from autograder.results import CheckOutcome
from autograder.sandbox import StudentError

MAX_INTERNAL_ERRORS = 5         # tracebacks kept for the staff; the students see a neutral line


class CheckTally:
    """The outcome of every selected check, and the grader's own errors (for the staff)."""

    def __init__(self, config, selected):
        self.outcomes = {name: CheckOutcome.from_spec(name, spec)
                         for name, spec in config.checks.items() if name in selected}
        self.internal_errors = []

    def record(self, name, case, error=None):
        """error: None (passed), a Failure, or the grader's own traceback text."""
        outcome = self.outcomes[name]
        if error is None:
            self.outcomes[name] = replace(outcome, total=outcome.total + 1, passed=outcome.passed + 1)
            return
        failure = error if isinstance(error, Failure) else Failure(
            case=case.describe() if case is not None else "", kind="internal",
            problem="the grader hit an internal error on this case (course staff have been told)")
        self.outcomes[name] = replace(outcome, total=outcome.total + 1, failures=(*outcome.failures, failure))
        if not isinstance(error, Failure) and len(self.internal_errors) < MAX_INTERNAL_ERRORS:
            where = f"{name}[{case.id}]" if case is not None else name
            self.internal_errors.append(f"{where}: {error[-1500:]}")


def verdict(exc, case):
    """The Failure a check's exception stands for on `case` (None for a check without cases): a
    CheckFailure's own (written for the student), a StudentError as the student's code failing
    (raised, hung, crashed); None for anything else, which is a bug in the grader."""
    if isinstance(exc, CheckFailure):
        return exc.failure
    if isinstance(exc, StudentError):
        return Failure(case=case.describe() if case is not None else "", problem="your code failed:",
                       detail=exc.message, function=exc.call, kind=exc.kind)
    return None


def _items(lab, fixture_set, selected):
    """[(check name, function, case or None)] in pytest's order, for the selected checks."""
    items = []
    for name, function, _, takes_case in lab.check_functions:
        if name not in selected:
            continue
        if takes_case:
            items += [(name, function, case) for case in fixture_set.for_check(name)]
        else:
            items.append((name, function, None))
    return items


def run_checks(lab, fixture_set, code, selected):
    """Runs the lab's selected checks on their cases; returns the CheckTally.

    A check passes a case when it returns; a CheckFailure is its verdict; a StudentError
    is the student's code failing (raised, hung, crashed); anything else is a bug in the
    grader (an 'internal' failure, and a traceback for the staff). KeyboardInterrupt and
    SystemExit go through: the batch stops on them.
    """
    config = lab.config
    run = CheckTally(config, selected)
    items = _items(lab, fixture_set, selected)
    uses_left = Counter(case.id for _, _, case in items if case is not None)
    given = {"code": code, "config": config, "parameters": lab.parameters}
    takes = {}                                 # function -> the arguments it names (of autograder.checks.ARGUMENTS)
    for name, function, case in items:
        if function not in takes:
            takes[function] = tuple(inspect.signature(function).parameters)
        kwargs = {arg: case if arg == "case" else given[arg] for arg in takes[function]}
        try:
            function(**kwargs)
            error = None
        except (StudentError, CheckFailure) as exc:
            error = verdict(exc, case)
        except Exception:
            error = traceback.format_exc()
        if case is not None:                   # the last check on a case: its results can go
            uses_left[case.id] -= 1
            if uses_left[case.id] == 0:
                code.forget(case.id)
        run.record(name, case, error)
    for name, outcome in run.outcomes.items():
        if outcome.total == 0:
            run.internal_errors.append(f"check {name} has no case in the fixture set")
    attribute(run.outcomes)
    return run
