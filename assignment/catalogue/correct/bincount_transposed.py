"""Correct solution folding with np.bincount over im2col of pixel numbers; transposed GEMMs.

im2col of an image holding each pixel's number says which pixel every entry of X_col copies;
np.bincount adds them up. backward computes (X_col @ dY_col.T).T and (dY_col.T @ W_col).T.
"""

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    pixel = np.arange(C * H * W).reshape(C, H, W)
    source = im2col(pixel, kH, kW, stride)          # the pixel number each entry of X_col copies
    x = np.bincount(source.ravel(), weights=X_col.ravel(), minlength=C * H * W)
    return x.reshape(C, H, W).astype(X_col.dtype)


class Conv2d:
    """2-D convolution (cross-correlation, no bias) trained by hand-written backprop."""

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
