"""autograder/staff/packaging.py's guards and zip writer on files written here, with a fake lab: no
package holds the hidden seed's file, a secrets folder, or any spelling of the seed; a guessable
seed stops packaging; the same files give the same zip. (What each real package holds:
tests/e2e/test_packaging.py.)"""

import stat
import zipfile
from types import SimpleNamespace

import pytest

from autograder.staff.packaging import FIXED_TIME, PackagingError, refuse_secrets, seed_spellings, write_zip

SEED = 2**100 + 12345


def fake_lab(tmp_path, seed=SEED):
    seed_file = tmp_path / "lab" / "secrets" / "hidden_seed"
    seed_file.parent.mkdir(parents=True, exist_ok=True)
    seed_file.write_text(f"{seed}\n")
    config = SimpleNamespace(hidden_seed_path=seed_file, fixture_seed=lambda which: seed)
    return SimpleNamespace(config=config)


def test_the_seed_is_looked_for_in_decimal_and_hex():
    assert seed_spellings(255) == {b"255", b"ff", b"FF"}


def test_clean_files_pass(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    refuse_secrets({"a.py": tmp_path / "a.py", "b.txt": "text", "c.bin": b"\0\1"}, lab=fake_lab(tmp_path))


@pytest.mark.parametrize("name, content", [
    ("config.toml", f"hidden_seed = {SEED}\n"),
    ("notes.md", f"seed 0x{SEED:x}"),
    ("data.bin", f"{SEED:X}".encode()),
])
def test_a_file_spelling_the_seed_is_refused_naming_it(tmp_path, name, content):
    with pytest.raises(PackagingError, match=f"{name} spells the hidden seed"):
        refuse_secrets({"ok.txt": "fine", name: content}, lab=fake_lab(tmp_path))


def test_the_seed_file_and_any_secrets_folder_are_refused(tmp_path):
    lab = fake_lab(tmp_path)
    with pytest.raises(PackagingError, match="is a staff secret"):
        refuse_secrets({"anything/seed.txt": lab.config.hidden_seed_path}, lab=lab)
    with pytest.raises(PackagingError, match="is a staff secret"):
        refuse_secrets({"lab/secrets/other.txt": "no seed here"}, lab=lab)


def test_a_guessable_seed_stops_packaging(tmp_path):
    with pytest.raises(PackagingError, match="small enough to guess"):
        refuse_secrets({"a.txt": "x"}, lab=fake_lab(tmp_path, seed=12345))


def test_without_the_seed_on_this_machine_only_names_are_checked(tmp_path):
    lab = fake_lab(tmp_path)
    lab.config.fixture_seed = lambda which: None
    refuse_secrets({"a.txt": str(SEED)}, lab=lab)


def test_the_same_files_give_the_same_zip_with_fixed_times_and_modes(tmp_path):
    (tmp_path / "src.py").write_text("print(1)\n")
    files = {"z.txt": "last", "setup.sh": b"#!/bin/sh\n", "dir/src.py": tmp_path / "src.py"}
    first = write_zip(tmp_path / "out" / "a.zip", files).read_bytes()
    assert write_zip(tmp_path / "out" / "b.zip", dict(reversed(files.items()))).read_bytes() == first
    with zipfile.ZipFile(tmp_path / "out" / "a.zip") as zf:
        assert zf.namelist() == ["dir/src.py", "setup.sh", "z.txt"]
        assert {i.date_time for i in zf.infolist()} == {FIXED_TIME}
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in zf.infolist()}
        assert modes == {"dir/src.py": 0o644, "setup.sh": 0o755, "z.txt": 0o644}
        assert zf.read("dir/src.py") == b"print(1)\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.zip", "b.zip"]     # no temp file left
