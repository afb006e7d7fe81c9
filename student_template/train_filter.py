"""Demo: train one Conv2d layer until it learns a known 3x3 filter.

    python3 train_filter.py                 # learn the blur kernel
    python3 train_filter.py --kernel sobel_x --epochs 80

Needs your col2im and Conv2d.backward in conv2d.py (same folder). Prints the loss
of every epoch, then saves loss_curve.png and learned_kernel.png (if matplotlib is
installed). The targets come from a plain direct convolution below, never from
your layer, so a wrong backward cannot fool this demo.

Training only uses dW, so a correct filter says nothing about dX: the demo also checks
dX against finite differences of your forward (with padding, and with stride 2) and
says "learned" only when both are right.
"""

import argparse
import sys

import numpy as np

from conv2d import Conv2d

KERNELS = {
    "blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
}


def filter_images(x, kernel):
    """x: (N, 1, H, W), kernel: (3, 3) -> (N, 1, H, W): the filter with zero padding 1."""
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros_like(x)
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            out[:, 0, i, j] = np.sum(x_pad[:, 0, i:i + 3, j:j + 3] * kernel, axis=(1, 2))
    return out


def mse_loss(y, target):
    return float(np.mean((y - target) ** 2))


def mse_grad(y, target):
    return 2.0 * (y - target) / y.size


def train(kernel, epochs, lr, seed=0):
    """Returns (learned kernel (3, 3), list of losses)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 1, 8, 8))
    target = filter_images(x, kernel)
    conv = Conv2d(in_channels=1, out_channels=1, kernel_size=3, stride=1, padding=1)
    conv.weight = rng.standard_normal((1, 1, 3, 3)) * 0.1
    conv.grad_weight = np.zeros_like(conv.weight)
    losses = []
    for epoch in range(epochs):
        conv.zero_grad()                 # backward ADDS into grad_weight: reset it every step
        y = conv.forward(x)
        loss = mse_loss(y, target)
        losses.append(loss)
        conv.backward(mse_grad(y, target))
        conv.weight = conv.weight - lr * conv.grad_weight
        print(f"epoch {epoch:02d}  loss = {loss:.3e}")
    return conv.weight[0, 0], losses


# (N, C_in, C_out, H, W, kernel_size, stride, padding): the demo's own layer, then stride 2.
DX_CASES = [(2, 1, 1, 5, 5, 3, 1, 1), (2, 2, 3, 6, 5, (3, 2), 2, 1)]


def dx_error(case, seed=1, eps=1e-6):
    """Largest |dX - numerical dX| for L = sum(forward(x) * dY), over every entry of x.

    case: one of DX_CASES. Central differences of your own forward (float64), so the
    answer does not depend on any expected values.
    """
    N, C_in, C_out, H, W, k, stride, padding = case
    rng = np.random.default_rng(seed)
    conv = Conv2d(C_in, C_out, k, stride=stride, padding=padding)
    conv.weight = rng.standard_normal(conv.weight.shape)
    conv.grad_weight = np.zeros_like(conv.weight)
    x = rng.standard_normal((N, C_in, H, W))
    dY = rng.standard_normal(conv.forward(x).shape)
    dX = np.asarray(conv.backward(dY))
    if dX.shape != x.shape:
        return float("inf")
    numerical = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        up = np.sum(conv.forward(x) * dY)
        x[idx] = old - eps
        down = np.sum(conv.forward(x) * dY)
        x[idx] = old
        numerical[idx] = (up - down) / (2 * eps)
    return float(np.max(np.abs(dX - numerical)))


def describe_case(case):
    N, C_in, C_out, H, W, k, stride, padding = case
    return f"N={N} C_in={C_in} C_out={C_out} H={H} W={W} kernel={k} stride={stride} padding={padding}"


def luminance(rgb):
    """WCAG relative luminance of an sRGB colour (components 0-1)."""
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def text_colour(background):
    """'black' or 'white', whichever contrasts more with the background (WCAG contrast ratio)."""
    lum = luminance(background)
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def draw_kernel(ax, k, lo, hi, cmap="coolwarm"):
    """A kernel as coloured cells, each value written in black or white, whichever reads on its colour."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize
    colours = plt.get_cmap(cmap)
    norm = Normalize(vmin=lo, vmax=hi)
    ax.imshow(k, cmap=colours, norm=norm)
    for (r, c), v in np.ndenumerate(k):
        ax.text(c, r, f"{v:.3f}", ha="center", va="center", fontsize=10, color=text_colour(colours(norm(v))))
    ax.set(xticks=[], yticks=[])


def save_pictures(name, kernel, learned, losses):
    """Writes loss_curve.png and learned_kernel.png; skips quietly without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no pictures; `pip install matplotlib` to get them)")
        return
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(np.maximum(losses, 1e-300))
    ax.set(xlabel="epoch", ylabel="MSE loss (log scale)", title=f"learning the {name} kernel")
    fig.tight_layout()
    fig.savefig("loss_curve.png", dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    lo, hi = min(kernel.min(), learned.min()), max(kernel.max(), learned.max())
    for ax, k, title in zip(axes, (learned, kernel), ("learned", "target")):
        draw_kernel(ax, k, lo, hi)
        ax.set(title=title)
    fig.tight_layout()
    fig.savefig("learned_kernel.png", dpi=120)
    plt.close(fig)
    print("saved loss_curve.png and learned_kernel.png")


DX_TOLERANCE = 1e-6                    # central differences with eps=1e-6 are good to ~1e-9 here


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", choices=sorted(KERNELS), default="blur")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.5)
    args = parser.parse_args(argv)
    kernel = KERNELS[args.kernel]
    try:
        learned, losses = train(kernel, args.epochs, args.lr)
    except NotImplementedError as exc:
        print("Implement col2im and Conv2d.backward first (in conv2d.py), then run this again.")
        print(f"  ({exc})")
        return 1
    error = float(np.max(np.abs(learned - kernel)))
    print(f"\nfinal loss {losses[-1]:.3e}; largest kernel error {error:.2e}")
    print("learned kernel:\n", np.round(learned, 4))
    print("target kernel:\n", np.round(kernel, 4))
    dx_wrong = [(case, err) for case in DX_CASES for err in [dx_error(case)] if not err < DX_TOLERANCE]
    for case, err in dx_wrong:
        print(f"dX is wrong on {describe_case(case)}: largest difference from finite differences "
              f"of your forward {err:.2e}")
    if error < 1e-6 and not dx_wrong:
        print("Your layer learned the filter, and dX matches finite differences.")
    elif error < 1e-6:
        print("dW is right (the kernel converged), but dX is wrong, so the layer would not pass "
              "gradients on in a network: check the padding crop (dX_pad[:, p:p + H, p:p + W]), "
              "the stride, and that col2im ADDS overlapping windows.")
    else:
        print("Not learned yet: check dW (sum over the batch), the sign of the update, "
              "and that grad_weight is ADDED to in backward.")
    save_pictures(args.kernel, kernel, learned, losses)
    return 0 if error < 1e-6 and not dx_wrong else 2


if __name__ == "__main__":
    sys.exit(main())
