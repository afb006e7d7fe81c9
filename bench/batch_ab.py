"""Batch throughput of two kit trees side by side: runs alternate, so both see the same load.

    .venv/bin/python bench/batch_ab.py OLD_TREE [--rounds 4] [--submissions 50]

OLD_TREE: another checkout of the kit (e.g. `git archive COMMIT | tar -x -C DIR`, with
its .venv and build/fixtures), graded against this tree on the same folder of the
catalogue mix (as bench/grading.py builds it). Each run is `python -m autograder batch`
inside a cgroup (cgroup CPU counts the sandboxed workers too); the order alternates
round by round. Writes bench/batch_ab.json, which bench/run.py shows under the batch
table. The grades of both trees must agree (bug/col2im_empty_init reads uninitialised
memory, so its row may differ between any two runs and is left out of the comparison).
"""

import argparse
import csv
import json
import os
import shutil
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

from autograder.staff.catalogue import load_catalogue, write_zip  # noqa: E402
from autograder.lab_loader import load_lab  # noqa: E402
from bench.grading import CpuMeter  # noqa: E402

CONV_LAB = load_lab(KIT / "assignment" / "config.toml")     # the lab this benchmark measures

NONDETERMINISTIC = ("bug/col2im_empty_init",)


def git_commit(tree):
    done = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "(not a git checkout)"


def scores(grades_csv, skip_ids):
    return {row["id"]: row["score"] for row in csv.DictReader(grades_csv.open()) if row["id"] not in skip_ids}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_tree", type=Path)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--submissions", type=int, default=50)
    parser.add_argument("--label", default="", help="what OLD_TREE is (default: its commit)")
    parser.add_argument("--out", type=Path, default=KIT / "bench" / "batch_ab.json")
    parser.add_argument("--grades-differ-because", default="",
                        help="the trees grade different cases (e.g. a changed hidden set): record the runs "
                             "anyway, with this reason and the differences")
    args = parser.parse_args(argv)
    trees = {"before": args.old_tree.resolve(), "after": KIT}
    entries, _ = load_catalogue(lab=CONV_LAB)
    keys = [k for k in entries if k.startswith(("correct/", "bug/")) and "scalar_loops" not in k]
    runs = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "class"
        skip = set()
        for i in range(args.submissions):
            write_zip(entries[keys[i % len(keys)]], folder / f"student_{i:04d}.zip", lab=CONV_LAB)
            if keys[i % len(keys)] in NONDETERMINISTIC:
                skip.add(f"student_{i:04d}")
        graded = {}
        for r in range(args.rounds):
            order = list(trees.items()) if r % 2 == 0 else list(reversed(trees.items()))
            for name, tree in order:
                out = tmp / f"out_{name}_{r}"
                load = os.getloadavg()[0]
                started = time.perf_counter()
                done, cpu = CpuMeter().run([str(tree / ".venv" / "bin" / "python"), "-m", "autograder", "batch",
                                            str(folder), "--out", str(out)], cwd=tree, capture_output=True, text=True)
                seconds = time.perf_counter() - started
                if done.returncode != 0 or cpu is None:
                    raise SystemExit(f"{name} batch failed (or no cgroup cpuacct):\n{done.stderr[-2000:]}")
                graded[name] = scores(out / "grades.csv", skip)
                runs[name].append(dict(cpu_ms_per_submission=cpu / args.submissions * 1000, seconds=seconds,
                                       per_minute=args.submissions / seconds * 60, load_average=load))
                print(f"round {r} {name}: {runs[name][-1]}", flush=True)
                shutil.rmtree(out)
        diff = {k: (graded["before"].get(k), graded["after"].get(k)) for k in graded["before"]
                if graded["before"].get(k) != graded["after"].get(k)}
        if diff and not args.grades_differ_because:
            raise SystemExit(f"the two trees grade differently: {diff}")
    cores = os.cpu_count()
    result = dict(date=time.strftime("%Y-%m-%d %H:%M"), submissions=args.submissions, rounds=args.rounds,
                  mix="catalogue mix (mostly loops)", cores=cores,
                  before_label=args.label or f"commit {git_commit(args.old_tree)}",
                  after_label=f"commit {git_commit(KIT)}",
                  grades=("identical" if not diff else
                          f"{len(diff)} of {len(graded['before'])} differ: {args.grades_differ_because}"))
    for name, rs in runs.items():
        cpu = statistics.median(r["cpu_ms_per_submission"] for r in rs)
        result[name] = dict(runs=rs, cpu_ms_per_submission=cpu, idle_cores_per_minute=cores * 60000 / cpu,
                            per_minute=statistics.median(r["per_minute"] for r in rs))
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("before", "after")}
                     | {n: {k: v for k, v in result[n].items() if k != "runs"} for n in trees}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
