"""Instructor's solution: im2col, col2im and Conv2d with backward, vectorised.

Same contract as the student's ``conv2d.py`` (see assignment/README.md), built for
speed rather than for reading aloud in a lecture:

- im2col is one ``sliding_window_view`` plus one copy (no per-window loop);
- Conv2d lays the columns of the whole batch side by side, shape
  (C_in*kH*kW, N*H_out*W_out), so forward and backward are each plain 2-D GEMMs;
- col2im loops over the kH*kW kernel offsets only, adding one strided slice of
  the whole batch per offset (no index arrays, no per-window loop), a few
  channels at a time so that the image being summed into stays in cache;
- backward takes a few images at a time: their dX_cols (C_in*kH*kW rows, as many
  columns as windows) are folded while still in cache instead of being written out
  for the whole batch (up to ~100 MB) and read back.
bench/KERNELS_NOTES.md has the measurements behind these choices.

Never shipped to students.

Symbols: N batch, C / C_in / C_out channels, H, W image size, kH, kW kernel size,
s stride, p padding, H_pad = H + 2p, H_out = (H_pad - kH) // s + 1 (W likewise).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Working-set sizes of the blocked loops, about a quarter of a core's L2 cache (bench/KERNELS_NOTES.md).
COL2IM_BLOCK_BYTES = 256 * 1024      # of the image col2im sums into, per block of channels
BACKWARD_BLOCK_BYTES = 256 * 1024    # of dX_cols, per block of images in backward


def output_size(size, k, stride):
    """Number of window positions along one axis: (size - k) // stride + 1.

    Raises ValueError when the kernel does not fit, instead of producing an
    empty or negative shape far from the cause.
    """
    if k > size:
        raise ValueError(f"kernel size {k} is larger than the (padded) input size {size}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    return (size - k) // stride + 1


def _windows(x, kH, kW, stride):
    """Strided view of every window.

    x: (..., H, W) -> view of shape (..., H_out, W_out, kH, kW); no copy.
    """
    H_out = output_size(x.shape[-2], kH, stride)
    W_out = output_size(x.shape[-1], kW, stride)
    view = sliding_window_view(x, (kH, kW), axis=(-2, -1))
    return view[..., : (H_out - 1) * stride + 1 : stride, : (W_out - 1) * stride + 1 : stride, :, :]


def im2col(x, kH, kW, stride=1):
    """Unfold every window of one image into a column.

    x: (C, H, W) -> X_col: (C*kH*kW, H_out*W_out), x's dtype.
    Row index = (c, ki, kj) in C order; column index = window (i, j) row-major.
    """
    C = x.shape[0]
    win = _windows(x, kH, kW, stride)                       # (C, H_out, W_out, kH, kW)
    H_out, W_out = win.shape[1:3]
    return win.transpose(0, 3, 4, 1, 2).reshape(C * kH * kW, H_out * W_out)


def batch_im2col(x, kH, kW, stride):
    """Columns of a whole batch side by side.

    x: (N, C, H, W) -> X_cols: (C*kH*kW, N*H_out*W_out); column index = (n, i, j).
    """
    N, C = x.shape[:2]
    win = _windows(x, kH, kW, stride)                       # (N, C, H_out, W_out, kH, kW)
    H_out, W_out = win.shape[2:4]
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(C * kH * kW, N * H_out * W_out)


def batch_col2im(X_cols, N, C, H, W, kH, kW, stride):
    """Fold the columns of a whole batch back into images, summing overlaps.

    X_cols: (C*kH*kW, N*H_out*W_out), column index (n, i, j) -> x: (N, C, H, W),
    X_cols' dtype. Pixels that no window covers stay zero.
    """
    s = stride
    H_out, W_out = output_size(H, kH, s), output_size(W, kW, s)
    cols = X_cols.reshape(C, kH, kW, N, H_out, W_out)
    # Accumulate as (C, N, H, W) so each slice add reads cols without a transpose.
    x = np.zeros((C, N, H, W), dtype=X_cols.dtype)
    # A block of channels at a time, so the kH*kW passes over its pixels hit the cache.
    block = max(1, COL2IM_BLOCK_BYTES // (N * H * W * x.itemsize))
    for c in range(0, C, block):
        for ki in range(kH):
            for kj in range(kW):
                # Kernel offset (ki, kj) of window (i, j) lands on pixel (i*s + ki, j*s + kj).
                x[c : c + block, :, ki : ki + s * H_out : s, kj : kj + s * W_out : s] += cols[c : c + block, ki, kj]
    return x.transpose(1, 0, 2, 3)


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """Adjoint of im2col: fold columns back into one image, summing overlaps.

    X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype.
    <im2col(x), Y> == <x, col2im(Y, ...)> for every x and Y.
    """
    return batch_col2im(X_col, 1, C, H, W, kH, kW, stride)[0]


class Conv2d:
    """2-D convolution (cross-correlation, no bias) with a hand-written backward."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        """kernel_size: int or (kH, kW); stride, padding: int.

        weight: (C_out, C_in, kH, kW), small random values; grad_weight: zeros like weight.
        """
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tuple(kernel_size)
        self.stride = stride
        self.padding = padding
        kH, kW = self.kernel_size
        self.weight = np.random.randn(out_channels, in_channels, kH, kW) * 0.01
        self.grad_weight = np.zeros_like(self.weight)

    def forward(self, x):
        """x: (N, C_in, H, W) -> y: (N, C_out, H_out, W_out), x's dtype.

        Caches x's shape and the batch's columns X_cols: (C_in*kH*kW, N*H_out*W_out).
        """
        N, _, H, W = x.shape
        kH, kW = self.kernel_size
        p, s = self.padding, self.stride
        x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p > 0 else x
        self.x_shape = x.shape
        self.H_pad, self.W_pad = H + 2 * p, W + 2 * p
        self.X_cols = batch_im2col(x_pad, kH, kW, s)
        H_out, W_out = output_size(self.H_pad, kH, s), output_size(self.W_pad, kW, s)
        W_col = self.weight.reshape(self.out_channels, -1)
        Y_col = W_col @ self.X_cols                           # (C_out, N*H_out*W_out)
        y = Y_col.reshape(self.out_channels, N, H_out, W_out).transpose(1, 0, 2, 3)
        return np.ascontiguousarray(y, dtype=x.dtype)

    def backward(self, dY):
        """dY: (N, C_out, H_out, W_out) -> dX: (N, C_in, H, W), dY's dtype.

        Adds dL/dW, summed over the batch, to grad_weight; returns dL/dX with the
        padding cropped off. Modifies neither dY nor the cache.
        """
        N, C_in, H, W = self.x_shape
        kH, kW = self.kernel_size
        p, s = self.padding, self.stride
        L = dY.shape[2] * dY.shape[3]                         # windows per image, H_out*W_out
        W_col = self.weight.reshape(self.out_channels, -1)   # (C_out, C_in*kH*kW)
        dW_col = np.zeros(W_col.shape, dtype=np.result_type(dY, self.X_cols))
        dX = np.empty(self.x_shape, dtype=dY.dtype)
        # A block of B images at a time: its dX_cols is folded while still in cache.
        B = max(1, BACKWARD_BLOCK_BYTES // (W_col.shape[1] * L * np.result_type(W_col, dY).itemsize))
        for n0 in range(0, N, B):
            n1 = min(N, n0 + B)
            dY_col = dY[n0:n1].transpose(1, 0, 2, 3).reshape(self.out_channels, -1)  # (C_out, (n1-n0)*L)
            dW_col += dY_col @ self.X_cols[:, n0 * L : n1 * L].T       # batch sum is inside the GEMMs
            dX_cols = W_col.T @ dY_col                                   # (C_in*kH*kW, (n1-n0)*L)
            dX_pad = batch_col2im(dX_cols, n1 - n0, C_in, self.H_pad, self.W_pad, kH, kW, s)
            dX[n0:n1] = dX_pad[:, :, p : p + H, p : p + W]    # crop (nothing when p == 0), cast to dY's dtype
        self.grad_weight += dW_col.reshape(self.weight.shape)
        return dX

    def zero_grad(self):
        """Resets grad_weight to zeros (call it before every training step)."""
        self.grad_weight = np.zeros_like(self.weight)
