"""Finite-difference checks: the student's dX and dW against central differences of their forward.

They fail closed: a case counts only when the forward being differentiated is still the
given one (checked against the reference at every perturbed point), and a non-finite
number or a missing result is a failure, never a pass.
"""

import numpy as np

from assignment.interface import is_layer, layer_shape
from autograder.checks import check
from autograder.compare import CheckFailure, matches

BACKWARD, FORWARD = "Conv2d.backward", "Conv2d.forward"    # the student functions tested

# float64 shapes differentiated (the builder stores their directions): one per idea of the
# backward pass (padding, no padding, stride with a non-square kernel, stride with padding 2).
DIFFERENTIATED_SHAPES = {(2, 1, 1, 5, 5, (3, 3), 1, 1), (3, 2, 3, 6, 5, (3, 2), 1, 0),
                         (4, 2, 4, 8, 6, (2, 3), 3, 2), (2, 3, 3, 9, 8, (3, 3), 2, 2)}


def differentiated(case):
    return is_layer(case) and case.params["dtype"] == "float64" and layer_shape(case) in DIFFERENTIATED_SHAPES


def _check_directions(code, config, parameters, case, param, grad_name, label):
    grad = code.layer_run(case)[grad_name]
    directions = case.array("fd_dirs_x" if param == "x" else "fd_dirs_w")
    if grad.shape != directions.shape[1:]:
        raise CheckFailure(case, f"{label} has shape {grad.shape}, expected {directions.shape[1:]}", function=BACKWARD,
                           blame=("padding_crop", "backward_dx_shape_dtype") if param == "x" else ("backward_dw_values",))
    if grad.dtype.kind != "f" or not np.all(np.isfinite(grad)):
        raise CheckFailure(case, f"{label} holds NaN, infinity or non-float values", function=BACKWARD)
    y, dY = case.array("y").astype(np.float64), case.array("dY").astype(np.float64)
    dir_forwards = case.array("fd_forward_dirs_x" if param == "x" else "fd_forward_dirs_w")
    eps, tol = parameters.finite_difference.eps, config.tolerance("float64")
    forwards = code.perturbed_forwards(case, param, eps)
    for v, dir_forward, (y_plus, y_minus) in zip(directions, dir_forwards, forwards):
        if not (matches(y_plus, y + eps * dir_forward, tol) and matches(y_minus, y - eps * dir_forward, tol)):
            raise CheckFailure(case, f"forward({param} +/- eps v) differs from the given forward's output: "
                                     f"forward was changed, so its finite differences say nothing about {label} "
                                     f"(this case cannot count)", function=FORWARD, blame=("forward_output",))
        numeric = float(np.sum(dY * (y_plus - y_minus))) / (2 * eps)
        analytic = float(np.sum(grad.astype(np.float64) * v))
        rtol = parameters.finite_difference.rtol
        error = abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-12)
        if not error <= rtol:
            raise CheckFailure(
                case, f"along a random direction v, sum({label} * v) = {analytic:.6g} but "
                      f"(L({param} + eps v) - L({param} - eps v)) / (2 eps) = {numeric:.6g} with L = sum(dY * forward(x)): "
                      f"relative error {error:.2g}, tolerance {rtol:g}",
                function=BACKWARD)


@check("finite_difference_dx", cases=differentiated)
def test_finite_difference_dx(code, config, parameters, case):
    _check_directions(code, config, parameters, case, "x", "dX", "dX")


@check("finite_difference_dw", cases=differentiated)
def test_finite_difference_dw(code, config, parameters, case):
    _check_directions(code, config, parameters, case, "weight", "dW", "dW")
