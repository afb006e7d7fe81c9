"""Grading benchmarks: time per submission, batch throughput, peak memory, fixture build.

    .venv/bin/python bench/grading.py --out bench/grading.json [--quick]

Medians of several runs, measured side by side in one run. Per submission it
times both ways a submission is graded: in-process (what a batch's grading
process does for every submission after the first) and cold, as a new
`python -m autograder grade` process (what Gradescope's run_autograder does).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                  PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")

from autograder.config import load_staff_settings  # noqa: E402
from autograder.staff.catalogue import bench_subjects, load_catalogue, write_zip  # noqa: E402
from autograder.grading import grade_submission  # noqa: E402
from autograder.lab_loader import load_lab  # noqa: E402

CONV_LAB = load_lab(KIT / "assignment" / "config.toml")     # the lab this benchmark measures
KIT_COMMAND = [sys.executable, "-m", "autograder", "--config", str(CONV_LAB.config.path)]     # the CLI, on that lab

BENCH = load_staff_settings(CONV_LAB.config).bench        # subjects and targets: assignment/staff.toml
SUBJECTS = bench_subjects(CONV_LAB, BENCH.grading_subjects)    # label -> catalogue key, or a file of the lab


def summary(times):
    times = sorted(times)
    q = statistics.quantiles(times, n=4) if len(times) >= 4 else [times[0], statistics.median(times), times[-1]]
    return dict(median=statistics.median(times), min=times[0], iqr=q[2] - q[0], runs=len(times))


class WorkerMemory:
    """Polls /proc for the sandbox worker (worker.py) and keeps its peak resident memory (VmHWM)."""

    def __init__(self):
        self.peak_kb, self._stop = 0, threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.is_set():
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if b"worker.py" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    pass
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


def subject_files(tmp):
    entries, _ = load_catalogue(lab=CONV_LAB)
    files = {}
    for label, key in SUBJECTS.items():
        files[label] = (key if isinstance(key, Path)
                        else write_zip(entries[key], tmp / f"{key.replace('/', '__')}.zip", lab=CONV_LAB))
    return files


def per_submission(files, runs, hanging_runs):
    """Interleaved in-process and cold timings of each subject; scores as a sanity check.

    In process, the fixture set is verified and loaded once beforehand, as a batch's
    grading process does; a cold run verifies and loads it itself."""
    from autograder.grading import GradingOptions, load_fixtures_for
    fixture_set = load_fixtures_for(CONV_LAB, GradingOptions())
    times = {label: {"in_process": [], "cold": []} for label in files}
    scores = {}
    with tempfile.TemporaryDirectory() as out:
        for run in range(runs):
            for label, path in files.items():
                hanging = label.startswith("hanging")
                if hanging and run >= hanging_runs:
                    continue
                started = time.perf_counter()
                report = grade_submission(CONV_LAB, path, Path(out) / "in", fixture_set=fixture_set)
                times[label]["in_process"].append(time.perf_counter() - started)
                scores[label] = report.score
                if hanging:
                    continue               # cold adds only start-up to the same 20 s
                started = time.perf_counter()
                subprocess.run([*KIT_COMMAND, "grade", str(path), "--out", str(Path(out) / "cold"), "--quiet"],
                               cwd=KIT, check=False)
                times[label]["cold"].append(time.perf_counter() - started)
    return {label: {mode: summary(t) for mode, t in modes.items() if t} | {"score": scores[label]}
            for label, modes in times.items()}


def worker_peak_memory(files):
    """Peak RSS (MB) of the sandboxed worker over one grading of each non-hanging subject.

    Measured in runs of its own: the /proc poller competes with the grader for the
    GIL, so it must not run while grading is timed."""
    with tempfile.TemporaryDirectory() as out, WorkerMemory() as memory:
        for label, path in files.items():
            if not label.startswith("hanging"):
                grade_submission(CONV_LAB, path, Path(out))
    return memory.peak_kb / 1024


def grader_peak_memory(path):
    """Peak RSS (MB) of one cold grading process, read by the process itself at its end."""
    code = ("import resource, sys; from autograder.grading import grade_submission; "
            "from autograder.lab_loader import load_lab; "
            f"grade_submission(load_lab({str(CONV_LAB.config.path)!r}), {str(path)!r}, sys.argv[1]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, "-c", code, out], cwd=KIT, capture_output=True, text=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024


class CpuMeter:
    """CPU time of a command and every process below it, sandboxed student workers included
    (a cgroup v1 `cpuacct` group; those workers are never reaped by the grader, so rusage
    misses them). CPU per submission hardly depends on what else runs on the machine,
    unlike wall time, so it is the figure to compare across runs on a shared machine."""

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self):
        self.group = self.ROOT / f"convkit-bench-{os.getpid()}"

    def available(self):
        return self.ROOT.is_dir() and os.access(self.ROOT, os.W_OK)

    def run(self, cmd, **kwargs):
        """(CompletedProcess, CPU seconds or None) of `cmd`."""
        if not self.available():
            return subprocess.run(cmd, **kwargs), None
        self.group.mkdir()
        try:
            done = subprocess.run(["sh", "-c", f'echo $$ > "{self.group}/cgroup.procs" && exec "$@"', "sh", *cmd],
                                  **kwargs)
            return done, int((self.group / "cpuacct.usage").read_text()) / 1e9
        finally:
            for _ in range(50):                     # the group empties once its last process is reaped
                try:
                    self.group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def batch_throughput(count, tmp, vectorised=False):
    """Submissions per minute of `python -m autograder batch` on `count` submissions, and its
    CPU time per submission (all processes) with the rate that would give on idle cores.

    The class is the catalogue's correct and buggy solutions (most are loop-based, like
    students' code; the 3 s scalar-loop one left out), or, with vectorised=True, copies
    of vectorised correct solutions."""
    entries, _ = load_catalogue(lab=CONV_LAB)
    keys = ["correct/window_view_batch", "correct/offset_slices", "correct/batched_tensordot"] if vectorised \
        else [k for k in entries if k.startswith(("correct/", "bug/")) and "scalar_loops" not in k]
    folder = tmp / f"class{count}{'v' if vectorised else ''}"
    for i in range(count):
        write_zip(entries[keys[i % len(keys)]], folder / f"student_{i:04d}.zip", lab=CONV_LAB)
    out = tmp / f"out{count}{'v' if vectorised else ''}"
    started = time.perf_counter()
    done, cpu = CpuMeter().run([*KIT_COMMAND, "batch", str(folder), "--out", str(out)],
                               cwd=KIT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    cores = os.cpu_count()
    return dict(submissions=count, seconds=seconds, per_minute=count / seconds * 60, jobs=cores,
                cpu_ms_per_submission=cpu / count * 1000 if cpu else None,
                idle_cores_per_minute=cores * 60 * count / cpu if cpu else None,
                load_average=os.getloadavg()[0],
                mix="vectorised correct solutions" if vectorised else "catalogue mix (mostly loops)")


def otter_side_by_side(path, runs):
    """otter run through the bridge vs the kit's grade on the same submission, interleaved."""
    otter = KIT / ".venv" / "bin" / "otter"
    zip_path = KIT / "build" / "otter" / "autograder.zip"
    if not otter.exists() or not zip_path.exists():
        return {"otter": "not installed or build/otter missing (make otter)"}
    times = {"otter run": [], "kit grade (cold)": []}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([str(otter), "run", "-a", str(zip_path), "-o", out, str(path)], cwd=KIT,
                           capture_output=True)
            times["otter run"].append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run([*KIT_COMMAND, "grade", str(path), "--out", out, "--quiet"],
                           cwd=KIT, capture_output=True)
            times["kit grade (cold)"].append(time.perf_counter() - started)
    result = {k: summary(v) for k, v in times.items()}
    result["ratio"] = result["otter run"]["median"] / result["kit grade (cold)"]["median"]
    return result


def fixture_build(runs):
    from assignment.fixture_builder import build_fixture_set
    config = CONV_LAB.config
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            started = time.perf_counter()
            manifest = build_fixture_set(Path(tmp) / "hidden", config.hidden_seed, CONV_LAB)
            times.append(time.perf_counter() - started)
        size = sum(p.stat().st_size for p in (Path(tmp) / "hidden").iterdir())
    return summary(times) | dict(files=len(manifest["files"]), bytes=size)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(KIT / "bench" / "grading.json"))
    parser.add_argument("--quick", action="store_true", help="fewer runs and a smaller batch")
    parser.add_argument("--batch-only", action="store_true",
                        help="measure only the batch throughput; keep the other figures of --out")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else 5
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.batch_only:
            result = json.loads(Path(args.out).read_text())
            result["batch"] = [batch_throughput(n, tmp, v) for v in (False, True)
                               for n in ((20,) if args.quick else (50, 200))]
            result["batch_only_run"] = time.strftime("%Y-%m-%d %H:%M")
            Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
            print(json.dumps(result["batch"], indent=1))
            return 0
        result.pop("batch_only_run", None)
        files = subject_files(tmp)
        result["per_submission"] = per_submission(files, runs, hanging_runs=1 if args.quick else 3)
        result["memory_mb"] = {"worker_peak_rss": worker_peak_memory(files),
                               "grader_peak_rss": grader_peak_memory(files["vectorised correct (window_view_batch)"])}
        result["batch"] = [batch_throughput(n, tmp, v) for v in (False, True)
                           for n in ((20,) if args.quick else (50, 200))]
        result["otter"] = otter_side_by_side(files["vectorised correct (window_view_batch)"], 2 if args.quick else 3)
        result["fixture_build"] = fixture_build(3)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
