"""Draw the handout's figures into assignment/figures/.

    .venv/bin/python assignment/make_figures.py      # from the repository root

Deterministic (no randomness, Agg backend, fixed sizes and dpi): running it twice
gives the same pictures. Writes
  coverage.png       how many windows cover each pixel, for four (H, W, k, s) cases;
  im2col_col2im.png  a 4x4 image unfolded by 2x2 windows (stride 1) and folded back.
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from reference.oracle import coverage  # noqa: E402

OUT = os.path.join(ROOT, "assignment", "figures")
DPI = 110
plt.rcParams.update({"font.size": 10})


def annotate(ax, values, fmt="{}", fontsize=11, colors=None):
    """Write every entry of the 2-D array `values` in its cell."""
    for (r, c), v in np.ndenumerate(values):
        color = colors[r, c] if colors is not None else "black"
        ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=fontsize, color=color)


def grid(ax, shape):
    """Thin cell borders and no ticks."""
    rows, cols = shape
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="both", length=0)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))


# (H, W, k, s, note) of the coverage panels, in the handout's order (tests/labs/conv/test_handout.py checks the text).
COVERAGE_CASES = [(6, 6, 3, 1, "stride 1: counts 1 to 9"),
                  (7, 7, 3, 2, "stride 2: overlap 2 on window borders"),
                  (6, 6, 3, 2, "uneven stride: last row/column 0"),
                  (8, 8, 2, 3, "s > k: gaps between windows")]


def coverage_figure(path):
    fig, axes = plt.subplots(1, len(COVERAGE_CASES), figsize=(16, 4.6))
    cmap = plt.get_cmap("YlOrRd").copy()
    for ax, (H, W, k, s, note) in zip(axes, COVERAGE_CASES):
        count = coverage(H, W, k, k, s)
        ax.imshow(np.ma.masked_equal(count, 0), cmap=cmap, vmin=0, vmax=9)
        ax.imshow(np.ma.masked_not_equal(count, 0), cmap=ListedColormap(["#cfcfcf"]))  # zeros: grey
        annotate(ax, count, fontsize=12, colors=np.where(count >= 7, "white", "black"))
        grid(ax, count.shape)
        # Outline the first window (top-left corner (0, 0)) and its right neighbour.
        for j0, style in ((0, "-"), (s, "--")):
            ax.add_patch(Rectangle((j0 - 0.5, -0.5), k, k, fill=False, edgecolor="navy",
                                   linewidth=2.2, linestyle=style, zorder=3))
        H_out = (H - k) // s + 1
        ax.set_title(f"H={H}, W={W}, kH=kW={k}, s={s}\n(H_out=W_out={H_out}) {note}", fontsize=10)
    fig.suptitle("How many windows cover each pixel (blue: first window, dashed: the next one;"
                 " grey: no window)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)


def im2col_figure(path):
    H = W = 4
    k = 2
    x = np.arange(1, H * W + 1).reshape(H, W)
    starts = [(i, j) for i in range(H - k + 1) for j in range(W - k + 1)]   # row-major
    X_col = np.stack([x[i:i + k, j:j + k].reshape(-1) for i, j in starts], axis=1)  # (4, 9)
    folded = np.zeros_like(x)
    for col, (i, j) in enumerate(starts):
        folded[i:i + k, j:j + k] += X_col[:, col].reshape(k, k)
    count = coverage(H, W, k, k, 1)

    fig, axes = plt.subplots(1, 3, figsize=(12.5, 4.0), gridspec_kw={"width_ratios": [4, 9, 4]})
    pale = ListedColormap(["#e8eef7"])
    hi = "navy"
    shown = 4   # the window with top-left corner (1, 1): column 4
    i0, j0 = starts[shown]

    ax = axes[0]
    ax.imshow(np.zeros_like(x), cmap=pale)
    annotate(ax, x)
    grid(ax, x.shape)
    ax.add_patch(Rectangle((j0 - 0.5, i0 - 0.5), k, k, fill=False, edgecolor=hi, linewidth=2.5,
                           zorder=3))
    ax.set_title("x = np.arange(1, 17).reshape(1, 4, 4)\nwindow (u, v) = (1, 1),\ncorner pixel (i, j) = (1, 1)",
                 fontsize=9)

    ax = axes[1]
    ax.imshow(np.zeros_like(X_col), cmap=pale)
    annotate(ax, X_col)
    grid(ax, X_col.shape)
    ax.set_yticklabels(["(0,0,0)", "(0,0,1)", "(0,1,0)", "(0,1,1)"])
    ax.set_ylabel("row = (c, ki, kj)")
    ax.set_xlabel("column u*W_out + v = window at output position (u, v), row-major")
    ax.add_patch(Rectangle((shown - 0.5, -0.5), 1, k * k, fill=False, edgecolor=hi, linewidth=2.5,
                           zorder=3))
    ax.set_title("im2col(x, 2, 2): X_col of shape (C*kH*kW, H_out*W_out) = (4, 9)")

    ax = axes[2]
    ax.imshow(count, cmap="YlOrRd", vmin=0, vmax=6)
    labels = np.array([f"{f}\n({c}x{v})" for f, c, v in zip(folded.ravel(), count.ravel(),
                                                            x.ravel())]).reshape(x.shape)
    annotate(ax, labels, fontsize=9)
    grid(ax, x.shape)
    ax.set_title("col2im(X_col): overlaps summed\n= count x pixel (not x itself)")

    fig.tight_layout()
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)


def main():
    os.makedirs(OUT, exist_ok=True)
    coverage_figure(os.path.join(OUT, "coverage.png"))
    im2col_figure(os.path.join(OUT, "im2col_col2im.png"))
    print(f"wrote coverage.png and im2col_col2im.png into {OUT}")


if __name__ == "__main__":
    main()
