"""Course-staff outputs: a Gradescope export in, a Canvas gradebook CSV out, integrity flags, report.html.

The export fixture follows Gradescope's "Export Submissions" layout as public tools
read it (shared/research/staff-formats.md): a top folder `assignment_NNN_export/`
holding `submission_metadata.yml` (keys with Ruby's leading colon, `:created_at`
a YAML timestamp, group submissions with several `:submitters`) and one folder
per submission named by its key.
"""

import csv
import html.parser
import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import cli
from autograder.staff import integrity
from autograder.staff.batch import BatchError, run_batch
from autograder.staff.catalogue import load_catalogue
from autograder.config import ConfigError, load_config
from autograder.staff.gradescope_export import METADATA_FILE, find_export
from autograder.staff.html_report import SECTIONS
from autograder.staff.lms_export import EXPORTERS, join, read_grades, read_roster
from helpers import CONV_CONFIG, CONV_LAB, REPO, TEMPLATE

CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
CORRECT = CATALOGUE["correct/lecture_loops"].source
BUGGY = CATALOGUE["bug/mean_over_batch"].source
OTHER_CORRECT = CATALOGUE["correct/batched_einsum"].source
TEMPLATE_SOURCE = TEMPLATE.read_text(encoding="utf-8")
HOSTILE_NAME = '=HYPERLINK("http://evil.example","x")<script>alert(1)</script>'

METADATA = textwrap.dedent("""\
    ---
    submission_1001:
      :submitters:
      - :name: Ada Lovelace
        :sid: '1001'
        :email: ada@uni.example
      :created_at: 2026-03-01 10:00:00.123456000 Z
      :score: 100.0
      :status: processed
      :results:
        score:
        tests: []
      :history:
      - :submitters: []
        :created_at: 2026-02-28 09:00:00.000000000 Z
        :score: 0.0
        :status: processed
    submission_1002:
      :submitters:
      - :name: Alan Turing
        :sid: '1002'
        :email: alan@uni.example
      :created_at: 2026-03-01 11:30:00.000000000 Z
      :score: 100.0
      :status: processed
      :history: []
    submission_1003:
      :submitters:
      - :name: Grace Hopper
        :sid: '1003'
        :email: grace@uni.example
      :created_at: 2026-03-02 08:00:00.000000000 Z
      :score: 0.0
      :status: processed
      :history: []
    submission_1004:
      :submitters:
      - :name: Katherine Johnson
        :sid: '1004'
        :email: kj@uni.example
      - :name: Dorothy Vaughan
        :sid: '1005'
        :email: dv@uni.example
      :created_at: 2026-03-02 23:59:59.000000000 Z
      :score: 70.0
      :status: processed
      :history: []
    submission_1006:
      :submitters:
      - :name: '{hostile}'
        :sid: '1006'
        :email: mallory@uni.example
      :created_at: 2026-03-03 00:10:00.000000000 Z
      :score: 0.0
      :status: processed
      :history: []
    """).replace("{hostile}", HOSTILE_NAME.replace("'", "''"))


def write_export(root):
    """An unzipped Gradescope export under root/, the way the zip unpacks it."""
    export = root / "assignment_4242_export"
    export.mkdir(parents=True)
    (export / METADATA_FILE).write_text(METADATA, encoding="utf-8")
    # the same code with a comment, other spacing and more blank lines: still "identical"
    copied = "# my own work, honestly\n" + re.sub(r"(?m)^( *)col = 0$", r"\1col=0   # start at the first window",
                                                  CORRECT).replace("\n\ndef ", "\n\n\n\ndef ")
    assert copied.count("col=0") >= 1 and copied != CORRECT
    files = {"submission_1001": CORRECT, "submission_1002": copied, "submission_1003": TEMPLATE_SOURCE,
             "submission_1004": BUGGY, "submission_1006": OTHER_CORRECT}
    for folder, source in files.items():
        (export / folder).mkdir()
        (export / folder / "conv2d.py").write_text(source, encoding="utf-8")
    return export


@pytest.fixture(scope="module")
def graded_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("download")
    write_export(root)
    out = tmp_path_factory.mktemp("out")
    records = run_batch(CONV_LAB, root, out, jobs=2)      # the unzip folder: the export is its only sub-folder
    return out, records


def grades_rows(out):
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


# --- 1. Gradescope export in ---------------------------------------------------------------

def test_export_reader_reads_submitters_groups_and_times(tmp_path):
    write_export(tmp_path)
    export = find_export(tmp_path)
    assert export.folder.name == "assignment_4242_export"
    assert sorted(export.submissions) == ["submission_1001", "submission_1002", "submission_1003",
                                          "submission_1004", "submission_1006"]
    ada = export.submissions["submission_1001"]
    assert [(s.name, s.sid, s.email) for s in ada.submitters] == [("Ada Lovelace", "1001", "ada@uni.example")]
    assert ada.submitted_at == "2026-03-01T10:00:00Z"      # the current submission's time, not its history's
    group = export.submissions["submission_1004"].columns()
    assert group["student_sid"] == "1004; 1005" and group["student_name"] == "Katherine Johnson; Dorothy Vaughan"
    assert find_export(tmp_path / "assignment_4242_export" / "submission_1001") is None


def test_batch_of_an_export_adds_student_columns_and_grades_every_folder(graded_export):
    out, records = graded_export
    rows = grades_rows(out)
    assert sorted(rows) == ["submission_1001", "submission_1002", "submission_1003", "submission_1004",
                            "submission_1006"]                    # the metadata file is not a submission
    ada = rows["submission_1001"]
    assert (ada["student_name"], ada["student_email"], ada["student_sid"], ada["submitted_at"]) == \
        ("Ada Lovelace", "ada@uni.example", "1001", "2026-03-01T10:00:00Z")
    assert float(ada["score"]) == 100.0
    header = next(csv.reader(open(out / "grades.csv", encoding="utf-8")))
    assert header[:6] == ["id", "student_name", "student_email", "student_sid", "submitted_at", "score"]
    # a student-typed name is text in a spreadsheet, never a formula
    assert rows["submission_1006"]["student_name"] == "'" + HOSTILE_NAME


def test_a_broken_metadata_file_is_a_clear_batch_error(tmp_path):
    export = write_export(tmp_path)
    (export / METADATA_FILE).write_text("submission_1: [unclosed\n", encoding="utf-8")
    with pytest.raises(BatchError, match="not valid YAML"):
        run_batch(CONV_LAB, export, tmp_path / "out")
    assert cli.main(["batch", str(export), "--out", str(tmp_path / "out")]) == cli.EXIT_INVALID


# A "billion laughs": nine levels of nine aliases, 552 bytes that a reader expanding the
# aliases (str() of a name) turns into gigabytes (the one reported: 733 bytes, about 7 GB).
ALIAS_BOMB = ("a: &a [" + ", ".join(['"lol"'] * 9) + "]\n"
              + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
              + textwrap.dedent("""\
    submission_1001:
      :submitters:
      - :name: *i
        :sid: '1001'
        :email: ada@uni.example
      :created_at: 2026-03-01 10:00:00.123456000 Z
    """))


def test_an_alias_bomb_in_the_metadata_is_refused_in_bounded_memory(tmp_path):
    export = write_export(tmp_path)
    (export / METADATA_FILE).write_text(ALIAS_BOMB, encoding="utf-8")
    assert len(ALIAS_BOMB) < 600
    # in a child with 1 GiB of address space: a reader that expands the aliases dies of MemoryError
    read = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)); "
            "from autograder.staff.gradescope_export import find_export; "
            "export = find_export(sys.argv[1]); print(len(export.submissions), export.problem)")
    proc = subprocess.run([sys.executable, "-c", read, str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("0 ") and "YAML aliases" in proc.stdout, proc.stdout


def test_metadata_with_aliases_is_set_aside_and_every_submission_is_still_graded(tmp_path):
    # The names are an enrichment: metadata that cannot be trusted costs the names, never the grades.
    export = write_export(tmp_path / "download")
    for folder in ("submission_1002", "submission_1004", "submission_1006"):     # two are enough
        for path in (export / folder).iterdir():
            path.unlink()
        (export / folder).rmdir()
    aliased = METADATA.replace(":email: ada@uni.example", ":email: &mail ada@uni.example", 1)
    (export / METADATA_FILE).write_text(aliased.replace(":email: grace@uni.example", ":email: *mail", 1),
                                        encoding="utf-8")
    out, console = tmp_path / "out", io.StringIO()
    run_batch(CONV_LAB, tmp_path / "download", out, jobs=2, progress_stream=console)
    assert f"{METADATA_FILE} uses YAML aliases" in console.getvalue() and "graded without" in console.getvalue()
    assert cli.main(["batch", str(tmp_path / "download"), "--out", str(out)]) == cli.EXIT_GRADED     # resumed
    rows = grades_rows(out)
    assert sorted(rows) == ["submission_1001", "submission_1003"]
    assert float(rows["submission_1001"]["score"]) == 100.0 and rows["submission_1003"]["status"] == "graded"
    assert rows["submission_1001"]["student_name"] == ""            # the columns stay, empty
    assert "submission\\_metadata.yml uses YAML aliases" in (out / "summary.md").read_text(encoding="utf-8")


def test_metadata_past_the_size_cap_is_set_aside_before_it_is_parsed(tmp_path, monkeypatch):
    from autograder.staff import gradescope_export
    write_export(tmp_path)
    monkeypatch.setattr(gradescope_export, "MAX_METADATA_BYTES", 1000)
    monkeypatch.setattr(gradescope_export, "_parse_yaml", lambda text: pytest.fail("parsed past the size cap"))
    export = find_export(tmp_path)
    assert export.submissions == {} and "is larger than" in export.problem


# --- 3. integrity flags ----------------------------------------------------------------------

def test_flags_identical_not_attempted_and_similar_without_changing_scores(graded_export):
    out, records = graded_export
    summary = (out / "summary.md").read_text(encoding="utf-8")
    # identical once comments and whitespace are ignored
    # each id beside its student's name (issue 24.1)
    assert "- Ada Lovelace (submission\\_1001), Alan Turing (submission\\_1002)" in summary
    assert re.search(r"Not attempted \(both stubs as in the template\): Grace Hopper \(submission\\_1003\)\.",
                     summary)
    assert "| Ada Lovelace (submission\\_1001) | Alan Turing (submission\\_1002) | 100% | 100% |" in summary
    # advisory: every score is the one in the submission's own results.json
    for r in records:
        results = json.loads((out / "submissions" / r["id"] / "results.json").read_text())
        assert r["score"] == results["score"]
    assert grades_rows(out)["submission_1003"]["status"] == "graded"
    assert (out / "similarity.html").is_file()


def test_normalised_code_ignores_comments_and_layout_but_not_nesting():
    a = "def f(x):\n    if x:\n        y = 1\n    z = 2\n"
    b = "# header\ndef f( x ):  # note\n\n  if x:\n      y=1\n  z = 2   \n"
    c = "def f(x):\n    if x:\n        y = 1\n        z = 2\n"
    assert integrity.normalised_code(a) == integrity.normalised_code(b)
    assert integrity.normalised_code(a) != integrity.normalised_code(c)
    assert integrity.identical_groups({"a": a, "b": b, "c": c}) == [["a", "b"]]


def test_not_attempted_means_both_stubs_untouched():
    commented = "# I will do this later\n" + TEMPLATE_SOURCE.replace("    C, H, W = x.shape\n",
                                                                    "    C, H, W = x.shape   # shapes\n", 1)
    assert integrity.is_not_attempted(commented, TEMPLATE_SOURCE, CONV_LAB.student_parts)
    one_done = TEMPLATE_SOURCE.replace('raise NotImplementedError(\n        "col2im', 'return X_col\n    raise Exception(\n        "col2im', 1)
    assert one_done != TEMPLATE_SOURCE
    assert not integrity.is_not_attempted(one_done, TEMPLATE_SOURCE, CONV_LAB.student_parts)
    assert not integrity.is_not_attempted(CORRECT, TEMPLATE_SOURCE, CONV_LAB.student_parts)
    assert not integrity.is_not_attempted("def col2im(:\n", TEMPLATE_SOURCE, CONV_LAB.student_parts)


def test_similarity_excludes_the_template_and_follows_the_threshold():
    sources = {"lecture": CORRECT, "lecture_bug": BUGGY, "einsum": OTHER_CORRECT,
               "blank_a": TEMPLATE_SOURCE, "blank_b": TEMPLATE_SOURCE + "\n# nothing yet\n"}
    report = integrity.check_batch(sources, threshold=0.8, template_source=TEMPLATE_SOURCE,
                                    student_parts=CONV_LAB.student_parts)
    assert report.not_attempted == ["blank_a", "blank_b"]
    pairs = {(p.a, p.b): p for p in report.similar}
    assert ("lecture", "lecture_bug") in pairs and pairs[("lecture", "lecture_bug")].score >= 0.8
    # independent solutions share only the template's code, which is boilerplate: below the threshold
    assert ("einsum", "lecture") not in pairs
    everything = integrity.similar_pairs(sources, TEMPLATE_SOURCE, threshold=0.01)[0]
    assert {(p.a, p.b) for p in everything} >= set(pairs)
    einsum = next(p for p in everything if (p.a, p.b) == ("einsum", "lecture"))
    assert einsum.score < 0.8


def test_integrity_job_in_a_child_process_gives_the_same_report_and_says_why_when_it_fails(tmp_path):
    # The batch computes the flags in a child while it grades (integrity_job); they must be the ones
    # check_batch gives in process, and a failing child must cost only the flags, with the reason.
    from autograder.staff.integrity_job import IntegrityJob
    files = []
    for sid, source in (("lecture", CORRECT), ("lecture_bug", BUGGY), ("einsum", OTHER_CORRECT),
                        ("blank", TEMPLATE_SOURCE), ("copy", CORRECT)):
        (tmp_path / f"{sid}.py").write_text(source, encoding="utf-8")
        files.append((sid, tmp_path / f"{sid}.py"))
    report, problem = IntegrityJob(CONV_CONFIG, files, 0.8).result()
    in_process = integrity.check_lab_batch(CONV_LAB, files, 0.8)
    assert problem == "" and report is not None
    assert (report.not_attempted, report.identical) == (["blank"], [["copy", "lecture"]])
    assert report.similar == in_process.similar and report.similar        # SimilarPair objects again
    assert report.flags_by_id() == in_process.flags_by_id()
    dying = IntegrityJob(CONV_CONFIG, files, 0.8)
    dying.proc.kill()                                                   # the child dies before answering
    report, problem = dying.result()
    assert report is None and problem.startswith("integrity flags could not be computed: ")


def test_a_padded_file_is_flagged_not_compared(monkeypatch):
    # copydetect costs ~8 s of CPU and ~150 MB a MiB of code: a padded file must not reach it.
    padded = CATALOGUE["hostile/pad_past_the_similarity_check"].source
    assert len(padded.encode()) > integrity.SIMILARITY_MAX_BYTES
    sources = {"padded": padded, "lecture": CORRECT, "lecture_bug": BUGGY}
    compared, similar_pairs = [], integrity.similar_pairs
    monkeypatch.setattr(integrity, "similar_pairs", lambda s, *a: compared.append(set(s)) or similar_pairs(s, *a))
    report = integrity.check_batch(sources, threshold=0.8, template_source=TEMPLATE_SOURCE,
                                    student_parts=CONV_LAB.student_parts)
    assert compared == [{"lecture", "lecture_bug"}]
    assert report.too_large == ["padded"]
    assert {(p.a, p.b) for p in report.similar} == {("lecture", "lecture_bug")}
    assert "too large to compare" in " ".join(report.flags_by_id()["padded"])


def conv2d_files(folder, sources):
    """[(id, path)] of one conv2d.py per id, as the batch hands its entries to the integrity job."""
    files = []
    for sid, source in sources.items():
        (folder / sid).mkdir(parents=True)
        (folder / sid / "conv2d.py").write_text(source, encoding="utf-8")
        files.append((sid, folder / sid))
    return files


def test_a_file_nested_too_deeply_costs_only_its_own_flags(tmp_path):
    # Its col2im's syntax tree is too deep for ast.dump: that lost every student's flags.
    from autograder.staff.integrity_job import IntegrityJob
    deep = CATALOGUE["hostile/nest_past_the_integrity_check"].source
    files = conv2d_files(tmp_path, {"lecture": CORRECT, "copy": CORRECT, "lecture_bug": BUGGY,
                                    "blank": TEMPLATE_SOURCE, "deep": deep})
    report, problem = IntegrityJob(CONV_CONFIG, files, 0.8).result()
    assert problem == "" and report is not None, problem
    assert (report.not_attempted, report.identical) == (["blank"], [["copy", "lecture"]])
    pairs = {(p.a, p.b) for p in report.similar}
    assert ("lecture", "lecture_bug") in pairs and not any("deep" in pair for pair in pairs)
    assert report.flags_by_id()["deep"] == ["could not be compared: nested too deeply"]
    assert report.compared == 4 and report.problem == ""


def test_code_is_compared_as_python_decodes_it(tmp_path):
    # A copy saved as UTF-7 runs as the copied code; a coding declaration is honoured, not refused.
    hidden = CATALOGUE["hostile/copy_hidden_in_utf7"].source
    assert "col2im" not in hidden and CATALOGUE["hostile/copy_hidden_in_utf7"].twin == "correct/lecture_loops"
    latin = "# -*- coding: latin-1 -*-\n" + OTHER_CORRECT
    files = conv2d_files(tmp_path, {"lecture": CORRECT, "utf7_copy": hidden, "einsum": OTHER_CORRECT,
                                    "latin": latin})
    report = integrity.check_lab_batch(CONV_LAB, files, 0.8)
    assert report.identical == [["einsum", "latin"], ["lecture", "utf7_copy"]]
    assert ("lecture", "utf7_copy") in {(p.a, p.b) for p in report.similar}
    assert report.not_compared == {}


def test_a_file_copydetect_fails_on_costs_only_its_own_similarity(monkeypatch):
    import copydetect.detector
    lexed = copydetect.detector.filter_code

    def fragile(code, *args, **kwargs):          # as if the lexer broke on one student's file
        if "FRAGILE" in code:
            raise ValueError("lexer failed")
        return lexed(code, *args, **kwargs)
    monkeypatch.setattr(copydetect.detector, "filter_code", fragile)
    sources = {"lecture": CORRECT, "lecture_bug": BUGGY, "odd": "# FRAGILE\n" + BUGGY, "blank": TEMPLATE_SOURCE}
    report = integrity.check_batch(sources, threshold=0.8, template_source=TEMPLATE_SOURCE,
                                    student_parts=CONV_LAB.student_parts)
    assert report.problem == ""
    assert {(p.a, p.b) for p in report.similar} == {("lecture", "lecture_bug")}
    assert report.identical == [["lecture_bug", "odd"]] and report.not_attempted == ["blank"]
    assert report.flags_by_id()["odd"] == ["not compared for similarity: copydetect failed on it (ValueError)",
                                           "identical to lecture_bug"]


def test_no_file_can_cost_the_others_their_flags():
    # Whatever one file holds (the reader refuses most of these; the report must not need it to),
    # it costs at most its own flags, with the reason.
    odd = {"nul": CORRECT + "\n_x = 1\x00\n", "surrogate": CORRECT + "\n_s = '\ud800'\n",
           "long_line": CORRECT + "\n_x = " + "1 + " * 15000 + "1\n", "unclosed": CORRECT + '\n"""never closed\n',
           "no_such_codec": "# coding: no-such-codec\n" + CORRECT, "bad_utf7": "# coding: utf-7\n_x = '+2D0-'\n",
           "deep": CORRECT + "\n\ndef col2im():\n    return x" + ".y" * 1500 + "\n", "empty": ""}
    report = integrity.check_batch({"lecture": CORRECT, "copy": CORRECT, **odd}, 0.8, TEMPLATE_SOURCE,
                                   CONV_LAB.student_parts)
    assert report.problem == "" and report.identical == [["copy", "lecture"]]
    assert ("copy", "lecture") in {(p.a, p.b) for p in report.similar}
    assert report.not_compared == {
        "surrogate": "could not be compared: not valid text in its declared encoding",
        "bad_utf7": "could not be compared: not valid text in its declared encoding",
        "no_such_codec": "could not be compared: its coding declaration names no codec Python can use here",
        "deep": "could not be compared: nested too deeply"}


def test_files_left_out_are_listed_with_the_reason_as_text(tmp_path):
    from autograder.staff.reports import write_summary
    name = "<b>deep</b>|x"
    report = integrity.IntegrityReport(threshold=0.8, not_compared={name: "could not be compared: nested too deeply"})
    records = [dict(id=name, status="graded", score=100.0, max_score=100, checks={}, passed=[], message="",
                    fixture_set_hash="abc")]
    write_summary(records, CONV_LAB.config, tmp_path, integrity=(report, ""))
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "- &lt;b&gt;deep&lt;/b&gt;\\|x: could not be compared: nested too deeply" in summary
    assert "&lt;b&gt;deep&lt;/b&gt;|x: could not be compared: nested too deeply" in page      # the integrity section
    assert "<b>deep" not in summary + page


def test_side_by_side_view_keeps_student_code_and_names_inert():
    payload = "# </code></pre><script>alert(1)</script>\n"
    sources = {"<img src=x onerror=alert(2)>": payload + CORRECT, "b": payload + CORRECT.replace("col = 0", "col=0")}
    pairs, page = integrity.similar_pairs(sources, TEMPLATE_SOURCE, threshold=0.8)
    assert len(pairs) == 1 and page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page     # the id is text, escaped
    assert "convkit-similarity-" not in page                                  # no temp paths


def test_similarity_threshold_comes_from_the_config_and_is_checked(tmp_path):
    assert CONV_LAB.config.similarity_threshold == 0.8
    text = CONV_LAB.config.path.read_text(encoding="utf-8")
    bad = tmp_path / "config.toml"
    bad.write_text(re.sub(r"similarity_threshold = [0-9.]+", "similarity_threshold = 1.5", text), encoding="utf-8")
    with pytest.raises(ConfigError, match="similarity_threshold"):
        load_config(bad)


# --- 4. report.html -----------------------------------------------------------------------------

class PageParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.h2_ids, self.scripts, self.images, self.links, self.sortable, self.rows = [], 0, [], [], 0, 0
        self.external = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h2":
            self.h2_ids.append(attrs.get("id"))
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "a":
            self.links.append(attrs.get("href", ""))
        if tag == "table" and "sortable" in (attrs.get("class") or ""):
            self.sortable += 1
        for name in ("src", "href"):
            if re.match(r"(?i)\s*(https?:|//)", attrs.get(name) or ""):
                self.external.append(attrs[name])


def test_report_html_has_every_section_inline_images_and_inert_student_text(graded_export):
    out, _ = graded_export
    page = (out / "report.html").read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(page)
    assert parser.h2_ids == list(SECTIONS)
    assert len(parser.images) == 2 and all(src.startswith("data:image/png;base64,") for src in parser.images)
    assert parser.external == []                       # self-contained: nothing from the network
    assert parser.scripts == 1                         # the sorter; the student's <script> is text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "Content-Security-Policy" in page
    for sid in ("submission_1001", "submission_1006"):
        assert f"submissions/{sid}/feedback.md" in parser.links
    assert parser.sortable >= 1
    for words in ("mean", "median", "Not attempted", "submission_1003", "Identical code", "Similar pairs",
                  "Ada Lovelace", "2026-03-01T10:00:00Z"):
        assert words in page, words


def test_report_links_are_percent_encoded(tmp_path):
    from autograder.staff.reports import write_summary
    config = CONV_LAB.config
    records = [dict(id="x' onmouseover='alert(1)", status="invalid", score=0.0, max_score=100, checks={},
                    passed=[], message="<b>bad</b>", fixture_set_hash="abc")]
    write_summary(records, config, tmp_path, sources=[])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "submissions/x%27%20onmouseover%3D%27alert%281%29/feedback.md" in page
    assert "onmouseover='alert" not in page and "<b>bad</b>" not in page


# --- 2. Canvas out --------------------------------------------------------------------------------

CANVAS_ROSTER = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Lab 6 (111)
    Points Possible,,,,,10
"Lovelace, Ada",501,1001,ada,CS 101 A,9
"Turing, Alan",502,,alan@uni.example,CS 101 A,8
"Hopper, Grace",503,1003,grace,CS 101 B,7
"Johnson, Katherine",504,1004,kj,CS 101 B,10
"Vaughan, Dorothy",505,1005,dv,CS 101 B,10
"Noether, Emmy",506,1007,emmy,CS 101 B,10
"""


def test_canvas_export_joins_by_sid_or_email_and_lists_the_unmatched(graded_export, tmp_path, capsys):
    out, _ = graded_export
    roster = tmp_path / "roster.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    code = cli.main(["export", "canvas", "--grades", str(out / "grades.csv"), "--roster", str(roster),
                     "--assignment", "Lab 7"])
    captured = capsys.readouterr()
    assert code == 0
    rows = list(csv.reader(io.StringIO(captured.out)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 7"]
    assert rows[1] == ["Points Possible", "", "", "", "", "100"]
    by_sis = {r[1]: r for r in rows[2:]}
    assert by_sis["501"] == ["Lovelace, Ada", "501", "1001", "ada", "CS 101 A", "100"]     # by SID
    assert by_sis["502"][-1] == "100"                                                      # by email (no SIS id)
    assert by_sis["503"][-1] == "0"                                                         # not attempted: still 0
    assert by_sis["504"][-1] == by_sis["505"][-1]                                          # group: both members
    assert "506" not in by_sis
    err = captured.err
    assert "1 roster student(s) with no grade" in err and "Emmy" in err and "1007" in err
    assert "1 graded student(s) not on the roster" in err and "1006" in err and "submission_1006" in err
    assert "exported 5 grade(s)" in err


def test_join_keeps_every_student_somewhere(tmp_path):
    grades_csv = ("id,student_name,student_email,student_sid,submitted_at,score,max_score,status\n"
                  "s1,A,a@x,1,2026-01-01T00:00:00Z,50,100,graded\n"
                  "s2,A,a@x,1,2026-01-02T00:00:00Z,60,100,graded\n"
                  "s3,B,b@x,2,,0,100,error\n"
                  "s4,C,c@x,3,,80,100,graded\n")
    roster = "name,sid,email\nA,1,a@x\nB,2,b@x\nD,4,d@x\n"
    (tmp_path / "g.csv").write_text(grades_csv)
    (tmp_path / "r.csv").write_text(roster)
    grades, _ = read_grades(tmp_path / "g.csv")
    joined = join(grades, read_roster(tmp_path / "r.csv"))
    assert [(s.name, g.score) for s, g in joined.matched] == [("A", 60.0)]              # the latest submission
    assert any("2 submissions" in n for n in joined.notes)
    assert [g.submission for g, _ in joined.not_exported] == ["s3"]                     # a grader error: regrade
    assert [s.name for s in joined.no_grade] == ["D"]
    assert [g.submission for g in joined.not_on_roster] == ["s4"]
    plain = list(csv.reader(io.StringIO(EXPORTERS["csv"](joined, "Lab 7"))))   # a second format: one function
    assert plain == [["name", "sid", "email", "Lab 7", "max_score", "submission", "submitted_at", "status"],
                     ["A", "1", "a@x", "60", "100", "s2", "2026-01-02T00:00:00Z", "graded"]]


def test_export_refuses_bad_input_with_a_message(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,section\nA,1\n")
    grades = tmp_path / "grades.csv"
    grades.write_text("id,score,max_score,status\na,1,100,graded\n")
    assert cli.main(["export", "canvas", "--grades", str(grades), "--roster", str(roster),
                     "--assignment", "Lab 7"]) == cli.EXIT_INVALID
    assert "no SID or email column" in capsys.readouterr().err
    assert cli.main(["export", "canvas", "--grades", str(tmp_path / "missing.csv"), "--roster", str(roster),
                     "--assignment", "Lab 7"]) == cli.EXIT_INVALID
    assert "cannot read grades file" in capsys.readouterr().err
    assert cli.main(["export", "moodle", "--grades", str(grades), "--roster", str(roster),
                     "--assignment", "Lab 7"]) == cli.EXIT_INVALID
    assert "unknown LMS format 'moodle'; known: canvas, csv" in capsys.readouterr().err


def test_roster_that_is_not_utf8_gets_a_hint(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_bytes("name,sid\nJos\u00e9,1\n".encode("cp1252"))
    assert cli.main(["export", "canvas", "--grades", str(tmp_path / "g.csv"), "--roster", str(roster),
                     "--assignment", "Lab 7"]) == cli.EXIT_INVALID
    assert "cannot read grades file" in capsys.readouterr().err
    grades = tmp_path / "g.csv"
    grades.write_text("id,score,max_score,status\n1,5,100,graded\n")
    assert cli.main(["export", "canvas", "--grades", str(grades), "--roster", str(roster),
                     "--assignment", "Lab 7"]) == cli.EXIT_INVALID
    assert "save it as \"CSV UTF-8\"" in capsys.readouterr().err


# --- the plots ---------------------------------------------------------------------------------------

def test_plots_share_the_summary_bins_and_show_every_kind_of_submission(tmp_path, monkeypatch):
    """scores.png: summary.md's 10 bins, integer counts, mean and median lines, not-graded and
    not-attempted bars; checks.png: points in every label, the 0-point check apart (grey)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from autograder.staff import reports
    config = CONV_LAB.config
    everything = list(config.checks)
    records = [dict(id=f"g{i}", status="graded", score=s, checks={"learns_filters": 12.0}, passed=everything,
                    message="")
               for i, s in enumerate((100.0, 95.0, 41.5))]
    records += [dict(id="blank", status="graded", score=0.0, checks={}, passed=["forward_output"], message=""),
                dict(id="bad", status="invalid", score=0.0, checks={}, passed=[], message="syntax error")]
    report = integrity.IntegrityReport(threshold=0.8, not_attempted=["blank"])
    stats = reports.batch_stats(records, config, {}, report)
    saved = {}
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, path, **kw: saved.__setitem__(Path(path).name, fig))
    reports.plot_scores(stats, tmp_path / "scores.png")
    reports.plot_checks(stats, config, tmp_path / "checks.png")
    ax = saved["scores.png"].axes[0]
    bars = [(round(p.get_x(), 6), p.get_height()) for p in ax.patches]
    assert sum(h for x, h in bars if x >= 0) == 4 and (-16.0, 1) in bars      # 4 graded; 1 not graded, apart
    assert sorted({round(p.get_width(), 6) for p in ax.patches}) == [10.0]     # the summary's bins of 10
    assert all(float(t).is_integer() for t in ax.get_yticks())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "mean 59.1" in legend and "median 68.25" in legend and "not attempted (template)" in legend
    labels = [t.get_text() for t in saved["checks.png"].axes[0].get_yticklabels()]
    assert "forward_output (0 pts)" in labels and "learns_filters (12 pts)" in labels
    texts = [t.get_text() for t in saved["checks.png"].axes[0].texts]
    assert any("not scored (0 pts)" in t for t in texts)
    assert "75% (3/4), mean 9.0/12 pts" in texts                               # value labels with points


def test_side_by_side_view_works_offline():
    # Graders open similarity.html on a laptop on a train too: nothing may come from the web.
    sources = {"a": CORRECT, "b": CORRECT.replace("col = 0", "col=0")}
    pairs, page = integrity.similar_pairs(sources, TEMPLATE_SOURCE, threshold=0.8)
    assert pairs and page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)      # no remote style or script
    assert "<script" not in page and "default-src &#x27;none&#x27;" in page      # nothing to run, nothing fetched
    assert "<details open><summary>" in page                                      # the pairs fold without a script
