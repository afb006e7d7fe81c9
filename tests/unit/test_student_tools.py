"""autograder/student_tools.py's judgement of a public report, on hand-made reports: which functions
are still TODO stubs, and why a file should not be uploaded yet. (Running the checks and writing the
zip start a sandbox: tests/e2e/test_student_tools.py.)"""

from types import SimpleNamespace

from autograder.failures import Failure
from autograder.results import CheckOutcome, GradeReport
from autograder.student_tools import submission_problems, unfinished_functions


LAB = SimpleNamespace(config=SimpleNamespace(submission_file="conv2d.py"))


def report(failures=(), status="graded", message="Graded.", extra=None):
    check = CheckOutcome("c", "C", 1, "visible", "cat", "h", total=max(1, len(failures)), failures=list(failures))
    return GradeReport(status=status, message=message, checks=[check], max_score=1, extra=extra or {})


def stub(function, line):
    return Failure(case="x", problem="your code failed:", kind="exception", function=function,
                   detail=f"  line {line}, in f: NotImplementedError: not yet")


def test_each_stub_is_named_once_in_the_order_seen():
    r = report([stub("col2im", 3), stub("Conv2d.backward", 9), stub("col2im", 3)])
    assert unfinished_functions(r) == ["col2im", "Conv2d.backward"]


def test_a_stub_named_in_the_message_counts_too():
    r = report(message="Your file failed to import: Conv2d.__init__ raised NotImplementedError")
    assert unfinished_functions(r) == ["Conv2d.__init__"]
    assert unfinished_functions(report(message="NotImplementedError somewhere")) == ["a function"]


def test_wrong_answers_are_no_reason_to_refuse():
    r = report([Failure(case="x", problem="dX is wrong", function="Conv2d.backward")])
    assert unfinished_functions(r) == [] and submission_problems(LAB, r) == []


def test_the_reasons_not_to_upload():
    assert submission_problems(LAB, report([stub("col2im", 3)])) == ["col2im still raises NotImplementedError"]
    assert submission_problems(LAB, report([stub("col2im", 3), stub("Conv2d.backward", 9)])) == [
        "col2im, Conv2d.backward still raise NotImplementedError"]
    assert submission_problems(LAB, report(status="error", message="no sandbox")) == [
        "the public checks could not run (no sandbox)"]
    problems = submission_problems(LAB, report(extra={"import_failed": True}))
    assert problems == ["conv2d.py fails to import, so every check fails"]
