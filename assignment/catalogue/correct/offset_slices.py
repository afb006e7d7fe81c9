"""Correct solution looping over kernel offsets: col2im adds one strided slice per (ki, kj).

kH*kW slice additions and no loop over windows, as the handout's optional step suggests;
backward adds to grad_weight once per image and stacks the per-image dX.
"""

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    """X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), X_col's dtype; overlaps summed."""
    s = stride
    H_out = (H - kH) // s + 1
    W_out = (W - kW) // s + 1
    patches = X_col.reshape(C, kH, kW, H_out, W_out)
    x = np.zeros((C, H, W), dtype=X_col.dtype)
    for ki in range(kH):
        for kj in range(kW):
            # offset (ki, kj) of window (i, j) is pixel (i*s + ki, j*s + kj)
            x[:, ki:ki + s * H_out:s, kj:kj + s * W_out:s] += patches[:, ki, kj]
    return x


class Conv2d:
    """2-D convolution (cross-correlation, no bias) trained by hand-written backprop."""

    def backward(self, dY):
        """dY: (N, C_out, H_out, W_out) -> dX: (N, C_in, H, W), dY's dtype."""
        N, C_in, H, W = self.x_shape
        kH, kW = self.kernel_size
        p, s = self.padding, self.stride
        images = []
        for n in range(N):
            dY_col = dY[n].reshape(self.out_channels, self.H_out * self.W_out)
            self.grad_weight += (dY_col @ self.X_cols[n].T).reshape(self.weight.shape)
            dX_pad = col2im(self.W_col.T @ dY_col, C_in, self.H_pad, self.W_pad, kH, kW, s)
            images.append(dX_pad[:, p:p + H, p:p + W])
        return np.stack(images).astype(dY.dtype, copy=False)
