"""What the hidden set's realistic-size cases cost (issue 15): a vectorised and the lecture's loop solution.

    .venv/bin/python bench/realistic.py --out bench/realistic.json [--quick]

The hidden set holds a few realistic cases (assignment/fixture_builder.py, REALISTIC_*: a batch of
N=32, C_in=16, 32x32 images at stride 2 and 8x8 at stride 1, col2im with several channel blocks). Each subject
is graded in process (the fixture set verified and loaded once, as a batch's grading process
does) with the whole hidden set and with the same set minus the realistic cases, interleaved; the
difference of the medians is what the realistic cases cost it. Targets: a vectorised submission
<= 0.5 s for them; the lecture loops within assignment/config.toml's limits (every call under
call_cpu_s of CPU -- a call over it fails its checks, so the score must stay 100 -- and the whole
grading's CPU under total_cpu_s).
"""

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                  PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")

from assignment import fixture_builder as fb  # noqa: E402
from autograder.config import load_staff_settings  # noqa: E402
from autograder.staff.catalogue import bench_subjects, load_catalogue, write_zip  # noqa: E402
from autograder.grading import GradingOptions, grade_submission, load_fixtures_for  # noqa: E402
from autograder.lab_loader import load_lab  # noqa: E402

CONV_LAB = load_lab(KIT / "assignment" / "config.toml")     # the lab this benchmark measures

BENCH = load_staff_settings(CONV_LAB.config).bench        # subjects and targets: assignment/staff.toml
SUBJECTS = bench_subjects(CONV_LAB, BENCH.realistic_subjects)  # label -> catalogue key, or a file of the lab
VECTORISED_TARGET_S = BENCH.realistic_vectorised_s
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class OwnCpu:
    """CPU seconds of this process and everything it starts (the sandboxed workers included), from a
    cgroup v1 cpuacct group it moves itself into: on a shared machine wall time follows the load,
    CPU time much less. None where cgroups are not writable."""

    def __init__(self):
        self.group = CPUACCT / f"convkit-realistic-{os.getpid()}"
        try:
            self.group.mkdir()
            (self.group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            self.group = None

    def close(self):
        """Back to the root group, and the group removed (it empties once this process left it)."""
        if self.group:
            (CPUACCT / "cgroup.procs").write_text(str(os.getpid()))
            try:
                self.group.rmdir()
            except OSError:
                pass          # a worker not reaped yet still holds it: empty groups cost nothing

    def seconds(self):
        return int((self.group / "cpuacct.usage").read_text()) / 1e9 if self.group else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true", help="2 runs instead of 5")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else 5
    config = CONV_LAB.config
    full = load_fixtures_for(CONV_LAB, GradingOptions())
    realistic = [c.id for c in full.cases if fb.is_realistic(c)]
    if not realistic:
        raise SystemExit("the hidden set has no realistic case: rebuild the fixtures (make fixtures)")
    without = dataclasses.replace(full, cases=tuple(c for c in full.cases if not fb.is_realistic(c)))
    entries, _ = load_catalogue(lab=CONV_LAB)
    times = {label: {"full": [], "without": []} for label in SUBJECTS}
    cpu = {label: {"full": [], "without": []} for label in SUBJECTS}
    meter = OwnCpu()
    scores = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {label: key if isinstance(key, Path) else write_zip(entries[key], Path(tmp) / f"{i}.zip", lab=CONV_LAB)
                 for i, (label, key) in enumerate(SUBJECTS.items())}
        for _ in range(runs):
            for label, path in files.items():
                for which, fixture_set in (("full", full), ("without", without)):
                    started, cpu_start = time.perf_counter(), meter.seconds()
                    report = grade_submission(CONV_LAB, path, Path(tmp) / "out", fixture_set=fixture_set)
                    times[label][which].append(time.perf_counter() - started)
                    if cpu_start is not None:
                        cpu[label][which].append(meter.seconds() - cpu_start)
                    if which == "full":
                        scores[label] = (report.score, report.max_score, report.status)
    meter.close()
    result = dict(realistic_cases=realistic, runs=runs, vectorised_target_s=VECTORISED_TARGET_S,
                  limits={k: getattr(config.limits, k) for k in ("call_cpu_s", "total_cpu_s", "total_wall_s")},
                  load_average=" ".join(f"{x:.2f}" for x in os.getloadavg()), subjects={},
                  machine=next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                                if line.startswith("model name")), "?") + f", {os.cpu_count()} cores",
                  date=time.strftime("%Y-%m-%d %H:%M"))
    for label, t in times.items():
        full_s, without_s = statistics.median(t["full"]), statistics.median(t["without"])
        score, max_score, status = scores[label]
        c = cpu[label]
        cpu_full, cpu_without = (statistics.median(c["full"]), statistics.median(c["without"])) if c["full"] \
            else (None, None)
        result["subjects"][label] = dict(full_s=full_s, without_s=without_s, realistic_s=full_s - without_s,
                                         cpu_full_s=cpu_full, cpu_without_s=cpu_without,
                                         cpu_realistic_s=cpu_full - cpu_without if c["full"] else None,
                                         full_runs=sorted(t["full"]), without_runs=sorted(t["without"]),
                                         score=score, max_score=max_score, status=status)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


def section(r):
    """RESULTS.md's part for bench/realistic.json."""
    def fmt(s):
        return f"{s * 1000:.0f} ms" if abs(s) < 1 else f"{s:.2f} s"
    lines = ["## Realistic-size hidden cases", "",
             f"The hidden set's {len(r['realistic_cases'])} realistic cases ({', '.join(r['realistic_cases'])}). "
             "Each subject graded in process with the whole hidden set and without those cases, interleaved, "
             f"{r['runs']} runs each; *their cost* is the difference of the medians. Measured on "
             f"{r.get('date', '?')} ({r.get('machine', '?')}), load average at the end: {r['load_average']}.", "",
             "CPU: the grading process and its sandboxed worker (cgroup cpuacct), which depends far less "
             "on the machine's load than wall time; the targets are judged on it when it was measured.", "",
             "| submission | score | wall: whole hidden set (median) | wall: without the realistic cases | "
             "wall: their cost | CPU: whole set | CPU: without | CPU: their cost |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, m in r["subjects"].items():
        cpu = [fmt(m[k]) if m.get(k) is not None else "-" for k in ("cpu_full_s", "cpu_without_s", "cpu_realistic_s")]
        lines.append(f"| {label} | {m['score']:g} / {m['max_score']:g} | {fmt(m['full_s'])} | {fmt(m['without_s'])} | "
                     f"{fmt(m['realistic_s'])} | {' | '.join(cpu)} |")
    key = "cpu_realistic_s" if all(m.get("cpu_realistic_s") is not None for m in r["subjects"].values()) \
        else "realistic_s"
    vec = max(m[key] for label, m in r["subjects"].items() if label.startswith("vectorised"))
    loops = r["subjects"]["lecture loops"]
    limits = r["limits"]
    ok = "met" if vec <= r["vectorised_target_s"] else "**missed**"
    total = limits.get("total_cpu_s", limits.get("total_timeout_s"))      # older results: wall-clock limits
    call = limits.get("call_cpu_s", limits.get("call_timeout_s"))
    loops_cost = loops["cpu_full_s"] if loops.get("cpu_full_s") is not None else loops["full_s"]
    loops_ok = "met" if loops["score"] == loops["max_score"] and loops_cost <= total else "**missed**"
    lines += ["", "| target | measured | |", "|---|---:|---|",
              f"| vectorised submission <= {r['vectorised_target_s']} s for the realistic cases (slower of the two; "
              f"{'CPU' if key.startswith('cpu') else 'wall'}) | {fmt(vec)} | {ok} |",
              f"| lecture loops within the limits: full marks (no call over call_cpu_s = "
              f"{call} s) and the whole grading <= total_cpu_s = {total} s | "
              f"{loops['score']:g} / {loops['max_score']:g}, {fmt(loops_cost)} | {loops_ok} |", ""]
    return lines


if __name__ == "__main__":
    sys.exit(main())
