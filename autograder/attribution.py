"""One bug, one failing check: which failed cases are a check's own, and which are blocked.

A check tests one property. A case it cannot credit because another check's property is
wrong (a col2im bug seen through backward's dX, a crop that makes dX the wrong shape) is
*blocked* by that check: it earns nothing, as before, but it is not a failure of this
check's property, so its name and hint are not shown as if it were, and report pass rates
count it apart.

Who is blamed for a failed case:
- the check said so (CheckFailure(..., blame=(names)), most likely first; blame=() is "this
  check's own property, whatever else fails"; a blame naming the check itself first is its own
  unless a needed check of another function (col2im, for backward) fails;
- then the check's `needs` in config.toml (the properties its cases rely on);
- a crash (the code raised, hung, crashed) belongs to the most basic check it appears in
  (a crash on strided cases only is the stride check's), and is blamed like a wrong answer
  there; the same crash elsewhere is blocked by that check (one exception, told once).
A blamed check counts only if it fails on its own: a failure none of whose blamed checks
fails on its own is this check's own, so a wrong answer is never hidden behind a check
that passed. Resolved to a fixpoint, first check first, so the result does not depend on
the order the checks ran in.
"""

import re
from collections import Counter
from dataclasses import replace

_RAISED_IN = re.compile(r", in (\w+): ")       # a traceback line of the student's code (sandbox format)


def attribute(outcomes):
    """Moves blocked failures from each outcome's .failures to its .blocked (Failure with
    blocked_by set), replacing each CheckOutcome of the dict (they are frozen).
    outcomes: {name: CheckOutcome} in config order, with .needs."""
    order = list(outcomes)
    pending = {}                      # (check, index) -> candidate checks, most likely first
    own = {name: [] for name in order}
    seen = _Seen(outcomes)
    for name in order:
        outcome = outcomes[name]
        for index, failure in enumerate(outcome.failures):
            candidates = _candidates(failure, outcome, seen)
            if candidates:
                pending[name, index] = candidates
            else:
                own[name].append(index)
    blocked = {}
    while pending:
        changed = True
        while changed:              # block whatever a check failing on its own explains
            changed = False
            for key, candidates in list(pending.items()):
                blocker = next((c for c in candidates if own[c]), None)
                if blocker is not None:
                    blocked[key] = blocker
                    del pending[key]
                    changed = True
        if pending:                 # nothing failing explains what is left: one check's rest is its own
            first = _most_basic({name for name, _ in pending}, pending, order)
            for key in [k for k in pending if k[0] == first]:
                own[first].append(key[1])
                del pending[key]
    for name in order:
        failures = outcomes[name].failures
        outcomes[name] = replace(outcomes[name], blocked=[replace(failures[i], blocked_by=blocked[name, i])
                                                          for i in range(len(failures)) if (name, i) in blocked],
                                 failures=[failures[i] for i in range(len(failures)) if (name, i) not in blocked])


def _most_basic(undecided, pending, order):
    """Of the checks with undecided failures, the first (config order) that none of the others could
    explain: its cases rely on no undecided check, so its failures are its own (the plain dX values
    before the stride and the batch; the batch sum before the stride)."""
    for name in order:
        if name in undecided and not any(c in undecided for (check, _), cands in pending.items()
                                         if check == name for c in cands):
            return name
    return next(name for name in order if name in undecided)      # a cycle of `needs`: config order


class _Seen:
    """What every failure's attribution asks of all the others, read once (a submission can fail
    hundreds of cases, each crash with its own message: asking it per failure was quadratic)."""

    def __init__(self, outcomes):
        self.outcomes, self.order = outcomes, list(outcomes)
        self.crashes = Counter((name, f.cause) for name, o in outcomes.items() for f in o.failures if f.raised)
        self.functions = {name: {f.function for f in o.failures} for name, o in outcomes.items()}
        self._owners = {}

    def crash_owner(self, cause):
        """The check a crash belongs to: of the checks it appears in, the most basic (whose `needs`
        name none of the others: the crop check for a crash at padding 0 only, the plain dX values for
        one on every padded case), then the one whose cases it fails the largest share of, then the first."""
        if cause not in self._owners:
            share = {name: self.crashes[name, cause] / o.total for name, o in self.outcomes.items() if o.total}
            seen = {name for name, value in share.items() if value}
            basic = [name for name in seen if not set(self.outcomes[name].needs) & seen] or list(seen)
            self._owners[cause] = max(basic, key=lambda name: (share[name], -self.order.index(name)))
        return self._owners[cause]


def _candidates(failure, outcome, seen):
    """The checks that may explain `failure` of `outcome`, most likely first; () when it is its own."""
    outcomes = seen.outcomes
    if failure.kind == "internal":
        return ()
    if failure.raised:             # a crash is told once, by the check it belongs to
        owner = seen.crash_owner(failure.cause)
        if owner != outcome.name:
            return (owner, *outcomes[owner].needs)
        # where it is told, only a wrong answer of the function that raised can explain it (a
        # NotImplementedError in backward is backward's, whatever col2im does)
        functions = {failure.function, *_RAISED_IN.findall(failure.detail)[-1:]}
        return tuple(name for name in outcome.needs if name in outcomes and any(
            f in functions or f.rsplit(".", 1)[-1] in functions for f in seen.functions[name]))
    if failure.blame == ():
        return ()                  # its own property, whatever else fails
    if failure.blame and failure.blame[0] == outcome.name:
        # the check read its own property in the answer: only a wrong function it calls (col2im for
        # backward) can explain that away, not a sibling check of the same function
        return tuple(name for name in outcome.needs if name in outcomes and seen.functions[name]
                     and failure.function not in seen.functions[name])
    # what the check read, then what its cases rely on: a wrong col2im explains any dX
    blame = dict.fromkeys((*(failure.blame or ()), *outcome.needs))
    return tuple(name for name in blame if name != outcome.name and name in outcomes)
