"""A failed case as data: what a check found, carried unchanged to results.json, feedback.md and reports.

A check raises CheckFailure(case, problem, likely_bug=..., ...); the grading run stores
its Failure in the grade record (grade.json keeps every field: to_record), whence the batch
reports count likely bugs; results.json shows it in each test's extra_data (to_data).
Nothing reads a failure's text back to find its parts.

root_causes() picks, from every failure of a submission, the one to read first per
function at fault, so one crash or one wrong function is told once, at the top.
"""

import re
from dataclasses import asdict, dataclass, fields
from functools import cached_property

_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True)
class Failure:
    """One failed case of one check.

    case: the case in the handout's symbols ('' when there is none); problem: what is
    wrong, for the student; likely_bug: a known bug pattern the answers match ('' when
    none does); detail: lines shown under the problem (a map of wrong positions, or the
    student's traceback); function: the student's function at fault ('col2im',
    'Conv2d.backward', ...; '' when unknown); kind: 'wrong' (a wrong answer), a
    StudentError kind ('exception', 'timeout', 'crashed', ...) or 'internal' (the grader's).
    blame: the checks whose property, when wrong, explains this failure, most likely first
    (None: the check's `needs`; (): its own property, whatever else fails); blocked_by: set by
    autograder.attribution when one of them fails on its own: then this case is not credited,
    and not a failure of this check's property.
    """
    case: str
    problem: str
    likely_bug: str = ""
    detail: str = ""
    function: str = ""
    kind: str = "wrong"
    blame: tuple | None = None
    blocked_by: str = ""

    @property
    def raised(self):
        """Whether the student's code failed to answer (raised, hung, crashed) rather than answered wrong."""
        return self.kind not in ("wrong", "internal")

    def headline(self):
        """One line: case, problem, likely bug."""
        text = f"[{self.case}] {self.problem}" if self.case else self.problem
        return text + (f"; likely bug: {self.likely_bug}" if self.likely_bug else "")

    def text(self):
        return self.headline() + (f"\n{self.detail}" if self.detail else "")

    @cached_property
    def cause(self):
        """For a crash, what makes two the same: one exception, one function, one line, whatever
        numbers (shapes, indices) its message holds; None for a wrong answer. Read once per failure."""
        return (self.kind, self.function, _NUMBERS.sub("#", self.detail)) if self.raised else None

    def same_cause(self, other):
        """The same failure of the student's code, whatever the case."""
        return self.raised and other.raised and self.cause == other.cause

    def to_data(self):
        """For results.json's extra_data (the detail map stays in the test's output)."""
        return {k: v for k, v in asdict(self).items()
                if k not in ("detail", "blame") and not (k == "blocked_by" and not v)}

    def to_record(self):
        """Every field, for the grade record (grade.json): what is needed to render the feedback again."""
        return dict(asdict(self), blame=None if self.blame is None else list(self.blame))

    @classmethod
    def from_record(cls, data):
        """The Failure to_record() wrote; ValueError says what is wrong with anything else."""
        if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
            raise ValueError(f"a failure must have exactly the fields {sorted(f.name for f in fields(cls))}")
        blame = data["blame"]
        if not all(isinstance(data[f.name], str) for f in fields(cls) if f.name != "blame") or not (
                blame is None or isinstance(blame, list) and all(isinstance(b, str) for b in blame)):
            raise ValueError("a failure's fields must be text (blame: a list of check names, or null)")
        return cls(**dict(data, blame=None if blame is None else tuple(blame)))


class CheckFailure(AssertionError):
    """A check failed on one case; .failure holds it as data, str() is its text."""

    def __init__(self, case, problem, likely_bug="", detail="", function="", blame=None):
        describe = getattr(case, "describe", None)
        self.failure = Failure(case=describe() if describe else str(case or ""), problem=problem,
                               likely_bug=likely_bug, detail=detail, function=function,
                               blame=None if blame is None else tuple(blame))
        super().__init__(self.failure.text())


def _informative(failure):
    """(names a likely bug, its map reads a known pattern): what makes one failure a better first lesson."""
    from autograder.error_map import NO_PATTERN
    return (bool(failure.likely_bug), "reading: " in failure.detail and NO_PATTERN not in failure.detail)


@dataclass(frozen=True)
class RootCause:
    """The failure to read first for one function, and the checks it explains."""
    failure: Failure
    check: str                 # title of the check where it was seen first
    checks: tuple              # titles of every failing check this function's failures reach

    @property
    def function(self):
        return self.failure.function


def root_causes(outcomes):
    """One RootCause per function at fault, in check order (config order is dependency order:
    col2im before forward before backward), from CheckOutcome-like objects with .title and
    .failures (a check's own failures: not the cases another check's bug blocks). A function's
    first failure is its cause, unless a later one says more (names a likely bug, or has a map
    whose reading names a pattern, where the first does not): then that one."""
    by_function = {}
    for outcome in outcomes:
        for failure in outcome.failures:
            if failure.kind == "internal":
                continue
            entry = by_function.setdefault(failure.function, {"first": (failure, outcome.title), "checks": []})
            if outcome.title not in entry["checks"]:
                entry["checks"].append(outcome.title)
            first, _ = entry["first"]
            if not first.raised and _informative(failure) > _informative(first):
                entry["first"] = (failure, outcome.title)
    return [RootCause(e["first"][0], e["first"][1], tuple(e["checks"])) for e in by_function.values()]
