"""Correct solution returning non-contiguous results: a Fortran-ordered col2im and a dX view.

col2im accumulates into an order="F" array and returns it; backward folds into a
(C_in, N, H_pad, W_pad) buffer and returns a transposed, cropped view of it.
"""

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    x = np.zeros((C, H, W), dtype=X_col.dtype, order="F")
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
        N, C_in, H, W = self.x_shape
        kH, kW = self.kernel_size
        p = self.padding
        # Channel-major buffer (C_in, N, H_pad, W_pad); the result is a transposed, cropped view of it.
        buffer = np.zeros((C_in, N, self.H_pad, self.W_pad), dtype=dY.dtype)
        for n in range(N):
            dY_col = dY[n].reshape(self.out_channels, -1)
            self.grad_weight += (dY_col @ self.X_cols[n].T).reshape(self.weight.shape)
            buffer[:, n] = col2im(self.W_col.T @ dY_col, C_in, self.H_pad, self.W_pad, kH, kW, self.stride)
        return buffer.transpose(1, 0, 2, 3)[:, :, p:p + H, p:p + W]
