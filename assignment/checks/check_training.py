"""Filter learning: the student's layer, trained by the grader, must learn a known kernel by backprop.

The grader drives the loop (zero_grad, forward, loss, backward, update) and does the
arithmetic itself; the student's code only runs forward and backward. At every step the
forward output and the weight gradient are compared with the layer's true ones for the
same x, weights and dY, computed here, so the kernel can only be reached by correct
backprop, never by a gradient made up to land on it (dY reveals the target).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autograder.checks import check
from autograder.compare import CheckFailure, error_size, matches

PADDING = 1            # the training layer: Conv2d(1, 1, 3, stride=1, padding=1)


def padded_windows(x, kH, kW, padding):
    """x: (N, C, H, W) -> (N, H_out, W_out, C, kH, kW), the stride-1 windows of x zero-padded,
    as one contiguous array, so that the products below are single matrix products (an einsum
    over the strided view took ~140 us an epoch, ~14 ms of a submission's grading)."""
    pad = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    windows = sliding_window_view(np.pad(x, pad), (kH, kW), axis=(2, 3))
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5))


def true_forward(windows, weight):
    """y: (N, C_out, H_out, W_out) = cross-correlation of the windows with weight (C_out, C_in, kH, kW)."""
    N, H_out, W_out = windows.shape[:3]
    rows = windows.reshape(N * H_out * W_out, -1)            # one window per row
    return (rows @ weight.reshape(len(weight), -1).T).reshape(N, H_out, W_out, -1).transpose(0, 3, 1, 2)


def true_weight_gradient(windows, dY):
    """dL/dW: (C_out, C_in, kH, kW) = sum over n, i, j of dY[n, o, i, j] * window[n, i, j, c]."""
    rows = windows.reshape(dY.size // dY.shape[1], -1)
    dY_rows = dY.transpose(0, 2, 3, 1).reshape(len(rows), -1)  # (N*H_out*W_out, C_out)
    return (dY_rows.T @ rows).reshape(dY.shape[1], *windows.shape[3:])


@check("learns_filters", cases=lambda case: case.kind == "training")
def test_learns_filters(code, config, parameters, case):
    x, target, kernel = case.array("x"), case.array("target"), case.array("kernel")
    weight = case.array("w0").copy()
    windows = padded_windows(x, *weight.shape[2:], PADDING)
    tol = config.tolerance("float64")
    layer = code.new_layer(dict(C_in=1, C_out=1, kernel_size=(3, 3), stride=1, padding=PADDING),
                           weight, np.zeros_like(weight))
    for epoch in range(parameters.training.epochs):
        # zero_grad every step: backward accumulates into grad_weight
        y, _ = layer.run_steps([("set", "weight", weight), ("zero_grad",), ("forward", x)], "Conv2d.forward",
                               [target.shape, x.shape])[-1]
        if not matches(y, true_forward(windows, weight), tol):
            raise CheckFailure(case, f"at epoch {epoch}, forward's output (shape {y.shape}) is not the convolution "
                                     f"of x with the current weights: forward was changed", function="Conv2d.forward",
                                 blame=("forward_output",))
        dY = 2.0 * (y - target) / y.size
        _, grad = layer.run_steps([("backward", dY), ("get", "grad_weight")], "Conv2d.backward",
                                  [x.shape, dY.shape, weight.shape])
        true_grad = true_weight_gradient(windows, dY)
        if not matches(grad, true_grad, tol):
            size = f" ({error_size(grad, true_grad, tol)})" if grad.shape == true_grad.shape else ""
            raise CheckFailure(case, f"at epoch {epoch}, grad_weight after zero_grad and one backward is not dL/dW "
                                     f"for this x, dY and weights (shape {grad.shape}){size}: the filter must be "
                                     f"learned through a correct weight gradient", function="Conv2d.backward")
        weight = weight - parameters.training.lr * grad
    error = float(np.max(np.abs(weight[0, 0] - kernel)))
    if not error < parameters.training.max_kernel_error:
        loss = float(np.mean((true_forward(windows, weight) - target) ** 2))
        training = parameters.training
        raise CheckFailure(case, f"after {training.epochs} epochs (lr {training.lr}, zero_grad every "
                                 f"step) the largest kernel error is {error:.2e} (needs < {training.max_kernel_error:g}) "
                                 f"and the loss is {loss:.2e}", function="Conv2d.backward")
