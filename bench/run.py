"""`make bench`: run the kernel and grading benchmarks, then write bench/RESULTS.md.

    .venv/bin/python bench/run.py [--quick] [--batch-only | --realistic-only | --render-only]

Each part writes its JSON (bench/kernels.json, bench/grading.json, bench/realistic.json, ...)
and this script renders them, with the machine they ran on, into RESULTS.md. Every time
is a median of several runs; every ratio compares numbers measured side by
side in the same run.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
KIT = BENCH.parent

sys.path.insert(0, str(KIT))
from autograder.config import load_config, load_staff_settings  # noqa: E402

# What the medians are checked against: the lab's [bench] targets (assignment/staff.toml).
_TARGETS = load_staff_settings(load_config(KIT / "assignment" / "config.toml")).bench
TARGETS = {name: getattr(_TARGETS, name) for name in ("per_vectorised_s", "per_loops_s", "batch_per_min", "worker_mb")}


def machine():
    """CPU, cores, memory, OS, Python, numpy/BLAS, torch, threads, date."""
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    probe = subprocess.run([sys.executable, "-c", (
        "import json, numpy as np\n"
        "cfg = np.show_config(mode='dicts')\n"
        "blas = cfg.get('Build Dependencies', {}).get('blas', {})\n"
        "try:\n import torch; tv = torch.__version__\n"
        "except ImportError:\n tv = 'not installed'\n"
        "print(json.dumps(dict(numpy=np.__version__, blas=f\"{blas.get('name')} {blas.get('version')}\", torch=tv)))")],
        capture_output=True, text=True, check=True)
    info = json.loads(probe.stdout)
    return dict(cpu=cpu, cores=os.cpu_count(), memory_gb=round(mem_kb / 2**20, 1),
                os=f"{platform.system()} {platform.release()}", python=platform.python_version(), **info,
                threads="OPENBLAS/OMP/MKL_NUM_THREADS=1 in every measured process",
                openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", "unset"),
                date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                load_average=" ".join(f"{x:.2f}" for x in os.getloadavg()))


def run_part(script, out, quick, extra=()):
    cmd = [sys.executable, str(BENCH / script), "--out", str(out), *(["--quick"] if quick else []), *extra]
    print("running", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, cwd=KIT, check=True, stdout=subprocess.DEVNULL)
    return json.loads(Path(out).read_text())


def fmt_s(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def verdict(value, target, smaller_is_better=True):
    met = value <= target if smaller_is_better else value >= target
    return "met" if met else "**missed**"


def grading_section(g):
    per = g["per_submission"]
    lines = ["## Grading", "",
             "Full hidden suite, one submission at a time. *In process*: what each of a batch's "
             "grading processes spends per submission (python, numpy and pytest already imported). "
             "*Cold*: a new `python -m autograder grade` process, as Gradescope's run_autograder does.", "",
             "| submission | score | in process (median) | IQR | runs | cold (median) | runs |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, m in per.items():
        cold = m.get("cold")
        lines.append(f"| {label} | {m['score']:g} | {fmt_s(m['in_process']['median'])} | "
                     f"{fmt_s(m['in_process']['iqr'])} | {m['in_process']['runs']} | "
                     f"{fmt_s(cold['median']) if cold else '-'} | {cold['runs'] if cold else '-'} |")
    vec = max(m["in_process"]["median"] for label, m in per.items() if label.startswith("vectorised"))
    loops = per["lecture loops (correct)"]["in_process"]["median"]
    lines += [""] + batch_table(g)
    mem = g["memory_mb"]
    lines += ["", f"Peak resident memory: grader process {mem['grader_peak_rss']:.0f} MB; "
              f"sandboxed student worker {mem['worker_peak_rss']:.0f} MB (VmHWM, polled).", ""]
    otter = g["otter"]
    if "ratio" in otter:
        lines += ["| same correct submission | median | runs |", "|---|---:|---:|",
                  f"| `otter run` through the bridge | {fmt_s(otter['otter run']['median'])} | {otter['otter run']['runs']} |",
                  f"| `python -m autograder grade` (cold) | {fmt_s(otter['kit grade (cold)']['median'])} | "
                  f"{otter['kit grade (cold)']['runs']} |",
                  "", f"otter run / kit grade: {otter['ratio']:.1f}x (side by side, interleaved).", ""]
    else:
        lines += [f"otter: {otter['otter']}", ""]
    fb = g["fixture_build"]
    lines += [f"Fixture build (hidden set): median {fmt_s(fb['median'])} over {fb['runs']} runs; "
              f"{fb['files']} files, {fb['bytes'] / 1024:.0f} KiB.", "",
              "### Targets", "", "| target | measured | |", "|---|---:|---|",
              f"| vectorised submission <= {TARGETS['per_vectorised_s']} s (slower of the two) | {fmt_s(vec)} in process | "
              f"{verdict(vec, TARGETS['per_vectorised_s'])} |",
              f"| lecture-loop submission <= {TARGETS['per_loops_s']} s | {fmt_s(loops)} in process | "
              f"{verdict(loops, TARGETS['per_loops_s'])} |"]
    for mix in dict.fromkeys(b["mix"] for b in g["batch"]):
        rate = min(b["per_minute"] for b in g["batch"] if b["mix"] == mix)
        lines.append(f"| batch >= {TARGETS['batch_per_min']} submissions/min ({mix}) | {rate:.0f}/min | "
                     f"{verdict(rate, TARGETS['batch_per_min'], smaller_is_better=False)} |")
        idle = [b["idle_cores_per_minute"] for b in g["batch"] if b["mix"] == mix and b.get("idle_cores_per_minute")]
        if idle:
            lines.append(f"| the same, on idle cores (from CPU per submission) | {min(idle):.0f}/min | "
                         f"{verdict(min(idle), TARGETS['batch_per_min'], smaller_is_better=False)} |")
    lines += [f"| worker <= {TARGETS['worker_mb']} MB | {mem['worker_peak_rss']:.0f} MB | "
              f"{verdict(mem['worker_peak_rss'], TARGETS['worker_mb'])} |", ""]
    return lines


def batch_table(g):
    """Batch throughput now, side by side with the baseline (bench/batch_baseline.json)."""
    try:
        base = json.loads((BENCH / "batch_baseline.json").read_text())
    except (OSError, ValueError):
        base = {"what": "no baseline recorded", "batch": []}
    before = {(b["mix"], b["submissions"]): b for b in base["batch"]}
    when = f" (measured {g['batch_only_run']}, batch part only)" if g.get("batch_only_run") else ""
    lines = [f"`python -m autograder batch`{when}, {g['batch'][0]['jobs']} parallel grading processes. "
             "*CPU per submission*: every process of the batch, sandboxed workers included (cgroup "
             "cpuacct); it depends far less than wall time on what else the machine runs (it still "
             "grows by up to ~20 % under heavy load), and *on idle cores* is the rate it allows: "
             "cores x 60 s / CPU per submission. *Before: per minute* is wall time on an idle machine; "
             "compare it with *on idle cores* when *now* ran under load.", "",
             "| batch of | submissions | before: per minute | now: wall | now: per minute | load average | "
             "CPU per submission, before -> now | on idle cores, now |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for b in g["batch"]:
        old = before.get((b["mix"], b["submissions"]), {})
        cpu = b.get("cpu_ms_per_submission")
        cpu_text = (f"{old['cpu_ms_per_submission']:.0f} -> " if old.get("cpu_ms_per_submission") else "") + \
            (f"{cpu:.0f} ms" if cpu else "-")
        idle = f"{b['idle_cores_per_minute']:.0f}/min" if b.get("idle_cores_per_minute") else "-"
        lines.append(f"| {b['mix']} | {b['submissions']} | {old.get('per_minute', float('nan')):.0f} | "
                     f"{b['seconds']:.1f} s | {b['per_minute']:.0f} | {b.get('load_average', float('nan')):.2f} | "
                     f"{cpu_text} | {idle} |")
    return lines + ["", f"Before: {base['what']}. Where the time goes and what 300/min needs: "
                    "[BATCH_NOTES.md](BATCH_NOTES.md).", ""] + batch_side_by_side()


def batch_side_by_side():
    """The last change's batch throughput against the commit before it, runs interleaved (bench/batch_ab.py)."""
    try:
        ab = json.loads((BENCH / "batch_ab.json").read_text())
    except (OSError, ValueError):
        return []
    grades = ab.get("grades", "identical")
    lines = [f"Side by side ({ab['date']}, `bench/batch_ab.py`): {ab['submissions']} submissions of the "
             f"{ab['mix']}, {ab['rounds']} rounds, the two trees alternating, so both saw the same load. "
             f"Grades of the two trees: {grades}.", "",
             "| tree | CPU per submission (median) | on idle cores | wall per minute (median) | runs: CPU per submission, load |",
             "|---|---:|---:|---:|---|"]
    for name in ("before", "after"):
        t = ab[name]
        runs = ", ".join(f"{r['cpu_ms_per_submission']:.0f} ms at {r['load_average']:.1f}" for r in t["runs"])
        lines.append(f"| {name}: {ab[name + '_label']} | {t['cpu_ms_per_submission']:.0f} ms | "
                     f"{t['idle_cores_per_minute']:.0f}/min | {t['per_minute']:.0f}/min | {runs} |")
    return lines + [""]


def integrity_section(i):
    """The grader's own peak memory and time on hostile submissions (bench/integrity.py)."""
    lines = ["## The grader against hoarding and flooding submissions", "",
             "Each graded by a new process; peak resident memory of that grading process (not the "
             "sandboxed worker), wall time of grade_submission (median).", "",
             "| submission | score | status | grading time | grader peak RSS | runs |", "|---|---:|---|---:|---:|---:|"]
    for label, m in i["subjects"].items():
        lines.append(f"| {label} | {m['score']:g} | {m['status']} | {fmt_s(m['seconds'])} | "
                     f"{m['peak_rss_mb']:.0f} MB | {m['runs']} |")
    t = i["targets"]
    rss = max(m["peak_rss_mb"] for m in i["subjects"].values())
    flood = max(m["seconds"] for label, m in i["subjects"].items() if "flood" in label)
    lines += ["", "| target | measured | |", "|---|---:|---|",
              f"| grader peak RSS <= {t['peak_rss_mb']} MB for any submission above | {rss:.0f} MB | "
              f"{verdict(rss, t['peak_rss_mb'])} |",
              f"| a flooding submission graded in <= {t['flood_s']} s | {fmt_s(flood)} | {verdict(flood, t['flood_s'])} |",
              "", "Before the fix (same machine, old grader): the hoarding submission took the grader to 1309 MB, "
              "the per-call flood took 235 s to grade.", ""]
    return lines


def similarity_section(s):
    return ["## Integrity report (similarity)", "",
            f"`integrity.check_batch` on {s['submissions']} submissions ({s['distinct_bases']} catalogue solutions, "
            f"each handed in four ways: as is, commented, reformatted, renamed), {s['runs']} runs: "
            f"median {fmt_s(s['total_median_s'])} wall, {fmt_s(s['total_cpu_median_s'])} CPU (max "
            f"{fmt_s(s['total_max_s'])}); copydetect's part {fmt_s(s['similarity_median_s'])}; reading the "
            f"{s['submissions']} zips {fmt_s(s['read_seconds'])}. {s['pairs_compared']} pairs compared, "
            f"{s['pairs_flagged']} at or above {s['threshold']:.0%}, {s['identical_groups']} identical groups; "
            f"side-by-side view {s['side_by_side_kib']} KiB.", ""]


def kernels_section(k):
    """Delegates to bench/plot_kernels.py's table renderer when present."""
    sys.path.insert(0, str(BENCH))
    try:
        from plot_kernels import markdown_tables
    except ImportError:
        return ["## Kernels", "", "(bench/plot_kernels.py has no markdown_tables())", ""]
    return ["## Kernels", ""] + markdown_tables(k) + ["", "![time versus size](kernels.png)", ""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run of both parts")
    parser.add_argument("--batch-only", action="store_true",
                        help="rerun only the batch throughput; every other figure is the last run's")
    parser.add_argument("--realistic-only", action="store_true",
                        help="rerun only the realistic-size hidden cases' cost (bench/realistic.py); "
                             "every other figure is the last run's")
    parser.add_argument("--fairness-only", action="store_true",
                        help="rerun only the fairness part (bench/fairness.py: one grade, three conditions); "
                             "every other figure is the last run's")
    parser.add_argument("--render-only", action="store_true",
                        help="measure nothing: write RESULTS.md from the last kernels.json and grading.json")
    args = parser.parse_args(argv)
    m = machine()
    measured = not (args.render_only or args.batch_only or args.realistic_only or args.fairness_only)

    def part(script, name, extra=()):
        path = BENCH / f"{name}.json"
        if measured or (args.batch_only and name == "grading") or (args.realistic_only and name == "realistic") \
                or (args.fairness_only and name == "fairness"):
            return run_part(script, path, args.quick, extra)
        return json.loads(path.read_text()) if path.exists() else None

    kernels = part("kernels.py", "kernels")
    grading = part("grading.py", "grading", ["--batch-only"] if args.batch_only else [])
    integrity = part("integrity.py", "integrity")
    similarity = part("similarity.py", "similarity")
    realistic = part("realistic.py", "realistic")
    isolation = part("isolation.py", "isolation") if os.geteuid() == 0 else None   # chroot is root's
    fairness = part("fairness.py", "fairness", [] if os.geteuid() == 0 else ["--levels", "bwrap"])
    kind = ("rendered again from the last measurements; the machine's load average is today's" if args.render_only
            else "batch throughput only; the other figures are the last full run's" if args.batch_only
            else "realistic-size cases only; the other figures are the last full run's" if args.realistic_only
            else "fairness only; the other figures are the last full run's" if args.fairness_only
            else "quick run" if args.quick else "full run")
    lines = ["# Benchmark results", "",
             f"Written by `make bench` ({kind}) on {m['date']}.", "",
             "| machine | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in m.items()] + [""]
    lines += kernels_section(kernels) + grading_section(grading)
    lines += integrity_section(integrity) if integrity else []
    lines += similarity_section(similarity) if similarity else []
    if realistic:
        sys.path.insert(0, str(BENCH))
        from realistic import section as realistic_section
        lines += realistic_section(realistic)
    if isolation:
        sys.path.insert(0, str(BENCH))
        from isolation import section as isolation_section
        lines += isolation_section(isolation)
    if fairness:
        sys.path.insert(0, str(BENCH))
        from fairness import section as fairness_section
        lines += fairness_section(fairness)
    (BENCH / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {BENCH / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
