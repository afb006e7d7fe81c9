"""Correct, but forward returns the same output array on every call, overwriting it in place: the
evaluation forward then rewrites the array the training forward returned. Written as an attack on the
generic protocol's `steps` (one round trip for four calls): each result must be taken as it was when
returned, so this earns full marks, like any caller that uses y before the next forward.
"""

import numpy as np


def softmax_cross_entropy(logits, labels):
    """logits: (N, K), labels: (N,) -> (loss, dlogits)."""
    N = len(labels)
    z = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), labels]) / N
    probs = np.exp(log_probs)
    onehot = np.zeros_like(probs)
    onehot[np.arange(N), labels] = 1
    return loss, (probs - onehot) / N


class MaxPool2d:
    def forward(self, x, train=True):
        """x: (N, C, H, W) -> y: (N, C, H // k, W // k); a mask of the max places when training."""
        k = self.kernel_size
        N, C, H, W = x.shape
        shape = (N, C, H // k, W // k)
        if getattr(self, "_y", None) is None or self._y.shape != shape or self._y.dtype != x.dtype:
            self._y = np.empty(shape, dtype=x.dtype)
        y = self._y                 # the same array on every call: what it held when returned must be what counts
        mask = np.zeros(x.shape, dtype=bool)
        for i in range(H // k):
            for j in range(W // k):
                window = x[:, :, i * k:(i + 1) * k, j * k:(j + 1) * k].reshape(N, C, k * k)
                y[:, :, i, j] = window.max(axis=2)
                first = np.zeros((N, C, k * k), dtype=bool)
                np.put_along_axis(first, window.argmax(axis=2)[..., None], True, axis=2)
                mask[:, :, i * k:(i + 1) * k, j * k:(j + 1) * k] = first.reshape(N, C, k, k)
        if train:
            self.mask, self.x_shape = mask, x.shape
        return y

    def backward(self, dY):
        """dY: (N, C, H_out, W_out) -> dX: dY at each window's max, zeros elsewhere."""
        k = self.kernel_size
        H_out, W_out = dY.shape[2:]
        dX = np.zeros(self.x_shape, dtype=dY.dtype)
        dX[:, :, :H_out * k, :W_out * k] = dY.repeat(k, axis=2).repeat(k, axis=3)
        return dX * self.mask
