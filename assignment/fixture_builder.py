"""Building a fixture set from the reference solution (staff machines only).

    python -m autograder fixtures [--seed N] [--public]

The case list below is fixed and covers what the checks need (square and
rectangular kernels 1x1, 1x3, 3x2, kernel = padded image; non-square images;
stride 1-3 with uneven coverage; padding 0-2; C_in, C_out 1-4; batch 1-4;
float64 and float32, and a float32 input with float64 weights), and in the hidden set a few
realistic sizes (REALISTIC_*: N=32 batches, col2im over several blocks). The seed draws every array. Same seed and numpy version,
byte-identical files. Every expected answer from the reference is checked
against the independent oracle before it is written.

Each case also stores the answers of a few typical bugs ("variants") so that a
failing check can name the likely bug in a student's words.
"""

import numpy as np

from assignment.interface import layer_shape, windows_overlap  # noqa: F401  (tests read windows_overlap here too)
from autograder.fixtures import write_fixture_set
from reference.conv2d import Conv2d, col2im, im2col
from reference.oracle import conv2d_backward, conv2d_forward
from reference.training import KERNELS, filter_problem

DTYPES = ("float64", "float32")

# (C, H, W, kH, kW, stride). Which checks grade a case, each check declares beside itself
# (@check(name, cases=...) in checks/); cases.json records that choice.
COL2IM_SHAPES = [
    (1, 5, 5, 3, 3, 1), (1, 6, 7, 2, 3, 1), (2, 6, 5, 3, 2, 1), (3, 7, 7, 3, 3, 2),
    (1, 8, 8, 3, 3, 2), (2, 9, 7, 2, 2, 3), (4, 6, 6, 1, 1, 1), (2, 5, 7, 1, 3, 1),
    (1, 4, 4, 4, 4, 1), (3, 8, 6, 3, 2, 3),
]
# (N, C_in, C_out, H, W, (kH, kW), stride, padding)
LAYER_SHAPES = [
    (2, 1, 1, 5, 5, (3, 3), 1, 1), (3, 2, 3, 6, 5, (3, 2), 1, 0), (2, 3, 2, 7, 7, (3, 3), 2, 1),
    (4, 2, 4, 8, 6, (2, 3), 3, 2), (1, 4, 2, 5, 6, (1, 3), 1, 1), (2, 2, 1, 4, 3, (6, 5), 1, 1),
    (3, 1, 2, 6, 6, (1, 1), 2, 0), (2, 3, 3, 9, 8, (3, 3), 2, 2), (4, 2, 2, 6, 7, (3, 2), 1, 2),
    (1, 2, 3, 6, 6, (3, 3), 1, 0),
]
# Students see a few shapes in the public set; the hidden set has them all. The public layer shapes
# expose every bug class on some case (padding 0, 1 and 2; stride 2 and an uneven stride 3; square and
# rectangular kernels; batches of 2-4; accumulation; float64, float32 and mixed dtypes), so the public
# checks warn about every catalogued bug before the hidden ones count (tests/labs/conv/test_public_checks.py).
PUBLIC_COL2IM = [0, 2, 4]
PUBLIC_LAYER = [0, 1, 2, 3]
# Layer shapes also built with a float32 input and dY but float64 weights: W_col.T @ dY_col is then
# float64, and only a dX cast back to dY's dtype passes (the handout's dtype pitfall).
MIXED_DTYPE_LAYER = [2]

# Realistic sizes, hidden set only (issue 15). The small shapes above run a blocked solution's loops
# (the reference folds a few channels / images at a time, bench/KERNELS_NOTES.md) as one block, so
# chunking, per-block bookkeeping and index arithmetic that is right only on tiny arrays would pass.
# These run many blocks at the reference's default sizes: a small CNN layer's batch (N=32, C_in=16,
# 32x32) at stride 2 (float64: one image's dX columns are more than backward's 256 KiB block) for
# dX and dW values, the stride and the batch sum; 8x8 images at stride 1 (float32), several images
# per block with a shorter last block; col2im with several
# channel blocks (the last one shorter), and an image of more than the 256 KiB block (so one channel
# per block). Strided where the size allows: a loop-based solution's cost grows with the number of
# windows, and the grading budget is 300 submissions a minute (bench/BATCH_NOTES.md).
# tools/MUTANTS.md lists the mutants only these cases kill. Stored without finite-difference
# directions or dX-sized bug answers, to keep the set small.
REALISTIC_LAYER_SHAPES = [(32, 16, 8, 32, 32, (3, 3), 2, 1), (32, 16, 8, 8, 8, (3, 3), 1, 1)]
REALISTIC_LAYER_DTYPES = [("float64",), ("float32",)]   # one dtype each: the grading budget
REALISTIC_COL2IM_SHAPES = [(16, 48, 48, 3, 3, 1), (2, 160, 210, 3, 2, 2)]
REALISTIC_ARRAYS_DROPPED = ("fd_dirs_x", "fd_dirs_w", "variant_dX_first_image_for_all", "variant_dX_flipped_kernel")


def is_realistic(case):
    """Whether a case (kind, params) has one of the REALISTIC_* shapes."""
    p = case.params
    if case.kind == "col2im":
        return (p["C"], p["H"], p["W"], p["kH"], p["kW"], p["stride"]) in REALISTIC_COL2IM_SHAPES
    return case.kind == "layer" and layer_shape(case) in REALISTIC_LAYER_SHAPES


def col2im_variants(Y, C, H, W, kH, kW, s):
    """Answers of typical col2im bugs, for naming the likely bug."""
    variants = {}
    H_out, W_out = (H - kH) // s + 1, (W - kW) // s + 1
    if windows_overlap(H, W, kH, kW, s):
        over = np.zeros((C, H, W), Y.dtype)
        for col, (i, j) in enumerate(np.ndindex(H_out, W_out)):
            over[:, i * s:i * s + kH, j * s:j * s + kW] = Y[:, col].reshape(C, kH, kW)
        variants["overwrite"] = over
    if C > 1:
        last = np.zeros((C, H, W), Y.dtype)
        for col, (i, j) in enumerate(np.ndindex(H_out, W_out)):
            last[:, i * s:i * s + kH, j * s:j * s + kW] += Y[:, col].reshape(kH, kW, C).transpose(2, 0, 1)
        variants["channel_last"] = last
    if s > 1:
        ignore = np.zeros((C, H, W), Y.dtype)
        for col, (i, j) in enumerate(np.ndindex(H_out, W_out)):
            ignore[:, i:i + kH, j:j + kW] += Y[:, col].reshape(C, kH, kW)
        variants["ignore_stride"] = ignore
    return variants


def layer_variants(x, weight, dY, s, p):
    """Answers of typical backward bugs, for naming the likely bug."""
    N = x.shape[0]
    variants = {}
    if N > 1:
        _, dW_first = conv2d_backward(x[:1], weight, dY[:1], s, p)
        variants["dW_first_image"] = dW_first
        dX0, _ = conv2d_backward(x[:1], weight, dY[:1], s, p)
        variants["dX_first_image_for_all"] = np.repeat(dX0, N, axis=0)
    dX_flip, _ = conv2d_backward(x, weight[:, :, ::-1, ::-1], dY, s, p)
    variants["dX_flipped_kernel"] = dX_flip
    return variants


def oracle_col2im(Y, C, H, W, kH, kW, s):
    """col2im by the oracle's definition, in float64: the adjoint of a direct convolution whose
    C*kH*kW filters each pick one entry of a window (so its output is im2col)."""
    one_hot = np.eye(C * kH * kW, dtype=np.float64).reshape(C * kH * kW, C, kH, kW)
    H_out, W_out = (H - kH) // s + 1, (W - kW) // s + 1
    dX, _ = conv2d_backward(np.zeros((1, C, H, W)), one_hot,
                            np.asarray(Y, np.float64).reshape(1, -1, H_out, W_out), s, 0)
    return dX[0]


def _close(a, b, dtype):
    """Reference against oracle. The absolute part scales with the array's largest value, as the
    grader's tolerance does: an entry near zero is a sum whose terms cancel, and its rounding
    error follows the terms' size, not its own (float32 cases failed on such entries)."""
    rtol, atol = (1e-10, 1e-12) if dtype == "float64" else (1e-5, 1e-6)
    scale = max(1.0, float(np.max(np.abs(b)))) if np.size(b) else 1.0
    return np.allclose(a, b, rtol=rtol, atol=atol * scale)


def build_col2im_cases(rng, shapes, checks_for, dtypes=DTYPES):
    for C, H, W, kH, kW, s in shapes:
        for dtype in dtypes:
            x = rng.standard_normal((C, H, W)).astype(dtype)
            cols_shape = im2col(x, kH, kW, s).shape
            Y = rng.standard_normal(cols_shape).astype(dtype)
            expected = col2im(Y, C, H, W, kH, kW, s)
            assert _close(expected, oracle_col2im(Y, C, H, W, kH, kW, s), dtype), \
                f"reference col2im disagrees with the oracle at {C, H, W, kH, kW, s}"
            arrays = {"Y": Y, "x": x, "expected": expected,
                      "adjoint_lhs": np.array(np.sum(im2col(x, kH, kW, s).astype(np.float64) * Y))}
            arrays.update({f"variant_{k}": v for k, v in col2im_variants(Y, C, H, W, kH, kW, s).items()})
            params = dict(C=C, H=H, W=W, kH=kH, kW=kW, stride=s, dtype=dtype)
            yield f"col2im_C{C}_{H}x{W}_k{kH}x{kW}_s{s}_{dtype}", "col2im", params, \
                checks_for("col2im", params), arrays


def build_layer_cases(rng, shapes, checks_for, dtypes=DTYPES, weight_dtype=None):
    """Layer cases in each of `dtypes` (x, dY); the weights in `weight_dtype` if given, else the same."""
    for N, C_in, C_out, H, W, k, s, p in shapes:
        for dtype in dtypes:
            weight = rng.standard_normal((C_out, C_in) + k).astype(weight_dtype or dtype)
            x = rng.standard_normal((N, C_in, H, W)).astype(dtype)
            layer = Conv2d(C_in, C_out, k, stride=s, padding=p)
            layer.weight = weight.copy()
            layer.zero_grad()
            y = layer.forward(x)
            dY = rng.standard_normal(y.shape).astype(dtype)
            grad0 = rng.standard_normal(weight.shape).astype(weight.dtype)
            dX = layer.backward(dY)
            dW = layer.grad_weight
            y_o = conv2d_forward(x, weight, s, p)
            dX_o, dW_o = conv2d_backward(x, weight, dY, s, p)
            assert _close(y, y_o, dtype) and _close(dX, dX_o, dtype) and _close(dW, dW_o, dtype), \
                f"reference Conv2d disagrees with the oracle at {N, C_in, C_out, H, W, k, s, p}"
            arrays = {"weight": weight, "x": x, "dY": dY, "y": y, "dX": dX, "dW": dW, "grad0": grad0,
                      "fd_dirs_x": rng.standard_normal((2,) + x.shape),
                      "fd_dirs_w": rng.standard_normal((2,) + weight.shape)}
            arrays.update({f"variant_{k_}": v.astype(dtype)
                           for k_, v in layer_variants(x, weight, dY, s, p).items()})
            params = dict(N=N, C_in=C_in, C_out=C_out, H=H, W=W, kernel_size=list(k),
                          stride=s, padding=p, dtype=dtype)
            kH, kW = k
            case_id = f"layer_N{N}_Cin{C_in}_Cout{C_out}_{H}x{W}_k{kH}x{kW}_s{s}_p{p}_{dtype}"
            if weight_dtype and weight_dtype != dtype:
                # dW is then only as precise as dtype: the checks grade what this case is for, dX's dtype.
                params["weight_dtype"] = weight_dtype
                case_id += f"_weights_{weight_dtype}"
            checks = checks_for("layer", params)
            if "finite_difference_dx" in checks:
                # forward is linear in x and in the weights, so forward(x + eps v) = y + eps forward(v):
                # what a finite-difference check needs to know that the forward it differentiates
                # is still the given one, for any eps.
                x64, w64 = x.astype(np.float64), weight.astype(np.float64)
                arrays["fd_forward_dirs_x"] = np.stack([conv2d_forward(v, w64, s, p) for v in arrays["fd_dirs_x"]])
                arrays["fd_forward_dirs_w"] = np.stack([conv2d_forward(x64, v, s, p) for v in arrays["fd_dirs_w"]])
            yield case_id, "layer", params, checks, arrays


def build_realistic_cases(rng, checks_for):
    """The REALISTIC_* cases (float64 col2im; layers in REALISTIC_LAYER_DTYPES), checked against the
    oracle like every case; their shapes are in none of the checks' lists of shapes for finite
    differences or accumulation (the small cases cover those)."""
    yield from build_col2im_cases(rng, REALISTIC_COL2IM_SHAPES, checks_for, dtypes=("float64",))
    for shape, dtypes in zip(REALISTIC_LAYER_SHAPES, REALISTIC_LAYER_DTYPES):
        for case_id, kind, params, checks, arrays in build_layer_cases(rng, [shape], checks_for, dtypes=dtypes):
            yield case_id, kind, params, checks, {k: v for k, v in arrays.items()
                                                  if k not in REALISTIC_ARRAYS_DROPPED}


def build_training_cases(seed, kernels, checks_for):
    for name in kernels:
        x, target, w0 = filter_problem(KERNELS[name], seed=seed)
        arrays = {"x": x, "target": target, "w0": w0, "kernel": KERNELS[name]}
        params = dict(kernel=name, dtype="float64")
        yield f"train_{name}", "training", params, checks_for("training", params), arrays


def build_fixture_set(folder, seed, lab, public=False):
    """Writes a complete fixture set of `lab` (autograder.lab_loader.Lab) into `folder` (replacing it);
    returns its manifest."""
    kernels = lab.parameters.training.kernels
    checks_for = lab.checks_for
    rng = np.random.default_rng(seed)
    col_shapes = [COL2IM_SHAPES[i] for i in PUBLIC_COL2IM] if public else COL2IM_SHAPES
    layer_shapes = [LAYER_SHAPES[i] for i in PUBLIC_LAYER] if public else LAYER_SHAPES
    generated = [*build_col2im_cases(rng, col_shapes, checks_for),
                 *build_layer_cases(rng, layer_shapes, checks_for),
                 *build_layer_cases(rng, [LAYER_SHAPES[i] for i in MIXED_DTYPE_LAYER], checks_for,
                                    dtypes=("float32",), weight_dtype="float64"),
                 *build_training_cases(seed, kernels, checks_for),
                 *([] if public else build_realistic_cases(rng, checks_for))]    # last: the cases above keep their arrays
    return write_fixture_set(folder, seed, generated, public, lab.config.fixtures.builder_version)
