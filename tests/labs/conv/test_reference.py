"""Properties of the reference solution over random shapes, strides, paddings and dtypes."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from helpers import random_layer
from reference.conv2d import Conv2d, col2im, im2col
from reference.oracle import conv2d_backward, conv2d_forward, coverage

DTYPES = [np.float64, np.float32]
# Agreement between two correct computations that only differ in summation order.
AGREE = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}


@st.composite
def image_case(draw):
    """(C, H, W, kH, kW, s, dtype) with the kernel fitting in the image."""
    kH, kW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    H, W = draw(st.integers(kH, kH + 6)), draw(st.integers(kW, kW + 6))
    return draw(st.integers(1, 3)), H, W, kH, kW, draw(st.integers(1, 3)), draw(st.sampled_from(DTYPES))


@st.composite
def layer_case(draw):
    """(N, C_in, C_out, H, W, (kH, kW), s, p, dtype); the kernel may equal the padded image."""
    p = draw(st.integers(0, 2))
    kH, kW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    H = draw(st.integers(max(1, kH - 2 * p), 7))
    W = draw(st.integers(max(1, kW - 2 * p), 7))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3)), H, W,
            (kH, kW), draw(st.integers(1, 3)), p, draw(st.sampled_from(DTYPES)))


@given(image_case(), st.integers(0, 2**32 - 1))
def test_col2im_is_adjoint_of_im2col(case, seed):
    C, H, W, kH, kW, s, dtype = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((C, H, W)).astype(dtype)
    cols = im2col(x, kH, kW, s)
    Y = rng.standard_normal(cols.shape).astype(dtype)
    folded = col2im(Y, C, H, W, kH, kW, s)
    assert folded.shape == (C, H, W) and folded.dtype == dtype
    lhs = np.sum(cols.astype(np.float64) * Y)
    rhs = np.sum(x.astype(np.float64) * folded)
    np.testing.assert_allclose(lhs, rhs, **AGREE[dtype])


@given(image_case(), st.integers(0, 2**32 - 1))
def test_col2im_of_im2col_is_x_times_coverage(case, seed):
    C, H, W, kH, kW, s, dtype = case
    x = np.random.default_rng(seed).standard_normal((C, H, W)).astype(dtype)
    folded = col2im(im2col(x, kH, kW, s), C, H, W, kH, kW, s)
    np.testing.assert_allclose(folded, x * coverage(H, W, kH, kW, s), **AGREE[dtype])


@given(layer_case(), st.integers(0, 2**32 - 1))
def test_forward_and_backward_equal_direct_convolution(case, seed):
    layer, x, y, dY = random_layer(case, seed)
    s, p, dtype = case[6], case[7], case[8]
    assert y.dtype == dtype
    np.testing.assert_allclose(y, conv2d_forward(x, layer.weight, s, p), **AGREE[dtype])
    dX = layer.backward(dY)
    dX_oracle, dW_oracle = conv2d_backward(x, layer.weight, dY, s, p)
    assert dX.shape == x.shape and dX.dtype == dtype
    np.testing.assert_allclose(dX, dX_oracle, **AGREE[dtype])
    np.testing.assert_allclose(layer.grad_weight, dW_oracle, **AGREE[dtype])


@given(layer_case(), st.integers(0, 2**32 - 1))
def test_backward_equals_central_differences(case, seed):
    case = case[:-1] + (np.float64,)
    layer, x, _, dY = random_layer(case, seed)
    dX = layer.backward(dY)
    dW = layer.grad_weight.copy()
    rng = np.random.default_rng(seed + 1)
    loss = lambda: np.sum(dY * layer.forward(x))
    eps = 1e-3          # the loss is linear in x and in W: eps only trades rounding
    for grad, param in ((dX, x), (dW, layer.weight)):
        for _ in range(3):
            v = rng.standard_normal(param.shape)
            param += eps * v
            plus = loss()
            param -= 2 * eps * v
            minus = loss()
            param += eps * v
            np.testing.assert_allclose((plus - minus) / (2 * eps), np.sum(grad * v), rtol=1e-7, atol=1e-9)


@given(layer_case(), st.integers(0, 2**32 - 1))
def test_two_backward_calls_accumulate_and_inputs_stay_unchanged(case, seed):
    layer, x, _, dY = random_layer(case, seed)
    x_before, dY_before, cols_before = x.copy(), dY.copy(), layer.X_cols.copy()
    dX1 = layer.backward(dY)
    once = layer.grad_weight.copy()
    dX2 = layer.backward(dY)
    np.testing.assert_allclose(layer.grad_weight, 2 * once, **AGREE[case[-1]])
    np.testing.assert_array_equal(dX1, dX2)
    np.testing.assert_array_equal(dY, dY_before)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(layer.X_cols, cols_before)
    layer.zero_grad()
    assert not layer.grad_weight.any()


@given(layer_case(), st.integers(0, 2**32 - 1))
def test_reference_equals_lecture_loop_formulation(lecture_loops, case, seed):
    layer, x, y, dY = random_layer(case, seed)
    loops = lecture_loops.Conv2d(case[1], case[2], case[5], stride=case[6], padding=case[7])
    loops.weight = layer.weight.copy()
    loops.grad_weight = np.zeros_like(loops.weight)
    tol = AGREE[case[-1]]
    np.testing.assert_allclose(loops.forward(x), y, **tol)
    np.testing.assert_allclose(loops.backward(dY), layer.backward(dY), **tol)
    np.testing.assert_allclose(loops.grad_weight, layer.grad_weight, **tol)


@given(image_case(), st.integers(0, 2**32 - 1))
def test_template_given_im2col_agrees_with_reference(template, case, seed):
    C, H, W, kH, kW, s, dtype = case
    x = np.random.default_rng(seed).standard_normal((C, H, W)).astype(dtype)
    np.testing.assert_array_equal(template.im2col(x, kH, kW, s), im2col(x, kH, kW, s))


@given(layer_case(), st.integers(0, 2**32 - 1))
def test_template_given_forward_agrees_with_reference(template, case, seed):
    layer, x, y, _ = random_layer(case, seed)
    given_layer = template.Conv2d(case[1], case[2], case[5], stride=case[6], padding=case[7])
    given_layer.weight = layer.weight.copy()
    out = given_layer.forward(x)
    assert out.dtype == y.dtype
    np.testing.assert_allclose(out, y, **AGREE[case[-1]])


def test_kernel_as_large_as_padded_image_and_one_by_k_kernels():
    for case in [(2, 2, 3, 3, 4, (5, 6), 1, 1, np.float64), (1, 1, 2, 1, 6, (1, 4), 2, 0, np.float64),
                 (3, 2, 2, 5, 5, (1, 1), 3, 2, np.float32)]:
        layer, x, y, dY = random_layer(case)
        s, p, dtype = case[6], case[7], case[8]
        np.testing.assert_allclose(y, conv2d_forward(x, layer.weight, s, p), **AGREE[dtype])
        dX_oracle, dW_oracle = conv2d_backward(x, layer.weight, dY, s, p)
        np.testing.assert_allclose(layer.backward(dY), dX_oracle, **AGREE[dtype])
        np.testing.assert_allclose(layer.grad_weight, dW_oracle, **AGREE[dtype])


def test_kernel_larger_than_padded_image_is_a_clear_error():
    with pytest.raises(ValueError, match="larger than the"):
        Conv2d(1, 1, 5, padding=0).forward(np.zeros((1, 1, 4, 4)))


@given(layer_case(), st.integers(0, 2**32 - 1))
def test_blocked_paths_equal_the_oracle_with_tiny_blocks(case, seed):
    """The reference folds a block of channels / images at a time; fixtures are too small to
    need more than one block, so force one channel and one image per block here."""
    import reference.conv2d as ref
    saved = ref.COL2IM_BLOCK_BYTES, ref.BACKWARD_BLOCK_BYTES
    ref.COL2IM_BLOCK_BYTES = ref.BACKWARD_BLOCK_BYTES = 1
    try:
        layer, x, _, dY = random_layer(case, seed)
        dX = layer.backward(dY)
    finally:
        ref.COL2IM_BLOCK_BYTES, ref.BACKWARD_BLOCK_BYTES = saved
    s, p, dtype = case[6], case[7], case[8]
    dX_oracle, dW_oracle = conv2d_backward(x, layer.weight, dY, s, p)
    np.testing.assert_allclose(dX, dX_oracle, **AGREE[dtype])
    np.testing.assert_allclose(layer.grad_weight, dW_oracle, **AGREE[dtype])
