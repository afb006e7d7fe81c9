"""Advisory integrity flags for a batch: identical code, untouched templates, similar pairs.

Three questions course staff ask after grading, answered from each submission's
file (read again with the grader's own safe reader, never imported or run):

- identical: the same code once comments and whitespace are normalised away;
- not attempted: every part of the lab's STUDENT_PARTS is still the template's stub
  (comments, docstrings and formatting aside), so a 0 is "did not try", not "tried";
- similar: token-fingerprint similarity between every pair (copydetect, the
  MOSS-style winnowing tool), with the template's code as boilerplate so shared
  starter code never counts. Pairs at or above [integrity] similarity_threshold
  (the lab's config.toml) are listed.

Code is compared as Python decodes it: a `# coding: utf-7` file runs as its decoded
text, so that is what is compared. One file's trouble (nested too deeply for the
syntax-tree comparison, text its declared codec cannot decode, a file copydetect fails
on) costs that file's own flags only, and the report names it with the reason.

Flags are advisory: nothing here reads or changes a score.
"""

import ast
import hashlib
import importlib.util
import io
import logging
import re
import tempfile
import time
import tokenize
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from pathlib import Path


SIDE_BY_SIDE_PAIRS = 50      # pairs in copydetect's view (each holds both files): the most similar first
# copydetect spends ~8 s of CPU and ~150 MB on a 1 MiB file (a solution is a few KiB): a file padded
# past this is flagged instead of compared, so no student can make the batch's report run long.
SIMILARITY_MAX_BYTES = 64 * 1024
_LAYOUT_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass(frozen=True)
class SimilarPair:
    a: str
    b: str
    share_a: float      # fraction of a's (non-boilerplate) code found in b
    share_b: float

    @property
    def score(self):
        return max(self.share_a, self.share_b)


@dataclass
class IntegrityReport:
    threshold: float
    compared: int = 0                                  # submissions whose code was read
    not_attempted: list = field(default_factory=list)  # ids
    identical: list = field(default_factory=list)      # groups (lists) of ids, each of 2 or more
    similar: list = field(default_factory=list)        # SimilarPair, highest first
    too_large: list = field(default_factory=list)      # ids left out of the similarity check (size)
    not_compared: dict = field(default_factory=dict)   # id -> why it was left out ('could not be compared: ...')
    similarity_seconds: float = 0.0
    similarity_html: str = ""                          # the side-by-side page, labelled by id ("" if no pair)
    side_by_side: list = field(default_factory=list)   # the most similar pairs' code, highlighted (similarity_page)
    similarity_compared: int = 0                       # files copydetect compared pairwise
    problem: str = ""                                  # why similarity could not run, if it could not

    def flags_by_id(self, label=str):
        """{id: ['not attempted', 'identical to b', 'similar to c (93%)' or 'similar to 4 others (up to 99%)']};
        label(id): how another submission is named (e.g. with its student's name)."""
        flags = defaultdict(list)
        for sid in self.not_attempted:
            flags[sid].append("not attempted")
        for sid in self.too_large:
            flags[sid].append(f"too large to compare (over {SIMILARITY_MAX_BYTES // 1024} KiB)")
        for sid, why in self.not_compared.items():
            flags[sid].append(why)
        for group in self.identical:
            for sid in group:
                flags[sid].append("identical to " + ", ".join(label(o) for o in group if o != sid))
        similar = defaultdict(list)
        for p in self.similar:
            similar[p.a].append((p.score, p.b))
            similar[p.b].append((p.score, p.a))
        for sid, others in similar.items():
            top, other = max(others)
            flags[sid].append(f"similar to {label(other)} ({top:.0%})" if len(others) == 1
                              else f"similar to {len(others)} others (up to {top:.0%})")
        return dict(flags)


class NotComparable(Exception):
    """One file cannot be compared; the message says why, in the staff's words."""


@dataclass(frozen=True)
class CodeView:
    """One submission's code as every comparison reads it, computed once."""
    text: str          # as Python decodes the file (python_text)
    size: int          # bytes of that text in UTF-8: what copydetect would read
    code: str          # normalised_code(text): what 'identical' compares
    parts: object      # _student_parts(text, ...): what 'not attempted' compares (None: does not parse)


def code_view(source, student_parts):
    """The CodeView of one file (student_parts: the lab's STUDENT_PARTS); NotComparable says why there is none."""
    try:
        text = python_text(source)
        return CodeView(text, len(text.encode("utf-8")), normalised_code(text), _student_parts(text, student_parts))
    except NotComparable:
        raise
    except RecursionError:             # ast.dump of a deep expression (Python compiles 0+0+... of 1500 terms)
        raise NotComparable("nested too deeply") from None
    except MemoryError:
        raise NotComparable("too large to hold in memory") from None
    except UnicodeError:               # bytes its codec cannot decode, lone surrogates
        raise NotComparable("not valid text in its declared encoding") from None
    except SyntaxError:                # detect_encoding: a codec Python does not know, or not with a BOM
        raise NotComparable("its coding declaration names no codec Python can use here") from None
    except Exception as exc:           # anything else: this file's flags, never the report
        raise NotComparable(f"reading it failed ({type(exc).__name__})") from None


def python_text(source):
    """The source as Python reads the file the grader writes from it (UTF-8 bytes).

    A coding declaration other than UTF-8 is honoured exactly as the interpreter does
    (tokenize.detect_encoding, then importlib's decode_source), so a file saved as
    `# coding: utf-7` is compared as the code that runs, not as its noise. Bounded: the
    reader capped the bytes at its source limit and already decoded them once to compile them.
    """
    raw = source.encode("utf-8")
    encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    if encoding in ("utf-8", "utf-8-sig"):
        return source
    text = importlib.util.decode_source(raw)
    if len(text) > len(raw):           # no text codec does this; a guarantee, not a guess
        raise NotComparable("its declared encoding makes it longer than its bytes")
    return text


def readable_views(sources, student_parts):
    """({id: CodeView}, {id: 'could not be compared: why'}) for {id: source}."""
    views, left_out = {}, {}
    for sid, source in sources.items():
        try:
            views[sid] = code_view(source, student_parts)
        except NotComparable as exc:
            left_out[sid] = f"could not be compared: {exc}"
    return views, left_out


def normalised_code(source):
    """The code's tokens with comments and layout gone; indentation kept as markers, so nesting still counts."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in _LAYOUT_TOKENS]
        return " ".join({tokenize.INDENT: ">", tokenize.DEDENT: "<", tokenize.NEWLINE: ";"}.get(t.type, t.string)
                        for t in tokens)
    except (tokenize.TokenError, SyntaxError, ValueError):   # not Python: compare its words alone
        return " ".join(re.sub(r"#[^\n]*", "", source).split())


def _student_parts(source, names):
    """{part: dump} of the AST without docstrings for each of `names`, the lab's STUDENT_PARTS ('f',
    'Class.method'); None if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    parts = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            parts[node.name] = node
        elif isinstance(node, ast.ClassDef):
            parts.update({f"{node.name}.{m.name}": m for m in node.body if isinstance(m, ast.FunctionDef)})
    return {name: _dump_without_docstring(parts[name]) if name in parts else None for name in names}


def _dump_without_docstring(func):
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return ast.dump(ast.Module(body=body, type_ignores=[]))


def is_not_attempted(source, template_source, student_parts):
    """True when every part the student writes (student_parts: the lab's STUDENT_PARTS) is still the template's stub."""
    mine, stub = _student_parts(source, student_parts), _student_parts(template_source, student_parts)
    return mine is not None and mine == stub


def identical_groups(sources):
    """Groups of 2+ ids whose normalised code is the same, largest first."""
    return _same_code_groups({sid: normalised_code(source) for sid, source in sources.items()})


def _same_code_groups(codes):
    """Groups of 2+ ids of {id: normalised code} with the same code, largest first."""
    by_code = defaultdict(list)
    for sid, code in codes.items():
        by_code[hashlib.sha256(code.encode()).hexdigest()].append(sid)
    groups = [sorted(ids) for ids in by_code.values() if len(ids) > 1]
    return sorted(groups, key=lambda g: (-len(g), g))


def _file_label(index, sid):
    """A file name for copydetect that says whose code it is and cannot carry markup or a path."""
    return f"{index:04d}_{re.sub(r'[^A-Za-z0-9_.-]', '_', sid)[:60]}.py"


def similar_pairs(sources, template_source, threshold, view=None):
    """(pairs at or above threshold, highest first; the side-by-side page of them) over all pairs.
    view: a list, extended with the most similar pairs' highlighted code (similarity_page's input)."""
    import matplotlib
    matplotlib.use("Agg")              # copydetect draws its plots with pyplot: never a window on a staff laptop
    from copydetect import CopyDetector
    ids = sorted(sources)
    if len(ids) < 2:
        return [], ""
    with tempfile.TemporaryDirectory(prefix="convkit-similarity-") as tmp:
        tmp = Path(tmp)
        (tmp / "template").mkdir()
        (tmp / "template" / "template.py").write_text(template_source, encoding="utf-8")
        detector = CopyDetector(boilerplate_dirs=[str(tmp / "template")], extensions=["py"],
                                display_t=threshold, autoopen=False, silent=True, force_language="python")
        label_to_id = {}
        for n, sid in enumerate(ids):
            path = tmp / _file_label(n, sid)
            path.write_text(sources[sid], encoding="utf-8")
            label_to_id[str(path)] = sid
            detector.add_file(str(path))
        with warnings.catch_warnings(), _quiet_logging():
            warnings.simplefilter("ignore")
            detector.run()
            sims = detector.similarity_matrix
            pairs = []
            for i, test in enumerate(detector.test_files):
                for j, ref in enumerate(detector.ref_files):
                    a, b = label_to_id[test], label_to_id[ref]
                    if a < b and sims[i, j, 0] >= 0 and max(sims[i, j]) >= threshold:
                        pairs.append(SimilarPair(a, b, float(sims[i, j, 0]), float(sims[i, j, 1])))
            pairs.sort(key=lambda p: (-p.score, p.a, p.b))
            # add_file(testref) appends to both lists alike: a file's row is also its column
            row_of = {label_to_id[f]: n for n, f in enumerate(detector.test_files)}
            html = _view_or_why(detector, pairs, row_of, threshold, len(ids), view) if pairs else ""
        html = (html or "").replace(str(tmp) + "/", "")
    return pairs, html


def _view_or_why(detector, pairs, row_of, threshold, compared, view=None):
    """The side-by-side page of the most similar pairs (similarity_page, labelled by id), or a
    one-line page saying why there is none: the view's failure never costs the pairs."""
    from autograder.staff.similarity_page import render_page
    try:
        shown = _side_by_side(detector, pairs[:SIDE_BY_SIDE_PAIRS], row_of, threshold)
        if view is not None:
            view.extend(shown)
        return render_page(IntegrityReport(threshold=threshold, similar=pairs, side_by_side=shown,
                                           similarity_compared=compared))
    except Exception as exc:
        return f"<p>copydetect's side-by-side view could not be made: {escape(repr(exc)[:300])}</p>"


def _fingerprint_failures(sources):
    """{id: why} of the files copydetect cannot fingerprint, each tried alone (its reader and
    lexer are per file; comparing fingerprints is plain arithmetic)."""
    from copydetect import CodeFingerprint, defaults
    window = defaults.GUARANTEE_THRESHOLD - defaults.NOISE_THRESHOLD + 1
    failing = {}
    for sid, text in sources.items():
        try:
            with warnings.catch_warnings(), _quiet_logging():
                warnings.simplefilter("ignore")
                CodeFingerprint(None, defaults.NOISE_THRESHOLD, window, fp=io.StringIO(text), language="python")
        except Exception as exc:
            failing[sid] = f"not compared for similarity: copydetect failed on it ({type(exc).__name__})"
    return failing


def _side_by_side(detector, pairs, row_of, threshold):
    """[{a, b, share_a, share_b, code_a, code_b}] for these pairs only (each holds both files, so all
    of them could be megabytes): copydetect's highlighted code, HTML-escaped, matches in <span>s.

    row_of: id -> its row (and column: every file is both test and reference) in the similarity matrix."""
    import numpy as np
    full = detector.similarity_matrix
    shown = np.full_like(full, -1.0)
    for p in pairs:
        for x, y in ((p.a, p.b), (p.b, p.a)):
            shown[row_of[x], row_of[y]] = full[row_of[x], row_of[y]]
    detector.conf.display_t = max(0.0, min(threshold, min(p.score for p in pairs)) - 1e-9)
    detector.similarity_matrix = shown
    try:
        code_list = detector.get_copied_code_list()
    finally:
        detector.similarity_matrix = full
    id_of = {detector.test_files[row]: sid for sid, row in row_of.items()}
    code = {}
    for _, _, test, ref, code_test, code_ref, _ in code_list:
        code[id_of[test], id_of[ref]] = (code_test, code_ref)
        code[id_of[ref], id_of[test]] = (code_ref, code_test)
    return [dict(a=p.a, b=p.b, share_a=p.share_a, share_b=p.share_b, code_a=code[p.a, p.b][0],
                 code_b=code[p.a, p.b][1]) for p in pairs if (p.a, p.b) in code]


class _quiet_logging:
    """copydetect logs warnings (e.g. a file it skips) to the root logger; the batch's console stays clean."""

    def __enter__(self):
        self.level = logging.root.manager.disable
        logging.disable(logging.WARNING)

    def __exit__(self, *exc):
        logging.disable(self.level)


def check_lab_batch(lab, entries, threshold):
    """The integrity report for the submissions [(id, path)] to `lab` (autograder.lab_loader.Lab)."""
    from autograder.submission import SubmissionLimits
    return check_batch(read_sources(entries, SubmissionLimits.of(lab)), threshold,
                       lab.template.read_text(encoding="utf-8"), lab.student_parts)


def check_batch(sources, threshold, template_source, student_parts):
    """The integrity report for {id: source} (submissions that could not be read are left out;
    a file that cannot be compared is listed in not_compared and costs no other file's flags).
    template_source: the lab's template; student_parts: its STUDENT_PARTS, what 'not attempted' compares."""
    views, left_out = readable_views(sources, student_parts)
    report = IntegrityReport(threshold=threshold, compared=len(views), not_compared=left_out)
    stub = _student_parts(template_source, student_parts)
    report.not_attempted = sorted(sid for sid, v in views.items() if v.parts is not None and v.parts == stub)
    # An untouched template is "not attempted"; every copy of it being "identical" would say nothing more.
    attempted = {sid: v for sid, v in views.items() if sid not in set(report.not_attempted)}
    report.identical = _same_code_groups({sid: v.code for sid, v in attempted.items()})
    report.too_large = sorted(sid for sid, v in attempted.items() if v.size > SIMILARITY_MAX_BYTES)
    comparable = {sid: v.text for sid, v in attempted.items() if sid not in set(report.too_large)}
    started = time.monotonic()
    _add_similarity(report, comparable, template_source)
    report.similarity_seconds = time.monotonic() - started
    return report


def _compare(report, sources, template_source):
    """copydetect over `sources` into report.similar; the exception it raised, or None."""
    try:
        report.similar, report.similarity_html = similar_pairs(sources, template_source, report.threshold,
                                                               report.side_by_side)
        report.similarity_compared = len(sources)
        return None
    except Exception as exc:
        report.side_by_side.clear()
        return exc


def _add_similarity(report, sources, template_source):
    """Fills report.similar and its view. If copydetect fails, the files it cannot read alone
    are left out (named in not_compared) and the rest compared once more; a failure with
    every file readable costs the similarity section, never the batch."""
    failure = _compare(report, sources, template_source)
    if failure is None:
        return
    failing = _fingerprint_failures(sources)
    report.not_compared.update(failing)
    if failing:
        rest = {sid: text for sid, text in sources.items() if sid not in failing}
        failure = _compare(report, rest, template_source)
        if failure is None:
            return
    report.problem = f"similarity could not be computed: {failure!r}"[:300]


def read_sources(entries, limits):
    """{id: source} for each (id, path) whose file the grader's reader accepts (limits: the lab's
    SubmissionLimits); the rest are left out."""
    from autograder.submission import load_submission
    sources = {}
    for sid, path in entries:
        try:
            sources[sid] = load_submission(Path(path), limits).source
        except Exception:     # invalid (already its row's message), or unreadable: nothing to compare
            continue
    return sources
