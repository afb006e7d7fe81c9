"""Loading a fixture set: the inputs and expected answers the checks compare with.

A fixture set is a folder holding `cases.json` (every case's parameters, the
checks it serves and the names of its arrays), one `.npy` file per array, and
`manifest.json` (the seed's digest, format, builder and numpy versions, sha256 of every
file; never the seed, which would rebuild a hidden set: autograder/seeds.py).
Sets are built from the reference by the lab's fixture builder, which hands its
cases to `write_fixture_set`; the grader only reads them, so the grader can run where the reference is absent (Gradescope).

A set that does not match its manifest, or was built with another seed than the
config asks for, is refused with a message telling the TA what to run.
"""

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.seeds import seed_digest

# The engine's file format (manifest, cases.json): bump when it changes. A lab's case list has its
# own version, [fixtures] builder_version in its config.toml (7: the builder's version split out).
FORMAT_VERSION = 7
MAX_ARRAY_BYTES = 64 * 2**20


class FixtureError(Exception):
    """The fixture set is missing, stale or tampered with; the message says what to run."""


@dataclass(frozen=True)
class Case:
    """One graded situation: parameters, the checks that use it, and its arrays (loaded lazily)."""
    id: str
    kind: str                   # the lab's kind of case (e.g. 'col2im', 'layer')
    params: dict
    checks: tuple
    arrays: tuple
    folder: Path = field(repr=False, compare=False)
    lab: object = field(default=None, repr=False, compare=False)    # its wording: describe, bug names
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
        """(what the student did, its answer, the check owning that bug or '') for the stored answers
        of typical bugs ('variant_<name>' arrays) whose name starts with `prefix` (e.g. 'dX_'), in the
        lab's words."""
        return [(self.lab.bug_message(name[8:]) if self.lab else name[8:], self.array(name),
                 self.lab.bug_owner(name[8:]) if self.lab else "")
                for name in self.arrays if name.startswith("variant_" + prefix)]

    def describe(self):
        """The case in the handout's symbols (the lab's describe_case), for feedback."""
        return self.lab.describe_case(self) if self.lab else self.id


@dataclass(frozen=True)
class FixtureSet:
    folder: Path
    manifest: dict
    cases: tuple

    @property
    def set_hash(self):
        return self.manifest["set_hash"]

    def for_check(self, check):
        """The cases a check grades, in file order: those whose checks name it (as the builder
        listed them in cases.json, or as the selectors chose them at loading)."""
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


def fixture_folder(which, root):
    """root/which: the `which` set under a folder of sets (a lab's is Lab.fixtures_root)."""
    return Path(root) / which


def load_fixture_set(folder, expected_seed=None, which="hidden", *, lab):
    """Reads and verifies a fixture set; raises FixtureError with the command that fixes it.
    lab: the autograder.lab_loader.Lab whose words describe its cases."""
    folder = Path(folder)
    rebuild = lab.config.make_command("fixtures")
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise FixtureError(f"no {which} fixture set at {folder} (manifest.json missing): run `{rebuild}`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (ValueError, KeyError, TypeError):
        raise FixtureError(f"{manifest_path} is not a valid manifest: run `{rebuild}`") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise FixtureError(
            f"the {which} fixtures at {folder} are in format version "
            f"{manifest.get('format_version')}, this grader reads {FORMAT_VERSION}: run `{rebuild}`")
    builder_version = lab.config.fixtures.builder_version
    if manifest.get("builder_version") != builder_version:
        raise FixtureError(
            f"the {which} fixtures at {folder} were made by builder version {manifest.get('builder_version')}, "
            f"the lab's config.toml says {builder_version} ([fixtures] builder_version): run `{rebuild}`")
    if expected_seed is not None and manifest.get("seed_sha256") != seed_digest(expected_seed):
        # Worded without either seed: this message can reach a student's results.json.
        raise FixtureError(f"the {which} fixtures at {folder} were built from another seed than the lab's "
                           f"(config.toml's public_seed, or the staff's hidden seed file): run `{rebuild}`")
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
    raw = json.loads((folder / "cases.json").read_text(encoding="utf-8"))
    listed = any(c["checks"] for c in raw["cases"])
    # A set that lists no check for any case leaves the choice to the checks' selectors: made
    # here, once, so every reader of Case.checks (the runner, a lab's adapter) sees one answer.
    cases = tuple(Case(id=c["id"], kind=c["kind"], params=c["params"],
                       checks=tuple(c["checks"]) if listed else tuple(lab.checks_for(c["kind"], c["params"])),
                       arrays=tuple(c["arrays"]), folder=folder, lab=lab) for c in raw["cases"])
    return FixtureSet(folder=folder, manifest=manifest, cases=cases)


def write_fixture_set(folder, seed, generated, public=False, builder_version=1):
    """Writes the (case_id, kind, params, checks, arrays) tuples of `generated` as a fixture set
    in `folder` (replacing it), with its manifest; returns the manifest. builder_version: the lab's
    ([fixtures] builder_version), which the grader then asks of the set."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cases = []
    for case_id, kind, params, checks, arrays in generated:
        for name, array in arrays.items():
            np.save(tmp / f"{case_id}__{name}.npy", np.asarray(array, order="C"), allow_pickle=False)
        cases.append(dict(id=case_id, kind=kind, params=params, checks=checks, arrays=sorted(arrays)))
    (tmp / "cases.json").write_text(json.dumps({"cases": cases}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
    manifest = dict(seed_sha256=seed_digest(seed), which="public" if public else "hidden",
                    format_version=FORMAT_VERSION, builder_version=builder_version, numpy_version=np.__version__,
                    files=files, set_hash=set_hash(files))
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)                      # the old set is replaced only by a complete new one
    return manifest
