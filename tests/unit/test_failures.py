"""autograder/failures.py: a failed case as data (its text, same_cause, the round trip through
results.json's extra_data) and root_causes, the one failure per function to read first."""

from types import SimpleNamespace

import pytest

from autograder.error_map import NO_PATTERN
from autograder.failures import CheckFailure, Failure, root_causes


def crash(detail="  line 7, in col2im: IndexError: index 4 is out of bounds for axis 0 with size 4",
          function="col2im", kind="exception", case="C=1"):
    return Failure(case=case, problem="your code failed:", detail=detail, function=function, kind=kind)


def wrong(problem="dX: 3 of 9 values are wrong", function="Conv2d.backward", likely_bug="", detail="", case="N=1"):
    return Failure(case=case, problem=problem, likely_bug=likely_bug, detail=detail, function=function)


def check(title, *failures):
    return SimpleNamespace(title=title, failures=list(failures))


# --- one failure --------------------------------------------------------------------------

@pytest.mark.parametrize("kind, raised", [("wrong", False), ("internal", False), ("exception", True),
                                          ("timeout", True), ("crashed", True), ("bad_reply", True)])
def test_raised_means_the_code_did_not_answer(kind, raised):
    assert Failure(case="", problem="p", kind=kind).raised is raised


def test_headline_and_text():
    f = Failure(case="N=2, stride 2", problem="dX is wrong", likely_bug="the crop", detail="map\nrows")
    assert f.headline() == "[N=2, stride 2] dX is wrong; likely bug: the crop"
    assert f.text() == "[N=2, stride 2] dX is wrong; likely bug: the crop\nmap\nrows"
    assert Failure(case="", problem="p").text() == "p"


def test_same_cause_ignores_the_numbers_of_the_message():
    a = crash("  line 7, in col2im: IndexError: index 4 is out of bounds for axis 0 with size 4", case="C=1")
    b = crash("  line 7, in col2im: IndexError: index 9 is out of bounds for axis 0 with size 9", case="C=3")
    assert a.same_cause(b) and b.same_cause(a)


@pytest.mark.parametrize("other", [
    crash("  line 8, in col2im: KeyError: 'x'"),                     # another exception
    crash(function="Conv2d.backward"),                                 # another function
    crash(kind="timeout"),                                             # another kind
    wrong(function="col2im"),                                          # a wrong answer is no crash
])
def test_same_cause_needs_one_exception_of_one_function(other):
    assert not crash().same_cause(other)


def test_two_wrong_answers_never_share_a_cause():
    assert not wrong().same_cause(wrong())


def test_to_data_is_what_results_json_shows():
    f = Failure(case="N=1", problem="p", likely_bug="b", detail="the map", function="col2im", kind="timeout",
                blame=("x",), blocked_by="other_check")
    data = f.to_data()
    assert data == dict(case="N=1", problem="p", likely_bug="b", function="col2im", kind="timeout",
                        blocked_by="other_check")
    assert "blocked_by" not in Failure(case="", problem="p").to_data()


@pytest.mark.parametrize("blame", [None, (), ("x", "y")])
def test_to_record_and_back_keeps_every_field(blame):
    f = Failure(case="N=1", problem="p", likely_bug="b", detail="the map", function="col2im", kind="timeout",
                blame=blame, blocked_by="other_check")
    assert Failure.from_record(f.to_record()) == f


@pytest.mark.parametrize("change", [lambda d: d.pop("detail"), lambda d: d.update(extra="x"),
                                    lambda d: d.update(problem=3), lambda d: d.update(case=None),
                                    lambda d: d.update(blame="x"), lambda d: d.update(blame=[1])])
def test_from_record_refuses_what_is_not_a_failure(change):
    data = Failure(case="x", problem="p").to_record()
    change(data)
    with pytest.raises(ValueError):
        Failure.from_record(data)
    for junk in (None, [], "text"):
        with pytest.raises(ValueError):
            Failure.from_record(junk)


def test_check_failure_carries_the_failure_and_its_text():
    case = SimpleNamespace(describe=lambda: "N=2, padding 1")
    exc = CheckFailure(case, "dW is wrong", likely_bug="averaged", detail="d", function="Conv2d.backward",
                       blame=["batch_sum"])
    assert exc.failure == Failure(case="N=2, padding 1", problem="dW is wrong", likely_bug="averaged", detail="d",
                                  function="Conv2d.backward", blame=("batch_sum",))
    assert str(exc) == exc.failure.text()
    assert isinstance(exc, AssertionError)          # a check is a pytest test: a failed assertion
    assert CheckFailure(None, "p").failure.case == ""
    assert CheckFailure("plain id", "p").failure.case == "plain id"
    assert CheckFailure(None, "p").failure.blame is None and CheckFailure(None, "p", blame=()).failure.blame == ()


# --- root_causes ----------------------------------------------------------------------------

def test_one_cause_per_function_in_check_order_naming_every_check_it_reaches():
    first = crash()
    causes = root_causes([check("A", first, crash(case="C=2")),
                          check("B", wrong()),
                          check("C", crash(case="C=5")),
                          check("D", wrong(case="N=4"))])
    assert [c.function for c in causes] == ["col2im", "Conv2d.backward"]
    assert causes[0].failure is first and causes[0].check == "A" and causes[0].checks == ("A", "C")
    assert causes[1].check == "B" and causes[1].checks == ("B", "D")


def test_a_later_failure_that_names_a_likely_bug_is_the_better_first_lesson():
    plain, named = wrong(), wrong(likely_bug="the sign is flipped", case="N=3")
    cause, = root_causes([check("A", plain), check("B", named)])
    assert cause.failure is named and cause.check == "B" and cause.checks == ("A", "B")


def test_a_map_whose_reading_names_a_pattern_beats_one_that_does_not():
    blind = wrong(detail=f"where it is wrong:\nreading: {NO_PATTERN}")
    telling = wrong(detail="where it is wrong:\nreading: only the border (1 pixel wide) is wrong: the crop")
    cause, = root_causes([check("A", blind), check("B", telling)])
    assert cause.failure is telling
    cause, = root_causes([check("A", telling), check("B", blind)])
    assert cause.failure is telling


def test_a_crash_stays_the_cause_whatever_comes_later():
    first = crash(function="Conv2d.backward")
    cause, = root_causes([check("A", first), check("B", wrong(likely_bug="named bug"))])
    assert cause.failure is first


def test_the_graders_own_errors_are_no_root_cause():
    internal = Failure(case="x", problem="the grader hit an internal error", kind="internal", function="col2im")
    assert root_causes([check("A", internal)]) == []
    assert root_causes([check("A", internal, wrong(function="col2im"))])[0].failure.kind == "wrong"


def test_no_failure_no_cause():
    assert root_causes([check("A"), check("B")]) == []
