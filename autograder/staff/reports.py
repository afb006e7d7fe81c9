"""The instructor's view of a batch: summary.md, report.html, scores.png, checks.png, similarity.html.

summary.md gives the score distribution, the pass rate of every check, the
most common likely bugs named in the feedback (so a lecture can address them),
the submissions not graded or not attempted, and the integrity flags.
report.html is the same on one self-contained page with a sortable table of
students (autograder/staff/html_report.py). Integrity flags (autograder/staff/integrity.py)
are advisory and never change a score.

A check's pass rate counts only its own property: per check, a graded submission passed it
fully, FAILED it on its own (at least one failure of the check's own), or was BLOCKED only
(no failure of its own, but cases another check's bug blocked: no credit, and nothing this
check could judge). The pass rate is passed / (passed + failed on its own); blocked ones are
counted apart, with the checks that blocked them. Which it was is read from each
submission's grade record (grade.json: every check's own `failures`, and its `blocked` ones
with `blocked_by`), the record the likely bugs come from too; never from a rendered results.json.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autograder.results import GradeRecordError, GradeReport, write_atomic
from autograder.staff.check_stats import CHECKS_EXPLAINED, check_stats
from autograder.staff.similarity_page import counts_sentence, render_page, student_label

BINS = 10                      # score bins of both summary.md's table and scores.png
MAX_PAIRS_LISTED = 50          # similar pairs in summary.md (similarity.html lists all)


@dataclass
class BatchStats:
    """What every report says about a batch, computed once."""
    records: list
    graded: list
    scores: list               # sorted, graded submissions only
    max_score: float
    bug_counts: Counter
    integrity: object = None   # integrity.IntegrityReport, or None when it was not run
    notes: list = field(default_factory=list)   # what could not be produced, for the reader
    # {id: {check: CheckOutcomeData}} read from grade.json; a check missing here that a graded
    # submission did not pass counts as failed on its own (no grade record of this grader's version)
    outcomes: dict = field(default_factory=dict)

    @property
    def mean(self):
        return sum(self.scores) / len(self.scores) if self.scores else 0.0

    @property
    def median(self):
        s, n = self.scores, len(self.scores)
        return (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2) if n else 0.0

    @property
    def not_attempted(self):
        return set(self.integrity.not_attempted) if self.integrity else set()

    @property
    def names(self):
        """{id: the student name(s) from a Gradescope export, '' when unknown}."""
        return {r["id"]: r.get("student_name", "") for r in self.records}


def batch_stats(records, config, bug_counts, integrity=None, notes=(), outcomes=None):
    graded = [r for r in records if r["status"] == "graded"]
    return BatchStats(records, graded, sorted(r["score"] for r in graded), config.max_score,
                      Counter(bug_counts), integrity, list(notes), dict(outcomes or {}))


@dataclass(frozen=True)
class CheckOutcomeData:
    """What one submission's grade record says about one of its checks."""
    own: int = 0                # failures of the check's own property
    blocked_by: tuple = ()      # the checks whose bugs blocked some of its cases, sorted


def read_submission_results(out_dir, records):
    """(likely bugs: Counter of submissions per likely bug, outcomes: {id: {check: CheckOutcomeData}}),
    from each submission's grade record (submissions/<id>/grade.json), every file once. A submission
    without a record this grader reads (none, another version, a file edited by hand) is skipped."""
    counts, outcomes = Counter(), {}
    for r in records:
        try:
            report = GradeReport.read(Path(out_dir) / "submissions" / r["id"])
        except GradeRecordError:
            continue
        counts.update({f.likely_bug for c in report.checks for f in c.failures if f.likely_bug})
        outcomes[r["id"]] = {c.name: CheckOutcomeData(len(c.failures), tuple(sorted(
            {f.blocked_by for f in c.blocked if f.blocked_by}))) for c in report.checks}
    return counts, outcomes


def _likely_bugs(out_dir, records):
    """Counts submissions per likely bug, from their grade records (each check's own failures)."""
    return read_submission_results(out_dir, records)[0]


def histogram(scores, max_score, bins=BINS):
    """(bin edges, counts): equal bins over [0, max_score], the top bin closed."""
    edges = [max_score * i / bins for i in range(bins + 1)]
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, int(s / max_score * bins)) if max_score else 0] += 1
    return edges, counts


def md_cell(text, limit=200):
    """Student or library text made inert in a markdown table cell: one line, no pipes, no markup."""
    text = "".join(ch if ch.isprintable() else " " for ch in " ".join(str(text).split())[:limit])
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|!#~])", r"\\\1", text)


def summary_markdown(records, config, bug_counts, integrity=None, notes=(), outcomes=None):
    """summary.md's text; integrity: an integrity.IntegrityReport, or None when it was not run;
    outcomes: as BatchStats.outcomes (None: a check not passed counts as failed on its own)."""
    return stats_markdown(batch_stats(records, config, bug_counts, integrity, notes, outcomes), config)


def stats_markdown(stats, config):
    records, graded, scores = stats.records, stats.graded, stats.scores
    max_score = config.max_score
    lines = ["# Batch summary", "",
             f"{len(records)} submissions: {len(graded)} graded ({len(stats.not_attempted)} of them not attempted), "
             f"{sum(r['status'] == 'invalid' for r in records)} invalid, "
             f"{sum(r['status'] == 'error' for r in records)} grader errors.", ""]
    if scores:
        lines += [f"Scores (graded only, out of {max_score:g}): mean {stats.mean:.1f}, "
                  f"median {stats.median:g}, min {scores[0]:g}, max {scores[-1]:g}; "
                  f"{sum(s == max_score for s in scores)} full marks.", "",
                  "| score range | submissions |", "|---|---|"]
        edges, counts = histogram(scores, max_score)
        lines += [f"| {edges[i]:g} - {edges[i + 1]:g} | {c} |" for i, c in enumerate(counts)]
        lines += ["", "![scores](scores.png)", ""]
    lines += ["## Checks", "", CHECKS_EXPLAINED, "",
              "| check | points | passed fully | failed on its own | blocked only | pass rate | mean points "
              "| hint when failed |", "|---|---|---|---|---|---|---|---|"]
    for row in check_stats(config, graded, stats.outcomes):
        lines.append(f"| {row.name} | {row.spec.points:g} | {row.passed} / {len(graded)} | {row.failed} | "
                     f"{row.blocked_text(config, lambda t: md_cell(t, 100))} | {row.rate_text()} | "
                     f"{row.mean_points:.2f} | {md_cell(row.spec.hint, 400)} |")
    lines += ["", "![checks](checks.png)", "", "## Most common likely bugs", ""]
    if stats.bug_counts:
        lines += ["| likely bug (from the feedback) | submissions |", "|---|---|"]
        lines += [f"| {md_cell(bug)} | {n} |" for bug, n in stats.bug_counts.most_common(10)]
    else:
        lines.append("No known bug pattern was recognised.")
    problems = [r for r in records if r["status"] != "graded"]
    if problems:
        lines += ["", "## Not graded", "", "| submission | status | message |", "|---|---|---|"]
        lines += [f"| {md_cell(student_label(r['id'], stats.names))} | {r['status']} | {md_cell(r['message'])} |"
                  for r in problems]
    lines += integrity_markdown(stats.integrity, stats.names)
    for note in stats.notes:
        lines += ["", f"Note: {md_cell(note, 400)}"]
    lines += ["", "The same on one page, with a sortable table of students: [report.html](report.html)."]
    lines += entries_markdown(records)
    return "\n".join(lines) + "\n"


def entries_markdown(records):
    """Duplicate ids, then one line per entry of the folder (no student is lost)."""
    lines = []
    duplicates = [r for r in records if r.get("note")]
    if duplicates:
        lines += ["", "## Duplicate ids", "", "Entries whose usual id (the name without its extension) clashed; "
                  "each was graded under the id shown.", "", "| id | note |", "|---|---|"]
        lines += [f"| {md_cell(r['id'])} | {md_cell(r['note'])} |" for r in duplicates]
    names = any(r.get("student_name") for r in records)
    lines += ["", "## Every entry", "", f"| submission |{' student |' if names else ''} status | score | message |",
              f"|---|{'---|' if names else ''}---|---|---|"]
    lines += [f"| {md_cell(r['id'])} |{' ' + md_cell(r.get('student_name', '')) + ' |' if names else ''} "
              f"{r['status']} | {r['score']:g} | {md_cell(r['message'])} |" for r in records]
    return lines


def integrity_markdown(report, names=None):
    """The integrity flags as markdown; names: {id: student name}, shown beside each id."""
    if report is None:
        return []
    names = names or {}
    who = lambda sid: md_cell(student_label(sid, names))     # noqa: E731
    lines = ["", "## Integrity flags (advisory: they never change a score)", ""]
    lines.append(f"Not attempted (both stubs as in the template): "
                 f"{', '.join(who(s) for s in report.not_attempted) if report.not_attempted else 'none'}.")
    lines += ["", f"Identical code once comments and whitespace are ignored: "
                  f"{len(report.identical)} group(s)."]
    lines += [f"- {', '.join(who(s) for s in group)}" for group in report.identical]
    lines += ["", f"Similar pairs (copydetect, template code excluded, at least {report.threshold:.0%} of either "
                  f"one's code): {md_cell(counts_sentence(report))}, in {report.similarity_seconds:.1f} s."]
    if report.too_large:
        from autograder.staff.integrity import SIMILARITY_MAX_BYTES
        lines.append(f"Too large to compare (over {SIMILARITY_MAX_BYTES // 1024} KiB of code, so left out): "
                     f"{', '.join(who(s) for s in report.too_large)}.")
    if report.not_compared:
        lines += ["", "Left out of comparisons (only their own flags are missing):"]
        lines += [f"- {who(sid)}: {md_cell(why)}" for sid, why in sorted(report.not_compared.items())]
    if report.problem:
        lines.append(f"{md_cell(report.problem, 300)}")
    if report.similar:
        lines += ["", "| student | student | share of the first | share of the second |", "|---|---|---|---|"]
        lines += [f"| {who(p.a)} | {who(p.b)} | {p.share_a:.0%} | {p.share_b:.0%} |"
                  for p in report.similar[:MAX_PAIRS_LISTED]]
        if len(report.similar) > MAX_PAIRS_LISTED:
            lines.append(f"\n... and {len(report.similar) - MAX_PAIRS_LISTED} more in similarity.html.")
        lines += ["", "Side by side, matches highlighted: [similarity.html](similarity.html)."]
    return lines


def plot_scores(stats, path):
    """scores.png: the same bins as summary.md, not-attempted and not-graded submissions shown apart."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    width = stats.max_score / BINS if stats.max_score else 1.0
    edges, attempted = histogram([r["score"] for r in stats.graded if r["id"] not in stats.not_attempted],
                                 stats.max_score)
    _, untouched = histogram([r["score"] for r in stats.graded if r["id"] in stats.not_attempted], stats.max_score)
    not_graded = len(stats.records) - len(stats.graded)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    left = edges[:-1]
    ax.bar(left, attempted, width=width, align="edge", color="#4477aa", edgecolor="white", label="graded")
    if any(untouched):
        ax.bar(left, untouched, width=width, align="edge", bottom=attempted, color="#ccbb44", edgecolor="white",
               hatch="//", label="not attempted (template)")
    for x, a, u in zip(left, attempted, untouched):
        if a + u:
            ax.text(x + width / 2, a + u, str(a + u), ha="center", va="bottom", fontsize=8)
    ticks, labels = edges, [f"{e:g}" for e in edges]
    if not_graded:
        x = -1.6 * width
        ax.bar([x], [not_graded], width=width, align="edge", color="#bbbbbb", edgecolor="white",
               label="invalid / grader error")
        ax.text(x + width / 2, not_graded, str(not_graded), ha="center", va="bottom", fontsize=8)
        ticks, labels = [x + width / 2, *edges], ["not\ngraded", *labels]
    if stats.scores:
        ax.axvline(stats.mean, color="#cc3311", linestyle="-", linewidth=1.5, label=f"mean {stats.mean:.1f}")
        ax.axvline(stats.median, color="#222222", linestyle="--", linewidth=1.5, label=f"median {stats.median:g}")
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([1, *(a + u for a, u in zip(attempted, untouched)), not_graded]) * 1.15)
    ax.set(xlabel=f"score (out of {stats.max_score:g}; bins of {width:g})", ylabel="submissions",
           title=f"Scores of {len(stats.records)} submissions ({len(stats.graded)} graded)")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_checks(stats, config, path):
    """checks.png: per check, the graded submissions that passed it, failed it on its own and were
    blocked only (stacked, in % of the graded), labelled with the pass rate over the judged ones,
    the blocked count, its points and the mean points earned."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = check_stats(config, stats.graded, stats.outcomes)[::-1]
    graded = len(stats.graded)
    share = lambda n: 100 * n / graded if graded else 0.0          # noqa: E731
    fig, ax = plt.subplots(figsize=(9, 0.36 * len(rows) + 1.6))
    labels = [f"{row.name} ({row.spec.points:g} pts)" for row in rows]
    alpha = [1.0 if row.spec.points else 0.45 for row in rows]     # a 0-point check apart: paler
    left = [0.0] * len(rows)
    for kind, colour, hatch, legend in (("passed", "#228833", None, "passed fully"),
                                        ("failed", "#cc3311", None, "failed on its own"),
                                        ("blocked", "#bbbbbb", "//", "blocked only (another check's bug)")):
        widths = [share(getattr(row, kind)) for row in rows]
        bars = ax.barh(labels, widths, left=left, color=colour, hatch=hatch, edgecolor="white", label=legend)
        for bar, a in zip(bars, alpha):
            bar.set_alpha(a)
        left = [x + w for x, w in zip(left, widths)]
    for y, row in enumerate(rows):
        text = (f"{row.rate_text()}, mean {row.mean_points:.1f}/{row.spec.points:g} pts" if row.spec.points
                else f"{row.rate_text()}, not scored (0 pts)")
        if row.blocked:
            text += f"; {row.blocked} blocked"
        ax.text(101, y, text, va="center", fontsize=8)
    ax.set(xlabel="graded submissions (%); pass rate = passed / (passed + failed on its own)", xlim=(0, 175))
    ax.set_title("Pass rate and points per check", pad=22)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_integrity(config, sources):
    """The integrity report for [(id, path)], or (None, why not)."""
    from autograder.staff import integrity
    try:
        from autograder.lab_loader import Lab
        return integrity.check_lab_batch(Lab(config), sources, config.similarity_threshold), ""
    except Exception as exc:           # advisory: its failure must not cost the summary
        return None, f"integrity flags could not be computed: {exc!r}"[:300]


def write_summary(records, config, out_dir, sources=None, integrity=None, notes=()):
    """Writes summary.md, report.html, scores.png, checks.png (and similarity.html) into out_dir.

    sources: [(id, submission path)] to read the code from for the integrity flags; None skips them.
    integrity: those flags already computed, as (IntegrityReport or None, why not) (the batch
    computes them while it grades; see integrity_job).
    notes: what else the reader should know (e.g. why the export's names are missing).
    """
    from autograder.staff.html_report import render_report
    out_dir = Path(out_dir)
    if integrity is not None:
        report, problem = integrity
    else:
        report, problem = run_integrity(config, sources) if sources is not None else (None, "")
    bug_counts, outcomes = read_submission_results(out_dir, records)
    stats = batch_stats(records, config, bug_counts, report, [*notes, *([problem] if problem else [])], outcomes)
    plot_scores(stats, out_dir / "scores.png")
    plot_checks(stats, config, out_dir / "checks.png")
    write_atomic(out_dir / "summary.md", stats_markdown(stats, config))
    similarity = out_dir / "similarity.html"
    if report is not None and report.side_by_side:          # labelled with the students
        write_atomic(similarity, render_page(report, stats.names, config.name))
    elif report is not None and report.similarity_html:     # why there is no side-by-side view
        write_atomic(similarity, report.similarity_html)
    elif similarity.exists():
        similarity.unlink()            # a stale view from an earlier run would contradict this one
    write_atomic(out_dir / "report.html", render_report(stats, config, out_dir))
