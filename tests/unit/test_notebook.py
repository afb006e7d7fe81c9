"""autograder/notebook.py's words for one check (PASS, FAIL, BLOCKED, NOT IMPLEMENTED) and its one-line
failure, on hand-made outcomes; its public_checks and build_submission grade in a sandbox (not here)."""

from autograder.failures import Failure
from autograder.notebook import NOT_IMPLEMENTED, check_status, first_failure_line
from autograder.results import CheckOutcome


def outcome(failures=(), blocked=(), passed=0):
    failures, blocked = list(failures), list(blocked)
    return CheckOutcome("c", "C", 1, "visible", "cat", "h", passed=passed,
                        total=passed + len(failures) + len(blocked), failures=failures, blocked=blocked)


STUB = Failure(case="N=1", problem="your code failed:", kind="exception", function="Conv2d.backward",
               detail="  line 9, in backward: NotImplementedError: backward is not implemented yet")


def test_the_four_statuses():
    assert check_status(outcome(passed=3)) == "PASS"
    assert check_status(outcome([Failure(case="x", problem="wrong")], passed=1)) == "FAIL"
    assert check_status(outcome(blocked=[Failure(case="x", problem="p", blocked_by="other")])) == "BLOCKED"
    assert check_status(outcome([STUB])) == NOT_IMPLEMENTED


def test_a_stub_seen_through_a_blocked_case_is_still_not_implemented():
    assert check_status(outcome(blocked=[Failure(**{**STUB.__dict__, "blocked_by": "other"})])) == NOT_IMPLEMENTED


def test_a_wrong_answer_mentioning_the_word_is_no_stub():
    wrong = Failure(case="x", problem="values wrong", detail="NotImplementedError in a comment")
    assert check_status(outcome([wrong])) == "FAIL"


def test_the_first_failure_line_never_stops_at_the_colon():
    assert first_failure_line(STUB) == ("[N=1] your code failed: line 9, in backward: NotImplementedError: "
                                        "backward is not implemented yet")
    plain = Failure(case="N=2", problem="dX is wrong", likely_bug="the crop", detail="map\nrows")
    assert first_failure_line(plain) == "[N=2] dX is wrong; likely bug: the crop"
    assert len(first_failure_line(Failure(case="", problem="p" * 1000), width=50)) == 50
