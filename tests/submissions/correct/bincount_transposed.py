"""Correct solution folding with np.bincount over im2col of pixel numbers; transposed GEMMs.

im2col of an image holding each pixel's number says which pixel every entry of X_col copies;
np.bincount adds them up. backward computes (X_col @ dY_col.T).T and (dY_col.T @ W_col).T.
"""

import numpy as np


def im2col(x, kH, kW, stride=1):
    """GIVEN. Unfold every kH x kW window of one image into a column.

    x: (C, H, W) -> X_col: (C*kH*kW, H_out*W_out), x's dtype,
    with H_out = (H - kH) // stride + 1 and W_out = (W - kW) // stride + 1.
    Row index = (c, ki, kj) in C order; column index = window (i, j), row-major.
    """
    C, H, W = x.shape
    H_out = (H - kH) // stride + 1
    W_out = (W - kW) // stride + 1
    X_col = np.empty((C * kH * kW, H_out * W_out), dtype=x.dtype)
    col = 0
    for i in range(0, H - kH + 1, stride):          # top row of the window
        for j in range(0, W - kW + 1, stride):      # left column of the window
            patch = x[:, i:i + kH, j:j + kW]        # (C, kH, kW)
            X_col[:, col] = patch.reshape(-1)
            col += 1
    return X_col


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    pixel = np.arange(C * H * W).reshape(C, H, W)
    source = im2col(pixel, kH, kW, stride)          # the pixel number each entry of X_col copies
    x = np.bincount(source.ravel(), weights=X_col.ravel(), minlength=C * H * W)
    return x.reshape(C, H, W).astype(X_col.dtype)


class Conv2d:
    """2-D convolution (cross-correlation, no bias) trained by hand-written backprop."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        """GIVEN. kernel_size: int or (kH, kW); stride, padding: int.

        self.weight: (C_out, C_in, kH, kW), small random values;
        self.grad_weight: zeros like weight (backward ADDS into it).
        """
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

        kH, kW = self.kernel_size
        self.weight = np.random.randn(out_channels, in_channels, kH, kW) * 0.01
        self.grad_weight = np.zeros_like(self.weight)

    def forward(self, x):
        """GIVEN. x: (N, C_in, H, W) -> y: (N, C_out, H_out, W_out), x's dtype.

        Zero-pads by `padding`, unfolds each image with im2col and multiplies by
        W_col = weight.reshape(C_out, C_in*kH*kW). Caches for backward:
        self.x_shape = (N, C_in, H, W); self.H_pad, self.W_pad; self.H_out, self.W_out;
        self.W_col: (C_out, C_in*kH*kW); self.X_cols: list of N arrays (C_in*kH*kW, H_out*W_out).
        """
        N, C_in, H, W = x.shape
        kH, kW = self.kernel_size
        p = self.padding
        s = self.stride

        self.x_shape = x.shape
        if p > 0:
            x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="constant")
        else:
            x_padded = x
        _, _, H_pad, W_pad = x_padded.shape
        H_out = (H_pad - kH) // s + 1
        W_out = (W_pad - kW) // s + 1

        self.H_pad, self.W_pad = H_pad, W_pad
        self.H_out, self.W_out = H_out, W_out
        W_col = self.weight.reshape(self.out_channels, -1)
        self.W_col = W_col

        out = np.empty((N, self.out_channels, H_out, W_out), dtype=x.dtype)
        self.X_cols = []
        for n in range(N):
            X_col = im2col(x_padded[n], kH, kW, stride=s)
            self.X_cols.append(X_col)
            Y_col = W_col @ X_col                                  # (C_out, H_out*W_out)
            out[n] = Y_col.reshape(self.out_channels, H_out, W_out)
        return out

    def backward(self, dY):
        """dY: (N, C_out, H_out, W_out) -> dX: (N, C_in, H, W), dY's dtype."""
        N, C_in, H, W = self.x_shape
        kH, kW = self.kernel_size
        p = self.padding
        dX = np.empty(self.x_shape, dtype=dY.dtype)
        for n in range(N):
            dY_rows = dY[n].reshape(self.out_channels, -1).T            # (H_out*W_out, C_out)
            self.grad_weight += (self.X_cols[n] @ dY_rows).T.reshape(self.weight.shape)
            dX_col = (dY_rows @ self.W_col).T                           # (C_in*kH*kW, H_out*W_out)
            dX_pad = col2im(dX_col, C_in, self.H_pad, self.W_pad, kH, kW, self.stride)
            dX[n] = dX_pad[:, p:p + H, p:p + W]
        return dX

    def zero_grad(self):
        """GIVEN. Resets grad_weight to zeros: call it before every training step."""
        self.grad_weight = np.zeros_like(self.weight)
