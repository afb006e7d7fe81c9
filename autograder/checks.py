"""The kit's check decorator: what makes a `test_*` function of a lab's checks/ a graded check.

    from autograder.checks import check

    @check("col2im_overlap_sum", cases=overlapping)
    def test_col2im_overlap_sum(code, config, case):
        ...

    @check("learns_filters", cases=training)
    def test_learns_filters(code, config, parameters, case):        # parameters: the lab's [parameters]
        ...

`name` is the check's `[checks.NAME]` table in the lab's config.toml; `cases(case) -> bool`
picks the fixture cases it grades (None: the cases that cases.json lists for it). The
decorator records this on the function (`declared_check(function)`) and returns the function
itself, so the engine (autograder/lab_loader.py, autograder/runner.py) finds the check without pytest,
and pytest still collects it as an ordinary test, with the fixtures `code`, `config`,
`parameters` (the lab's own typed parameters, autograder.lab_loader.Lab.parameters) and `case` that
autograder/pytest_plugin.py supplies. A check is called with the ones it names.
"""

import inspect
from dataclasses import dataclass

ATTRIBUTE = "__autograder_check__"
ARGUMENTS = ("code", "config", "parameters", "case")          # all a check is ever called with


@dataclass(frozen=True)
class DeclaredCheck:
    """A check as its decorator declared it."""
    name: str
    cases: object = None            # select(case) -> bool, or None (cases.json's lists)
    takes_case: bool = True         # False: called once, without a case


def check(name, cases=None):
    """Declares the decorated `test_*` function the graded check `name`, run on the cases `cases` selects."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"@check(name, ...): the name must be a check's name from config.toml, got {name!r}")
    if cases is not None and not callable(cases):
        raise TypeError(f"@check({name!r}, cases=...): cases must be a function case -> bool, got {cases!r}")

    def declare(function):
        where = f"@check({name!r}) on {getattr(function, '__qualname__', function)!r}"
        if not inspect.isfunction(function):
            raise TypeError(f"{where}: a check is a plain function")
        if not function.__name__.startswith("test_"):
            raise TypeError(f"{where}: a check's name starts with test_ (pytest collects it, the grader finds it)")
        if hasattr(function, ATTRIBUTE):
            raise TypeError(f"{where}: already declared as the check {getattr(function, ATTRIBUTE).name!r}")
        parameters = inspect.signature(function).parameters
        unknown = [p for p in parameters if p not in ARGUMENTS]
        if unknown:
            renamed = ": the argument `student` is now called `code`" if "student" in unknown else ""
            raise TypeError(f"{where}: a check takes only {', '.join(ARGUMENTS)} "
                            f"(not {', '.join(unknown)}){renamed}")
        setattr(function, ATTRIBUTE, DeclaredCheck(name, cases, "case" in parameters))
        return function
    return declare


def declared_check(function):
    """The DeclaredCheck of a function decorated with @check, else None."""
    declared = getattr(function, ATTRIBUTE, None)
    return declared if isinstance(declared, DeclaredCheck) else None
