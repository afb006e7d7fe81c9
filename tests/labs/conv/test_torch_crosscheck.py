"""Cross-check the reference against PyTorch's conv2d gradients, when torch is installed.

CI does not install torch (several hundred MB); `pip install torch==2.13.0` in .venv runs these.
"""

import numpy as np
import pytest

from helpers import random_layer

torch = pytest.importorskip("torch", reason="PyTorch is not installed; the cross-check is optional")

CASES = [  # N, C_in, C_out, H, W, k, s, p
    (2, 3, 4, 7, 9, (3, 2), 1, 1), (3, 2, 2, 8, 8, 3, 2, 0), (1, 1, 3, 5, 6, (1, 3), 3, 2),
    (4, 4, 1, 6, 5, (2, 2), 2, 1), (2, 2, 2, 3, 3, (5, 5), 1, 1),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reference_matches_torch(case, dtype):
    s, p = case[6], case[7]
    layer, x, y, dY = random_layer(case + (dtype,))
    dX = layer.backward(dY)

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, stride=s, padding=p)
    yt.backward(torch.tensor(dY))
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(dX, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grad_weight, wt.grad.numpy(), **tol)
