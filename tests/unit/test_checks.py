"""autograder/checks.py: @check(name, cases=select) records the check on the function and hands the same
function back (so pytest collects it unchanged); what it refuses, with a message naming the check."""

import pytest

from autograder.checks import DeclaredCheck, check, declared_check


def overlapping(case):
    return case.kind == "col2im"


def test_the_declaration_is_recorded_on_the_function_itself():
    def test_overlap(code, config, case):
        return "ran"

    declared = check("col2im_overlap_sum", cases=overlapping)(test_overlap)
    assert declared is test_overlap and test_overlap(None, None, None) == "ran"
    assert declared_check(test_overlap) == DeclaredCheck("col2im_overlap_sum", overlapping, True)


def test_a_check_without_a_case_or_a_selector():
    @check("learns")
    def test_learns(code, config):
        pass

    assert declared_check(test_learns) == DeclaredCheck("learns", None, False)


def test_an_undeclared_function_has_no_check():
    def test_plain(code, config, case):
        pass

    assert declared_check(test_plain) is None and declared_check(None) is None and declared_check(len) is None


@pytest.mark.parametrize("name, cases, message", [
    ("", None, "the name must be a check's name"),
    (5, None, "the name must be a check's name"),
    ("x", "all", "cases must be a function case -> bool"),
])
def test_a_bad_name_or_selector_is_refused(name, cases, message):
    with pytest.raises(TypeError, match=message):
        check(name, cases=cases)


def test_what_the_grader_could_not_call_is_refused_when_declared():
    def helper(code, config, case):
        pass

    def test_extra(code, config, case, tmp_path):
        pass

    def test_twice(code, config, case):
        pass

    with pytest.raises(TypeError, match=r"@check\('a'\) on .*helper.*starts with test_"):
        check("a")(helper)
    with pytest.raises(TypeError, match="takes only code, config, parameters, case .not tmp_path."):
        check("a")(test_extra)
    with pytest.raises(TypeError, match="a plain function"):
        check("a")(type("test_class", (), {}))
    check("a")(test_twice)
    with pytest.raises(TypeError, match="already declared as the check 'a'"):
        check("b")(test_twice)


def test_a_check_written_for_the_earlier_argument_name_is_told_the_new_one():
    def test_old(student, config, case):
        pass

    with pytest.raises(TypeError, match="not student.: the argument `student` is now called `code`"):
        check("a")(test_old)
