"""Integrity-report benchmark: flags and copydetect similarity over a class of 200 submissions.

    .venv/bin/python bench/similarity.py --out bench/similarity.json [--quick]

The class is made from the catalogue: its 50 correct and one-bug solutions (most
of them edits of the lecture's loops, as real classes are), each handed in four
ways: as is, with comments added, reformatted, and with variables renamed. So
the batch holds many near-copies, which is the costly case for the report. Each
submission is a zip read back with the grader's own reader, as `batch` does.
Times are medians of several runs of `integrity.check_batch`, plus one of reading.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

from autograder.staff import integrity  # noqa: E402
from autograder.staff.catalogue import KnownSubmission, load_catalogue, write_zip  # noqa: E402
from autograder.lab_loader import load_lab  # noqa: E402
from autograder.submission import SubmissionLimits  # noqa: E402

CONV_LAB = load_lab(KIT / "assignment" / "config.toml")     # the lab this benchmark measures

RENAMES = (("X_col", "cols"), ("dX_pad", "grad_padded"), ("dY", "upstream"), ("col", "k"))


def handed_in(source, way):
    """One of four ways a student might hand in the same code."""
    if way == 1:
        return "# lab 7, my solution\n" + source.replace("\n    return", "\n    # done\n    return")
    if way == 2:
        return source.replace("\n\n", "\n\n\n").replace(" = ", "=")
    if way == 3:
        for old, new in RENAMES:
            source = source.replace(old, new)
    return source


def make_class(folder, size):
    entries, _ = load_catalogue(lab=CONV_LAB)
    bases = [e for key, e in entries.items() if key.startswith(("correct/", "bug/"))]
    paths = []
    for n in range(size):
        base = bases[n % len(bases)]
        entry = KnownSubmission(f"s{n:03d}", base.story, source=handed_in(base.source, (n // len(bases)) % 4))
        paths.append((entry.key, write_zip(entry, folder / f"s{n:03d}.zip", lab=CONV_LAB)))
    return paths, len(bases)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(KIT / "bench" / "similarity.json"))
    parser.add_argument("--quick", action="store_true", help="40 submissions, one run")
    parser.add_argument("--size", type=int, default=200)
    args = parser.parse_args(argv)
    size, runs = (40, 1) if args.quick else (args.size, 3)
    threshold = CONV_LAB.config.similarity_threshold
    with tempfile.TemporaryDirectory() as tmp:
        paths, distinct = make_class(Path(tmp), size)
        started = time.perf_counter()
        sources = integrity.read_sources(paths, SubmissionLimits.of(CONV_LAB))
        read_s = time.perf_counter() - started
    totals, cpu, similarity = [], [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        report = integrity.check_batch(sources, threshold, CONV_LAB.template.read_text(encoding="utf-8"),
                                       CONV_LAB.student_parts)
        totals.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)     # less sensitive than wall time to a busy machine
        similarity.append(report.similarity_seconds)
    result = dict(submissions=len(sources), distinct_bases=distinct, threshold=threshold, runs=runs,
                  read_seconds=round(read_s, 3), total_median_s=round(statistics.median(totals), 3),
                  total_max_s=round(max(totals), 3), total_cpu_median_s=round(statistics.median(cpu), 3),
                  similarity_median_s=round(statistics.median(similarity), 3),
                  pairs_compared=len(sources) * (len(sources) - 1) // 2, pairs_flagged=len(report.similar),
                  identical_groups=len(report.identical), not_attempted=len(report.not_attempted),
                  side_by_side_kib=round(len(report.similarity_html.encode()) / 1024))
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
