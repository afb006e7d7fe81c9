"""A correct submission."""

import numpy as np


class Linear:
    def __init__(self, in_features, out_features):
        """weight: (D_out, D_in); grad_weight: zeros like weight."""
        self.weight = np.zeros((out_features, in_features))
        self.grad_weight = np.zeros_like(self.weight)

    def forward(self, x):
        """x: (N, D_in) -> y: (N, D_out) = x @ weight.T. Keeps x for backward."""
        self.x = x
        return x @ self.weight.T

    def backward(self, dY):
        """dY: (N, D_out) -> dX: (N, D_in); ADDS dL/dW, summed over the batch, to grad_weight."""
        self.grad_weight += dY.T @ self.x
        return dY @ self.weight
