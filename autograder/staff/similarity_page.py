"""OUT/similarity.html: the similar pairs side by side, labelled with the students, for a TA.

The kit's own page (copydetect's stock page labelled files `0000_submission_….py`,
plotted a matrix with numbered axes and counted its files differently from
report.html). One table of every pair, highest first, each row naming both students
(name and submission id); then, for the most similar pairs, both files with the
matching code highlighted (copydetect's highlighting, already HTML-escaped), each
pair folded in a <details>. Self-contained and offline: no script, nothing fetched, a
Content-Security-Policy that allows nothing from the network. Every student value
(id, name) is escaped here; the code comes escaped from copydetect with only its
two highlight <span>s added.
"""

import html

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } .meta { color: #555; }
table { border-collapse: collapse; margin: 0.6em 0; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
details { border: 1px solid #ddd; border-radius: 6px; margin: 0.6em 0; padding: 0.3em 0.8em; }
summary { cursor: pointer; font-weight: 600; }
.pair { display: flex; gap: 1em; } .side { flex: 1 1 0; min-width: 0; }
.side h3 { font-size: 1em; margin: 0.5em 0; }
pre { white-space: pre-wrap; overflow-x: auto; background: #fafafa; border: 1px solid #eee; padding: 0.5em;
      font-size: 12px; line-height: 1.35; }
.highlight-red { background: #ffd6d6; } .highlight-green { background: #d3f5d3; }
.id { color: #666; font-size: 0.9em; }
"""


def esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def student_label(sid, names):
    """'Ada Lovelace (submission_1001)', or the id alone when no name is known."""
    name = " ".join(str(names.get(sid, "") or "").split())
    return f"{name} ({sid})" if name else str(sid)


def label_html(sid, names):
    name = " ".join(str(names.get(sid, "") or "").split())
    return f"{esc(name)} <span class='id'>({esc(sid)})</span>" if name else esc(sid)


def counts_sentence(report):
    """The counts, in the same words on report.html, summary.md and similarity.html."""
    n = report.similarity_compared
    return (f"{len(report.similar)} similar pair(s) at or above {report.threshold:.0%}, among {n} submissions "
            f"compared pairwise ({n * (n - 1) // 2} pairs)")


def render_page(report, names=None, title="Similar code"):
    """The whole page as text; report: an integrity.IntegrityReport; names: {id: student name}."""
    names = names or {}
    view = list(report.side_by_side or [])
    rows = "".join(
        f"<tr><td class='num'>{n}</td><td>{label_html(p.a, names)}</td><td>{label_html(p.b, names)}</td>"
        f"<td class='num'>{p.share_a:.0%}</td><td class='num'>{p.share_b:.0%}</td></tr>"
        for n, p in enumerate(report.similar, 1))
    table = ("<table><thead><tr><th>#</th><th>student</th><th>student</th><th>share of the first's code</th>"
             "<th>share of the second's code</th></tr></thead><tbody>" + rows + "</tbody></table>") if rows else \
        "<p>No pair reached the threshold.</p>"
    folds = []
    for n, v in enumerate(view, 1):
        a, b = v["a"], v["b"]
        folds.append(
            f"<details{' open' if n == 1 else ''}><summary>{n}. {label_html(a, names)} and {label_html(b, names)}: "
            f"{v['share_a']:.0%} / {v['share_b']:.0%}</summary><div class='pair'>"
            f"<div class='side'><h3>{label_html(a, names)}: {v['share_a']:.0%} of this code found in the other"
            f"</h3><pre>{v['code_a']}</pre></div>"
            f"<div class='side'><h3>{label_html(b, names)}: {v['share_b']:.0%} of this code found in the other"
            f"</h3><pre>{v['code_b']}</pre></div></div></details>")
    shown = (f"<h2>Side by side: the {len(view)} most similar pair(s)</h2><p>Matching code is highlighted "
             f"(red on the left, green on the right); the template's code never counts. Click a pair to fold "
             f"it.</p>" + "".join(folds)) if view else ""
    more = (f"<p>The other {len(report.similar) - len(view)} pair(s) are in the table above only.</p>"
            if len(report.similar) > len(view) and view else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}: similar pairs</title>
<style>{STYLE}</style></head>
<body>
<h1>{esc(title)}: similar pairs</h1>
<p class="meta">{esc(counts_sentence(report))}. copydetect token fingerprints (MOSS-style); a share is the part
of one submission's own code found in the other. Advisory only: never a score. Back to
<a href="report.html#integrity">report.html</a>.</p>
{table}
{shown}
{more}
</body></html>
"""
