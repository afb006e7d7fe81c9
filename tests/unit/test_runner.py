"""autograder/runner.py: run_checks with a fake lab (its config and check functions), a fake fixture set
and a fake adapter: the order of calls, what each outcome of a check becomes (pass, CheckFailure,
StudentError, a grader bug), when a case's results are forgotten, and attribution applied at the end."""

from types import SimpleNamespace

import pytest

from autograder.config import CheckSpec
from autograder.failures import CheckFailure
from autograder.runner import MAX_INTERNAL_ERRORS, run_checks
from autograder.sandbox import StudentError


def spec(name, needs=()):
    return CheckSpec(name=name, title=f"Title {name}", points=2, visibility="visible", public=True, category="c",
                     hint=f"hint {name}", needs=tuple(needs))


class Case(SimpleNamespace):
    def describe(self):
        return f"described {self.id}"


class FixtureSet:
    def __init__(self, cases):
        self.cases = cases

    def for_check(self, name):
        return [c for c in self.cases if name in c.checks]


class Adapter:
    """Records every call the checks make and every case the runner lets it forget."""
    def __init__(self):
        self.log = []

    def forget(self, case_id):
        self.log.append(("forget", case_id))


def fake_lab(functions, needs=None, parameters=None):
    """functions: [(check name, function, takes a case)] in the lab's (pytest's) order."""
    needs = needs or {}
    names = list(dict.fromkeys(name for name, _, _ in functions))
    config = SimpleNamespace(checks={n: spec(n, needs.get(n, ())) for n in names})
    return SimpleNamespace(config=config, parameters=parameters,
                           check_functions=[(n, f, None, takes) for n, f, takes in functions])


CASES = [Case(id="c1", checks=("a", "b")), Case(id="c2", checks=("a",)), Case(id="c3", checks=("b",))]


def recording(name, verdict=lambda case: None):
    def check(code, config, case):
        code.log.append((name, case.id))
        assert config.checks[name].name == name
        verdict(case)
    return check


def test_checks_run_in_the_labs_order_over_their_cases_and_pass():
    lab = fake_lab([("a", recording("a"), True), ("b", recording("b"), True)])
    code = Adapter()
    run = run_checks(lab, FixtureSet(CASES), code, {"a", "b"})
    assert [e for e in code.log if e[0] != "forget"] == [("a", "c1"), ("a", "c2"), ("b", "c1"), ("b", "c3")]
    assert {n: (o.passed, o.total, o.failures) for n, o in run.outcomes.items()} == {"a": (2, 2, ()), "b": (2, 2, ())}
    assert run.internal_errors == []


def test_a_cases_results_are_forgotten_after_the_last_check_that_uses_it():
    lab = fake_lab([("a", recording("a"), True), ("b", recording("b"), True)])
    code = Adapter()
    run_checks(lab, FixtureSet(CASES), code, {"a", "b"})
    assert code.log == [("a", "c1"), ("a", "c2"), ("forget", "c2"), ("b", "c1"), ("forget", "c1"),
                           ("b", "c3"), ("forget", "c3")]


def test_only_the_selected_checks_run_and_are_reported():
    lab = fake_lab([("a", recording("a"), True), ("b", recording("b"), True)])
    code = Adapter()
    run = run_checks(lab, FixtureSet(CASES), code, {"b"})
    assert list(run.outcomes) == ["b"] and ("a", "c1") not in code.log
    assert ("forget", "c1") in code.log                     # c1's last use among the selected checks


def test_a_check_without_a_case_runs_once_without_one():
    calls = []
    lab = fake_lab([("whole", lambda code, config: calls.append(code), False)])
    code = Adapter()
    run = run_checks(lab, FixtureSet(CASES), code, {"whole"})
    assert calls == [code] and (run.outcomes["whole"].passed, run.outcomes["whole"].total) == (1, 1)
    assert code.log == []


def test_a_check_is_called_with_the_arguments_it_names_the_labs_parameters_among_them():
    calls = []
    lab = fake_lab([("a", lambda parameters, case: calls.append((parameters, case.id)), True)], parameters="typed")
    run = run_checks(lab, FixtureSet(CASES), Adapter(), {"a"})
    assert calls == [("typed", "c1"), ("typed", "c2")] and run.outcomes["a"].passed == 2


def test_a_check_failure_is_the_checks_verdict_on_that_case():
    def verdict(case):
        if case.id == "c2":
            raise CheckFailure(case, "dX is wrong", likely_bug="the crop", function="Conv2d.backward")
    run = run_checks(fake_lab([("a", recording("a", verdict), True)]), FixtureSet(CASES), Adapter(), {"a"})
    outcome = run.outcomes["a"]
    assert (outcome.passed, outcome.total) == (1, 2)
    failure, = outcome.failures
    assert (failure.case, failure.problem, failure.likely_bug, failure.kind) == ("described c2", "dX is wrong",
                                                                                  "the crop", "wrong")


def test_a_student_error_is_the_students_code_failing():
    def verdict(case):
        raise StudentError("timeout", "col2im used more than 10 s of CPU", call="col2im")
    run = run_checks(fake_lab([("a", recording("a", verdict), True)]), FixtureSet(CASES[:1]), Adapter(), {"a"})
    failure, = run.outcomes["a"].failures
    assert (failure.kind, failure.function, failure.detail, failure.case) == (
        "timeout", "col2im", "col2im used more than 10 s of CPU", "described c1")
    assert failure.raised and run.internal_errors == []


def test_any_other_exception_is_a_grader_bug_told_to_the_staff_not_the_student():
    def verdict(case):
        raise KeyError("secret_expected_name")
    run = run_checks(fake_lab([("a", recording("a", verdict), True)]), FixtureSet(CASES[:1]), Adapter(), {"a"})
    failure, = run.outcomes["a"].failures
    assert failure.kind == "internal" and "internal error" in failure.problem
    assert "secret_expected_name" not in failure.text()
    error, = run.internal_errors
    assert error.startswith("a[c1]: Traceback") and "KeyError: 'secret_expected_name'" in error


def test_the_staff_get_a_few_tracebacks_each_cut_to_its_end():
    cases = [Case(id=f"c{i}", checks=("a",)) for i in range(MAX_INTERNAL_ERRORS + 3)]

    def verdict(case):
        raise RuntimeError("x" * 5000 + "END")
    run = run_checks(fake_lab([("a", recording("a", verdict), True)]), FixtureSet(cases), Adapter(), {"a"})
    assert len(run.outcomes["a"].failures) == len(cases)
    assert len(run.internal_errors) == MAX_INTERNAL_ERRORS
    assert all(e.endswith("END\n") and len(e) < 1600 for e in run.internal_errors)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_goes_through(stop):
    def verdict(case):
        raise stop()
    with pytest.raises(stop):
        run_checks(fake_lab([("a", recording("a", verdict), True)]), FixtureSet(CASES), Adapter(), {"a"})


def test_a_check_with_no_case_in_the_set_is_reported_to_the_staff():
    run = run_checks(fake_lab([("a", recording("a"), True), ("z", recording("z"), True)]), FixtureSet(CASES),
                     Adapter(), {"a", "z"})
    assert run.internal_errors == ["check z has no case in the fixture set"]
    assert run.outcomes["z"].total == 0 and not run.outcomes["z"].ok


def test_outcomes_carry_the_configs_words_and_needs():
    run = run_checks(fake_lab([("a", recording("a"), True)], needs={"a": ()}), FixtureSet(CASES), Adapter(), {"a"})
    outcome = run.outcomes["a"]
    assert (outcome.title, outcome.points, outcome.hint, outcome.needs) == ("Title a", 2, "hint a", ())


def test_blocked_cases_are_attributed_when_every_check_has_run():
    def col2im_wrong(case):
        raise CheckFailure(case, "col2im is wrong", function="col2im")

    def dx_wrong(case):
        raise CheckFailure(case, "dX is wrong", function="Conv2d.backward")
    lab = fake_lab([("a", recording("a", col2im_wrong), True), ("b", recording("b", dx_wrong), True)],
                   needs={"b": ("a",)})
    run = run_checks(lab, FixtureSet(CASES), Adapter(), {"a", "b"})
    assert len(run.outcomes["a"].failures) == 2 and run.outcomes["b"].failures == ()
    assert [f.blocked_by for f in run.outcomes["b"].blocked] == ["a", "a"]
