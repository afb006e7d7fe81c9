"""autograder/staff/html_report.py on hand-made batch statistics: every section there, every
student-reachable text escaped (ids, names, messages, hints), and a page that runs no script but its own
sorter. (The similarity page: test_similarity_page.py.)"""

import html.parser
from types import SimpleNamespace

from autograder.staff.html_report import SECTIONS, render_report
from autograder.staff.integrity import IntegrityReport, SimilarPair
from autograder.staff.reports import batch_stats

EVIL = "<script>alert(1)</script>"
CONFIG = SimpleNamespace(name="Lab <7>", max_score=10, checks={"a": SimpleNamespace(points=10, hint=EVIL)})


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.scripts = [], set(), 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.ids |= {v for k, v in attrs if k == "id"}
        self.scripts += tag == "script"


def parsed(text):
    tags = Tags()
    tags.feed(text)
    return tags


def stats(integrity=None):
    records = [dict(id=EVIL, status="invalid", score=0.0, max_score=10, message=EVIL, passed=[], checks={},
                    student_name=EVIL, fixture_set_hash="abcdef0123456789"),
               dict(id="bob", status="graded", score=7.5, max_score=10, message="", passed=[], checks={"a": 7.5},
                    student_name="Bob")]
    return batch_stats(records, CONFIG, {EVIL: 1}, integrity)


def test_the_report_has_every_section_and_escapes_everything(tmp_path):
    integrity = IntegrityReport(threshold=0.8, similar=[SimilarPair(EVIL, "bob", 0.9, 0.85)],
                                not_compared={"bob": EVIL}, problem=EVIL)
    page = render_report(stats(integrity), CONFIG, tmp_path)
    tags = parsed(page)
    assert set(SECTIONS) <= tags.ids and tags.scripts == 1                    # the sorter only
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>Lab &lt;7&gt;: batch report</title>" in page
    assert "score distribution: image missing." in page                      # no scores.png in tmp_path
    assert "submissions/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/feedback.md" in page
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" in page


def test_without_integrity_flags_the_report_says_so(tmp_path):
    assert "Integrity flags were not computed for this batch." in render_report(stats(), CONFIG, tmp_path)
