"""Loss and the filter-learning experiment from the lab's last part.

The experiment: one Conv2d(1, 1, 3, padding=1) learns a known 3x3 kernel from
N=16 random 1x8x8 images, by gradient descent on the mean squared error, calling
zero_grad() every step. Targets come from the oracle, never from the layer being
trained. The layer class is a parameter so the same routine runs the reference,
the lecture's loops or (in the grader) a proxy to a student's layer.
"""

import numpy as np

from reference.oracle import conv2d_forward

KERNELS = {
    "blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
}


def mse_loss(y, target):
    """Mean squared error over every element: y, target (same shape) -> float."""
    return float(np.mean((y - target) ** 2))


def mse_grad(y, target):
    """d mse_loss / d y = 2 (y - target) / y.size, y's shape and dtype."""
    return (2.0 * (y - target) / y.size).astype(y.dtype, copy=False)


def filter_problem(kernel, seed=0, N=16, H=8, W=8, dtype=np.float64):
    """Inputs, targets and a starting weight for learning `kernel`.

    kernel: (3, 3) -> x: (N, 1, H, W), target: (N, 1, H, W), w0: (1, 1, 3, 3), all `dtype`.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, 1, H, W)).astype(dtype)
    target = conv2d_forward(x, kernel[None, None].astype(dtype), padding=1).astype(dtype)
    w0 = (rng.standard_normal((1, 1, 3, 3)) * 0.1).astype(dtype)
    return x, target, w0


def learn_filter(conv_cls, kernel, seed=0, epochs=50, lr=0.5, zero_grad=True, dtype=np.float64):
    """Train conv_cls(1, 1, 3, padding=1) to reproduce `kernel`.

    Returns (learned kernel (3, 3), losses: list of `epochs` floats).
    zero_grad=False reproduces the lecture's loop, which never resets the
    accumulated gradient and so does not converge.
    """
    x, target, w0 = filter_problem(kernel, seed, dtype=dtype)
    conv = conv_cls(1, 1, 3, stride=1, padding=1)
    conv.weight = w0.copy()
    conv.grad_weight = np.zeros_like(conv.weight)
    losses = []
    for _ in range(epochs):
        if zero_grad:
            conv.zero_grad()
        y = conv.forward(x)
        losses.append(mse_loss(y, target))
        conv.backward(mse_grad(y, target))
        conv.weight = conv.weight - lr * conv.grad_weight
    return conv.weight[0, 0].copy(), losses
