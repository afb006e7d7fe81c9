"""Correct solution computing in float64 internally and casting back to the input's dtype.

Every input is upcast; the results are cast back to X_col's / dY's dtype (and grad_weight's)
at the end: float32 results are then closer to the exact answer, never farther.
"""

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    cols = X_col.astype(np.float64)
    x = np.zeros((C, H, W), dtype=np.float64)
    col = 0
    for i in range(0, H - kH + 1, stride):
        for j in range(0, W - kW + 1, stride):
            x[:, i:i + kH, j:j + kW] += cols[:, col].reshape(C, kH, kW)
            col += 1
    return x.astype(X_col.dtype)


class Conv2d:
    """2-D convolution (cross-correlation, no bias) trained by hand-written backprop."""

    def backward(self, dY):
        """dY: (N, C_out, H_out, W_out) -> dX: (N, C_in, H, W), dY's dtype."""
        N, C_in, H, W = self.x_shape
        kH, kW = self.kernel_size
        p = self.padding
        W_col = self.W_col.astype(np.float64)
        dW_col = np.zeros(W_col.shape, dtype=np.float64)
        dX = np.zeros(self.x_shape, dtype=np.float64)
        for n in range(N):
            dY_col = dY[n].astype(np.float64).reshape(self.out_channels, -1)
            dW_col += dY_col @ self.X_cols[n].astype(np.float64).T
            dX_pad = col2im(W_col.T @ dY_col, C_in, self.H_pad, self.W_pad, kH, kW, self.stride)
            dX[n] = dX_pad[:, p:p + H, p:p + W]
        self.grad_weight += dW_col.reshape(self.weight.shape).astype(self.grad_weight.dtype)
        return dX.astype(dY.dtype)
