"""Loading a fixture set: the inputs and expected answers the checks compare with.

A fixture set is a folder holding `cases.json` (every case's parameters, the
checks it serves and the names of its arrays), one `.npy` file per array, and
`manifest.json` (seed, generator and numpy versions, sha256 of every file).
Sets are built from the reference by `autograder.fixture_builder`; this module
only reads them, so the grader can run where the reference is absent (Gradescope).

A set that does not match its manifest, or was built with another seed than the
config asks for, is refused with a message telling the TA what to run.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.config import KIT_ROOT

FIXTURES_ROOT = KIT_ROOT / "build" / "fixtures"
GENERATOR_VERSION = 4           # bump when the case list or the file format changes
MAX_ARRAY_BYTES = 64 * 2**20


class FixtureError(Exception):
    """The fixture set is missing, stale or tampered with; the message says what to run."""


@dataclass(frozen=True)
class Case:
    """One graded situation: parameters, the checks that use it, and its arrays (loaded lazily)."""
    id: str
    kind: str                   # 'col2im' | 'layer' | 'training'
    params: dict
    checks: tuple
    arrays: tuple
    folder: Path = field(repr=False, compare=False)
    _loaded: dict = field(default_factory=dict, repr=False, compare=False)

    def array(self, name):
        """The named array as a plain, read-only ndarray (never unpickled; loaded once)."""
        if name not in self.arrays:
            raise KeyError(f"case {self.id} has no array {name!r}")
        if name not in self._loaded:
            path = self.folder / f"{self.id}__{name}.npy"
            if path.stat().st_size > MAX_ARRAY_BYTES:
                raise FixtureError(f"{path} is larger than {MAX_ARRAY_BYTES} bytes")
            a = np.load(path, allow_pickle=False)
            a.setflags(write=False)          # shared by every check: nobody may change it
            self._loaded[name] = a
        return self._loaded[name]

    def variants(self, prefix=""):
        """(bug name, its answer) for the stored answers of typical bugs ('variant_<name>' arrays)
        whose name starts with `prefix` (e.g. 'dX_', 'dW_')."""
        return [(name[len("variant_"):], self.array(name)) for name in self.arrays
                if name.startswith("variant_" + prefix)]

    def describe(self):
        """Shapes and settings in the handout's symbols, for feedback."""
        p = self.params
        if self.kind == "col2im":
            return (f"C={p['C']} H={p['H']} W={p['W']} kH={p['kH']} kW={p['kW']} "
                    f"stride={p['stride']} {p['dtype']}")
        if self.kind == "layer":
            kH, kW = p["kernel_size"]
            return (f"N={p['N']} C_in={p['C_in']} C_out={p['C_out']} H={p['H']} W={p['W']} "
                    f"kH={kH} kW={kW} stride={p['stride']} padding={p['padding']} {p['dtype']}")
        return f"learn the {p['kernel']} kernel ({p['dtype']})"


@dataclass(frozen=True)
class FixtureSet:
    folder: Path
    manifest: dict
    cases: tuple

    @property
    def set_hash(self):
        return self.manifest["set_hash"]

    def for_check(self, check):
        """The cases a check grades, in file order."""
        return [c for c in self.cases if check in c.checks]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def set_hash(files):
    """One hash for the whole set: over the sorted (file name, sha256) pairs."""
    lines = "".join(f"{name} {digest}\n" for name, digest in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def fixture_folder(which, root=FIXTURES_ROOT):
    return Path(root) / which


def load_fixture_set(folder, expected_seed=None, which="hidden"):
    """Reads and verifies a fixture set; raises FixtureError with the command that fixes it."""
    folder = Path(folder)
    rebuild = "make fixtures" if which == "hidden" else "make fixtures"
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise FixtureError(f"no {which} fixture set at {folder} (manifest.json missing): run `{rebuild}`")
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
    except (ValueError, KeyError, TypeError):
        raise FixtureError(f"{manifest_path} is not a valid manifest: run `{rebuild}`") from None
    if manifest.get("generator_version") != GENERATOR_VERSION:
        raise FixtureError(
            f"the {which} fixtures at {folder} were made by generator version "
            f"{manifest.get('generator_version')}, this grader needs {GENERATOR_VERSION}: run `{rebuild}`")
    if expected_seed is not None and manifest.get("seed") != expected_seed:
        raise FixtureError(
            f"the {which} fixtures at {folder} were built with seed {manifest.get('seed')} but "
            f"assignment/config.toml says {expected_seed}: run `{rebuild}`")
    on_disk = {p.name for p in folder.iterdir() if p.name != "manifest.json"}
    if on_disk != set(files):
        extra, missing = sorted(on_disk - set(files)), sorted(set(files) - on_disk)
        raise FixtureError(f"the {which} fixtures at {folder} do not match their manifest "
                           f"(unexpected: {extra[:5]}, missing: {missing[:5]}): run `{rebuild}`")
    for name, digest in files.items():
        if sha256_file(folder / name) != digest:
            raise FixtureError(f"{folder / name} does not match its sha256 in the manifest "
                               f"(changed after it was built?): run `{rebuild}`")
    if set_hash(files) != manifest.get("set_hash"):
        raise FixtureError(f"the set hash in {manifest_path} is wrong: run `{rebuild}`")
    raw = json.loads((folder / "cases.json").read_text())
    cases = tuple(Case(id=c["id"], kind=c["kind"], params=c["params"], checks=tuple(c["checks"]),
                       arrays=tuple(c["arrays"]), folder=folder) for c in raw["cases"])
    return FixtureSet(folder=folder, manifest=manifest, cases=cases)
