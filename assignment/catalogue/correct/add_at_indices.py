"""Correct solution with index arrays: col2im is one np.add.at over every entry of X_col.

col2im computes the pixel each entry of X_col was copied from and scatters them all at once
with np.add.at, which (unlike x[idx] += v) adds every repeated index; backward loops over images.
"""

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    H_out = (H - kH) // stride + 1
    W_out = (W - kW) // stride + 1
    # The pixel each entry of X_col was copied from: rows are (c, ki, kj), columns (i, j).
    c, ki, kj = np.indices((C, kH, kW)).reshape(3, -1, 1)
    i, j = np.indices((H_out, W_out)).reshape(2, 1, -1)
    rows = ki + stride * i                       # (C*kH*kW, H_out*W_out)
    cols = kj + stride * j
    chans = np.broadcast_to(c, rows.shape)
    x = np.zeros((C, H, W), dtype=X_col.dtype)
    np.add.at(x, (chans, rows, cols), X_col)     # unbuffered: repeated pixels are all added
    return x


class Conv2d:
    """2-D convolution (cross-correlation, no bias) trained by hand-written backprop."""

    def backward(self, dY):
        """dY: (N, C_out, H_out, W_out) -> dX: (N, C_in, H, W), dY's dtype."""
        N, C_in, H, W = self.x_shape
        kH, kW = self.kernel_size
        p = self.padding
        dX = np.zeros(self.x_shape, dtype=dY.dtype)
        dW_col = np.zeros(self.W_col.shape, dtype=self.grad_weight.dtype)
        for n in range(N):
            dY_col = dY[n].reshape(self.out_channels, -1)       # (C_out, H_out*W_out)
            dW_col += dY_col @ self.X_cols[n].T
            dX_col = self.W_col.T @ dY_col                      # (C_in*kH*kW, H_out*W_out)
            dX_pad = col2im(dX_col, C_in, self.H_pad, self.W_pad, kH, kW, self.stride)
            dX[n] = dX_pad[:, p:p + H, p:p + W]
        self.grad_weight += dW_col.reshape(self.weight.shape)
        return dX
