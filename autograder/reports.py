"""The instructor's view of a batch: summary.md, scores.png and checks.png.

summary.md gives the score distribution, the pass rate of every check and the
most common likely bugs named in the feedback, so a lecture can address them.
"""

import json
import re
from collections import Counter
from pathlib import Path

from autograder.results import write_atomic

LIKELY_BUG = re.compile(r"likely bug: ([^;\n]+)")


def _likely_bugs(out_dir, records):
    """Counts submissions per likely bug named in their feedback."""
    counts = Counter()
    for r in records:
        try:
            results = json.loads((Path(out_dir) / "submissions" / r["id"] / "results.json").read_text())
        except (OSError, ValueError):
            continue
        found = {m.group(1).strip() for t in results.get("tests", []) for m in LIKELY_BUG.finditer(t.get("output", ""))}
        counts.update(found)
    return counts


def md_cell(text):
    """Text safe in a markdown table cell: one line, pipes escaped, no HTML."""
    text = " ".join(str(text).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _histogram(scores, max_score, bins=10):
    edges = [max_score * i / bins for i in range(bins + 1)]
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, int(s / max_score * bins)) if max_score else 0] += 1
    return edges, counts


def summary_markdown(records, config, bug_counts):
    graded = [r for r in records if r["status"] == "graded"]
    scores = sorted(r["score"] for r in graded)
    max_score = config.max_score
    lines = ["# Batch summary", "",
             f"{len(records)} submissions: {len(graded)} graded, "
             f"{sum(r['status'] == 'invalid' for r in records)} invalid, "
             f"{sum(r['status'] == 'error' for r in records)} grader errors.", ""]
    if scores:
        median = scores[len(scores) // 2] if len(scores) % 2 else (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
        lines += [f"Scores (graded only, out of {max_score:g}): mean {sum(scores) / len(scores):.1f}, "
                  f"median {median:g}, min {scores[0]:g}, max {scores[-1]:g}; "
                  f"{sum(s == max_score for s in scores)} full marks.", "",
                  "| score range | submissions |", "|---|---|"]
        edges, counts = _histogram(scores, max_score)
        lines += [f"| {edges[i]:g} - {edges[i + 1]:g} | {c} |" for i, c in enumerate(counts)]
        lines += ["", "![scores](scores.png)", ""]
    lines += ["## Checks", "", "| check | points | passed fully | pass rate | hint when failed |", "|---|---|---|---|---|"]
    for name, spec in config.checks.items():
        full = sum(name in r.get("passed", ()) for r in graded)
        rate = full / len(graded) if graded else 0.0
        lines.append(f"| {name} | {spec.points:g} | {full} / {len(graded)} | {rate:.0%} | {spec.hint} |")
    lines += ["", "![checks](checks.png)", "", "## Most common likely bugs", ""]
    if bug_counts:
        lines += ["| likely bug (from the feedback) | submissions |", "|---|---|"]
        lines += [f"| {bug} | {n} |" for bug, n in bug_counts.most_common(10)]
    else:
        lines.append("No known bug pattern was recognised.")
    problems = [r for r in records if r["status"] != "graded"]
    if problems:
        lines += ["", "## Not graded", "", "| submission | status | message |", "|---|---|---|"]
        lines += [f"| {md_cell(r['id'])} | {r['status']} | {md_cell(str(r['message'])[:200])} |" for r in problems]
    lines += entries_markdown(records)
    return "\n".join(lines) + "\n"


def entries_markdown(records):
    """Duplicate ids, then one line per entry of the folder (issue 12: no student is lost)."""
    lines = []
    duplicates = [r for r in records if r.get("note")]
    if duplicates:
        lines += ["", "## Duplicate ids", "", "Entries whose usual id (the name without its extension) clashed; "
                  "each was graded under the id shown.", "", "| id | note |", "|---|---|"]
        lines += [f"| {md_cell(r['id'])} | {md_cell(r['note'])} |" for r in duplicates]
    lines += ["", "## Every entry", "", "| submission | status | score | message |", "|---|---|---|---|"]
    lines += [f"| {md_cell(r['id'])} | {r['status']} | {r['score']:g} | {md_cell(str(r['message'])[:200])} |"
              for r in records]
    return lines


def _plots(records, config, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    graded = [r for r in records if r["status"] == "graded"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist([r["score"] for r in graded], bins=20, range=(0, config.max_score), color="#4477aa")
    ax.set(xlabel=f"score (out of {config.max_score:g})", ylabel="submissions",
           title=f"Scores of {len(graded)} graded submissions")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "scores.png", dpi=110)
    plt.close(fig)
    names = list(config.checks)
    rates = [sum(n in r.get("passed", ()) for r in graded) / max(1, len(graded)) for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(names) + 1.2))
    ax.barh(names[::-1], [100 * r for r in rates[::-1]], color="#228833")
    ax.set(xlabel="submissions passing fully (%)", xlim=(0, 100), title="Pass rate per check")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "checks.png", dpi=110)
    plt.close(fig)


def write_summary(records, config, out_dir):
    """Writes summary.md, scores.png and checks.png into out_dir."""
    write_atomic(Path(out_dir) / "summary.md", summary_markdown(records, config, _likely_bugs(out_dir, records)))
    _plots(records, config, out_dir)
