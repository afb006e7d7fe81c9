"""Self-check for your conv2d.py: properties any correct solution has.

    python3 self_check.py

Needs only numpy. It knows no expected answers: it tests your code against facts
that hold for every input (col2im is the adjoint of im2col; backward agrees with
finite differences of your own forward; gradients accumulate; padding 0 works).
Passing it is a good sign, not a grade: the graded checks are in the handout.
"""

import sys
import traceback

import numpy as np

from conv2d import Conv2d, col2im, im2col

# (C, H, W, kH, kW, stride): square and rectangular kernels, uneven strides.
COL2IM_CASES = [(1, 4, 4, 2, 2, 1), (2, 5, 6, 3, 2, 1), (3, 7, 7, 3, 3, 2), (2, 8, 7, 1, 3, 3)]
# (N, C_in, C_out, H, W, k, stride, padding)
LAYER_CASES = [(2, 1, 1, 5, 5, 3, 1, 0), (2, 2, 3, 6, 5, (3, 2), 1, 1), (3, 2, 2, 7, 7, 3, 2, 2)]


def check_col2im_adjoint():
    """<im2col(x), Y> == <x, col2im(Y)> for random x and Y: overlaps are summed."""
    rng = np.random.default_rng(1)
    for C, H, W, kH, kW, s in COL2IM_CASES:
        x = rng.standard_normal((C, H, W))
        cols = im2col(x, kH, kW, s)
        Y = rng.standard_normal(cols.shape)
        back = col2im(Y, C, H, W, kH, kW, s)
        assert back.shape == (C, H, W), f"col2im returned shape {back.shape}, expected {(C, H, W)}"
        assert back.dtype == Y.dtype, f"col2im returned {back.dtype} for {Y.dtype} columns"
        lhs, rhs = np.sum(cols * Y), np.sum(x * back)
        assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-10), (
            f"C={C} H={H} W={W} k=({kH},{kW}) s={s}: <im2col(x), Y> = {lhs:.6f} but "
            f"<x, col2im(Y)> = {rhs:.6f}; are overlapping windows added, in im2col's order?")


def numerical_gradient(f, a, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of a."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        plus = f()
        a[idx] = old - eps
        minus = f()
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def check_backward_finite_differences():
    """dX and dW agree with central differences of the loss sum(dY * forward(x))."""
    rng = np.random.default_rng(2)
    for N, C_in, C_out, H, W, k, s, p in LAYER_CASES:
        layer = Conv2d(C_in, C_out, k, stride=s, padding=p)
        layer.weight = rng.standard_normal(layer.weight.shape)
        x = rng.standard_normal((N, C_in, H, W))
        dY = rng.standard_normal(layer.forward(x).shape)
        layer.zero_grad()
        layer.forward(x)
        dX = layer.backward(dY.copy())
        case = f"N={N} C_in={C_in} C_out={C_out} H={H} W={W} k={k} s={s} p={p}"
        assert dX.shape == x.shape, f"{case}: dX has shape {dX.shape}, expected {x.shape}"
        loss = lambda: float(np.sum(dY * layer.forward(x)))
        assert np.allclose(dX, numerical_gradient(loss, x), rtol=1e-5, atol=1e-6), (
            f"{case}: dX disagrees with finite differences")
        assert np.allclose(layer.grad_weight, numerical_gradient(loss, layer.weight),
                           rtol=1e-5, atol=1e-6), f"{case}: dW disagrees with finite differences"


def check_accumulation_and_inputs():
    """Two backward calls add up; dY is not modified; float32 stays float32."""
    rng = np.random.default_rng(3)
    layer = Conv2d(2, 2, 3, stride=1, padding=1)
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    layer.weight = layer.weight.astype(np.float32)
    layer.zero_grad()
    dY = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    dY_before = dY.copy()
    dX = layer.backward(dY)
    once = layer.grad_weight.copy()
    layer.backward(dY)
    assert dX.dtype == np.float32, f"dX is {dX.dtype} for a float32 dY"
    assert np.array_equal(dY, dY_before), "backward modified dY in place"
    assert np.allclose(layer.grad_weight, 2 * once, rtol=1e-5), (
        "after two backward calls grad_weight should be twice one call's: ADD to it")


CHECKS = [check_col2im_adjoint, check_backward_finite_differences, check_accumulation_and_inputs]


def main():
    failed = 0
    for check in CHECKS:
        label = check.__doc__.splitlines()[0]       # every line names the check by the same sentence
        try:
            check()
            print(f"PASS  {label}")
        except NotImplementedError as exc:
            failed += 1
            print(f"TODO  {label}\n      {exc}")
        except AssertionError as exc:
            failed += 1
            print(f"FAIL  {label}\n      {exc}")
        except Exception:
            failed += 1
            print(f"ERROR {label}\n      your code raised an exception:")
            traceback.print_exc(limit=-3)
    print(f"\n{len(CHECKS) - failed} of {len(CHECKS)} self-checks passed.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
