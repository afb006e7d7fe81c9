"""Correct solution with tensordot and a broadcast matmul over the batch.

dW is one tensordot over the axes (n, l), dX_col one matmul broadcast over N; col2im finds
each window with divmod and adds out of place (x[...] = x[...] + patch).
"""

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    H_out = (H - kH) // stride + 1
    W_out = (W - kW) // stride + 1
    x = np.zeros((C, H, W), dtype=X_col.dtype)
    for col in range(H_out * W_out):
        i, j = divmod(col, W_out)
        rows = slice(i * stride, i * stride + kH)
        cols = slice(j * stride, j * stride + kW)
        x[:, rows, cols] = x[:, rows, cols] + X_col[:, col].reshape(C, kH, kW)
    return x


class Conv2d:
    """2-D convolution (cross-correlation, no bias) trained by hand-written backprop."""

    def backward(self, dY):
        """dY: (N, C_out, H_out, W_out) -> dX: (N, C_in, H, W), dY's dtype."""
        N, C_in, H, W = self.x_shape
        kH, kW = self.kernel_size
        p = self.padding
        dY_cols = dY.reshape(N, self.out_channels, self.H_out * self.W_out)
        X = np.stack(self.X_cols)                                          # (N, K, L)
        dW_col = np.tensordot(dY_cols, X, axes=([0, 2], [0, 2]))           # (C_out, K)
        self.grad_weight += dW_col.reshape(self.weight.shape)
        dX_cols = np.matmul(self.W_col.T, dY_cols)                         # (N, K, L)
        dX_pad = np.stack([col2im(d, C_in, self.H_pad, self.W_pad, kH, kW, self.stride)
                           for d in dX_cols])
        return dX_pad[:, :, p:p + H, p:p + W].astype(dY.dtype)
