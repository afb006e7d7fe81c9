"""Writes student_template/lab.ipynb, the students' notebook (shipped in handout.zip).

    python -m assignment.make_notebook

The notebook is kept as this script so its cells can be reviewed and edited as Python;
tests/labs/conv/test_handout.py checks the committed notebook is what this script writes.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as md
from nbformat.v4 import new_notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "student_template" / "lab.ipynb"

CELLS = [
md("""# Convolution backprop lab: notebook

This notebook walks through the handout's math (README.md, §1–§2) on small arrays, runs the
**same public checks** as `python3 lab.py check` after each part, trains your layer, and builds
`submission.zip` at the end.

**You still edit `conv2d.py`**: that file is what you hand in. This notebook imports it with
autoreload, so save the file and re-run a cell to see your change.

* **Jupyter**: open `lab.ipynb` from the unpacked handout folder (`pip install -r requirements.txt` first).
* **Colab**: upload `handout.zip` (Files pane, left), run the first cell: it unpacks it. Edit
  `conv2d.py` in Colab's file editor; download `submission.zip` from the Files pane at the end."""),
code("""# Set-up: unpack the handout if only handout.zip is here (Colab), then import your conv2d.py.
import sys, zipfile
from pathlib import Path

LAB = Path.cwd()
if not (LAB / "conv2d.py").exists() and (LAB / "handout.zip").exists():
    zipfile.ZipFile(LAB / "handout.zip").extractall(LAB)
if not (LAB / "conv2d.py").exists():
    raise SystemExit("conv2d.py is not in this folder: open the notebook in the unpacked handout folder")
sys.path.insert(0, str(LAB))

%load_ext autoreload
%autoreload 2

import numpy as np
import conv2d
from conv2d import Conv2d, col2im, im2col
from autograder.cli import lab_config_path
from autograder.lab_loader import load_lab
from autograder.notebook import build_submission, public_checks

lab = load_lab(lab_config_path())      # the handout's LAB file names this lab

np.set_printoptions(precision=3, suppress=True)
print("using", conv2d.__file__)"""),
md("""## 1. im2col: every window becomes a column

`im2col(x, kH, kW, stride)` (given) turns a $(C, H, W)$ image into a $(C k_H k_W,\\ H_{out} W_{out})$
matrix: window $(u, v)$ is column $u W_{out} + v$. The handout's example: a $4\\times4$ image, $2\\times2$ windows, stride 1."""),
code("""x = np.arange(1, 17, dtype=float).reshape(1, 4, 4)
X_col = im2col(x, 2, 2)
print("x[0] =\\n", x[0])
print("X_col, shape", X_col.shape, "=\\n", X_col)
print("window (1, 1) is column 4:", X_col[:, 4], "= x[0, 1:3, 1:3] flattened:", x[0, 1:3, 1:3].ravel())"""),
md("""The forward pass is one matrix product per image: $Y_{col} = W_{col} X_{col}$ with
$W_{col}$ = `weight.reshape(C_out, C_in*kH*kW)`. A worked example with one $2\\times2$ filter:"""),
code("""w = np.array([[1.0, 0.0], [0.0, 1.0]])               # y = top-left plus bottom-right of each window
W_col = w.reshape(1, -1)
Y = (W_col @ X_col).reshape(3, 3)
print("Y = W_col @ X_col, as an image:\\n", Y)"""),
md("""## 2. The two gradient formulas, checked by finite differences

With $L = \\sum Y \\odot dY$, so that $dY = \\partial L / \\partial Y$:

$$dW_{col} = dY_{col}\\, X_{col}^T, \\qquad dX_{col} = W_{col}^T\\, dY_{col}.$$

Both are checked here on the arrays above with plain numpy (no code of yours yet)."""),
code("""rng = np.random.default_rng(0)
dY_col = rng.standard_normal((1, 9))
loss = lambda Wc: np.sum((Wc @ X_col) * dY_col)
dW_col = dY_col @ X_col.T
eps = 1e-6
numeric = np.array([(loss(W_col + eps * e) - loss(W_col - eps * e)) / (2 * eps)
                    for e in np.eye(4)]).reshape(1, 4)
print("dW_col by the formula:", dW_col)
print("by finite differences:", numeric)
dX_col = W_col.T @ dY_col
print("dX_col has im2col's shape:", dX_col.shape, "- one gradient per entry of each window")"""),
md("""## 3. col2im: fold the columns back, **adding** overlaps (your first TODO)

$dX_{col}$ holds one value per (pixel, window) pair; a pixel in several windows gets the **sum**.
`col2im` is the adjoint of `im2col`: $\\langle \\mathrm{im2col}(x), Y\\rangle = \\langle x, \\mathrm{col2im}(Y)\\rangle$.
So `col2im(im2col(x))` is $x$ times how many windows cover each pixel: the middle pixels of the
$4\\times4$ image are in 4 windows, the corners in 1."""),
code("""try:
    folded = col2im(X_col, 1, 4, 4, 2, 2)
    print("col2im(im2col(x)) =\\n", folded[0])
    print("divided by x (= windows covering each pixel):\\n", folded[0] / x[0])
    Y_rand = rng.standard_normal(X_col.shape)
    print("adjoint test <im2col(x), Y> - <x, col2im(Y)> =",
          np.sum(X_col * Y_rand) - np.sum(x * col2im(Y_rand, 1, 4, 4, 2, 2)))
except NotImplementedError as exc:
    print("col2im: not implemented yet -", str(exc)[:80], "...")"""),
md("### Check: col2im (the public col2im checks, graded as on submission)"),
code("""col2im_results = public_checks(lab, "conv2d.py", categories={"col2im"})"""),
md("""## 4. Conv2d.backward (your second TODO)

For every image: $dW_{col}$ += $dY_{col} X_{col}^T$ (summed over the batch, **added** to
`grad_weight`), $dX_{col} = W_{col}^T dY_{col}$, folded with `col2im` into the padded image,
then the padding cropped: `dX_pad[:, p:p + H, p:p + W]`. Below, your dX is compared with
finite differences of your own forward, with padding 1 (the crop matters)."""),
code("""def dx_against_finite_differences(N=2, C_in=2, C_out=3, H=5, W=5, k=3, stride=1, padding=1, eps=1e-6):
    layer = Conv2d(C_in, C_out, k, stride=stride, padding=padding)
    x = rng.standard_normal((N, C_in, H, W))
    dY = rng.standard_normal(layer.forward(x).shape)
    dX = layer.backward(dY)
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps; up = np.sum(layer.forward(x) * dY)
        x[idx] = old - eps; down = np.sum(layer.forward(x) * dY)
        x[idx] = old
        numeric[idx] = (up - down) / (2 * eps)
    return np.max(np.abs(dX - numeric))

try:
    for stride in (1, 2):
        err = dx_against_finite_differences(stride=stride)
        print(f"stride {stride}, padding 1: largest |dX - finite differences| = {err:.1e}",
              "(good)" if err < 1e-6 else "(WRONG: check the crop, the stride and col2im)")
except NotImplementedError as exc:
    print("Conv2d.backward: not implemented yet -", str(exc)[:80], "...")"""),
md("### Check: backward (the public backward checks)"),
code("""backward_results = public_checks(lab, "conv2d.py", categories={"backward", "gradients"})"""),
md("""## 5. Train your layer to learn the blur kernel

The same training as `python3 lab.py demo`: targets come from a direct convolution, your layer
learns its $3\\times3$ weights by gradient descent (with `zero_grad()` every step)."""),
code("""import contextlib, io
import train_filter

kernel = train_filter.KERNELS["blur"]
try:
    with contextlib.redirect_stdout(io.StringIO()):          # train() prints every epoch
        learned, losses = train_filter.train(kernel, epochs=50, lr=0.5)
except NotImplementedError as exc:
    learned = None
    print("training needs col2im and Conv2d.backward: not implemented yet")
else:
    print(f"final loss {losses[-1]:.2e}, largest kernel error {np.max(np.abs(learned - kernel)):.1e}")"""),
code("""import matplotlib.pyplot as plt

if learned is not None:
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    axes[0].semilogy(np.maximum(losses, 1e-300))
    axes[0].set(xlabel="epoch", ylabel="MSE loss (log)", title="loss curve")
    lo, hi = min(kernel.min(), learned.min()), max(kernel.max(), learned.max())
    for ax, k, title in zip(axes[1:], (learned, kernel), ("learned kernel", "target kernel")):
        train_filter.draw_kernel(ax, k, lo, hi)     # each value in black or white, whichever reads on its colour
        ax.set(title=title)
    plt.show()
else:
    print("nothing to plot yet")"""),
md("### Check: all public checks"),
code("""all_results = public_checks(lab, "conv2d.py")"""),
md("""## 6. Build submission.zip

Runs `python3 lab.py submit`: it refuses a file whose TODOs still raise `NotImplementedError`
or that fails to import (then no zip is left behind). Use `build_submission(lab, anyway=True)` to
package it anyway. Upload `submission.zip` (or just `conv2d.py`) to Gradescope."""),
code("""zip_path = build_submission(lab, "conv2d.py")"""),
]


def build_notebook():
    """The notebook, with fixed cell ids so the same script writes the same file."""
    cells = []
    for number, cell in enumerate(CELLS):
        cell["id"] = f"cell-{number:02d}"
        cells.append(cell)
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def main():
    nbformat.write(build_notebook(), NOTEBOOK)
    print(f"wrote {NOTEBOOK}")


if __name__ == "__main__":
    main()
