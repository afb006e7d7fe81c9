"""Filter learning: the student's layer, trained by the grader, must learn a known kernel.

The grader drives the loop (zero_grad, forward, loss, backward, update) and does
the arithmetic itself; the student's code only runs forward and backward.
"""

import numpy as np
import pytest

from autograder.compare import CheckFailure

check = pytest.mark.check


@check("learns_filters")
def test_learns_filters(student, config, case):
    x, target, kernel = case.array("x"), case.array("target"), case.array("kernel")
    weight = case.array("w0").copy()
    layer = student.new_layer(dict(C_in=1, C_out=1, kernel_size=(3, 3), stride=1, padding=1),
                              weight, np.zeros_like(weight))
    for epoch in range(config.training_epochs):
        # zero_grad every step: backward accumulates into grad_weight
        y, _ = layer.run([("set", "weight", weight), ("zero_grad",), ("forward", x)], "Conv2d.forward")[-1]
        if y.shape != target.shape:
            raise CheckFailure(f"[{case.describe()}] forward returned shape {y.shape}, expected {target.shape}")
        _, grad = layer.run([("backward", (2.0 * (y - target) / y.size).astype(y.dtype)),
                             ("get", "grad_weight")], "Conv2d.backward")
        if grad.shape != weight.shape or not np.all(np.isfinite(grad)):
            raise CheckFailure(f"[{case.describe()}] grad_weight at epoch {epoch} has shape {grad.shape} "
                               f"or non-finite values")
        weight = weight - config.training_lr * grad
    error = float(np.max(np.abs(weight[0, 0] - kernel)))
    if not error < config.max_kernel_error:
        y, _ = layer.run([("set", "weight", weight), ("forward", x)], "Conv2d.forward")[-1]
        loss = float(np.mean((y - target) ** 2))
        raise CheckFailure(f"[{case.describe()}] after {config.training_epochs} epochs (lr {config.training_lr}, "
                           f"zero_grad every step) the largest kernel error is {error:.2e} (needs < "
                           f"{config.max_kernel_error:g}) and the loss is {loss:.2e}")
