"""OUT/report.html: the batch on one self-contained page for course staff.

Sections (each an <h2> with a stable id, which the kit's tests look for):
scores, checks, bugs, not-graded, integrity, students. Images are inline
(base64 PNG) and a Content-Security-Policy allows nothing from the network and
no script but the page's own sorter, so the page opens anywhere, offline, and
student text (ids, names, messages) can only ever be text: every such value is
HTML-escaped here, and links are percent-encoded.
"""

import base64
import datetime
import hashlib
import html
from pathlib import Path
from urllib.parse import quote

from autograder import __version__
from autograder.staff.similarity_page import counts_sentence, label_html, student_label

SECTIONS = ("scores", "checks", "bugs", "not-graded", "integrity", "students")
MAX_PAIRS_SHOWN = 1000        # pairs in the page at all
TOP_PAIRS = 15                # shown open; the rest folded in a <details>

SORTER = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var up = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    var key = function (row) {
      var cell = row.cells[col], v = cell.getAttribute("data-sort");
      return v !== null ? parseFloat(v) : cell.textContent.toLowerCase();
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.8em; }
.meta { color: #666; } .figure { max-width: 100%; }
table { border-collapse: collapse; margin: 0.6em 0; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; } table.sortable th::after { content: " \\2195"; color: #999; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; } .card { border: 1px solid #ddd; border-radius: 6px; padding: 0.5em 1em; }
.card b { display: block; font-size: 1.4em; } .flag { color: #a05a00; } .bad { color: #b00020; }
.id { color: #666; font-size: 0.9em; } details { margin: 0.6em 0; } summary { cursor: pointer; }
"""


def esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def _image(path, alt):
    try:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    except OSError:
        return f"<p class='bad'>{esc(alt)}: image missing.</p>"
    return f"<img class='figure' alt='{esc(alt)}' src='data:image/png;base64,{data}'>"


def _cell(i, cell, numeric):
    """One <td>: cell is escaped HTML, or (escaped HTML, number to sort by)."""
    content, key = cell if isinstance(cell, tuple) else (cell, None)
    attrs = (" class='num'" if i in numeric else "") + (f" data-sort='{float(key)!r}'" if key is not None else "")
    return f"<td{attrs}>{content}</td>"


def _table(header, rows, sortable=False, numeric=()):
    """rows hold already-escaped HTML cells; columns in `numeric` are right-aligned."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(i, c, numeric) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table{' class=sortable' if sortable else ''}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(sid, title, body):
    return f"<section><h2 id='{sid}'>{esc(title)}</h2>\n{body}\n</section>"


def _scores(stats, out_dir):
    cards = [("submissions", len(stats.records)), ("graded", len(stats.graded)),
             ("mean", f"{stats.mean:.1f}"), ("median", f"{stats.median:g}"),
             ("full marks", sum(s == stats.max_score for s in stats.scores)),
             ("not graded", len(stats.records) - len(stats.graded)), ("not attempted", len(stats.not_attempted))]
    body = "<div class='cards'>" + "".join(f"<div class='card'><b>{esc(v)}</b>{esc(k)}</div>" for k, v in cards)
    body += "</div>"
    if stats.scores:
        body += (f"<p>Graded scores out of {stats.max_score:g}: min {stats.scores[0]:g}, max {stats.scores[-1]:g}, "
                 f"mean {stats.mean:.1f}, median {stats.median:g}.</p>")
    return body + _image(out_dir / "scores.png", "score distribution")


def _checks(stats, config, out_dir):
    from autograder.staff.check_stats import CHECKS_EXPLAINED, check_stats
    rows = [[esc(row.name), (f"{row.spec.points:g}", row.spec.points),
             (f"{row.passed} / {len(stats.graded)}", row.passed),
             (str(row.failed), row.failed), (row.blocked_text(config, lambda t: esc(t[:100])), row.blocked),
             (esc(row.rate_text()), -1 if row.rate is None else row.rate), (f"{row.mean_points:.2f}", row.mean_points),
             esc(row.spec.hint)] for row in check_stats(config, stats.graded, stats.outcomes)]
    return (f"<p>{esc(CHECKS_EXPLAINED)}</p>"
            + _table(["check", "points", "passed fully", "failed on its own", "blocked only", "pass rate",
                      "mean points", "hint when failed"], rows, sortable=True, numeric=(1, 2, 3, 5, 6))
            + _image(out_dir / "checks.png", "pass rate and points per check"))


def _bugs(stats):
    if not stats.bug_counts:
        return "<p>No known bug pattern was recognised in the feedback.</p>"
    return _table(["likely bug (from the feedback)", "submissions"],
                  [[esc(bug), str(n)] for bug, n in stats.bug_counts.most_common(15)], numeric=(1,))


def _not_graded(stats):
    problems = [r for r in stats.records if r["status"] != "graded"]
    body = (_table(["submission", "status", "message"],
                   [[label_html(r["id"], stats.names), esc(r["status"]),
                     esc(" ".join(str(r.get("message", "")).split())[:300])]
                    for r in problems]) if problems else "<p>Every submission was graded.</p>")
    untouched = sorted(stats.not_attempted)
    body += (f"<p><b>Not attempted</b> (graded, but both stubs still as in the template): "
             f"{', '.join(label_html(s, stats.names) for s in untouched) if untouched else 'none'}.</p>")
    return body


def _integrity(stats):
    report, names = stats.integrity, stats.names
    who = lambda sid: label_html(sid, names)      # noqa: E731
    if report is None:
        return "<p>Integrity flags were not computed for this batch.</p>"
    body = ("<p>Advisory only: these flags never change a score. Code is compared after the template's given "
            "code is removed.</p>")
    if report.problem:
        body += f"<p class='bad'>{esc(report.problem)}</p>"
    if report.not_compared:
        body += (f"<h3>Left out of comparisons: {len(report.not_compared)}</h3><p>Only their own flags are "
                 f"missing.</p><ul>" + "".join(f"<li>{who(sid)}: {esc(why)}</li>"
                                               for sid, why in sorted(report.not_compared.items())) + "</ul>")
    groups = report.identical
    body += f"<h3>Identical code (comments and whitespace ignored): {len(groups)} group(s)</h3>"
    body += "<ul>" + "".join(f"<li>{', '.join(who(s) for s in g)}</li>" for g in groups) + "</ul>" if groups else ""
    body += (f"<h3>Similar pairs: {len(report.similar)} at or above {report.threshold:.0%}</h3>"
             f"<p>copydetect token fingerprints: {esc(counts_sentence(report))}, in "
             f"{report.similarity_seconds:.1f} s. A share is the part of one submission's own code found in the "
             f"other.</p>")
    if report.similar:
        if report.similarity_html or report.side_by_side:
            body += ("<p>Side by side with the matching code highlighted (the most similar pairs): "
                     "<a href='similarity.html'>similarity.html</a> (readable offline).</p>")
        shown = report.similar[:MAX_PAIRS_SHOWN]
        header = ["student", "student", "share of the first", "share of the second"]
        row = lambda p: [who(p.a), who(p.b), (f"{p.share_a:.0%}", p.share_a), (f"{p.share_b:.0%}", p.share_b)]  # noqa
        body += _table(header, [row(p) for p in shown[:TOP_PAIRS]], sortable=True, numeric=(2, 3))
        if len(shown) > TOP_PAIRS:
            body += (f"<details><summary>{len(shown) - TOP_PAIRS} more pair(s)</summary>"
                     + _table(header, [row(p) for p in shown[TOP_PAIRS:]], sortable=True, numeric=(2, 3))
                     + "</details>")
        if len(report.similar) > len(shown):
            body += f"<p>... and {len(report.similar) - len(shown)} more pairs.</p>"
    return body


def _students(stats):
    names = stats.names
    flags = stats.integrity.flags_by_id(lambda sid: student_label(sid, names)) if stats.integrity else {}
    has_people = any("student_name" in r for r in stats.records)
    header = ["submission", *(["name", "email", "SID", "submitted at"] if has_people else []),
              "score", "status", "flags", "feedback"]
    rows = []
    for r in stats.records:
        link = f"submissions/{quote(str(r['id']), safe='')}/feedback.md"
        people = [esc(r.get(k, "")) for k in ("student_name", "student_email", "student_sid", "submitted_at")]
        score = float(r.get("score") or 0)
        rows.append([esc(r["id"]), *(people if has_people else []), (f"{score:g}", score), esc(r["status"]),
                     f"<span class='flag'>{esc('; '.join(flags.get(r['id'], [])))}</span>",
                     f"<a href='{esc(link)}'>feedback</a>"])
    return "<p>Click a column's title to sort.</p>" + _table(header, rows, sortable=True, numeric=(len(header) - 4,))


def render_report(stats, config, out_dir):
    """The whole page as text."""
    out_dir = Path(out_dir)
    script_hash = base64.b64encode(hashlib.sha256(SORTER.encode()).digest()).decode()
    csp = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
           f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'")
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    fixture = next((r.get("fixture_set_hash", "") for r in stats.records if r.get("fixture_set_hash")), "")
    parts = [
        _section("scores", "Score distribution", _scores(stats, out_dir)),
        _section("checks", "Pass rate and points per check", _checks(stats, config, out_dir)),
        _section("bugs", "Most common likely bugs", _bugs(stats)),
        _section("not-graded", "Not graded, invalid, not attempted", _not_graded(stats)),
        _section("integrity", "Integrity flags: identical and similar code", _integrity(stats)),
        _section("students", "Students", _students(stats)),
    ]
    notes = "".join(f"<p class='bad'>{esc(n)}</p>" for n in stats.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(config.name)}: batch report</title>
<style>{STYLE}</style></head>
<body>
<h1>{esc(config.name)}</h1>
<p class="meta">Batch report, {generated}; grader {esc(__version__)}; fixture set {esc(fixture[:12])};
{len(stats.records)} submissions. Also: <a href="grades.csv">grades.csv</a>, <a href="summary.md">summary.md</a>.</p>
<nav>{' | '.join(f"<a href='#{s}'>{s.replace('-', ' ')}</a>" for s in SECTIONS)}</nav>
{notes}
{chr(10).join(parts)}
<script>{SORTER}</script>
</body></html>
"""
