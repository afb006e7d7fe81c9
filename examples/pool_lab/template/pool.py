"""Max pooling and softmax cross-entropy: you write the three functions marked TODO."""

import numpy as np


def softmax_cross_entropy(logits, labels):
    """TODO. logits: (N, K), labels: (N,) ints in [0, K) -> (loss, dlogits).

    loss: the mean over the batch of -log softmax(logits)[n, labels[n]], one float;
    dlogits: dloss/dlogits = (softmax(logits) - onehot(labels)) / N, logits' shape and dtype.
    Subtract each row's max before exp: logits of 1000 must not overflow.
    """
    raise NotImplementedError("softmax_cross_entropy")


class MaxPool2d:
    """Max pooling over k x k windows with stride k (rows and columns past the last whole window
    are dropped)."""

    def __init__(self, kernel_size):
        self.kernel_size = kernel_size
        self.argmax = None          # (N, C, H_out, W_out): where each window's max is (training forward)
        self.x_shape = None         # the shape of that forward's x

    def forward(self, x, train=True):
        """TODO. x: (N, C, H, W) -> y: (N, C, H // k, W // k), each window's max. With train, remember
        where each max is (and x's shape) for backward; without (evaluation), remember nothing."""
        raise NotImplementedError("MaxPool2d.forward")

    def backward(self, dY):
        """TODO. dY: (N, C, H_out, W_out) -> dX: the last training forward's x's shape and dY's dtype:
        dY[n, c, i, j] at the place of its window's max, zeros elsewhere."""
        raise NotImplementedError("MaxPool2d.backward")
