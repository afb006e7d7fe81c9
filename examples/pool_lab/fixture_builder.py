"""The pooling-and-loss lab's fixture sets, from its reference (staff machines only).

Each expected answer is checked against an independent computation (loops, logaddexp)
before it is written; the answers of the typical bugs the lab names (BUG_VARIANTS) are
stored beside it."""

import math

import numpy as np

from autograder.fixtures import write_fixture_set
from examples.pool_lab.reference.pool import MaxPool2d, softmax_cross_entropy

SOFTMAX = [(1, 3, 0), (4, 5, 0), (8, 10, 0), (16, 7, 0), (4, 5, 1000), (8, 10, 1000)]    # (N, K, shift)
PUBLIC_SOFTMAX = {(1, 3, 0), (4, 5, 0)}
POOL = [(1, 1, 4, 4, 2), (2, 3, 6, 6, 2), (2, 2, 7, 5, 2), (3, 2, 9, 9, 3)]              # (N, C, H, W, k)
PUBLIC_POOL = {(1, 1, 4, 4, 2), (2, 3, 6, 6, 2)}
AGREE = {"float64": 1e-12, "float32": 1e-5}      # reference vs. the independent computation, relative


def oracle_softmax(logits, labels):
    """(loss, dlogits) in float64 from plain loops, log-sum-exp by logaddexp."""
    logits = logits.astype(np.float64)
    N, K = logits.shape
    losses, dlogits = [], np.zeros((N, K))
    for n in range(N):
        lse = np.logaddexp.reduce(logits[n])
        losses.append(lse - logits[n, labels[n]])
        for j in range(K):
            dlogits[n, j] = (math.exp(logits[n, j] - lse) - (j == labels[n])) / N
    return sum(losses) / N, dlogits


def oracle_pool(x, dY, k):
    """(y, dX) from loops over windows (first max of a window on a tie, as argmax)."""
    N, C, H, W = x.shape
    H_out, W_out = H // k, W // k
    y, dX = np.zeros((N, C, H_out, W_out)), np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * k:i * k + k, j * k:j * k + k]
                    a, b = divmod(int(window.argmax()), k)
                    y[n, c, i, j] = window[a, b]
                    dX[n, c, i * k + a, j * k + b] = dY[n, c, i, j]
    return y, dX


def agree(got, want, dtype, what):
    scale = max(1.0, float(np.max(np.abs(want))))
    if not np.allclose(got, want, rtol=AGREE[dtype], atol=AGREE[dtype] * scale):
        raise AssertionError(f"the reference's {what} disagrees with the independent computation")


def softmax_case(rng, N, K, shift, dtype):
    logits = (3 * rng.standard_normal((N, K)) + shift).astype(dtype)
    labels = rng.integers(0, K, size=N).astype(np.int64)
    loss, dlogits = softmax_cross_entropy(logits, labels)
    want_loss, want_dlogits = oracle_softmax(logits, labels)
    agree(np.array(loss), np.array(want_loss), dtype, "loss")
    agree(dlogits, want_dlogits, dtype, "dlogits")
    loss = np.array(want_loss)                     # the float64 answer: a float32 input's loss is a number
    dlogits = want_dlogits.astype(dtype)
    return {"logits": logits, "labels": labels, "loss": loss, "dlogits": dlogits,
            "variant_loss_sum": loss * N, "variant_dlogits_sum": dlogits * N}


def max_places(x, k):
    """Where each k x k window of x has its (first) max: a boolean array of x's shape."""
    return oracle_pool(x, np.ones((*x.shape[:2], x.shape[2] // k, x.shape[3] // k)), k)[1] != 0


def exposing_eval_input(rng, x, k):
    """An evaluation input with some window's max elsewhere than in x, so a forward that stores its mask
    whatever `train` says fails every case, whatever the seed (drawn again until so: a 4 x 4 input
    with k = 2 has its 4 maxima in the same places 1 time in 256)."""
    while True:
        x_eval = rng.standard_normal(x.shape).astype(x.dtype)
        if not np.array_equal(max_places(x_eval, k), max_places(x, k)):
            return x_eval


def pool_case(rng, N, C, H, W, k, dtype):
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    x_eval = exposing_eval_input(rng, x, k)
    dY = rng.standard_normal((N, C, H // k, W // k)).astype(dtype)
    layer = MaxPool2d(k)
    y = layer.forward(x, train=True)
    dX = layer.backward(dY)
    y_eval = layer.forward(x_eval, train=False)
    want_y, want_dX = oracle_pool(x, dY, k)
    agree(y, want_y, dtype, "forward")
    agree(dX, want_dX, dtype, "backward")
    agree(y_eval, oracle_pool(x_eval, dY, k)[0], dtype, "evaluation forward")
    agree(layer.backward(dY), want_dX, dtype, "backward after an evaluation forward")
    spread = np.zeros_like(dX)                     # dY copied to every place of its window
    spread[:, :, :H // k * k, :W // k * k] = dY.repeat(k, axis=2).repeat(k, axis=3)
    eval_cached = oracle_pool(x_eval, dY, k)[1].astype(dtype)     # backward through x_eval's max positions
    return {"x": x, "x_eval": x_eval, "dY": dY, "y": y, "dX": dX, "y_eval": y_eval,
            "variant_dX_spread": spread, "variant_dX_eval_cached": eval_cached}


def build_fixture_set(folder, seed, lab, public=False):
    """Writes the hidden (or public) set of `lab` (autograder.lab_loader.Lab) into folder; returns its manifest."""
    rng = np.random.default_rng(seed)
    cases = []
    for dtype in ("float64", "float32"):
        for N, K, shift in SOFTMAX:
            if public and (N, K, shift) not in PUBLIC_SOFTMAX:
                continue
            params = dict(N=N, K=K, shift=shift, dtype=dtype)
            cases.append((f"softmax_N{N}_K{K}_shift{shift}_{dtype}", "softmax", params,
                          lab.checks_for("softmax", params), softmax_case(rng, N, K, shift, dtype)))
        for N, C, H, W, k in POOL:
            if public and (N, C, H, W, k) not in PUBLIC_POOL:
                continue
            params = dict(N=N, C=C, H=H, W=W, k=k, dtype=dtype)
            cases.append((f"pool_N{N}_C{C}_{H}x{W}_k{k}_{dtype}", "pool", params,
                          lab.checks_for("pool", params), pool_case(rng, N, C, H, W, k, dtype)))
    return write_fixture_set(folder, seed, cases, public, lab.config.fixtures.builder_version)
