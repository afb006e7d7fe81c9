"""Correct solution written the lecture's way: a loop over windows in col2im and
a loop over images in backward (with the lecture's typos fixed and p == 0 handled).
"""

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    x = np.zeros((C, H, W), dtype=X_col.dtype)
    col = 0
    for i in range(0, H - kH + 1, stride):
        for j in range(0, W - kW + 1, stride):
            x[:, i:i + kH, j:j + kW] += X_col[:, col].reshape(C, kH, kW)
            col += 1
    return x


class Conv2d:
    """2-D convolution (cross-correlation, no bias) trained by hand-written backprop."""

    def backward(self, dY):
        """dY: (N, C_out, H_out, W_out) -> dX: (N, C_in, H, W), dY's dtype."""
        N, C_out, H_out, W_out = dY.shape
        kH, kW = self.kernel_size
        C_in = self.in_channels
        p = self.padding
        H, W = self.x_shape[2], self.x_shape[3]
        dW_col = np.zeros_like(self.W_col)
        dX = np.empty(self.x_shape, dtype=dY.dtype)
        for n in range(N):
            dY_col = dY[n].reshape(C_out, H_out * W_out)
            dW_col += dY_col @ self.X_cols[n].T
            dX_col = self.W_col.T @ dY_col
            dX_pad = col2im(dX_col, C_in, self.H_pad, self.W_pad, kH, kW, stride=self.stride)
            dX[n] = dX_pad[:, p:p + H, p:p + W]
        self.grad_weight += dW_col.reshape(self.weight.shape)
        return dX
