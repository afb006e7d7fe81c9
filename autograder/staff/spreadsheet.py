"""CSV cells that a spreadsheet shows as text and never runs as a formula.

Names, emails and ids come from students. A cell starting with = + - @ (or a tab
or carriage return, which some spreadsheets skip) would be a live formula in
Excel or Sheets; a leading apostrophe makes it text, as OWASP recommends.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value as text a spreadsheet cannot run; numbers pass unchanged."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_value(text):
    """The original text of a cell written by safe_cell (its apostrophe removed)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
