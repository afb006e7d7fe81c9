"""Per-check figures of a batch: passed, failed on its own, blocked only, pass rate (summary.md and
report.html show the same rows)."""

from collections import Counter
from dataclasses import dataclass

MAX_BLOCKERS_NAMED = 3         # the checks that blocked a check most often, named in its row


@dataclass
class CheckRow:
    """One check over the graded submissions of a batch."""
    name: str
    spec: object
    passed: int                 # passed every case
    failed: int                 # at least one failure of its own (or not passed, nothing else known)
    blocked: int                # no failure of its own, but cases another check's bug blocked
    blocked_by: Counter         # {blocking check: submissions it blocked this check in (blocked only)}
    mean_points: float          # over every graded submission, blocked ones included

    @property
    def judged(self):
        """Submissions where the check's own property could be judged."""
        return self.passed + self.failed

    @property
    def rate(self):
        """passed / (passed + failed on its own); None when no submission could be judged."""
        return self.passed / self.judged if self.judged else None

    def rate_text(self):
        if self.rate is None:
            return "n/a (all blocked)" if self.blocked else "n/a"
        return f"{self.rate:.0%} ({self.passed}/{self.judged})"

    def blockers(self, config, limit=MAX_BLOCKERS_NAMED):
        """[(title of the blocking check, or its name if unknown, submissions)], most often first."""
        named = [(config.checks[b].title if b in config.checks else b, n)
                 for b, n in sorted(self.blocked_by.items(), key=lambda item: (-item[1], item[0]))]
        return named[:limit], len(named) - min(len(named), limit)

    def blocked_text(self, config, cell=str):
        """'6 (blocked by col2im sums overlapping windows: 6)'; cell makes each title inert."""
        if not self.blocked:
            return "0"
        named, more = self.blockers(config)
        listed = "; ".join(f"{cell(title)}: {n}" for title, n in named) + (f"; {more} more" if more else "")
        return f"{self.blocked} (blocked by {listed})"


def check_verdict(record, name, outcomes):
    """'passed', 'failed' (on its own) or 'blocked' (only) for one graded record and one check,
    and the checks that blocked it."""
    if name in record.get("passed", ()):
        return "passed", ()
    known = outcomes.get(record["id"], {}).get(name)
    if known is None or known.own or not known.blocked_by:
        return "failed", ()    # a check not passed that no other check's bug explains is its own failure
    return "blocked", known.blocked_by


def check_stats(config, graded, outcomes=None):
    """One CheckRow per check of the config, over the graded records; outcomes: as BatchStats.outcomes."""
    outcomes = outcomes or {}
    rows = []
    for name, spec in config.checks.items():
        counts, blocked_by = Counter(), Counter()
        for r in graded:
            verdict, blockers = check_verdict(r, name, outcomes)
            counts[verdict] += 1
            blocked_by.update(blockers)
        mean_points = sum(float(r.get("checks", {}).get(name, 0.0)) for r in graded) / len(graded) if graded else 0.0
        rows.append(CheckRow(name, spec, counts["passed"], counts["failed"], counts["blocked"], blocked_by,
                             mean_points))
    return rows


CHECKS_EXPLAINED = ("Per check, of the graded submissions: passed every case; failed on its own (at least one "
                    "failure of the check's own property); blocked only (no failure of its own, but cases "
                    "another check's bug blocked: no credit, and not counted as failing this check). Pass rate: "
                    "passed / (passed + failed on its own). Mean points: over every graded submission.")
