"""The filter-learning experiment with the reference, and the zero_grad pitfall."""

import numpy as np
import pytest

from reference.conv2d import Conv2d
from reference.training import KERNELS, learn_filter, mse_grad, mse_loss


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_reference_learns_known_kernel(name):
    learned, losses = learn_filter(Conv2d, KERNELS[name])
    assert np.max(np.abs(learned - KERNELS[name])) < 1e-6
    assert losses[-1] < 1e-20 < losses[0]


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_reference_learns_in_float32(name):
    learned, _ = learn_filter(Conv2d, KERNELS[name], dtype=np.float32)
    assert learned.dtype == np.float32
    assert np.max(np.abs(learned - KERNELS[name])) < 1e-5


def test_without_zero_grad_the_lecture_loop_does_not_converge():
    """The handout's pitfall: backward accumulates, so skipping zero_grad breaks training."""
    learned, losses = learn_filter(Conv2d, KERNELS["blur"], zero_grad=False)
    assert np.max(np.abs(learned - KERNELS["blur"])) > 0.1
    assert losses[-1] > 0.01


def test_mse_grad_is_the_derivative_of_mse_loss():
    rng = np.random.default_rng(0)
    y, t, v = (rng.standard_normal((2, 1, 3, 3)) for _ in range(3))
    eps = 1e-6
    numeric = (mse_loss(y + eps * v, t) - mse_loss(y - eps * v, t)) / (2 * eps)
    assert np.isclose(numeric, np.sum(mse_grad(y, t) * v), rtol=1e-6)
