"""This lab for the engine: what a conv2d.py defines, how its cases and likely bugs are worded,
and the typed `[parameters]` table of config.toml (docs/new-lab.md describes each name)."""

from dataclasses import dataclass

from assignment.adapter import Adapter  # noqa: F401  (the engine reads interface.Adapter)
from autograder.error_map import Layout, coverage
from autograder.lab_loader import Contract

CONTRACT = Contract(functions=("col2im",), classes=("Conv2d",),
                    methods={"Conv2d": ("forward", "backward", "zero_grad")},
                    attributes={"Conv2d": ("weight", "grad_weight")})
STUDENT_PARTS = ("col2im", "Conv2d.backward")          # what students write; the rest is given


@dataclass(frozen=True)
class FiniteDifference:
    """Central differences of the student's own forward (float64 cases only)."""
    eps: float
    rtol: float


@dataclass(frozen=True)
class Training:
    """Filter learning: Conv2d(1, 1, 3, padding=1), N=16 random 1x8x8 images, MSE."""
    kernels: tuple[str, ...]
    epochs: int
    lr: float
    max_kernel_error: float


@dataclass(frozen=True)
class Parameters:
    finite_difference: FiniteDifference
    training: Training


# Answers of typical bugs stored in the fixtures ("variant_<name>") -> (what the student did, the
# check whose property that bug breaks: the one that fails for it; the others it reaches are blocked).
BUG_VARIANTS = {
    "overwrite": ("overlapping windows were overwritten instead of summed (add each patch with +=)",
                  "col2im_overlap_sum"),
    "channel_last": ("each column was read as (kH, kW, C) instead of (C, kH, kW)", "col2im_channel_order"),
    "ignore_stride": ("windows were placed one pixel apart instead of `stride` pixels apart", "col2im_adjoint"),
    "dW_first_image": ("dW used only the first image of the batch: sum over all N images", "batch_sum"),
    "dX_first_image_for_all": ("every image's dX was computed from the first image's dY", "batch_sum"),
    "dX_flipped_kernel": ("dX used a rotated (flipped) kernel: the layer is a cross-correlation, use W_col.T "
                          "as it is", "backward_dx_values"),
}


def windows_overlap(H, W, kH, kW, s):
    """Whether some pixel lies in two windows: a step smaller than the kernel along an axis with
    more than one window (a kernel as large as the image has one window, so no overlap)."""
    H_out, W_out = (H - kH) // s + 1, (W - kW) // s + 1
    return (H_out > 1 and s < kH) or (W_out > 1 and s < kW)


def is_layer(case, mixed_dtypes=False):
    """A layer case; one with float64 weights and float32 x, dY only when mixed_dtypes (such a case
    grades what it is for, dX's dtype: its dW is only as precise as float32)."""
    return case.kind == "layer" and (mixed_dtypes or "weight_dtype" not in case.params)


def layer_shape(case):
    """(N, C_in, C_out, H, W, (kH, kW), stride, padding) of a layer case, as the builder lists shapes."""
    p = case.params
    return (p["N"], p["C_in"], p["C_out"], p["H"], p["W"], tuple(p["kernel_size"]), p["stride"], p["padding"])


def describe_case(case):
    """Shapes and settings in the handout's symbols, for feedback."""
    p = case.params
    if case.kind == "col2im":
        return (f"C={p['C']} H={p['H']} W={p['W']} kH={p['kH']} kW={p['kW']} "
                f"stride={p['stride']} {p['dtype']}")
    if case.kind == "layer":
        kH, kW = p["kernel_size"]
        return (f"N={p['N']} C_in={p['C_in']} C_out={p['C_out']} H={p['H']} W={p['W']} "
                f"kH={kH} kW={kW} stride={p['stride']} padding={p['padding']} {p['dtype']}")
    return f"learn the {p['kernel']} kernel ({p['dtype']})"


def _fixture_name(case, expected):
    """Which of the case's answers `expected` is ('expected', 'dX', 'dW', 'y'), by identity: a
    case loads each array once, and y and dX can have the same shape."""
    for name in ("expected", "dX", "dW", "y"):
        if name in getattr(case, "arrays", ()) and case.array(name) is expected:
            return name
    return None


# What each pattern of wrong positions (autograder.error_map.PATTERNS) means in this lab.
READINGS = {
    "batch": "the batch loop (image n must use its own data, dY[n] and X_cols[n])",
    "shift": "the crop (dX is dX_pad[:, p:p + H, p:p + W], for every p)",
    "uncovered": "they must stay 0: the stride (windows start at multiples of the stride, and nothing is "
                 "written between or after them)",
    "border": "the crop",
    "overlaps": "overlaps must be summed (+=), not overwritten",
    "period": "the stride (window k starts at k * stride)",
}


def error_layout(case, expected):
    """How feedback draws the array compared with `expected` on `case` (autograder.error_map)."""
    p = getattr(case, "params", {}) or {}
    name = _fixture_name(case, expected)
    if name == "expected" and case.kind == "col2im":                     # (C, H, W)
        return Layout("channel", coverage(p["H"], p["W"], p["kH"], p["kW"], p["stride"]), meanings=READINGS)
    if name == "dX":                                                    # (N, C_in, H, W): padded grid, cropped
        (kH, kW), pad, s = p["kernel_size"], p["padding"], p["stride"]
        count = coverage(p["H"] + 2 * pad, p["W"] + 2 * pad, kH, kW, s)
        return Layout("image", count[pad:pad + p["H"], pad:pad + p["W"]], batch=True, padding=pad,
                      meanings=READINGS)
    if name == "y":                                                     # (N, C_out, H_out, W_out)
        return Layout("image", batch=True, meanings=READINGS)
    if name == "dW":                                                    # (C_out, C_in, kH, kW)
        return Layout("filter")
    return None
