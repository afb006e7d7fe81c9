"""The paths the Makefile needs of a lab, read from its config.toml (so no target names a lab's file).

    python -m autograder.staff.make_paths LAB/config.toml

prints, space-separated: the hidden fixture set's manifest, the hidden seed's file, the script that
draws the handout's figures (`-` when the lab has none), then the files whose change makes the
fixture sets stale (the config, the lab package's modules and checks, the
fixture builder, the reference's folder, the oracle). Paths inside the current folder are relative to it.
"""

import sys
from pathlib import Path

from autograder.config import ConfigError
from autograder.lab_loader import load_lab


def fixture_inputs(lab):
    """The files the lab's fixture sets are computed from."""
    config = lab.config
    folders = (lab.folder, lab.checks_dir, lab.reference.parent)
    named = [config.resolve(config.lab.fixture_builder), lab.reference]
    if config.lab.oracle:
        named.append(config.resolve(config.lab.oracle))
    found = {p.resolve() for folder in folders for p in folder.glob("*.py")} | {p.resolve() for p in named}
    return [config.path, *sorted(found)]          # resolved: a file the config names is also found by the glob


def make_paths(config_path):
    lab = load_lab(config_path)
    figures = lab.config.handout.figures_source
    paths = [lab.fixtures_root / "hidden" / "manifest.json", lab.config.hidden_seed_path,
             lab.config.resolve(figures) if figures else None, *fixture_inputs(lab)]
    here = Path.cwd().resolve()
    shown = []
    for path in paths:
        path = path and Path(path).resolve()
        shown.append("-" if path is None else str(path.relative_to(here) if here in path.parents else path))
    return shown


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m autograder.staff.make_paths LAB/config.toml", file=sys.stderr)
        return 2
    try:
        print(" ".join(make_paths(argv[0])))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
