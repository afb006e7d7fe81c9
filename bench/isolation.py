"""Isolation levels side by side: grading time of a vectorised correct submission per level.

    .venv/bin/python bench/isolation.py --out bench/isolation.json [--quick] [--results]

Runs as root (the chroot level is root's). Levels are interleaved run by run, so each
ratio compares times taken under the same load. Two ways are timed: in-process
(`grade_submission`, what a batch's grading process does) and cold (a new
`python -m autograder grade` process, what Gradescope's run_autograder does), plus
the sandbox alone (start the worker, import the file, one call, stop and clean up).
`--results` also rewrites the "Isolation levels" section of bench/RESULTS.md
(`make bench` renders it with the rest).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                  PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")

import numpy as np  # noqa: E402

from autograder.grading import grade_submission, GradingOptions  # noqa: E402
from autograder.lab_loader import load_lab  # noqa: E402
from autograder.config import load_staff_settings  # noqa: E402
from autograder.staff.catalogue import bench_subjects  # noqa: E402
from autograder.sandbox import LEVELS, Limits, Sandbox  # noqa: E402

CONV_LAB = load_lab(KIT / "assignment" / "config.toml")     # the lab this benchmark measures

BENCH = load_staff_settings(CONV_LAB.config).bench        # subject and target: assignment/staff.toml
SUBMISSION = bench_subjects(CONV_LAB, [("", BENCH.isolation_subject)])[""]     # a file of the lab
TARGET_RATIO = BENCH.isolation_ratio                      # chroot within this factor of bwrap


def usable_levels():
    return [n for n in ("bwrap", "chroot") if LEVELS[n].unusable_reason() is None]


def median_summary(times):
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": len(times)}


def time_in_process(level, out):
    start = time.perf_counter()
    report = grade_submission(CONV_LAB, SUBMISSION, out, GradingOptions(isolation=level))
    elapsed = time.perf_counter() - start
    assert report.score == report.max_score and report.extra["isolation"] == level
    return elapsed


def time_cold(level, out):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "--config", str(CONV_LAB.config.path), "grade",
                    str(SUBMISSION), "--out", str(out), "--isolation", level, "--quiet"], cwd=KIT, check=True)
    return time.perf_counter() - start


def time_sandbox_alone(level):
    start = time.perf_counter()
    with Sandbox(SUBMISSION, Limits(), isolation=level) as sb:
        sb.call("col2im", np.ones((9, 4)), 1, 4, 4, 3, 3)
    return time.perf_counter() - start


def measure(levels, runs, cold_runs):
    times = {level: {"in_process": [], "cold": [], "sandbox_alone": []} for level in levels}
    with tempfile.TemporaryDirectory() as tmp:
        for level in levels:                           # warm-up: caches, jail, venv
            time_in_process(level, Path(tmp) / f"warm-{level}")
        for i in range(runs):
            for level in (levels if i % 2 == 0 else levels[::-1]):
                times[level]["in_process"].append(time_in_process(level, Path(tmp) / f"{level}-{i}"))
                times[level]["sandbox_alone"].append(time_sandbox_alone(level))
        for i in range(cold_runs):
            for level in (levels if i % 2 == 0 else levels[::-1]):
                times[level]["cold"].append(time_cold(level, Path(tmp) / f"cold-{level}-{i}"))
    return {level: {kind: median_summary(t) for kind, t in kinds.items()} for level, kinds in times.items()}


def section(data):
    """Markdown lines of the 'Isolation levels' section."""
    levels = list(data["levels"])
    lines = ["## Isolation levels", "",
             f"Grading `reference/conv2d.py` (vectorised, correct: 100/100) at each level, levels "
             f"interleaved run by run on the machine above ({data['machine']}). Medians "
             f"[min - max] of {data['runs']} in-process and {data['cold_runs']} cold runs "
             f"(`bench/isolation.py`, bench/isolation.json).", "",
             "| level | in process (`grade_submission`) | cold (`python -m autograder grade`) | sandbox alone (start, import, 1 call, clean up) |",
             "|---|---:|---:|---:|"]
    for level in levels:
        cells = [f"{d['median'] * 1000:.0f} ms [{d['min'] * 1000:.0f} - {d['max'] * 1000:.0f}]"
                 for d in (data["levels"][level][k] for k in ("in_process", "cold", "sandbox_alone"))]
        lines.append(f"| {level} | " + " | ".join(cells) + " |")
    if {"bwrap", "chroot"} <= set(levels):
        ratios = {k: data["levels"]["chroot"][k]["median"] / data["levels"]["bwrap"][k]["median"]
                  for k in ("in_process", "cold", "sandbox_alone")}
        worst = max(ratios["in_process"], ratios["cold"])
        lines += ["", f"chroot / bwrap: in process {ratios['in_process']:.2f}, cold {ratios['cold']:.2f}, "
                      f"sandbox alone {ratios['sandbox_alone']:.2f}. Target: grading within "
                      f"{TARGET_RATIO}x of bwrap: **{'met' if worst <= TARGET_RATIO else 'missed'}**."]
    return lines + [""]


def replace_section(markdown, lines):
    """RESULTS.md with its 'Isolation levels' section replaced (or appended)."""
    text = markdown.split("\n")
    start = next((i for i, l in enumerate(text) if l == "## Isolation levels"), None)
    if start is None:
        return markdown.rstrip("\n") + "\n\n" + "\n".join(lines)
    end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    return "\n".join(text[:start] + lines + text[end:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(KIT / "bench" / "isolation.json"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--results", action="store_true", help="also rewrite RESULTS.md's section")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/isolation.py compares root's levels (bwrap, chroot): run it as root", file=sys.stderr)
        return 2
    runs, cold_runs = (3, 2) if args.quick else (15, 7)
    levels = usable_levels()
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "?")
    data = {"levels": measure(levels, runs, cold_runs), "runs": runs, "cold_runs": cold_runs,
            "machine": f"{cpu}, {os.cpu_count()} cores, {os.uname().release}, load "
                       + " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "date": time.strftime("%Y-%m-%d %H:%M")}
    Path(args.out).write_text(json.dumps(data, indent=1))
    if args.results:
        results = KIT / "bench" / "RESULTS.md"
        results.write_text(replace_section(results.read_text(), section(data)))
    print("\n".join(section(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
