"""What course staff read (issue 24): outputs the staff group can open, names beside ids,
a similarity page a TA can use, a Canvas export that fills the roster's own column."""

import os
import stat

import pytest

from autograder.results import write_atomic
from helpers import CONV_LAB


# --- 3. outputs readable as the staff's umask allows ------------------------------------------

@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_get_the_mode_a_plain_write_would(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        for name in ("grades.csv", "report.html", "results.json"):
            write_atomic(tmp_path / name, "x\n")
            with open(tmp_path / f"plain-{name}", "w") as f:
                f.write("x\n")
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name
            assert stat.S_IMODE((tmp_path / f"plain-{name}").stat().st_mode) == expected
    finally:
        os.umask(old)


def test_an_atomic_rewrite_keeps_the_files_own_mode(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("old\n")
    path.chmod(0o640)
    write_atomic(path, "new\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "new\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]       # no temp file left


# --- 5. Canvas export: the roster's order, the roster's own column ----------------------------

ROSTER = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Lab 6 (111),Lab 7 (12345),Current Score,Final Score
    Points Possible,,,,,10,100,(read only),(read only)
"Zhou, Bo",601,2001,bo,CS 101 A,9,,90,90
"Álvarez, Lucía",602,2002,lucia,CS 101 A,8,,80,80
陈伟,603,2003,chen,CS 101 A,7,,70,70
"Adams, Ann",604,2004,ann,CS 101 B,6,,60,60
"""
GRADES = ("id,student_name,student_email,student_sid,submitted_at,score,max_score,status\n"
          "s1,Ann Adams,ann@x,2004,,40,100,graded\n"
          "s2,陈伟,chen@x,2003,,70,100,graded\n"
          "s3,Lucía Álvarez,lucia@x,2002,,80,100,graded\n"
          "s4,Bo Zhou,bo@x,2001,,90,100,graded\n")


def canvas(tmp_path, capsys, assignment, roster=ROSTER):
    from autograder import cli
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    (tmp_path / "grades.csv").write_text(GRADES, encoding="utf-8")
    code = cli.main(["export", "canvas", "--grades", str(tmp_path / "grades.csv"), "--roster",
                     str(tmp_path / "roster.csv"), "--assignment", assignment])
    captured = capsys.readouterr()
    import csv
    import io
    return code, list(csv.reader(io.StringIO(captured.out))), captured.err


def test_canvas_rows_keep_the_rosters_order(tmp_path, capsys):
    code, rows, _ = canvas(tmp_path, capsys, "Lab 7")
    assert code == 0
    assert [r[0] for r in rows[2:]] == ["Zhou, Bo", "Álvarez, Lucía", "陈伟", "Adams, Ann"]     # not code-point order
    assert [r[-1] for r in rows[2:]] == ["90", "80", "70", "40"]


@pytest.mark.parametrize("given", ["Lab 7", "lab  7", "Lab 7 (12345)", "12345"])
def test_assignment_fills_the_rosters_existing_column_and_says_so(tmp_path, capsys, given):
    code, rows, err = canvas(tmp_path, capsys, given)
    assert code == 0 and rows[0][-1] == "Lab 7 (12345)"          # Canvas fills assignment 12345, adds none
    assert "matched the roster's column 'Lab 7 (12345)'" in err


def test_assignment_matching_no_column_says_why(tmp_path, capsys):
    code, rows, err = canvas(tmp_path, capsys, "Lab 8")
    assert code == 0 and rows[0][-1] == "Lab 8"
    assert "matched no roster column" in err and "'Lab 7 (12345)'" in err and "NEW assignment" in err
    plain = "name,sid,email\nBo,2001,bo@x\n"
    code, rows, err = canvas(tmp_path, capsys, "Lab 7", roster=plain)
    assert code == 0 and rows[0][-1] == "Lab 7" and "no assignment columns" in err
    assert "Current Score" not in err            # Canvas's totals are never taken for an assignment


def test_assignment_naming_two_columns_is_refused(tmp_path, capsys):
    from autograder import cli
    twice = ROSTER.replace("Lab 6 (111)", "Lab 7 (111)")
    code, rows, err = canvas(tmp_path, capsys, "Lab 7", roster=twice)
    assert code == cli.EXIT_INVALID and rows == []
    assert "matches 2 roster columns" in err and "'Lab 7 (12345)'" in err
    code, rows, err = canvas(tmp_path, capsys, "Lab 7 (111)", roster=twice)
    assert code == 0 and rows[0][-1] == "Lab 7 (111)"


# --- 1. names beside ids; 2. a similarity page a TA can use -------------------------------------

NAMES = {"submission_1": "Ada Lovelace", "submission_2": "陈伟", "submission_3": "Lucía Álvarez",
         "submission_4": "<b>Mallory</b>", "submission_5": ""}


def records(names=NAMES):
    from autograder.config import load_config
    config = CONV_LAB.config
    rows = []
    for n, (sid, name) in enumerate(names.items()):
        rows.append(dict(id=sid, status="graded" if n != 4 else "invalid", score=float(10 * n),
                         max_score=config.max_score, checks={}, passed=[], message="ok" if n != 4 else "no file",
                         fixture_set_hash="f" * 64, student_name=name, student_email="", student_sid=str(n),
                         submitted_at=""))
    return config, rows


def fake_integrity(pairs=1):
    from autograder.staff.integrity import IntegrityReport, SimilarPair
    ids = list(NAMES)
    similar = [SimilarPair(ids[i % 4], ids[(i + 1) % 4], 0.9 - i / 100, 0.8) for i in range(pairs)]
    return IntegrityReport(threshold=0.5, compared=4, not_attempted=["submission_3"],
                           identical=[["submission_1", "submission_2"]], similar=similar,
                           not_compared={"submission_4": "could not be compared: nested too deeply"},
                           similarity_compared=3)


def test_console_table_shows_names_beside_ids():
    from autograder.staff.batch_console import grade_table
    config, rows = records()
    table = grade_table(rows, config).splitlines()
    assert table[0].split()[:3] == ["submission", "student", "score"]
    line = {row.split()[0]: row for row in table[2:]}
    assert "Ada Lovelace" in line["submission_1"] and "陈伟" in line["submission_2"]
    # the score column lines up on a terminal, 陈伟 taking four columns
    from autograder.staff.batch_console import text_width
    starts = {text_width(row[:row.index(" / ")]) for row in table[2:]}
    assert len(starts) == 1, table
    # a batch of plain files has no names: no empty column
    plain = [{k: v for k, v in r.items() if not k.startswith("student")} for r in rows]
    assert "student" not in grade_table(plain, config).splitlines()[0]


def test_summary_and_report_show_names_beside_ids_in_every_list(tmp_path):
    from autograder.staff.html_report import render_report
    from autograder.staff.reports import batch_stats, stats_markdown
    config, rows = records()
    stats = batch_stats(rows, config, {}, fake_integrity())
    summary = stats_markdown(stats, config)
    assert "- Ada Lovelace (submission\\_1), 陈伟 (submission\\_2)" in summary               # identical
    assert "Not attempted (both stubs as in the template): Lucía Álvarez (submission\\_3)." in summary
    assert "| Ada Lovelace (submission\\_1) | 陈伟 (submission\\_2) | 90% | 80% |" in summary  # similar
    assert "- &lt;b&gt;Mallory&lt;/b&gt; (submission\\_4): could not be compared" in summary
    assert "| submission\\_5 | invalid |" in summary                     # no name: the id alone
    page = render_report(stats, config, tmp_path)
    integrity = page[page.index("id='integrity'"):page.index("id='students'")]
    assert "Ada Lovelace <span class='id'>(submission_1)</span>, 陈伟 <span class='id'>(submission_2)</span>" \
        in integrity
    assert "&lt;b&gt;Mallory&lt;/b&gt; <span class='id'>(submission_4)</span>: could not be compared" in integrity
    assert "<b>Mallory" not in page
    not_graded = page[page.index("id='not-graded'"):page.index("id='integrity'")]
    assert "Lucía Álvarez <span class='id'>(submission_3)</span>" in not_graded
    students = page[page.index("id='students'"):]
    assert "identical to 陈伟 (submission_2)" in students                  # flags name the other student


def test_report_shows_the_top_pairs_and_folds_the_rest(tmp_path):
    from autograder.staff.html_report import TOP_PAIRS, render_report
    from autograder.staff.reports import batch_stats
    config, rows = records()
    stats = batch_stats(rows, config, {}, fake_integrity(pairs=40))
    page = render_report(stats, config, tmp_path)
    integrity = page[page.index("id='integrity'"):page.index("id='students'")]
    before, _, folded = integrity.partition("<details>")
    assert before.count("<tr>") == TOP_PAIRS + 1                           # header and the top pairs
    assert f"<summary>{40 - TOP_PAIRS} more pair(s)</summary>" in folded and folded.count("<tr>") == 40 - TOP_PAIRS + 1


def test_similarity_page_is_labelled_with_students_and_agrees_with_report_html(tmp_path):
    import re
    from autograder.staff import integrity
    from autograder.staff.catalogue import load_catalogue
    from autograder.staff.reports import write_summary
    from helpers import TEMPLATE
    catalogue, _ = load_catalogue(lab=CONV_LAB)
    correct = catalogue["correct/lecture_loops"].source
    sources = {"submission_1": correct, "submission_2": correct.replace("col = 0", "col=0"),
               "submission_3": "# mine\n" + correct, "submission_4": TEMPLATE.read_text(encoding="utf-8")}
    report = integrity.check_batch(sources, threshold=0.5, template_source=TEMPLATE.read_text(encoding="utf-8"),
                                   student_parts=CONV_LAB.student_parts)
    assert len(report.similar) == 3 and report.similarity_compared == 3 and report.side_by_side
    config, rows = records()
    write_summary(rows, config, tmp_path, integrity=(report, ""))
    page = (tmp_path / "similarity.html").read_text(encoding="utf-8")
    report_html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Ada Lovelace <span class='id'>(submission_1)</span>" in page and "陈伟" in page
    assert "Lucía Álvarez" in page and "0000_" not in page and ".py" not in page      # no file labels
    counts = "3 similar pair(s) at or above 50%, among 3 submissions compared pairwise (3 pairs)"
    assert counts in page and counts in report_html
    assert counts in (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert page.count("<details") == 3 and "highlight-red" in page
    assert "<script" not in page and not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<img" not in page                                               # no plot with numbered axes


# --- 6. figures with readable text on any colour ------------------------------------------------

def contrast(a, b, luminance):
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def load_train_filter(monkeypatch):
    """student_template/train_filter.py as a module of its own (its conv2d import stubbed), left out of sys.modules."""
    import importlib.util
    import sys
    import types
    from helpers import REPO
    monkeypatch.setitem(sys.modules, "conv2d", types.SimpleNamespace(Conv2d=object))
    spec = importlib.util.spec_from_file_location("train_filter_under_test", REPO / "student_template" / "train_filter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kernel", ["blur", "sharpen", "sobel_x"])
def test_learned_kernel_figure_writes_every_value_readably_on_its_colour(tmp_path, monkeypatch, kernel):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure
    monkeypatch.chdir(tmp_path)
    train_filter = load_train_filter(monkeypatch)
    saved = {}
    monkeypatch.setattr(Figure, "savefig", lambda self, path, **kw: saved.__setitem__(str(path), self))
    k = train_filter.KERNELS[kernel]
    train_filter.save_pictures(kernel, k, k * 0.97, [1.0, 0.1])
    fig = saved["learned_kernel.png"]
    checked = 0
    for ax in fig.axes:
        image = ax.images[0]
        for text in ax.texts:
            col, row = (int(round(v)) for v in text.get_position())
            background = image.cmap(image.norm(image.get_array()[row, col]))
            assert contrast(to_rgba(text.get_color()), background, train_filter.luminance) >= 4.5, \
                (kernel, text.get_text())
            assert text.get_fontsize() >= 10
            checked += 1
    assert checked == 18


def test_gradescope_output_is_markdown_with_student_text_in_code_blocks():
    # Gradescope renders "md"; "text" showed the Markdown-shaped feedback unrendered
    import re
    from autograder.failures import Failure
    from labs.conv.test_feedback import outcome, report_of
    hostile = "`````\n# Heading\n<img src=x onerror=alert(1)>\n[link](http://evil.example)"
    wrong = Failure(case="C=1 H=5", problem="col2im's result: 21 of 25 values are wrong",
                    detail="where it is wrong:\n  .XXX.\n  XXXXX", likely_bug="overwrote", function="col2im")
    crash = Failure(case="k", problem="your code failed", detail=hostile, function="Conv2d.backward",
                    kind="exception")
    results = report_of(outcome("a", failures=[wrong], total=3), outcome("b", failures=[crash], total=1),
                        outcome("c", total=2, passed=2)).to_gradescope()
    assert results["output_format"] == "md" and results["test_output_format"] == "md"
    texts = [results["output"], *(t["output"] for t in results["tests"])]
    for text in texts:
        outside = re.sub(r"^(`{3,})text\n.*?\n\1$", "", text, flags=re.MULTILINE | re.DOTALL)
        assert "<img" not in outside and "# Heading" not in outside and "](http" not in outside, text
    assert "**Start here**" in results["output"] and "# Heading" in results["output"]     # told, in a code block
    first = results["tests"][0]["output"]
    assert first.startswith("Passed 0 of 3 case(s).\n\n```text\n") and "told in Start here (1)" in first
    assert "\n  .XXX.\n  XXXXX" in results["output"]          # the map kept, once, under Start here
    assert results["tests"][2]["output"] == "Passed all 2 case(s)."


@pytest.mark.parametrize("solution", ["template", "bug/overwrite_overlaps", "correct/lecture_loops"])
def test_self_check_names_every_check_by_its_sentence(tmp_path, solution):
    # `selfcheck` printed 'PASS  <sentence>' but 'TODO  check_col2im_adjoint: ...'
    import re
    import shutil
    import subprocess
    import sys
    from autograder.staff.catalogue import load_catalogue
    from helpers import REPO
    folder = REPO / "student_template"
    for name in ("conv2d.py", "self_check.py"):
        shutil.copy(folder / name, tmp_path / name)
    if solution != "template":
        (tmp_path / "conv2d.py").write_text(load_catalogue(lab=CONV_LAB)[0][solution].source)
    out = subprocess.run([sys.executable, "self_check.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120).stdout
    sentences = re.findall(r'def check_\w+\(\):\n    """(.*)"""', (folder / "self_check.py").read_text())
    labels = [line[6:] for line in out.splitlines() if re.match(r"(PASS|TODO|FAIL|ERROR) ", line)]
    assert len(sentences) == 3 and sorted(labels) == sorted(sentences), out
    assert "check_" not in out
