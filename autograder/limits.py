"""The limits of one submission: one type from a lab's `[limits]` table to the worker's setrlimit.

    limits = config.limits                      # read from config.toml (autograder/config.py)
    Sandbox(student_file, limits)               # enforced by the sandbox and its worker
    Limits.from_dict(json.loads(...))           # the worker's copy, checked before it is applied

The sandbox copies this file beside worker.py into the work dir, where the worker loads it
by path: it imports nothing but the standard library, and stays valid on Python 3.10.

Times are CPU seconds of the student's code, so the machine's load changes no verdict,
except `blocked_s` (time a call spends neither running nor waiting for a CPU) and the outer
bound `total_wall_s`. The student's code may start no process or thread (RLIMIT_NPROC 0),
so `memory_mb` and the other rlimits bound the whole submission.
"""

import dataclasses
from dataclasses import dataclass

# How much longer than a submission's time budget a parent waits before it kills the grader
# (the batch's grading processes, the otter plugin, PrairieLearn's timeout). It covers what
# lies outside the sandbox's own bound: the grader's start (Python, numpy, the lab, verifying
# the fixture set: 0.3 s on an idle 2-core machine), stopping the worker at the bound (at most
# 7 s: SIGTERM, 2 s, then SIGKILL; bwrap's namespace 5 s) and writing results.json and
# feedback.md (milliseconds). Under 10 s even when the machine is slow, so 60 s leaves room
# for one many times slower; more would only delay the kill of a grader that is truly stuck.
OUTER_MARGIN_S = 60.0
RLIMIT_CPU_MARGIN_S = 5         # RLIMIT_CPU lies this far above total_cpu_s: a backstop only


class LimitsError(ValueError):
    """A set of limits that cannot be enforced: the message names the limit and what was wrong."""


@dataclass(frozen=True)
class Limits:
    """Every limit the sandbox enforces on one submission (the defaults are the conv lab's)."""
    call_cpu_s: float = 10.0        # CPU seconds for one call (col2im, forward, backward, ...)
    import_cpu_s: float = 10.0      # CPU seconds to start the worker and import the student's file
    blocked_s: float = 10.0         # seconds a call or import may spend neither running nor waiting for a CPU
    total_cpu_s: float = 120.0      # CPU seconds of the student's code over all of the submission's calls
    total_wall_s: float = 900.0     # wall clock for everything one sandbox runs: an outer bound
    memory_mb: int = 1024           # RLIMIT_AS of the worker (OpenBLAS needs more than ~160 MB)
    file_size_mb: int = 16          # RLIMIT_FSIZE: the largest file the worker may write
    open_files: int = 64            # RLIMIT_NOFILE
    max_reply_mb: int = 64          # the largest reply; a bigger one is a 'bad_reply'
    output_cap_kb: int = 64         # how much of the student's stdout/stderr is kept for feedback
    output_read_mb: int = 1         # how much of it is ever read; the rest is discarded
    output_flood_mb: int = 16       # printing more than this stops the submission's calls (a flood)

    # What a lab's [limits] table must give: its time budget and resource bounds are the lab's own
    # decision; the other fields keep the defaults above unless the table sets them.
    REQUIRED_KEYS = ("call_cpu_s", "import_cpu_s", "blocked_s", "total_cpu_s", "total_wall_s",
                     "memory_mb", "file_size_mb", "open_files")

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or (field.type is int and not isinstance(value, int)):
                kind = "an integer" if field.type is int else "a number"
                raise LimitsError(f"limit '{field.name}' should be {kind}, got {value!r}")
            if not value > 0 or value == float("inf"):
                raise LimitsError(f"limit '{field.name}' should be positive and finite, got {value!r}")
            if field.type is float:
                object.__setattr__(self, field.name, float(value))

    @property
    def rlimit_cpu_s(self) -> int:
        """RLIMIT_CPU of a worker: a backstop behind the parent's CPU accounting, never the limit a
        student meets first (SIGXCPU at this, SIGKILL one second later)."""
        return int(self.total_cpu_s) + RLIMIT_CPU_MARGIN_S

    def outer_timeout_s(self) -> float:
        """How long a parent waits for the grader of one submission before it kills it."""
        return self.total_wall_s + OUTER_MARGIN_S

    def to_dict(self) -> dict:
        """The limits as JSON-ready values, for the worker's command line."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data) -> "Limits":
        """The limits `to_dict` gave, every one present and valid; LimitsError otherwise."""
        if not isinstance(data, dict):
            raise LimitsError(f"the limits should be a JSON object, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names), key=str)
        missing = [name for name in names if name not in data]
        if unknown:
            raise LimitsError(f"unknown limit {unknown[0]!r} (the limits are: {', '.join(names)})")
        if missing:
            raise LimitsError(f"limit '{missing[0]}' is missing")
        return cls(**data)
