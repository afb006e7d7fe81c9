"""Kernel benchmarks: the reference's im2col, col2im and Conv2d forward/backward against the
lecture's loops and PyTorch, one BLAS thread, float64 and float32, four problem sizes.

    .venv/bin/python bench/kernels.py --out bench/kernels.json [--quick]   # also draws bench/kernels.png
    .venv/bin/python bench/plot_kernels.py bench/kernels.json --out bench/kernels.png [--dtype float32]

Kernels (each over a whole batch, so every implementation does the same work):
  im2col    reference `batch_im2col` and per-image `im2col` (one call per image), the lecture's
            per-image loop, torch.nn.functional.unfold; all on the already padded input.
  col2im    reference `batch_col2im` and per-image `col2im`, the lecture's per-image loop,
            torch.nn.functional.fold; output is the padded image, each gets its own layout of
            the columns ((C*kH*kW, N*L) for the reference, (N, C*kH*kW, L) for the others).
  forward   Conv2d.forward (reference, lecture) and torch.nn.functional.conv2d (no autograd).
  backward  Conv2d.backward after one forward (reference, lecture: they reuse the columns cached
            by forward) and torch.ops.aten.convolution_backward for grad_input and grad_weight
            (recomputes what it needs from the input).
  step      forward + backward, the fair comparison for the cache: reference, lecture, torch
            autograd (conv2d then .backward()).
In float32 every layer's weight is float32 too.

Every implementation is first checked against the others (`agreement` in the JSON; exit 1 if
they disagree). Timing: warm-up, then samples of `inner` calls each (inner chosen so one sample
takes >= 2 ms), the implementations of one kernel interleaved in rotating order, each sampled k
times with k adaptive (about --budget seconds per implementation, at least --min-reps samples;
the lecture's loops at least --loops-min-reps, which is all they get where they are slow).
Reported per call: median, min, q25, q75, IQR, k and inner. Ratios are medians over torch's
median measured in the same interleaved run (and min over min). BLAS runs single-threaded: the
environment variables below are set before numpy is imported. bench/KERNELS_NOTES.md discusses
the results.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

KIT_ROOT = Path(__file__).resolve().parents[1]
if str(KIT_ROOT) not in sys.path:
    sys.path.insert(0, str(KIT_ROOT))

from reference import conv2d as ref  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plot_kernels  # noqa: E402  (markdown tables and the figure)

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:          # already set (only possible once per process)
        pass
except ImportError:
    torch = None

NOT_INSTALLED = "not installed"

# name: (N, C_in, C_out, H, W, k, stride, padding)
SIZES = {
    "S1": (16, 1, 8, 8, 8, 3, 1, 1),
    "S2": (64, 3, 16, 32, 32, 3, 1, 1),
    "S3": (32, 16, 32, 64, 64, 5, 2, 2),
    "S4": (32, 64, 64, 28, 28, 3, 1, 1),
}
DTYPES = {"float64": np.float64, "float32": np.float32}
KERNELS = ("im2col", "col2im", "forward", "backward", "step")
# The implementation each ratio is taken for, per kernel (reference side, torch side).
RATIO_OF = {"im2col": "reference_batch", "col2im": "reference_batch", "forward": "reference",
            "backward": "reference", "step": "reference"}
TORCH_OF = {"im2col": "torch_unfold", "col2im": "torch_fold", "forward": "torch_conv2d",
            "backward": "torch_convolution_backward", "step": "torch_autograd"}
TOL = {"float64": 1e-10, "float32": 1e-4}   # relative to max|expected|, for the agreement check


def load_lecture():
    from autograder.lab_loader import load_lab
    from autograder.staff.catalogue import correct_solution, module_from_source
    conv_lab = load_lab(KIT_ROOT / "assignment" / "config.toml")      # the lab whose kernels are measured
    return module_from_source(correct_solution("lecture_loops", lab=conv_lab), "lecture_loops")


# --------------------------------------------------------------------------- the machine

def _openblas():
    """(corename, threads, config) of the OpenBLAS numpy loaded, via its own C functions."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("libscipy_openblas*.so*")) + sorted(libs.glob("libopenblas*.so*")):
        try:
            handle = ctypes.CDLL(str(lib))
        except OSError:
            continue
        out = {"library": lib.name}
        for key, names, restype in (
                ("corename", ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_",
                              "openblas_get_corename"), ctypes.c_char_p),
                ("config", ("scipy_openblas_get_config64_", "scipy_openblas_get_config", "openblas_get_config64_",
                            "openblas_get_config"), ctypes.c_char_p),
                ("threads", ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                             "openblas_get_num_threads64_", "openblas_get_num_threads"), ctypes.c_int)):
            for name in names:
                fn = getattr(handle, name, None)
                if fn is not None:
                    fn.restype = restype
                    value = fn()
                    out[key] = value.decode() if isinstance(value, bytes) else value
                    break
        return out
    return {"library": "not found"}


def machine():
    info = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
        info["cpu"] = models[0] if models else platform.processor()
        mhz = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("cpu MHz")]
        info["cpu_mhz"] = mhz[0] if mhz else None
        info["cpu_simd"] = [f for f in flags if f.startswith(("avx", "fma", "sse4"))]
    except OSError:
        info["cpu"] = platform.processor()
    try:
        caches = {}
        for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            level, kind = (index / "level").read_text().strip(), (index / "type").read_text().strip()
            name = f"L{level}" + ({"Data": "d", "Instruction": "i"}.get(kind, ""))
            caches[name] = (index / "size").read_text().strip()
            shared = (index / "shared_cpu_list").read_text().strip()
            caches[name] += f" (cpus {shared})"
        info["cpu_caches"] = caches
    except OSError:
        pass
    info["logical_cpus"] = os.cpu_count()
    info["cpus_usable"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        mem = {line.split(":")[0]: line.split(":")[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()}
        info["memory"] = mem.get("MemTotal")
    except OSError:
        pass
    try:
        osr = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        info["os"] = osr.get("PRETTY_NAME", "").strip('"')
    except OSError:
        info["os"] = platform.platform()
    info["kernel"] = platform.release()
    info["python"] = sys.version.split()[0]
    info["numpy"] = np.__version__
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
        blas = deps.get("blas", {})
        info["numpy_blas"] = {"name": blas.get("name"), "version": blas.get("version"),
                              "openblas_configuration": blas.get("openblas configuration")}
    except Exception as exc:  # noqa: BLE001 - the description must never stop the benchmark
        info["numpy_blas"] = {"error": repr(exc)}
    info["numpy_blas_runtime"] = _openblas()
    if torch is None:
        info["torch"] = NOT_INSTALLED
    else:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_interop_threads"] = torch.get_num_interop_threads()
        info["torch_mkldnn"] = bool(torch.backends.mkldnn.is_available())
    info["threads_env"] = {var: os.environ.get(var) for var in
                           ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")}
    info["load_average_start"] = os.getloadavg()
    return info


# --------------------------------------------------------------------------- timing

def measure(impls, budget, min_reps, max_reps, loops_min_reps, sample_time=0.002):
    """Interleaved timing of the callables in impls (name -> fn); per-call statistics per name.

    Each callable has run at least once before (the agreement check). One timed call more sets
    `inner` (calls per sample, so a sample lasts >= sample_time) and k (samples: about budget
    seconds, at least min_reps, or loops_min_reps for the lecture's loops, at most max_reps).
    """
    names = list(impls)
    inner, reps = {}, {}
    samples = {name: [] for name in names}
    for name in names:
        t0 = time.perf_counter()
        impls[name]()
        once = max(time.perf_counter() - t0, 1e-7)
        if once < 0.01:                      # fast: one more untimed warm-up costs nothing
            impls[name]()
        inner[name] = max(1, math.ceil(sample_time / once))
        least = loops_min_reps if name.startswith("lecture") else min_reps
        reps[name] = int(min(max_reps, max(least, budget // (once * inner[name]))))
        if once * least >= budget:           # slow (already warm): this call is the first sample
            samples[name].append(once)
            reps[name] -= 1
    rounds = max(1, max(reps.values()))
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            order = names[r % len(names):] + names[: r % len(names)]     # rotate who goes first
            for name in order:
                k = reps[name]
                if k == 0 or (r + 1) * k // rounds == r * k // rounds:   # spread k samples over the rounds
                    continue
                fn, n = impls[name], inner[name]
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter() - t0) / n)
    finally:
        gc.enable()
    out = {}
    for name in names:
        s = np.array(samples[name])
        q25, q50, q75 = np.percentile(s, [25, 50, 75])
        least = loops_min_reps if name.startswith("lecture") else min_reps
        out[name] = {"median_s": float(q50), "min_s": float(s.min()), "iqr_s": float(q75 - q25),
                     "q25_s": float(q25), "q75_s": float(q75),
                     "reps": len(s), "inner": inner[name],
                     "capped": bool(len(s) <= least and budget < len(s) * s.min())}
    return out


# --------------------------------------------------------------------------- the kernels

def setup(size, dtype, lecture, seed=0):
    """Inputs of every kernel at one size, and the callables per kernel."""
    N, C_in, C_out, H, W, k, s, p = size
    rng = np.random.default_rng(seed)
    Hp, Wp = H + 2 * p, W + 2 * p
    Ho, Wo = (Hp - k) // s + 1, (Wp - k) // s + 1
    L = Ho * Wo
    x = rng.standard_normal((N, C_in, H, W)).astype(dtype)
    x_pad = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))))
    weight = rng.standard_normal((C_out, C_in, k, k)).astype(dtype)
    dY = rng.standard_normal((N, C_out, Ho, Wo)).astype(dtype)
    cols_nkl = rng.standard_normal((N, C_in * k * k, L)).astype(dtype)        # torch's / per-image layout
    cols_ref = np.ascontiguousarray(cols_nkl.transpose(1, 0, 2).reshape(C_in * k * k, N * L))
    images = [np.ascontiguousarray(x_pad[n]) for n in range(N)]
    image_cols = [np.ascontiguousarray(cols_nkl[n]) for n in range(N)]

    def layer(module):
        lay = module.Conv2d(C_in, C_out, k, stride=s, padding=p)
        lay.weight = weight.copy()
        lay.zero_grad()
        lay.forward(x)
        return lay

    rl, ll = layer(ref), layer(lecture)

    def step(lay):
        def run():
            lay.forward(x)
            return lay.backward(dY)
        return run

    kernels = {
        "im2col": {
            "reference_batch": lambda: ref.batch_im2col(x_pad, k, k, s),
            "reference_per_image": lambda: [ref.im2col(img, k, k, s) for img in images],
            "lecture_loops": lambda: [lecture.im2col(img, k, k, s) for img in images],
        },
        "col2im": {
            "reference_batch": lambda: ref.batch_col2im(cols_ref, N, C_in, Hp, Wp, k, k, s),
            "reference_per_image": lambda: [ref.col2im(c, C_in, Hp, Wp, k, k, s) for c in image_cols],
            "lecture_loops": lambda: [lecture.col2im(c, C_in, Hp, Wp, k, k, s) for c in image_cols],
        },
        "forward": {"reference": lambda: rl.forward(x), "lecture_loops": lambda: ll.forward(x)},
        "backward": {"reference": lambda: rl.backward(dY), "lecture_loops": lambda: ll.backward(dY)},
        "step": {"reference": step(rl), "lecture_loops": step(ll)},
    }
    if torch is not None:
        xt, xpt, wt, dYt = (torch.from_numpy(a) for a in (x, x_pad, weight, dY))
        colst = torch.from_numpy(cols_nkl)

        def t_backward():
            return torch.ops.aten.convolution_backward(dYt, xt, wt, None, [s, s], [p, p], [1, 1], False, [0, 0], 1,
                                                       [True, True, False])

        def t_step():
            xg = xt.detach().requires_grad_(True)
            wg = wt.detach().requires_grad_(True)
            F.conv2d(xg, wg, stride=s, padding=p).backward(dYt)
            return xg.grad, wg.grad

        def no_grad(fn):
            def run():
                with torch.no_grad():
                    return fn()
            return run

        kernels["im2col"]["torch_unfold"] = no_grad(lambda: F.unfold(xpt, k, stride=s))
        kernels["col2im"]["torch_fold"] = no_grad(lambda: F.fold(colst, (Hp, Wp), k, stride=s))
        kernels["forward"]["torch_conv2d"] = no_grad(lambda: F.conv2d(xt, wt, stride=s, padding=p))
        kernels["backward"]["torch_convolution_backward"] = no_grad(t_backward)
        kernels["step"]["torch_autograd"] = t_step
    return kernels, (rl, ll)


def agreement(kernels, layers, N, dtype_name):
    """Max |a - b| / max(1, max|b|) of every implementation against the reference (dX, dW: against torch
    when installed, else against the lecture's loops); ok when all are within TOL."""
    def rel(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b))))

    def as_numpy(v):
        if isinstance(v, list):
            return np.stack(v)
        return v.detach().numpy() if torch is not None and isinstance(v, torch.Tensor) else np.asarray(v)

    out = {}
    for kernel in ("im2col", "col2im", "forward"):
        results = {name: as_numpy(fn()) for name, fn in kernels[kernel].items()}
        if kernel == "im2col":             # compare in the (N, C*kH*kW, L) layout
            cols = results["reference_batch"]
            results["reference_batch"] = cols.reshape(cols.shape[0], N, -1).transpose(1, 0, 2)
        base = results["reference_batch" if kernel != "forward" else "reference"]
        for name, value in results.items():
            out[f"{kernel}/{name}"] = rel(value, base)
    rl, ll = layers
    if "torch_convolution_backward" in kernels["backward"]:
        dX_exp, dW_exp, _ = (as_numpy(v) if v is not None else None
                             for v in kernels["backward"]["torch_convolution_backward"]())
    else:
        ll.zero_grad()
        dX_exp, dW_exp = kernels["backward"]["lecture_loops"](), ll.grad_weight.copy()
    for name, lay in (("reference", rl), ("lecture_loops", ll)):
        lay.zero_grad()
        out[f"backward/{name}/dX"] = rel(kernels["backward"][name](), dX_exp)
        out[f"backward/{name}/dW"] = rel(lay.grad_weight, dW_exp)
        lay.zero_grad()
    return {"max_relative_difference": out, "ok": bool(max(out.values()) <= TOL[dtype_name])}


# --------------------------------------------------------------------------- report

def fmt_time(t):
    return f"{t * 1e3:.3g} ms" if t >= 1e-3 else f"{t * 1e6:.3g} us"


def targets(results):
    """The issue's targets: reference col2im <= 1.0x fold and backward <= 1.2x convolution_backward on S2-S4."""
    out = {}
    for dtype_name, per_size in results.items():
        for size_name, entry in per_size.items():
            if size_name == "S1":
                continue
            for kernel, limit in (("col2im", 1.0), ("backward", 1.2)):
                if kernel not in entry["ratios"]:
                    continue
                r = entry["ratios"][kernel]["reference/torch"]
                out[f"{dtype_name}/{size_name}/{kernel}"] = {
                    "ratio": r, "limit": limit, "met": (r <= limit) if isinstance(r, float) else NOT_INSTALLED}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=KIT_ROOT / "bench" / "kernels.json")
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run (short budget, 3 samples minimum)")
    parser.add_argument("--budget", type=float, help="seconds of samples per implementation and measurement")
    parser.add_argument("--min-reps", type=int, help="at least this many samples of the reference and torch")
    parser.add_argument("--loops-min-reps", type=int,
                        help="at least this many samples of the lecture's loops (all they get where they are slow)")
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated subset of " + ",".join(SIZES))
    parser.add_argument("--dtypes", default=",".join(DTYPES))
    parser.add_argument("--kernels", default=",".join(KERNELS))
    parser.add_argument("--no-plot", action="store_true", help="do not draw OUT with .png (float64; plot_kernels.py)")
    args = parser.parse_args(argv)
    budget = args.budget if args.budget is not None else (0.03 if args.quick else 0.6)
    min_reps = args.min_reps if args.min_reps is not None else (3 if args.quick else 5)
    loops_min_reps = args.loops_min_reps if args.loops_min_reps is not None else (1 if args.quick else 3)
    max_reps = 15 if args.quick else 201
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    kernels_wanted = [k.strip() for k in args.kernels.split(",") if k.strip()]

    started = time.perf_counter()
    info = machine()
    lecture = load_lecture()
    print(f"{info.get('cpu')}, {info['logical_cpus']} CPUs, numpy {info['numpy']} "
          f"({info['numpy_blas_runtime'].get('corename', '?')}, {info['numpy_blas_runtime'].get('threads', '?')} thread), "
          f"torch {info['torch']}; budget {budget} s per implementation, >= {min_reps} samples "
          f"(lecture loops >= {loops_min_reps}); load average {info['load_average_start'][0]:.2f}", flush=True)
    results = {}
    for dtype_name in dtypes:
        results[dtype_name] = {}
        for size_name in sizes:
            size = SIZES[size_name]
            kernels, layers = setup(size, DTYPES[dtype_name], lecture)
            entry = {"shape": dict(zip(("N", "C_in", "C_out", "H", "W", "k", "stride", "padding"), size)),
                     "agreement": agreement(kernels, layers, size[0], dtype_name), "timings": {}, "ratios": {}}
            for kernel in kernels_wanted:
                t0 = time.perf_counter()
                timing = measure(kernels[kernel], budget, min_reps, max_reps, loops_min_reps)
                if torch is None:
                    timing[TORCH_OF[kernel]] = NOT_INSTALLED
                entry["timings"][kernel] = timing
                tt = timing[TORCH_OF[kernel]]
                ratios = {}
                for name, t in timing.items():
                    if name.startswith("torch") or not isinstance(t, dict):
                        continue
                    ratios[f"{name}/torch"] = t["median_s"] / tt["median_s"] if isinstance(tt, dict) else NOT_INSTALLED
                    ratios[f"{name}/torch (min/min)"] = (t["min_s"] / tt["min_s"] if isinstance(tt, dict)
                                                         else NOT_INSTALLED)
                ratios["reference/torch"] = ratios[f"{RATIO_OF[kernel]}/torch"]
                ratios["reference/torch (min/min)"] = ratios[f"{RATIO_OF[kernel]}/torch (min/min)"]
                entry["ratios"][kernel] = ratios
                print(f"{dtype_name} {size_name} {kernel:8s} " + "  ".join(
                    f"{name} {fmt_time(t['median_s'])}" for name, t in timing.items() if isinstance(t, dict))
                    + (f"  ref/torch {ratios['reference/torch']:.2f}" if isinstance(tt, dict) else "")
                    + f"  [{time.perf_counter() - t0:.1f} s]", flush=True)
            if not entry["agreement"]["ok"]:
                print(f"WARNING: implementations disagree at {dtype_name} {size_name}: {entry['agreement']}",
                      file=sys.stderr)
            results[dtype_name][size_name] = entry
            del kernels, layers
            gc.collect()
    info["load_average_end"] = os.getloadavg()
    elapsed = time.perf_counter() - started
    report = {
        "description": "median/min/IQR seconds per call, one BLAS thread; see bench/kernels.py's docstring",
        "machine": info,
        "settings": {"budget_s": budget, "min_reps": min_reps, "loops_min_reps": loops_min_reps,
                     "max_reps": max_reps, "quick": args.quick,
                     "sample_time_s": 0.002, "interleaved": True, "sizes": {s: SIZES[s] for s in sizes},
                     "size_fields": ["N", "C_in", "C_out", "H", "W", "k", "stride", "padding"],
                     "float32_weights": "float32"},
        "results": results,
        "targets": targets(results),
        "elapsed_s": elapsed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print()
    print("\n".join(plot_kernels.markdown_tables(report)))
    if not args.no_plot:
        png = args.out.with_suffix(".png")
        try:
            plot_kernels.plot(report, "float64" if "float64" in results else dtypes[0], png)
            print(f"wrote {png}")
        except ImportError as exc:                 # matplotlib missing: the numbers still count
            print(f"no plot ({exc})")
    ok = all(e["agreement"]["ok"] for per in results.values() for e in per.values())
    print(f"\nall implementations agree: {ok}; wrote {args.out} in {elapsed:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
