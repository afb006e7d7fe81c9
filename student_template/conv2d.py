"""Convolution backpropagation lab: your file.

im2col, Conv2d.__init__, Conv2d.forward and Conv2d.zero_grad are GIVEN. The first
three follow the lecture's code; zero_grad is this lab's addition (the lecture has
none, and its training loop never resets the gradient: see the handout's section 4).
Your job is the two functions marked TODO:

    col2im(X_col, C, H, W, kH, kW, stride=1)
    Conv2d.backward(self, dY)

Then run `python3 train_filter.py` to watch your layer learn a blur kernel, and
`python3 self_check.py` to test your gradients. Submit this file, named conv2d.py.

Symbols: N batch, C / C_in / C_out channels, H, W image height and width (W is
never the weights: those are `weight` and W_col), kH, kW kernel size, s stride,
p padding, H_pad = H + 2p, H_out = (H_pad - kH) // s + 1 (W likewise).
(u, v) is an output position (window number), (i, j) = (u*s, v*s) its window's
top-left corner pixel. The layer is a cross-correlation: the kernel is not flipped.
"""

import numpy as np


def im2col(x, kH, kW, stride=1):
    """GIVEN. Unfold every kH x kW window of one image into a column.

    x: (C, H, W) -> X_col: (C*kH*kW, H_out*W_out), x's dtype,
    with H_out = (H - kH) // stride + 1 and W_out = (W - kW) // stride + 1.
    Row index = (c, ki, kj) in C order; column index = u * W_out + v for the window at
    output position (u, v), whose top-left corner pixel is (i, j) = (u*stride, v*stride).
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
    """TODO. Fold columns back into an image: the adjoint (transpose) of im2col, not
    its inverse (col2im(im2col(x)) is x times how many windows cover each pixel).

    X_col: (C*kH*kW, H_out*W_out) -> x: (C, H, W), with X_col's dtype.

    Column number col = u * W_out + v holds the window at output position (u, v),
    whose top-left corner pixel is (i, j) = (u * stride, v * stride): the same
    row-major order that im2col used. Reshape each column to a (C, kH, kW) patch and
    ADD it into x at that window's place: where windows overlap the contributions
    are summed. Pixels that no window covers stay zero: the last (H - kH) % stride
    rows, and, when stride > kH, the stride - kH rows between two windows (columns
    likewise with W and kW).
    """
    raise NotImplementedError(
        "col2im is not implemented yet: start from x = np.zeros((C, H, W), dtype=X_col.dtype), "
        "then for every window (in im2col's order) reshape its column to (C, kH, kW) "
        "and add it into x[:, i:i + kH, j:j + kW]."
    )


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
        """TODO. dY = dL/dY: (N, C_out, H_out, W_out) -> dX = dL/dX: (N, C_in, H, W), dY's dtype.

        For every image n, with dY_col = dY[n].reshape(C_out, H_out*W_out):
          dW_col  += dY_col @ X_col.T          (sum over the batch)
          dX_col   = W_col.T @ dY_col          (C_in*kH*kW, H_out*W_out)
          dX_pad   = col2im(dX_col, C_in, H_pad, W_pad, kH, kW, stride)
          dX[n]    = dX_pad with the padding cropped off (careful when padding == 0)
        Then ADD dW_col.reshape(weight.shape) to self.grad_weight (do not overwrite
        it: each call adds dW again, until zero_grad()). Do not modify dY or the cache.
        """
        raise NotImplementedError(
            "Conv2d.backward is not implemented yet: compute dW_col = dY_col @ X_col.T "
            "summed over the batch and add it to self.grad_weight, then dX_col = W_col.T @ dY_col, "
            "fold it with col2im and crop the padding."
        )

    def zero_grad(self):
        """GIVEN. Resets grad_weight to zeros: call it before every training step."""
        self.grad_weight = np.zeros_like(self.weight)
