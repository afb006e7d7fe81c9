"""The catalogue of known submissions (tests/submissions/): correct, buggy and hostile.

Buggy and hostile entries are a correct base file plus exact text edits, declared in
tests/submissions/catalogue.toml, so each one differs from its base by one
reviewable bug. Used by the kit's tests, by `make grade`'s bundled examples and
by the benchmarks; never shipped to students or to Gradescope.
"""

import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder.config import KIT_ROOT

CATALOGUE_DIR = KIT_ROOT / "tests" / "submissions"


@dataclass(frozen=True)
class Entry:
    key: str            # 'correct/NAME', 'bug/NAME' or 'hostile/NAME'
    story: str
    fails: tuple = ()
    passes: tuple = ()
    must_not: str = ""
    source: str = ""


def _apply(base_source, table, key):
    source = base_source
    for edit in table.get("replace", []):
        count = source.count(edit["old"])
        if count != 1:
            raise ValueError(f"{key}: text to replace occurs {count} times in its base, expected once: {edit['old']!r}")
        source = source.replace(edit["old"], edit["new"])
    if "prepend" in table:
        # After the module docstring and imports would be nicer, but first is what "at import" means.
        source = table["prepend"].lstrip("\n") + "\n" + source
    return source


def load_catalogue(folder=CATALOGUE_DIR):
    """All entries by key, in a stable order: correct files, then bugs, then hostile ones."""
    data = tomllib.loads((folder / "catalogue.toml").read_text(encoding="utf-8"))
    entries = {}
    for path in sorted((folder / "correct").glob("*.py")):
        doc = path.read_text(encoding="utf-8").split('"""')[1].strip().splitlines()[0]
        entries[f"correct/{path.stem}"] = Entry(f"correct/{path.stem}", doc, source=path.read_text(encoding="utf-8"))
    for kind in ("bug", "hostile"):
        for table in data.get(kind, []):
            key = f"{kind}/{table['name']}"
            base = (folder / "correct" / f"{table['base']}.py").read_text(encoding="utf-8")
            fails = table.get("fails", ())
            fails = (fails,) if isinstance(fails, str) else tuple(fails)    # ("all",): must score 0
            entries[key] = Entry(key, table["story"], fails, tuple(table.get("passes", ())),
                                 table.get("must_not", ""), _apply(base, table, key))
    for path in sorted((folder / "hostile").glob("*.py")) if (folder / "hostile").is_dir() else []:
        doc = path.read_text(encoding="utf-8").split('"""')[1].strip()
        story, _, must_not = doc.partition("Must not:")
        entries[f"hostile/{path.stem}"] = Entry(f"hostile/{path.stem}", story.strip(), must_not=must_not.strip(),
                                               source=path.read_text(encoding="utf-8"))
    return entries, data.get("examples", [])


def write_zip(entry, dest):
    """Writes `dest` (a .zip) holding the entry's source as conv2d.py."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("conv2d.py", date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, entry.source)
    return dest


def write_examples(dest, keys=None):
    """Writes the bundled example submissions (or `keys`) as zips named after their key; returns paths."""
    entries, examples = load_catalogue()
    dest = Path(dest)
    return [write_zip(entries[k], dest / f"{k.replace('/', '__')}.zip") for k in (keys or examples)]
