"""autograder/staff/spreadsheet.py: a cell a spreadsheet shows as text and never runs as a formula,
and its original text read back."""

import pytest

from autograder.staff.spreadsheet import FORMULA_STARTS, cell_value, safe_cell


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"])
def test_a_formula_start_becomes_text_and_reads_back(text):
    assert safe_cell(text) == "'" + text
    assert cell_value(safe_cell(text)) == text


@pytest.mark.parametrize("value, cell", [("Alice", "Alice"), ("", ""), (None, ""), ("'quoted", "'quoted"),
                                         ("a=b", "a=b"), (" =1", " =1")])
def test_plain_text_is_left_as_it_is(value, cell):
    assert safe_cell(value) == cell
    assert cell_value(cell) == cell


@pytest.mark.parametrize("number", [0, -3, 2.5, -0.25, 10**20])
def test_numbers_pass_unchanged_even_negative(number):
    assert safe_cell(number) is number


def test_booleans_are_text_not_numbers():
    assert safe_cell(True) == "True"


def test_an_apostrophe_that_starts_the_text_is_kept_unless_it_guards_a_formula():
    assert cell_value("'hello") == "'hello" and cell_value("''=1") == "''=1"
    assert all(cell_value("'" + start + "x") == start + "x" for start in FORMULA_STARTS)
