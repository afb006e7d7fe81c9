"""The hidden fixture seed: a staff secret, kept in its own file that no package ships.

The hidden seed draws every hidden input array, so whoever knows it (and the case
list, which the public set shows) can rebuild the hidden set. config.toml ships with
every package, so it holds only the public seed and names the hidden seed's file
(`[fixtures] hidden_seed_file`, relative to config.toml's folder; by default
`secrets/hidden_seed`). That file is written mode 0600 in a 0700 folder that ignores
itself in git; packaging refuses it and any file that spells the seed
(autograder.staff.packaging.refuse_secrets). A fixture set's manifest records only
`seed_digest(seed)`, enough to tell a stale set, not to recover a 128-bit seed.

A default seed is drawn at random (`draw_hidden_seed`, 128 bits). `check_hidden_seed`
refuses seeds below MIN_HIDDEN_SEED: numpy's default_rng takes ~7 us to seed and draw
a first array, so every 32-bit seed can be tried in ~8 CPU-hours against one hidden
input (a submission's code receives them when it is graded, and can print them).
"""

import hashlib
import os
import secrets
from pathlib import Path

from autograder.errors import ConfigError

SEED_BITS = 128
MIN_HIDDEN_SEED = 2**64
NEW_SEED_COMMAND = "make fixtures NEW_SEED=1"


class SeedError(ConfigError):
    """The hidden seed is missing, malformed or too easy to guess; the message says what to run."""


def draw_hidden_seed():
    """A fresh random seed in [MIN_HIDDEN_SEED, 2**SEED_BITS)."""
    return MIN_HIDDEN_SEED + secrets.randbelow(2**SEED_BITS - MIN_HIDDEN_SEED)


def seed_digest(seed):
    """What a manifest records of its seed: a salted sha256, which tells a stale set without
    giving a 128-bit seed away."""
    return hashlib.sha256(f"convkit fixture seed {int(seed)}".encode()).hexdigest()


def check_hidden_seed(seed, public_seed):
    """Raises SeedError unless `seed` can serve as a hidden seed: not the public one, not guessable."""
    if seed == public_seed:
        raise SeedError(f"{seed} is the public seed, which students have: run `{NEW_SEED_COMMAND}` "
                        "to draw a hidden one")
    if seed < MIN_HIDDEN_SEED:
        raise SeedError(f"a hidden seed below 2**64 can be found by trying every seed against the public "
                        f"fixtures' recipe: run `{NEW_SEED_COMMAND}` to draw a random 128-bit one")


def read_hidden_seed(path):
    """The seed stored in `path` (one decimal integer), or None when the file is absent."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"cannot read the hidden seed file {path}: {exc}") from None
    if not (text.isascii() and text.isdigit()):       # '²' is a digit to isdigit(), not to int()
        raise SeedError(f"{path} should hold one whole number, the hidden seed: restore it from the staff's "
                        f"copy, or run `{NEW_SEED_COMMAND}` to draw a new one (the hidden set changes)")
    return int(text)


def store_hidden_seed(path, seed):
    """Writes `seed` into `path` (mode 0600, its folder 0700 and ignored by git), replacing
    it whole: a reader sees the old seed or the new one, never half a file."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)                # also when the folder was already there
    ignore = path.parent / ".gitignore"         # a lab folder copied into another repo stays safe
    if not ignore.exists():
        ignore.write_text("# staff secrets: never commit, never ship\n*\n", encoding="utf-8")
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{int(seed)}\n")
    os.replace(tmp, path)
    return path
