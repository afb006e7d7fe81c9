"""The attack on the hidden fixture seed, played as a student would (issue 21).

From the handout alone: every whole number it holds (the public seed, every integer of its
configs, manifests, notebook, code and text) is tried as a seed with the staff's own fixture
builder, which is more than the handout gives (the public set's cases.json shows the
recipe), and no candidate may rebuild a hidden input array; nor may any seed small enough to
try them all. The attack is shown to work when it has the seed (the public set from the
public seed, the hidden set from the staff's), so a pass means the seed is out of reach, not
that the attack is blind. Only interfaces older than the secret seed file are used, so the
same file also runs against a kit from before it (where it fails: hidden_seed = 2027 was in
the handout's config.toml). The staff's side: tests/e2e/test_hidden_seed.py.
"""

import itertools
import re
import zipfile

import numpy as np
import pytest

from assignment import fixture_builder as fb
from autograder.fixtures import fixture_folder
from autograder.staff import packaging
from helpers import CONV_LAB
from reference.training import KERNELS, filter_problem

CONFIG = CONV_LAB.config
BRUTE_FORCE = 2**16                    # every seed below this is tried on the first array drawn


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    """{file name: bytes} of the students' handout.zip, built as `make handout` builds it."""
    path = packaging.build_handout_zip(tmp_path_factory.mktemp("handout") / "handout.zip", CONV_LAB)
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def integers_in(files):
    """Every whole number a student can read in the handout's text files: decimal, 0x-hex, and
    hex runs of 8 digits or more (a seed written as a digest-like string)."""
    found = set()
    for data in files.values():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        found.update(int(d) for d in re.findall(r"\d+", text))
        found.update(int(h, 16) for h in re.findall(r"0[xX]([0-9a-fA-F]+)", text))
        found.update(int(h, 16) for h in re.findall(r"[0-9a-fA-F]{8,}", text))
    return found


def no_checks(kind, params):
    return []


def recipe_inputs(seed):
    """The first input arrays the fixture builder draws from `seed` (its first col2im case, its first
    training problem): enough to recognise the seed of a set."""
    rng = np.random.default_rng(seed)
    (_, _, _, _, arrays), = itertools.islice(fb.build_col2im_cases(rng, fb.COL2IM_SHAPES, no_checks), 1)
    x, target, w0 = filter_problem(KERNELS[CONV_LAB.parameters.training.kernels[0]], seed=seed)
    return [arrays["x"], arrays["Y"], x, target, w0]


def key(array):
    array = np.ascontiguousarray(array)
    return array.dtype.str, array.shape, array.tobytes()


def set_arrays(which):
    """The keys of every array of the built `which` set."""
    return {key(np.load(p, allow_pickle=False)) for p in fixture_folder(which, CONV_LAB.fixtures_root).glob("*.npy")}


def rebuilt(seeds, arrays):
    """The seeds among `seeds` whose recipe draws an array of `arrays`."""
    return sorted(s for s in seeds if s >= 0 and any(key(a) in arrays for a in recipe_inputs(s)))


@pytest.fixture(scope="module")
def hidden_arrays():
    return set_arrays("hidden")


def test_the_attack_rebuilds_a_set_from_its_seed(hidden_arrays):
    """The attack works when it has the seed: the public set from the public seed, the hidden set
    from the staff's secret one."""
    assert rebuilt([CONFIG.public_seed], set_arrays("public")) == [CONFIG.public_seed]
    assert rebuilt([CONFIG.hidden_seed], hidden_arrays) == [CONFIG.hidden_seed]


def test_no_integer_in_the_handout_rebuilds_a_hidden_input(handout, hidden_arrays):
    candidates = integers_in(handout) | {CONFIG.public_seed}
    assert CONFIG.public_seed in candidates and len(candidates) > 100
    assert rebuilt(candidates, hidden_arrays) == [], "the handout gives the hidden seed away"


def test_no_small_seed_rebuilds_the_first_hidden_input(hidden_arrays):
    """Every seed below BRUTE_FORCE, on the first array the builder draws (the cheapest search)."""
    C, H, W, *_ = fb.COL2IM_SHAPES[0]
    first = [s for s in range(BRUTE_FORCE) if key(np.random.default_rng(s).standard_normal((C, H, W))) in hidden_arrays]
    assert first == []
    assert key(np.random.default_rng(CONFIG.hidden_seed).standard_normal((C, H, W))) in hidden_arrays
