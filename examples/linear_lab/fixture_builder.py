"""The Linear lab's fixture sets, from its reference (staff machines only)."""

import numpy as np

from autograder.fixtures import write_fixture_set
from examples.linear_lab.reference.linear import Linear

SHAPES = [(1, 3, 2), (4, 3, 2), (5, 4, 6), (3, 7, 7)]          # (N, D_in, D_out)
PUBLIC = {(1, 3, 2), (4, 3, 2)}


def build_fixture_set(folder, seed, lab, public=False):
    """Writes the hidden (or public) set into folder; returns its manifest."""
    rng = np.random.default_rng(seed)
    cases = []
    for N, D_in, D_out in SHAPES:
        if public and (N, D_in, D_out) not in PUBLIC:
            continue
        for dtype in ("float64", "float32"):
            x = rng.standard_normal((N, D_in)).astype(dtype)
            weight = rng.standard_normal((D_out, D_in)).astype(dtype)
            dY = rng.standard_normal((N, D_out)).astype(dtype)
            layer = Linear(D_in, D_out)
            layer.weight, layer.grad_weight = weight, np.zeros_like(weight)
            y = layer.forward(x)
            dX = layer.backward(dY)
            arrays = {"x": x, "weight": weight, "dY": dY, "y": y, "dX": dX, "dW": layer.grad_weight,
                      "variant_dW_mean": layer.grad_weight / N}
            params = dict(N=N, D_in=D_in, D_out=D_out, dtype=dtype)
            # The checks pick their cases themselves (@check(..., cases=...)): no list here.
            cases.append((f"linear_N{N}_{D_in}to{D_out}_{dtype}", "linear", params, [], arrays))
    return write_fixture_set(folder, seed, cases, public, lab.config.fixtures.builder_version)
