"""Correct solution with einsum over the whole batch for dW and every image's dX_col.

The X_cols are stacked to (N, K, L): dW is one einsum summing over n and l, dX_col of every
image another; col2im walks the windows with enumerate(itertools.product(...)).
"""

import itertools

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    x = np.zeros((C, H, W), dtype=X_col.dtype)
    corners = itertools.product(range(0, H - kH + 1, stride), range(0, W - kW + 1, stride))
    for col, (i, j) in enumerate(corners):
        x[:, i:i + kH, j:j + kW] += X_col[:, col].reshape(C, kH, kW)
    return x


class Conv2d:
    """2-D convolution (cross-correlation, no bias) trained by hand-written backprop."""

    def backward(self, dY):
        """dY: (N, C_out, H_out, W_out) -> dX: (N, C_in, H, W), dY's dtype."""
        N, C_in, H, W = self.x_shape
        kH, kW = self.kernel_size
        p = self.padding
        X = np.stack(self.X_cols)                                   # (N, K, L)
        dY_cols = dY.reshape(N, self.out_channels, -1)              # (N, C_out, L)
        dW_col = np.einsum("nol,nkl->ok", dY_cols, X)               # summed over n and l
        self.grad_weight += dW_col.reshape(self.weight.shape)
        dX_cols = np.einsum("ok,nol->nkl", self.W_col, dY_cols)     # (N, K, L)
        dX = np.empty(self.x_shape, dtype=dY.dtype)
        for n in range(N):
            dX_pad = col2im(dX_cols[n], C_in, self.H_pad, self.W_pad, kH, kW, self.stride)
            dX[n] = dX_pad[:, p:p + H, p:p + W]
        return dX
