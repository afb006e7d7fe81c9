"""Staff solution of the pooling-and-loss lab (never shipped)."""

import numpy as np


def softmax_cross_entropy(logits, labels):
    """logits: (N, K), labels: (N,) ints in [0, K) -> (loss, dlogits).

    loss: the mean over the batch of -log softmax(logits)[n, labels[n]], one float;
    dlogits: dloss/dlogits = (softmax(logits) - onehot(labels)) / N, logits' shape and dtype.
    """
    N = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)      # exp never overflows
    exp = np.exp(shifted)
    sums = exp.sum(axis=1, keepdims=True)
    rows = np.arange(N)
    loss = -np.mean(shifted[rows, labels] - np.log(sums[:, 0]))
    dlogits = exp / sums
    dlogits[rows, labels] -= 1
    dlogits /= N
    return float(loss), dlogits


class MaxPool2d:
    """Max pooling over k x k windows with stride k (rows and columns past the last whole window
    are dropped)."""

    def __init__(self, kernel_size):
        self.kernel_size = kernel_size
        self.argmax = None          # (N, C, H_out, W_out): where each window's max is (training forward)
        self.x_shape = None         # the shape of that forward's x

    def _windows(self, x):
        """x: (N, C, H, W) -> (N, C, H_out, W_out, k*k): each window's values, row by row."""
        k = self.kernel_size
        N, C, H, W = x.shape
        H_out, W_out = H // k, W // k
        x = x[:, :, :H_out * k, :W_out * k].reshape(N, C, H_out, k, W_out, k)
        return x.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H_out, W_out, k * k)

    def forward(self, x, train=True):
        """x: (N, C, H, W) -> y: (N, C, H // k, W // k), each window's max. With train, remembers
        where each max is for backward; without (evaluation), remembers nothing."""
        windows = self._windows(x)
        argmax = windows.argmax(axis=-1)
        if train:
            self.argmax, self.x_shape = argmax, x.shape
        return np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]

    def backward(self, dY):
        """dY: (N, C, H_out, W_out) -> dX: the last training forward's x's shape and dY's dtype:
        dY[n, c, i, j] at the place of its window's max, zeros elsewhere."""
        k = self.kernel_size
        N, C, H, W = self.x_shape
        H_out, W_out = dY.shape[2:]
        windows = np.zeros((N, C, H_out, W_out, k * k), dtype=dY.dtype)
        np.put_along_axis(windows, self.argmax[..., None], dY[..., None], axis=-1)
        dX = np.zeros((N, C, H, W), dtype=dY.dtype)
        dX[:, :, :H_out * k, :W_out * k] = (windows.reshape(N, C, H_out, W_out, k, k)
                                            .transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H_out * k, W_out * k))
        return dX
