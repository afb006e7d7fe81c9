"""autograder/staff/check_stats.py on hand-made batch records: per check, the submissions that passed,
failed on their own or were only blocked by another check's bug, its pass rate and mean points."""

from types import SimpleNamespace

from autograder.staff.check_stats import check_stats, check_verdict

CONFIG = SimpleNamespace(max_score=10, checks={
    "a": SimpleNamespace(points=6, hint="fix | *a*", title="Check A"), "b": SimpleNamespace(points=4, hint="hint b")})


def record(sid, status="graded", score=0.0, passed=(), checks=None, message="", **extra):
    return dict(id=sid, status=status, score=score, max_score=10, passed=list(passed), checks=checks or {},
                message=message, **extra)


def test_check_stats_count_full_passes_and_mean_points():
    graded = [record("x", passed=["a"], checks={"a": 6, "b": 2}), record("y", checks={"a": 3})]
    rows = {row.name: (row.passed, row.failed, row.blocked, row.rate, row.mean_points)
            for row in check_stats(CONFIG, graded)}
    # without results.json to say otherwise, a check not passed failed on its own
    assert rows == {"a": (1, 1, 0, 0.5, 4.5), "b": (0, 2, 0, 0.0, 1.0)}
    empty = check_stats(CONFIG, [])[0]
    assert (empty.passed, empty.failed, empty.blocked, empty.rate, empty.mean_points) == (0, 0, 0, None, 0.0)


def outcome(own, *blocked_by):
    return SimpleNamespace(own=own, blocked_by=tuple(blocked_by))


def test_a_check_only_blocked_by_another_is_neither_passed_nor_failed():
    graded = [record("x", passed=["a"]), record("y"), record("z")]
    outcomes = {"y": {"b": outcome(False, "a")}, "z": {"b": outcome(True, "a")}}
    assert check_verdict(graded[1], "b", outcomes) == ("blocked", ("a",))
    assert check_verdict(graded[2], "b", outcomes) == ("failed", ())          # a failure of its own counts
    row = {row.name: row for row in check_stats(CONFIG, graded, outcomes)}["b"]
    assert (row.passed, row.failed, row.blocked, row.rate) == (0, 2, 1, 0.0)
    assert row.blocked_text(CONFIG) == "1 (blocked by Check A: 1)"


def test_a_check_blocked_everywhere_has_no_pass_rate():
    row = check_stats(CONFIG, [record("y")], {"y": {"b": outcome(False, "a")}})[1]
    assert row.rate is None and row.rate_text() == "n/a (all blocked)"
