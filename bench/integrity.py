"""Bench: the grader's own cost on hostile submissions (issue: a bounded parent, cheap output).

    .venv/bin/python bench/integrity.py --out bench/integrity.json [--quick]

Each submission is graded by a new process (as Gradescope's run_autograder does), which
reports its own peak resident memory (the grader, not the sandboxed worker) and the wall
time of grade_submission. Medians over a few runs.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
from autograder.config import load_config, load_staff_settings  # noqa: E402

CONV_CONFIG = KIT / "assignment" / "config.toml"                    # the lab this benchmark measures
BENCH = load_staff_settings(load_config(CONV_CONFIG)).bench      # subjects and targets: assignment/staff.toml
SUBJECTS = dict(BENCH.memory_subjects)                            # label -> catalogue key
TARGETS = {"peak_rss_mb": BENCH.grader_peak_rss_mb, "flood_s": BENCH.flood_s}

PROBE = """
import json, resource, sys, time
sys.path.insert(0, {kit!r})
from pathlib import Path
from autograder.staff.catalogue import load_catalogue, write_zip
from autograder.grading import grade_submission
from autograder.lab_loader import load_lab
CONV_LAB = load_lab({config!r})
entry = load_catalogue(lab=CONV_LAB)[0][{key!r}]
zip_path = write_zip(entry, Path({tmp!r}) / "sub.zip", lab=CONV_LAB)
started = time.monotonic()
report = grade_submission(CONV_LAB, zip_path, Path({tmp!r}) / "out")
print(json.dumps(dict(seconds=time.monotonic() - started, score=report.score, status=report.status,
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def measure(key, runs):
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([sys.executable, "-c", PROBE.format(kit=str(KIT), config=str(CONV_CONFIG), key=key, tmp=tmp)],
                                  capture_output=True, text=True, check=True, cwd=KIT)
            samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return dict(key=key, runs=runs, score=samples[0]["score"], status=samples[0]["status"],
                seconds=statistics.median(s["seconds"] for s in samples),
                peak_rss_mb=max(s["peak_rss_mb"] for s in samples))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = {label: measure(key, 1 if args.quick else 3) for label, key in SUBJECTS.items()}
    Path(args.out).write_text(json.dumps(dict(subjects=results, targets=TARGETS), indent=1) + "\n")


if __name__ == "__main__":
    main()
