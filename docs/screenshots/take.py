"""Takes the screenshots in docs/screenshots/ (issue 24); see README.md beside it for what each shows.

    .venv/bin/python docs/screenshots/take.py                      # every image
    .venv/bin/python docs/screenshots/take.py report feedback-md   # only these (names without .png)
    .venv/bin/python docs/screenshots/take.py --out /tmp/shots     # somewhere else, to compare first

What it does, in a temporary folder that is deleted afterwards:

1. writes a made-up Gradescope export (`assignment_7001_export/`: `submission_metadata.yml` and one
   folder per submission holding conv2d.py, the layout tests/e2e/test_staff_outputs.py's `write_export`
   uses) of 12 students: non-ASCII names, four copies of correct/lecture_loops (one untouched, three
   with a comment, spacing or blank lines changed), other correct solutions, one-bug catalogue
   entries derived from them, and the untouched template (student_template/conv2d.py);
2. grades it with `run_batch(lab, ..., jobs=2)`, as `python -m autograder batch` does;
3. writes two plain HTML pages: one student's Gradescope results.json (top-level `output`, then
   every test, all `output_format: md`) and another student's feedback.md, both rendered by
   markdown-it-py's CommonMark preset (plus GFM tables for feedback.md, as GitHub shows it);
4. calls headless Chromium once per page with a window 1280 px wide and as tall as the page
   (`--dump-dom` of a copy with a measuring script tells the height and where the sections are;
   report.html's Content-Security-Policy is dropped from that copy only), takes the screenshot of the
   page itself and crops it with Pillow to the part README.md describes.

Needs /usr/bin/chromium (or $CHROMIUM), markdown-it-py and Pillow in the venv, and a CJK font (Debian:
fonts-wqy-zenhei) for the name 陈伟. Takes about half a minute. No test runs it; the images depend on
the grader's wording, so retake them when the feedback or the reports change.
"""

import argparse
import html
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from markdown_it import MarkdownIt                      # noqa: E402
from PIL import Image                                   # noqa: E402

from autograder.staff.batch import run_batch            # noqa: E402
from autograder.staff.catalogue import load_catalogue   # noqa: E402
from autograder.lab_loader import load_lab                     # noqa: E402

CONV_LAB = load_lab(REPO / "assignment" / "config.toml")     # the lab the screenshots show

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WIDTH = 1280
IMAGES = ("report", "report-integrity", "similarity", "feedback", "feedback-md")
GRADESCOPE_STUDENT = 10     # Edsger Dijkstra: bug/col2im_ignores_stride, whose Start here is a visible check's
FEEDBACK_MD_STUDENT = 6     # Emmy Noether: bug/overwrite_overlaps


def people():
    """(name, conv2d.py source) of the 12 made-up students, in submission order."""
    c, _ = load_catalogue(lab=CONV_LAB)
    loops = c["correct/lecture_loops"].source
    return [
        ("Ada Lovelace", loops),
        ("Alan Turing", "# mine\n" + loops.replace("col = 0", "col=0")),
        ("Lucía Álvarez", loops.replace("\n\ndef ", "\n\n\ndef ")),
        ("陈伟", c["correct/batched_einsum"].source),
        ("Grace Hopper", (REPO / "student_template" / "conv2d.py").read_text(encoding="utf-8")),
        ("Katherine Johnson", c["bug/mean_over_batch"].source),
        ("Emmy Noether", c["bug/overwrite_overlaps"].source),
        ("Søren Kierkegaard", c["correct/window_view_batch"].source),
        ("Alan Kay", c["bug/no_crop"].source),
        ("Barbara Liskov", c["correct/offset_slices"].source),
        ("Edsger Dijkstra", c["bug/col2im_ignores_stride"].source),
        ("Frances Allen", "# ok\n" + loops),
    ]


def write_export(root):
    """The unzipped export under root/; returns the submission ids in order."""
    export = root / "assignment_7001_export"
    export.mkdir(parents=True)
    meta, ids = ["---"], []
    for i, (name, source) in enumerate(people()):
        sid = f"submission_30000{100 + i}"
        ids.append(sid)
        (export / sid).mkdir()
        (export / sid / "conv2d.py").write_text(source, encoding="utf-8")
        meta += [f"{sid}:", "  :submitters:", f"  - :name: {name}", f"    :sid: '{2000 + i}'",
                 f"    :email: s{i}@uni.example", f"  :created_at: 2026-03-0{1 + i % 8} 10:00:00.000000000 Z",
                 "  :score: 0.0", "  :status: processed", "  :history: []"]
    (export / "submission_metadata.yml").write_text("\n".join(meta) + "\n", encoding="utf-8")
    return ids


STYLE = """body{font:14px system-ui,sans-serif;max-width:1100px;margin:1em auto;color:#222}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:13px}
details{border:1px solid #ddd;margin:.5em 0;padding:.3em .8em}
details.failed{border-left:5px solid #c62828} details.passed{border-left:5px solid #2e7d32}
.note{color:#666;font-weight:normal}
table{border-collapse:collapse;margin:1em 0} th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
th{background:#f6f8fa}"""


def page(title, body):
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def gradescope_page(results, who):
    """results.json as Gradescope shows it after the due date: the top-level output, then each test
    (name, score, passed / failed; a failed test open). No Gradescope styles, only its Markdown."""
    md = MarkdownIt("commonmark")
    parts = [f"<h2>Gradescope view (output_format md): {who}, {results['score']:g} / 100</h2>",
             md.render(results["output"])]
    for test in results["tests"]:
        status = test.get("status", "passed")
        note = "" if test.get("visibility") == "visible" else " <span class='note'>(shown after the due date)</span>"
        parts.append(f"<details class='{status}'{' open' if status == 'failed' else ''}><summary>"
                     f"<b>{html.escape(test['name'])}</b> ({test['score']:g} / {test['max_score']:g}, {status})"
                     f"{note}</summary>{md.render(test.get('output', ''))}</details>")
    return page("Gradescope view", "".join(parts))


def feedback_md_page(text, who):
    """feedback.md as a Markdown viewer shows it (CommonMark with GFM tables, as on GitHub)."""
    md = MarkdownIt("commonmark").enable("table")
    return page("feedback.md", f"<p class='note'>{html.escape(who)}: feedback.md rendered as Markdown</p>"
                               + md.render(text))


MEASURE = """<script>addEventListener("load", function () {
  var out = {height: document.documentElement.scrollHeight};
  SELECTORS.forEach(function (s) {
    var e = document.querySelector(s);
    if (e) { var r = e.getBoundingClientRect(); out[s] = [r.top + scrollY, r.bottom + scrollY]; }
  });
  document.body.setAttribute("data-measured", JSON.stringify(out));
});</script>"""


def chromium(*args):
    flags = ["--headless", "--hide-scrollbars", "--disable-gpu", *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


def measure(path, selectors):
    """{'height': page height, selector: [top, bottom]} at WIDTH, from a measuring copy of the page."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"<meta http-equiv=[\"']Content-Security-Policy[\"'][^>]*>", "", text)
    copy = path.with_name(path.stem + ".measure.html")
    copy.write_text(text.replace("</body>", MEASURE.replace("SELECTORS", json.dumps(selectors)) + "</body>"),
                    encoding="utf-8")
    dom = chromium("--virtual-time-budget=5000", f"--window-size={WIDTH},1000", "--dump-dom", copy.as_uri()).stdout
    copy.unlink()
    found = re.search(r'data-measured="([^"]*)"', dom)
    if not found:
        raise SystemExit(f"could not measure {path.name}")
    return json.loads(html.unescape(found.group(1)))


def shoot(path, dest, crop=None, selectors=()):
    """Screenshot of the whole page at WIDTH, cropped by crop(rects) -> (top, bottom) if given."""
    rects = measure(path, list(selectors))
    height = int(rects["height"]) + 1
    full = dest.with_suffix(".full.png")
    chromium(f"--window-size={WIDTH},{height}", f"--screenshot={full}", path.as_uri())
    with Image.open(full) as image:
        top, bottom = crop(rects) if crop else (0, height)
        image.crop((0, max(0, int(top)), WIDTH, min(image.height, int(bottom)))).save(dest, optimize=True)
    full.unlink()
    print(f"{dest}: {Image.open(dest).size[0]}x{Image.open(dest).size[1]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", help=f"some of {', '.join(IMAGES)} (default: all)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    wanted = args.images or IMAGES
    if set(wanted) - set(IMAGES):
        parser.error(f"unknown image(s): {', '.join(sorted(set(wanted) - set(IMAGES)))}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        tmp = Path(tmp)
        ids = write_export(tmp / "download")
        out = tmp / "out"
        run_batch(CONV_LAB, tmp / "download", out, jobs=2)
        names = [name for name, _ in people()]
        report = out / "report.html"
        if "report" in wanted:      # the top: cards, histogram, the check table to its last row
            shoot(report, args.out / "report.png", lambda r: (0, r["#checks ~ table"][1] + 24), ["#checks ~ table"])
        if "report-integrity" in wanted:    # likely bugs, not attempted, integrity, the students table
            shoot(report, args.out / "report-integrity.png",
                  lambda r: (r["#bugs"][0] - 24, r["#students ~ table"][1] + 24), ["#bugs", "#students ~ table"])
        if "similarity" in wanted:  # the pairs table and the first pair side by side
            shoot(out / "similarity.html", args.out / "similarity.png", lambda r: (0, 1600))
        if "feedback" in wanted:
            i = GRADESCOPE_STUDENT
            results = json.loads((out / "submissions" / ids[i] / "results.json").read_text(encoding="utf-8"))
            gradescope = tmp / "gradescope.html"
            gradescope.write_text(gradescope_page(results, names[i]), encoding="utf-8")
            shoot(gradescope, args.out / "feedback.png")
        if "feedback-md" in wanted:
            i = FEEDBACK_MD_STUDENT
            text = (out / "submissions" / ids[i] / "feedback.md").read_text(encoding="utf-8")
            feedback = tmp / "feedback.html"
            feedback.write_text(feedback_md_page(text, f"{names[i]} ({ids[i]})"), encoding="utf-8")
            shoot(feedback, args.out / "feedback-md.png")


if __name__ == "__main__":
    main()
