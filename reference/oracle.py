"""Direct convolution, written without im2col: the oracle for targets and tests.

It loops over output positions and contracts each window with the kernel, the
textbook definition, so it shares no code or layout with reference.conv2d.
Slow (a Python loop over H_out*W_out), fine for fixture-sized inputs.
"""

import numpy as np


def _pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p > 0 else x


def _out_size(size, k, s):
    if k > size:
        raise ValueError(f"kernel size {k} is larger than the (padded) input size {size}")
    return (size - k) // s + 1


def conv2d_forward(x, weight, stride=1, padding=0):
    """y[n, o, i, j] = sum_{c, a, b} weight[o, c, a, b] * x_pad[n, c, i*s + a, j*s + b].

    x: (N, C_in, H, W), weight: (C_out, C_in, kH, kW) -> y: (N, C_out, H_out, W_out),
    computed in the wider of the two dtypes.
    """
    x_pad = _pad(x, padding)
    C_out, _, kH, kW = weight.shape
    s = stride
    H_out, W_out = _out_size(x_pad.shape[2], kH, s), _out_size(x_pad.shape[3], kW, s)
    y = np.zeros((x.shape[0], C_out, H_out, W_out), dtype=np.result_type(x, weight))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * s : i * s + kH, j * s : j * s + kW]   # (N, C_in, kH, kW)
            y[:, :, i, j] = np.einsum("ncab,ocab->no", window, weight)
    return y


def conv2d_backward(x, weight, dY, stride=1, padding=0):
    """Gradients of sum(dY * conv2d_forward(x, weight)).

    x: (N, C_in, H, W), weight: (C_out, C_in, kH, kW), dY: (N, C_out, H_out, W_out)
    -> (dX: (N, C_in, H, W), dW: (C_out, C_in, kH, kW)), in the widest dtype.
    """
    p, s = padding, stride
    x_pad = _pad(x, p)
    C_out, _, kH, kW = weight.shape
    dtype = np.result_type(x, weight, dY)
    dX_pad = np.zeros(x_pad.shape, dtype=dtype)
    dW = np.zeros(weight.shape, dtype=dtype)
    for i in range(dY.shape[2]):
        for j in range(dY.shape[3]):
            rows, cols = slice(i * s, i * s + kH), slice(j * s, j * s + kW)
            dX_pad[:, :, rows, cols] += np.einsum("no,ocab->ncab", dY[:, :, i, j], weight)
            dW += np.einsum("no,ncab->ocab", dY[:, :, i, j], x_pad[:, :, rows, cols])
    H, W = x.shape[2:]
    return dX_pad[:, :, p : p + H, p : p + W], dW


def coverage(H, W, kH, kW, stride=1):
    """How many windows cover each pixel: (H, W) int array (0 where none does)."""
    count = np.zeros((H, W), dtype=np.int64)
    for i in range(_out_size(H, kH, stride)):
        for j in range(_out_size(W, kW, stride)):
            count[i * stride : i * stride + kH, j * stride : j * stride + kW] += 1
    return count
