"""autograder/seeds.py: drawing a hidden seed out of reach, refusing guessable ones, the digest a
manifest keeps, and the staff-only file (read, written whole, mode 0600 in a 0700 folder git ignores)."""

import hashlib
import os
import stat

import pytest

from autograder.config import ConfigError
from autograder.seeds import (MIN_HIDDEN_SEED, NEW_SEED_COMMAND, SEED_BITS, SeedError, check_hidden_seed,
                              draw_hidden_seed, read_hidden_seed, seed_digest, store_hidden_seed)


def test_drawn_seeds_are_in_range_and_differ():
    seeds = {draw_hidden_seed() for _ in range(50)}
    assert len(seeds) == 50
    assert all(MIN_HIDDEN_SEED <= s < 2**SEED_BITS for s in seeds)
    check_hidden_seed(seeds.pop(), public_seed=7)                  # a drawn seed is always acceptable


def test_the_digest_is_salted_and_tells_seeds_apart():
    seed = 2**70 + 5
    assert seed_digest(seed) == hashlib.sha256(f"convkit fixture seed {seed}".encode()).hexdigest()
    assert seed_digest(seed) != hashlib.sha256(str(seed).encode()).hexdigest()
    assert seed_digest(seed) != seed_digest(seed + 1)
    assert seed_digest(str(seed)) == seed_digest(seed)
    assert str(seed) not in seed_digest(seed)


@pytest.mark.parametrize("seed, words", [(7, "is the public seed"), (2**64 - 1, "below 2**64"), (0, "below 2**64")])
def test_guessable_seeds_are_refused_saying_what_to_run(seed, words):
    with pytest.raises(SeedError) as caught:
        check_hidden_seed(seed, public_seed=7)
    assert words in str(caught.value) and NEW_SEED_COMMAND in str(caught.value)
    assert isinstance(caught.value, ConfigError)


def test_the_public_seed_is_refused_even_when_large():
    with pytest.raises(SeedError, match="public seed"):
        check_hidden_seed(2**80, public_seed=2**80)
    check_hidden_seed(2**64, public_seed=7)


def test_an_absent_file_is_no_seed(tmp_path):
    assert read_hidden_seed(tmp_path / "none") is None


@pytest.mark.parametrize("text, seed", [("123\n", 123), ("  98765432109876543210  \n", 98765432109876543210)])
def test_the_file_holds_one_whole_number(tmp_path, text, seed):
    (tmp_path / "seed").write_text(text)
    assert read_hidden_seed(tmp_path / "seed") == seed


@pytest.mark.parametrize("text", ["", "12 34", "-5", "0x10", "1e30", "seed = 5"])
def test_anything_else_in_the_file_is_an_error_saying_what_to_do(tmp_path, text):
    (tmp_path / "seed").write_text(text)
    with pytest.raises(SeedError, match="should hold one whole number") as caught:
        read_hidden_seed(tmp_path / "seed")
    assert NEW_SEED_COMMAND in str(caught.value)


def test_a_superscript_digit_is_refused_like_any_other_text(tmp_path):
    (tmp_path / "seed").write_text("12\u00b2\n")
    with pytest.raises(SeedError, match="should hold one whole number"):
        read_hidden_seed(tmp_path / "seed")


def test_an_unreadable_file_is_an_error(tmp_path):
    (tmp_path / "seed").write_bytes(b"\xff\xfe12")
    with pytest.raises(SeedError, match="cannot read the hidden seed file"):
        read_hidden_seed(tmp_path / "seed")
    (tmp_path / "folder").mkdir()
    with pytest.raises(SeedError, match="cannot read"):
        read_hidden_seed(tmp_path / "folder")


def test_storing_makes_a_private_folder_that_git_ignores(tmp_path):
    path = tmp_path / "secrets" / "hidden_seed"
    assert store_hidden_seed(path, 2**90) == path
    assert path.read_text() == f"{2**90}\n" and read_hidden_seed(path) == 2**90
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert (path.parent / ".gitignore").read_text().splitlines()[-1] == "*"
    assert sorted(p.name for p in path.parent.iterdir()) == [".gitignore", "hidden_seed"]     # no temp file left


def test_storing_again_replaces_the_seed_and_closes_an_open_folder(tmp_path):
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    (folder / ".gitignore").write_text("# the staff's own\n*\n")
    path = folder / "hidden_seed"
    store_hidden_seed(path, 2**65)
    (folder / "hidden_seed.tmp").write_text("left over from a crash")
    store_hidden_seed(path, 2**66)
    assert read_hidden_seed(path) == 2**66
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / ".gitignore").read_text() == "# the staff's own\n*\n"            # kept
    assert not (folder / "hidden_seed.tmp").exists()
