"""Is a grade the code's alone? One slow correct submission graded in three conditions, per level.

    .venv/bin/python bench/fairness.py [--levels bwrap chroot] [--hogs 8] [--kit CHECKOUT] [--out bench/fairness.json]

`make bench` runs it (as root: both levels; `make bench FAIRNESS_ONLY=1` runs only this part).

The subject is correct but slow: its col2im adds one element at a time through NumPy's index
functions, as ONNX's reference Col2Im does, so its slowest call (backward on the hidden set's
N=32 batch) takes a few seconds of CPU. It is graded against the hidden set:
- idle: alone on the machine;
- hogs: beside N CPU-bound processes, each in a session of its own (a busy machine);
- neighbour: in a `batch --jobs 2` beside a submission that tries to fork 15 spinners (each
  setsid) and then spins in every call until its limit stops it.
chroot is reached as on Gradescope: the grader runs under tests/without_userns.py. The grades
(score and every check's score) must be identical. The script also weighs what the
memory_spread_over_children attack holds at its peak, over the whole grading (cgroup v1
memory.max_usage_in_bytes where the machine has it), beside its honest twin.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
KIT = BENCH.parent
sys.path.insert(0, str(KIT))

from autograder.staff.catalogue import correct_solution, load_catalogue, write_zip  # noqa: E402
from autograder.lab_loader import load_lab  # noqa: E402
from autograder.results import GradeReport  # noqa: E402

CONV_LAB = load_lab(KIT / "assignment" / "config.toml")     # the lab this benchmark measures

SLOW_COL2IM = '''def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; one element at a time."""
    H_out, W_out = (H - kH) // stride + 1, (W - kW) // stride + 1
    x = np.zeros((C, H, W), dtype=X_col.dtype)
    flat = x.reshape(-1)
    for row in range(C * kH * kW):
        c, rest = divmod(row, kH * kW)
        ki, kj = divmod(rest, kW)
        for col in range(H_out * W_out):
            u, v = np.unravel_index(col, (H_out, W_out))
            flat[np.ravel_multi_index((c, u * stride + ki, v * stride + kj), (C, H, W))] += X_col[row, col]
    return x
'''

NEIGHBOUR_PREPEND = '''
import os as _os
try:
    for _ in range(15):
        if _os.fork() == 0:
            _os.setsid()
            while True:
                pass
except OSError:
    pass


def _spin():
    while True:
        pass
'''


def slow_source():
    """lecture_loops with its col2im replaced by the one-element-at-a-time version."""
    source = correct_solution("lecture_loops", lab=CONV_LAB)
    start = source.index("def col2im(")
    end = source.index("\n\n\n", start)
    return source[:start] + SLOW_COL2IM.rstrip("\n") + source[end:]


def neighbour_source():
    source = correct_solution("lecture_loops", lab=CONV_LAB)
    source = source.replace("import numpy as np\n", "import numpy as np\n" + NEIGHBOUR_PREPEND, 1)
    source = source.replace('    x = np.zeros((C, H, W), dtype=X_col.dtype)\n', '    _spin()\n    x = np.zeros((C, H, W), dtype=X_col.dtype)\n', 1)
    return source.replace("        N, C_out, H_out, W_out = dY.shape\n", "        _spin()\n        N, C_out, H_out, W_out = dY.shape\n", 1)


def slowest_call_cpu_s():
    """CPU seconds of the subject's backward on the hidden set's largest batch, in process."""
    namespace = {}
    exec(compile(slow_source(), "slow.py", "exec"), namespace)
    import numpy as np
    rng = np.random.default_rng(0)
    layer = namespace["Conv2d"](16, 8, 3, stride=2, padding=1)
    y = layer.forward(rng.standard_normal((32, 16, 32, 32)))
    start = time.process_time()
    layer.backward(rng.standard_normal(y.shape))
    return time.process_time() - start


def grade_command(level, kit):
    python = str(kit / ".venv" / "bin" / "python")
    if level == "chroot":
        return [python, str(KIT / "tests" / "without_userns.py"), python, "-m", "autograder"]
    return [python, "-m", "autograder"]


def grades(folder, level):
    """(score, {check title: score}) of the grade record (grade.json) in folder, graded at `level`."""
    report = GradeReport.read(folder)
    assert report.extra["isolation"] == level, report.extra
    return report.score, {c.title: c.score for c in report.checks}


def grade_alone(level, kit, submission, out):
    started = time.monotonic()
    subprocess.run(grade_command(level, kit) + ["grade", str(submission), "--out", str(out),
                   "--isolation", level], cwd=kit, check=True, capture_output=True)
    return grades(out, level), time.monotonic() - started


def grade_beside_neighbour(level, kit, folder, out):
    started = time.monotonic()
    subprocess.run(grade_command(level, kit) + ["batch", str(folder), "--out", str(out), "--jobs", "2"],
                   cwd=kit, check=True, capture_output=True)
    return grades(out / "submissions" / "b_slow", level), time.monotonic() - started


class Hogs:
    """N CPU-bound processes, each in a session of its own; always killed on exit."""

    def __init__(self, count):
        self.count, self.procs = count, []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
                      for _ in range(self.count)]
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def peak_memory_mb(kit, submission, out, level):
    """Peak memory (MB) of a whole grading -- grader, worker and anything the worker starts --
    in a fresh cgroup v1 memory group; None where there is none to make."""
    group = Path("/sys/fs/cgroup/memory") / f"convkit-fairness-{os.getpid()}"
    try:
        group.mkdir()
    except OSError:
        return None
    try:
        cmd = grade_command(level, kit) + ["grade", str(submission), "--out", str(out), "--isolation", level]
        proc = subprocess.Popen(cmd, cwd=kit, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=lambda: (group / "cgroup.procs").write_text(str(os.getpid())))
        proc.wait()
        return int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
    finally:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", default=["bwrap", "chroot"])
    parser.add_argument("--hogs", type=int, default=8)
    parser.add_argument("--kit", type=Path, default=KIT, help="the checkout whose grader is measured")
    parser.add_argument("--out", type=Path, default=BENCH / "fairness.json")
    parser.add_argument("--quick", action="store_true", help="the first level only")
    args = parser.parse_args()
    if args.quick:
        args.levels = args.levels[:1]
    kit = args.kit.resolve()
    scratch = Path(tempfile.mkdtemp(prefix="convkit-fairness-"))
    try:
        slow = scratch / "slow.zip"
        _zip(slow_source(), slow)
        folder = scratch / "class"
        folder.mkdir()
        _zip(slow_source(), folder / "b_slow.zip")
        _zip(neighbour_source(), folder / "a_neighbour.zip")
        result = dict(date=time.strftime("%Y-%m-%d %H:%M"), kit=str(kit), hogs=args.hogs, machine=_machine(),
                      load_average_at_start=" ".join(f"{x:.2f}" for x in os.getloadavg()),
                      slowest_call_cpu_s=slowest_call_cpu_s(), levels={})
        for level in args.levels:
            runs = {}
            runs["idle"] = grade_alone(level, kit, slow, scratch / f"{level}-idle")
            with Hogs(args.hogs):
                time.sleep(1)
                runs["hogs"] = grade_alone(level, kit, slow, scratch / f"{level}-hogs")
            runs["neighbour"] = grade_beside_neighbour(level, kit, folder, scratch / f"{level}-batch")
            baseline = runs["idle"][0]
            result["levels"][level] = {
                name: dict(score=g[0], wall_s=round(wall, 1), identical_to_idle=g == baseline,
                           checks_lost=sorted(k for k, v in baseline[1].items() if g[1].get(k) != v))
                for name, (g, wall) in runs.items()}
            print(level, json.dumps(result["levels"][level]), flush=True)
        catalogue, _ = load_catalogue(lab=CONV_LAB)
        attack = scratch / "memory_spread.zip"
        twin = scratch / "twin.zip"
        write_zip(catalogue["hostile/memory_spread_over_children"], attack, lab=CONV_LAB)
        _zip(correct_solution("lecture_loops", lab=CONV_LAB), twin)
        level = args.levels[0]
        result["memory_mb"] = dict(level=level,
                                   attack=peak_memory_mb(kit, attack, scratch / "mem-attack", level),
                                   correct=peak_memory_mb(kit, twin, scratch / "mem-twin", level))
        print("memory", result["memory_mb"], flush=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def section(r):
    """RESULTS.md's part for bench/fairness.json."""
    lines = ["## A grade that depends only on the code", "",
             f"One correct but slow submission (its slowest call, backward on the N=32 batch, takes "
             f"{r['slowest_call_cpu_s']:.1f} s of CPU) graded against the hidden set: alone, beside "
             f"{r['hogs']} CPU hogs each in a session of its own, and in a `batch --jobs 2` beside a "
             f"neighbour that tries to fork 15 setsid spinners and spins in every call. Measured on {r['date']} "
             f"({r.get('machine', '?')}; load average {r.get('load_average_at_start', '?')} at the start).", "",
             "| level | condition | score | every check as idle | wall time |", "|---|---|---:|---|---:|"]
    for level, runs in r["levels"].items():
        for name, run in runs.items():
            lost = "yes" if run["identical_to_idle"] else "**no**: " + ", ".join(run["checks_lost"])
            lines.append(f"| {level} | {name} | {run['score']:g} | {lost} | {run['wall_s']:.1f} s |")
    mem = r.get("memory_mb") or {}
    if mem.get("attack") is not None:
        lines += ["", f"Peak memory of a whole grading ({mem['level']}; grader, worker and whatever the worker "
                      f"starts; cgroup v1): memory_spread_over_children (5 children of 800 MB each, if it could "
                      f"start them) {mem['attack']:.0f} MB, its correct twin {mem['correct']:.0f} MB."]
    return lines + [""]


def _machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return f"{cpu}, {os.cpu_count()} cores, Linux {os.uname().release}"


def _zip(source, dest):
    import zipfile
    with zipfile.ZipFile(dest, "w") as z:
        z.writestr("conv2d.py", source)


if __name__ == "__main__":
    sys.exit(main())
