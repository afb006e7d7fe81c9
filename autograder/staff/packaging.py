"""What leaves the staff's machine, decided by the folder layout, and the one zip writer.

    python -m autograder package gradescope --out build/autograder.zip
    python -m autograder package handout --out build/handout.zip
    (the otter zip: autograder.staff.otter_bridge, from the same manifest)

Every package is made of these parts, never of hand-kept file lists:
- engine: every module of autograder/ outside autograder/staff/ (staff-only code);
- lab: its config.toml, interface.py and the package modules interface.py imports, checks/
  (never its fixture builder, which imports the reference);
- fixtures: the lab's hidden set (graders) or public set (students);
- LAB: which config the packaged grader loads (autograder.config.LAB_POINTER, read by the CLI);
- the handout also gets the template's folder and what config.toml's [handout] names: the
  text (README.md), figures/, the files of handout/ (its Makefile and requirements), the
  students' launcher and notebook; Gradescope gets autograder/gradescope/.
The reference never ships: expected answers travel only inside the fixture sets.
The hidden seed never ships either (autograder/seeds.py): every zip is checked by
refuse_secrets before it is written, which fails on the seed's file and on any file
spelling the seed.
"""

import ast
import stat
import zipfile
from pathlib import Path, PurePosixPath

from autograder.config import KIT_ROOT, LAB_POINTER
from autograder.fixtures import fixture_folder
from autograder.seeds import MIN_HIDDEN_SEED, NEW_SEED_COMMAND

ENGINE_DIR = KIT_ROOT / "autograder"
STAFF_DIR = ENGINE_DIR / "staff"
GRADESCOPE_DIR = ENGINE_DIR / "gradescope"
FIXED_TIME = (2026, 1, 1, 0, 0, 0)          # every entry's timestamp: same inputs, same zip
EXECUTABLE = {"setup.sh", "run_autograder"}
SECRETS_DIR = "secrets"                     # no file under a folder of this name ever ships


class PackagingError(Exception):
    """A package would hold a staff secret; the message says which file and what to do."""


def archive_name(path, lab=None):
    """Where a file goes in a package: its path from the kit's root, or, for a lab kept outside the
    kit, from the folder its package imports from (so the lab's config.toml finds its fixtures)."""
    path = Path(path).resolve()
    for root in (KIT_ROOT, lab and lab.config.lab_root):
        if root is not None and Path(root).resolve() in path.parents:
            return path.relative_to(Path(root).resolve()).as_posix()
    raise PackagingError(f"{path} is neither in the kit ({KIT_ROOT}) nor in the folder the lab's package "
                         f"imports from: keep the lab's files and fixtures in its own folder")


def engine_files():
    """archive name -> path: the grader package without its staff-only modules."""
    return {archive_name(p): p for p in sorted(ENGINE_DIR.rglob("*.py"))
            if STAFF_DIR not in p.parents and "__pycache__" not in p.parts}


def _imported_lab_modules(lab):
    """The lab package's own modules that interface.py imports (e.g. its adapter)."""
    tree = ast.parse((lab.folder / "interface.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(lab.package + "."):
            found.add(node.module[len(lab.package) + 1:].split(".")[0])
    return [lab.folder / f"{name}.py" for name in sorted(found) if (lab.folder / f"{name}.py").is_file()]


def lab_files(lab):
    """archive name -> path: what the lab needs at grading time."""
    paths = [lab.config.path, lab.folder / "__init__.py", lab.folder / "interface.py", *_imported_lab_modules(lab),
             *sorted(lab.checks_dir.glob("*.py"))]
    files = {archive_name(p, lab): p for p in paths if Path(p).is_file()}
    name = Path(archive_name(lab.folder, lab))
    root = lab.folder.resolve().parents[len(name.parts) - 1]        # where the archive names start
    for parent in name.parents:                                     # e.g. examples/__init__.py
        init = root / parent / "__init__.py"
        if parent != Path(".") and init.is_file():
            files[(parent / "__init__.py").as_posix()] = init
    return files


def fixture_files(which, lab):
    folder = fixture_folder(which, lab.fixtures_root)
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"no {which} fixture set in {folder}: run `make fixtures` first")
    return {archive_name(p, lab): p for p in sorted(folder.iterdir())}


def grader_files(which, lab):
    """Engine, lab, one fixture set and the LAB pointer: a grader that runs anywhere."""
    files = {**engine_files(), **lab_files(lab), **fixture_files(which, lab)}
    files[LAB_POINTER.name] = archive_name(lab.config.path, lab) + "\n"
    return files


def gradescope_files(lab):
    """Gradescope's setup.sh and run_autograder at the root, and the grader with the hidden fixtures."""
    files = {p.name: p for p in sorted(GRADESCOPE_DIR.iterdir()) if p.is_file()}
    files.update(grader_files("hidden", lab))
    return files


def handout_files(lab):
    """What students get: the template's folder, the parts config.toml's [handout] names (text,
    figures, files, launcher, notebook), the public checks."""
    handout, resolve = lab.config.handout, lab.config.resolve
    files = {p.name: p for p in sorted(lab.template.parent.iterdir()) if p.is_file() and p.suffix != ".pyc"}
    for key in ("launcher", "notebook"):          # named: a lab that names one must have it
        if getattr(handout, key):
            path = resolve(getattr(handout, key))
            if not path.is_file():
                raise PackagingError(f"{lab.config.path} [handout] {key}: {path} is missing")
            files[path.name] = path
    if handout.text and resolve(handout.text).is_file():
        files["README.md"] = resolve(handout.text)
    if handout.figures:
        files.update({f"figures/{p.name}": p for p in sorted(resolve(handout.figures).glob("*.png"))})
    if handout.files:
        files.update({p.name: p for p in sorted(resolve(handout.files).glob("*")) if p.is_file()})
    files.update(grader_files("public", lab))
    return files


def _data(source):
    """The bytes of a file to package (given as bytes, str or a path)."""
    return source if isinstance(source, bytes) else \
        source.encode() if isinstance(source, str) else Path(source).read_bytes()


def seed_spellings(seed):
    """How a file could name the seed: in decimal, and in hex in either case (0x or not)."""
    digits = f"{seed:x}"
    return {str(seed).encode(), digits.encode(), digits.upper().encode()}


def refuse_secrets(files, lab):
    """Raises PackagingError when a file to ship (archive name -> source) is the lab's hidden seed
    file or in a `secrets` folder, or spells the hidden seed (when this machine has it), or
    when that seed is small enough to guess from the public set."""
    seed_file = lab.config.hidden_seed_path.resolve()
    for name, source in files.items():
        if SECRETS_DIR in PurePosixPath(name).parts or \
                (isinstance(source, Path) and source.resolve() == seed_file):
            raise PackagingError(f"{name} is a staff secret ({seed_file.parent}): no package may hold it")
    seed = lab.config.fixture_seed("hidden")
    if seed is None:
        return
    if seed < MIN_HIDDEN_SEED:
        raise PackagingError(f"the hidden seed in {seed_file} is small enough to guess: run "
                             f"`{NEW_SEED_COMMAND}` (a random 128-bit seed), then package again")
    spellings = seed_spellings(seed)
    for name, source in files.items():
        if any(s in _data(source) for s in spellings):
            raise PackagingError(f"{name} spells the hidden seed (from {seed_file}): remove it from that file, "
                                 f"or run `{NEW_SEED_COMMAND}` if it has been shared")


def write_zip(dest, files):
    """Writes files (archive name -> Path, str or bytes) into dest, sorted, with FIXED_TIME, mode
    0644 (0755 for EXECUTABLE); written beside dest and renamed, so dest is never half a zip."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            source = files[name]
            data = _data(source)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = (stat.S_IFREG | (0o755 if name in EXECUTABLE else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(dest)
    return dest


def build_gradescope_zip(dest, lab):
    files = gradescope_files(lab)
    refuse_secrets(files, lab)
    return write_zip(dest, files)


def build_handout_zip(dest, lab):
    files = handout_files(lab)
    refuse_secrets(files, lab)
    return write_zip(dest, files)
