"""autograder/attribution.py: which failed cases are a check's own and which another check's bug blocks.

Each test builds CheckOutcomes by hand (config order = dict order) and reads, after attribute(),
which failures stayed (.failures) and which moved to .blocked with the blocking check's name."""

import pytest

from autograder.attribution import attribute
from autograder.failures import Failure
from autograder.results import CheckOutcome


def outcome(name, *failures, needs=(), total=None):
    failures = list(failures)
    return CheckOutcome(name, f"title {name}", 1, "visible", "c", "hint", passed=0,
                        total=len(failures) if total is None else total, failures=failures, needs=tuple(needs))


def wrong(case="x", function="Conv2d.backward", blame=None):
    return Failure(case=case, problem="wrong values", function=function, blame=blame)


def crash(case="x", function="Conv2d.backward", detail="  line 9, in backward: ValueError: shapes (2,3) and (4,)",
          kind="exception"):
    return Failure(case=case, problem="your code failed:", function=function, detail=detail, kind=kind)


def attributed(*outcomes):
    table = {o.name: o for o in outcomes}
    attribute(table)
    return {name: ([f.case for f in o.failures], {f.case: f.blocked_by for f in o.blocked})
            for name, o in table.items()}


# --- wrong answers ---------------------------------------------------------------------------

def test_a_case_is_blocked_by_a_needed_check_that_fails_on_its_own():
    got = attributed(outcome("col2im", wrong("c1", function="col2im")),
                     outcome("dx", wrong("d1"), wrong("d2"), needs=("col2im",)))
    assert got == {"col2im": (["c1"], {}), "dx": ([], {"d1": "col2im", "d2": "col2im"})}


def test_a_blocked_failure_keeps_its_data_and_gains_the_blocker():
    d1 = wrong("d1")
    table = {"col2im": outcome("col2im", wrong("c1", function="col2im")), "dx": outcome("dx", d1, needs=("col2im",))}
    attribute(table)
    blocked, = table["dx"].blocked
    assert blocked.blocked_by == "col2im" and blocked.problem == d1.problem and blocked.case == "d1"


def test_a_needed_check_that_passes_hides_nothing():
    got = attributed(outcome("col2im", total=3), outcome("dx", wrong("d1"), needs=("col2im",)))
    assert got["dx"] == (["d1"], {})


def test_blame_empty_is_the_checks_own_property_whatever_else_fails():
    got = attributed(outcome("col2im", wrong("c1", function="col2im")),
                     outcome("dx", wrong("d1", blame=()), needs=("col2im",)))
    assert got["dx"] == (["d1"], {})


def test_blame_names_the_check_that_explains_the_case_before_the_needs():
    got = attributed(outcome("crop", wrong("p1")), outcome("col2im", wrong("c1", function="col2im")),
                     outcome("dx", wrong("d1", blame=("crop",)), needs=("col2im",)))
    assert got["dx"] == ([], {"d1": "crop"})


def test_a_blamed_check_that_passes_leaves_the_needs_to_explain():
    got = attributed(outcome("crop", total=2), outcome("col2im", wrong("c1", function="col2im")),
                     outcome("dx", wrong("d1", blame=("crop",)), needs=("col2im",)))
    assert got["dx"] == ([], {"d1": "col2im"})


def test_blame_naming_itself_is_explained_only_by_a_wrong_function_it_calls():
    # dX's own property read in the answer: a sibling check of the same function does not explain it...
    got = attributed(outcome("dx_shape", wrong("s1")),
                     outcome("dx", wrong("d1", blame=("dx",)), needs=("dx_shape",)))
    assert got["dx"] == (["d1"], {})
    # ...a wrong col2im, which backward calls, does
    got = attributed(outcome("col2im", wrong("c1", function="col2im")),
                     outcome("dx", wrong("d1", blame=("dx",)), needs=("col2im",)))
    assert got["dx"] == ([], {"d1": "col2im"})


def test_a_blamed_check_counts_only_if_it_fails_on_its_own():
    # stride's failure is blocked by col2im; batch blames stride, which so fails on nothing of its own
    got = attributed(outcome("col2im", wrong("c1", function="col2im")),
                     outcome("stride", wrong("s1"), needs=("col2im",)),
                     outcome("batch", wrong("b1", blame=("stride",))))
    assert got == {"col2im": (["c1"], {}), "stride": ([], {"s1": "col2im"}), "batch": (["b1"], {})}


def test_the_most_basic_undecided_check_is_decided_first_not_the_first_in_order():
    # a blames b; b blames a check that passes: nothing fails on its own at first. b relies on no
    # undecided check, so its failure is its own, and then it explains a's.
    got = attributed(outcome("a", wrong("a1", blame=("b",))), outcome("b", wrong("b1", blame=("passing",))),
                     outcome("passing", total=1))
    assert got == {"a": ([], {"a1": "b"}), "b": (["b1"], {}), "passing": ([], {})}


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_a_cycle_of_blame_is_cut_in_config_order(order):
    made = {"a": outcome("a", wrong("a1", blame=("b",))), "b": outcome("b", wrong("b1", blame=("a",)))}
    got = attributed(*(made[name] for name in order))
    first, second = order
    assert got[first] == ([f"{first}1"], {}) and got[second] == ([], {f"{second}1": first})


def test_the_result_does_not_depend_on_the_order_of_failures_within_a_check():
    def run(dx_failures):
        return attributed(outcome("col2im", wrong("c1", function="col2im")),
                          outcome("dx", *dx_failures, needs=("col2im",)))["dx"]
    own, blocked = run([wrong("d1", blame=()), wrong("d2")])
    own2, blocked2 = run([wrong("d2"), wrong("d1", blame=())])
    assert own == own2 == ["d1"] and blocked == blocked2 == {"d2": "col2im"}


def test_the_graders_own_error_is_never_blocked():
    internal = Failure(case="i1", problem="internal", kind="internal")
    got = attributed(outcome("col2im", wrong("c1", function="col2im")), outcome("dx", internal, needs=("col2im",)))
    assert got["dx"] == (["i1"], {})


# --- crashes ---------------------------------------------------------------------------------

def test_a_crash_belongs_to_the_most_basic_check_it_appears_in():
    got = attributed(outcome("plain", crash("p1"), total=2),
                     outcome("stride", crash("s1"), crash("s2"), needs=("plain",)))
    assert got == {"plain": (["p1"], {}), "stride": ([], {"s1": "plain", "s2": "plain"})}


def test_the_same_crash_with_other_numbers_is_still_one_crash():
    got = attributed(outcome("plain", crash("p1", detail="  line 9, in backward: ValueError: shape (2,3)")),
                     outcome("stride", crash("s1", detail="  line 9, in backward: ValueError: shape (5,7)"),
                             needs=("plain",)))
    assert got["stride"] == ([], {"s1": "plain"})


def test_a_crash_on_strided_cases_only_is_the_stride_checks():
    got = attributed(outcome("plain", total=4), outcome("stride", crash("s1"), needs=("plain",), total=2))
    assert got["stride"] == (["s1"], {})


def test_between_unrelated_checks_a_crash_belongs_to_the_one_it_fails_most():
    got = attributed(outcome("a", crash("a1"), total=4), outcome("b", crash("b1"), crash("b2"), total=3))
    assert got == {"a": ([], {"a1": "b"}), "b": (["b1", "b2"], {})}


def test_an_equal_share_goes_to_the_first_check():
    got = attributed(outcome("a", crash("a1"), total=2), outcome("b", crash("b1"), total=2))
    assert got == {"a": (["a1"], {}), "b": ([], {"b1": "a"})}


def test_two_different_crashes_of_unrelated_checks_are_each_their_own():
    got = attributed(outcome("plain", crash("p1")),
                     outcome("other", crash("o1", detail="  line 20, in backward: KeyError: 'w'")))
    assert got == {"plain": (["p1"], {}), "other": (["o1"], {})}


def test_where_it_is_told_a_crash_is_blamed_like_a_wrong_answer():
    # another exception of the same function fails the needed check on its own: that one is read first
    got = attributed(outcome("plain", crash("p1")),
                     outcome("stride", crash("s1", detail="  line 20, in backward: KeyError: 'w'"), needs=("plain",)))
    assert got["stride"] == ([], {"s1": "plain"})


def test_a_crash_in_a_function_a_failing_needed_check_tested_is_blocked_by_it():
    in_col2im = crash("d1", detail="  line 30, in backward\n  line 12, in col2im: IndexError: index 5")
    got = attributed(outcome("col2im", wrong("c1", function="col2im")),
                     outcome("dx", in_col2im, needs=("col2im",)))
    assert got["dx"] == ([], {"d1": "col2im"})


def test_a_crash_in_the_checks_own_function_is_its_own_whatever_else_fails():
    stub = crash("d1", detail="  line 30, in backward: NotImplementedError: backward is not implemented yet")
    got = attributed(outcome("col2im", wrong("c1", function="col2im")), outcome("dx", stub, needs=("col2im",)))
    assert got["dx"] == (["d1"], {})


def test_each_crash_message_is_read_once_however_many_failures_differ(monkeypatch):
    """hostile/distinct_crash_on_every_call: hundreds of crashes, each with its own long message.
    Comparing every crash with every other one (a regular expression over both messages each time)
    cost the grader 25 s of CPU for 17 checks x 25 cases; each message must be normalised once."""
    import re
    from autograder import failures
    reads = []

    class Counting:
        def sub(self, repl, text):
            reads.append(1)
            return re.sub(r"\d+", repl, text)
    monkeypatch.setattr(failures, "_NUMBERS", Counting())
    names = [f"check{k}" for k in range(17)]
    letters = lambda n: "".join(chr(97 + int(d)) for d in str(n))          # noqa: E731 (digits would be normalised)
    outcomes = {name: outcome(name, *[crash(case=f"c{i}", detail=f"  line 9, in backward: ValueError: "
                                                                  f"{letters(100 * k + i)}")
                                      for i in range(25)], needs=tuple(names[:k]))
                for k, name in enumerate(names)}
    attribute(outcomes)
    assert len(reads) <= 17 * 25, len(reads)
    # every message differs, so each crash is its own check's; nothing is lost on the way
    assert len(outcomes["check0"].failures) == 25
    assert all(len(o.failures) + len(o.blocked) == 25 for o in outcomes.values())
