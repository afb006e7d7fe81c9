"""autograder/staff/similarity_page.py on hand-made integrity reports: the similar pairs labelled by
student, every student-reachable text escaped, and a page that runs no script."""

import html.parser

from autograder.staff.integrity import IntegrityReport, SimilarPair
from autograder.staff.similarity_page import counts_sentence, render_page, student_label

EVIL = "<script>alert(1)</script>"


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"


def parsed(text):
    tags = Tags()
    tags.feed(text)
    return tags


def test_the_similarity_page_labels_pairs_by_student_and_escapes_them():
    report = IntegrityReport(threshold=0.5, similar=[SimilarPair(EVIL, "b", 0.9, 0.6)], similarity_compared=4,
                             side_by_side=[{"a": EVIL, "b": "b", "share_a": 0.9, "share_b": 0.6,
                                            "code_a": "&lt;already escaped&gt;", "code_b": "x"}])
    page = render_page(report, names={"b": "Bea <B>"})
    assert EVIL not in page and "Bea &lt;B&gt; <span class='id'>(b)</span>" in page
    assert "1. &lt;script&gt;" in page and parsed(page).scripts == 0
    assert "1 similar pair(s) at or above 50%, among 4 submissions compared pairwise (6 pairs)" in page


def test_no_pair_says_so():
    page = render_page(IntegrityReport(threshold=0.8))
    assert "No pair reached the threshold." in page and "Side by side" not in page


def test_labels_and_counts():
    assert student_label("s1", {"s1": "  Ada\n Lovelace "}) == "Ada Lovelace (s1)" and student_label("s2", {}) == "s2"
    assert counts_sentence(IntegrityReport(threshold=0.75, similarity_compared=1)) == (
        "0 similar pair(s) at or above 75%, among 1 submissions compared pairwise (0 pairs)")
