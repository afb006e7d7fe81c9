"""Draw bench/kernels.png from bench/kernels.json: time per call against problem size.

    .venv/bin/python bench/plot_kernels.py [bench/kernels.json] [--out bench/kernels.png] [--dtype float64]

bench/kernels.py calls plot() itself (float64, next to its JSON); markdown_tables() renders the
JSON for bench/run.py (RESULTS.md) and for kernels.py's own summary.

One panel per kernel (im2col / unfold, col2im / fold, forward, backward); x runs over the sizes
S1..S4 (each labelled with its shape and the elements of its column matrix C_in*kH*kW x
N*H_out*W_out, the work every implementation does; S3 and S4 are about equal there, S4's GEMMs
are larger); time on a logarithmic axis. Points are medians, bars the interquartile range.
"""

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PANELS = [("im2col", "im2col  (torch: unfold)"), ("col2im", "col2im  (torch: fold)"),
          ("forward", "Conv2d forward"), ("backward", "Conv2d backward (dX and dW)")]
# implementation -> (label, style)
LINES = {
    "reference_batch": ("reference (batch)", dict(color="C0", marker="o")),
    "reference": ("reference", dict(color="C0", marker="o")),
    "reference_per_image": ("reference, per image", dict(color="C0", marker="o", linestyle="--", mfc="white")),
    "lecture_loops": ("lecture's loops", dict(color="C3", marker="s")),
    "torch_unfold": ("torch", dict(color="C2", marker="^")),
    "torch_fold": ("torch", dict(color="C2", marker="^")),
    "torch_conv2d": ("torch", dict(color="C2", marker="^")),
    "torch_convolution_backward": ("torch", dict(color="C2", marker="^")),
}


def column_elements(shape):
    """C_in*kH*kW * N*H_out*W_out for one size of the benchmark."""
    h_out = (shape["H"] + 2 * shape["padding"] - shape["k"]) // shape["stride"] + 1
    w_out = (shape["W"] + 2 * shape["padding"] - shape["k"]) // shape["stride"] + 1
    return shape["C_in"] * shape["k"] ** 2 * shape["N"] * h_out * w_out


def plot(report, dtype, out):
    """Draw the four panels of one dtype into out (png)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_size = report["results"][dtype]
    names = list(per_size)
    xs = list(range(len(names)))
    labels = []
    for s in names:
        sh = per_size[s]["shape"]
        labels.append(f"{s}\nN{sh['N']} C{sh['C_in']}>{sh['C_out']}\n{sh['H']}x{sh['W']} k{sh['k']} s{sh['stride']}\n"
                      f"{column_elements(sh) / 1e6:.2g}M")
    fig, axes = plt.subplots(2, 2, figsize=(11, 9), sharey=True)
    for ax, (kernel, title) in zip(axes.flat, PANELS):
        impls = {}
        for s, x in zip(names, xs):
            for impl, t in per_size[s]["timings"].get(kernel, {}).items():
                if isinstance(t, dict):
                    impls.setdefault(impl, []).append((x, t))
        for impl, points in impls.items():
            label, style = LINES.get(impl, (impl, {}))
            px = [p[0] for p in points]
            med = [p[1]["median_s"] for p in points]
            lo = [p[1]["median_s"] - p[1].get("q25_s", p[1]["median_s"]) for p in points]
            hi = [p[1].get("q75_s", p[1]["median_s"]) - p[1]["median_s"] for p in points]
            ax.errorbar(px, med, yerr=[lo, hi], label=label, capsize=2, linewidth=1.5, markersize=5, **style)
        if not any(i.startswith("torch") for i in impls):
            ax.text(0.97, 0.03, "torch not installed", transform=ax.transAxes, ha="right", va="bottom",
                    fontsize=8, color="gray")
        ax.set_yscale("log")
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("seconds per call (median, IQR bars)")
    fig.supxlabel("problem size (last line: elements of the column matrix C_in*kH*kW x N*H_out*W_out)", fontsize=9)
    machine = report.get("machine", {})
    fig.suptitle(f"Kernels, {dtype}, one thread: {machine.get('cpu', '?')}, numpy {machine.get('numpy', '?')}, "
                 f"torch {machine.get('torch', '?')} ({machine.get('date', '')[:10]})", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


NOT_INSTALLED = "not installed"
TARGET_KERNELS = {"col2im": "col2im <= 1.0x fold", "backward": "backward <= 1.2x convolution_backward"}


def _t(seconds):
    return f"{seconds * 1e3:.3g} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.3g} us"


def _ratio(entry, key, digits=2, brackets=True):
    """'0.93' or '0.93 (0.80)' when min/min differs by more than 0.1, or 'not installed'."""
    r, rmin = entry.get(key), entry.get(f"{key} (min/min)")
    if not isinstance(r, float):
        return NOT_INSTALLED
    text = f"{r:.{digits}f}"
    if brackets and isinstance(rmin, float) and abs(rmin - r) > 0.1:
        text += f" ({rmin:.{digits}f})"
    return text


def markdown_tables(report):
    """Markdown lines: per dtype a table of medians and ratios, then the issue's targets."""
    settings, machine = report.get("settings", {}), report.get("machine", {})
    blas = machine.get("numpy_blas_runtime", {})
    lines = [f"One BLAS thread (OpenBLAS {blas.get('corename', '?')}, threads {blas.get('threads', '?')}; "
             f"torch {machine.get('torch', '?')}, {machine.get('torch_threads', '-')} thread). Each cell is the median "
             f"of k interleaved samples per implementation (about {settings.get('budget_s', '?')} s each, "
             f"k >= {settings.get('min_reps', '?')}; the lecture's loops k >= {settings.get('loops_min_reps', '?')}, "
             "shown where capped). Ratios are medians over torch's median in the same run; min/min in brackets "
             "where it differs by more than 0.1 (reference only). bench/kernels.json has min, IQR and k of every cell; "
             f"the run took {report.get('elapsed_s', 0):.0f} s."]
    for dtype, per_size in report["results"].items():
        lines += ["", f"### {dtype}", "",
                  "| kernel | size | reference | reference per image | lecture loops | torch | reference/torch | loops/torch |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        kernels = list(next(iter(per_size.values()))["timings"])
        for kernel in kernels:
            for size, entry in per_size.items():
                timing, ratios = entry["timings"][kernel], entry["ratios"][kernel]
                main = timing.get("reference_batch") or timing["reference"]
                per_image = timing.get("reference_per_image")
                loops = timing["lecture_loops"]
                torch_name = next(name for name in timing if name.startswith("torch"))
                torch_t = timing[torch_name]
                lines.append("| {} | {} | {} | {} | {}{} | {} | {} | {} |".format(
                    kernel, size, _t(main["median_s"]), _t(per_image["median_s"]) if per_image else "-",
                    _t(loops["median_s"]), f" (k={loops['reps']})" if loops.get("capped") else "",
                    _t(torch_t["median_s"]) if isinstance(torch_t, dict) else NOT_INSTALLED,
                    _ratio(ratios, "reference/torch"), _ratio(ratios, "lecture_loops/torch", 1, brackets=False)))
    targets = report.get("targets", {})
    if targets:
        lines += ["", "### Targets (S2-S4)", "", "| dtype | size | target | reference/torch | |", "|---|---|---|---:|---|"]
        for name, t in targets.items():
            dtype, size, kernel = name.split("/")
            r = t["ratio"]
            verdict = "met" if t["met"] is True else "**missed**" if t["met"] is False else t["met"]
            lines.append(f"| {dtype} | {size} | {TARGET_KERNELS.get(kernel, kernel)} | "
                         f"{r if isinstance(r, str) else f'{r:.2f}'} | {verdict} |")
    agree = [e["agreement"]["ok"] for per in report["results"].values() for e in per.values()]
    lines += ["", "All implementations agree with each other at every size and dtype." if all(agree) else
              "**Some implementations disagree: see `agreement` in bench/kernels.json.**"]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", nargs="?", type=Path, default=HERE / "kernels.json")
    parser.add_argument("--out", type=Path, default=HERE / "kernels.png")
    parser.add_argument("--dtype", default="float64")
    args = parser.parse_args(argv)
    report = json.loads(args.json.read_text())
    if args.dtype not in report["results"]:
        print(f"{args.json} has no {args.dtype} results (it has {', '.join(report['results'])})", file=sys.stderr)
        return 1
    plot(report, args.dtype, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
