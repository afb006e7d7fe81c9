"""autograder/staff/batch_entries.py on folders made here: every entry one row, hidden names left
out, ids unique whatever the case, safe to print and of bounded length, the same names giving the
same ids, and input hashes that change with the input but never read past the limits."""

import os
from pathlib import Path

import pytest

from autograder.staff.batch_entries import ID_MAX_BYTES, assign_ids, discover, input_sha256, is_hidden, safe_id
from autograder.submission import SubmissionLimits


def entries_of(folder, **kwargs):
    entries, hidden = discover(folder, **kwargs)
    return {e.id: e for e in entries}, hidden


def test_every_entry_is_one_row_and_hidden_names_are_left_out(tmp_path):
    for name in ("alice.zip", "bob.py", "carol", "notes.txt", ".DS_Store", "__MACOSX", "submission_metadata.yml"):
        (tmp_path / name).mkdir() if "." not in name or name == "__MACOSX" else (tmp_path / name).write_text("x")
    (tmp_path / "out").mkdir()
    entries, hidden = entries_of(tmp_path, out_dir=tmp_path / "out")
    assert sorted(entries) == ["alice", "bob", "carol", "notes"]
    assert sorted(hidden) == [".DS_Store", "__MACOSX", "out", "submission_metadata.yml"]
    assert entries["alice"].path == tmp_path / "alice.zip" and entries["alice"].note == ""


def test_clashing_ids_take_the_whole_name_and_say_so(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "Alice.zip").write_text("z")
    (tmp_path / "bob.py").write_text("b")
    ids, notes = assign_ids(sorted(tmp_path.iterdir()))
    assert ids[tmp_path / "alice"] == "alice" and ids[tmp_path / "Alice.zip"] == "Alice.zip"
    assert ids[tmp_path / "bob.py"] == "bob" and tmp_path / "bob.py" not in notes
    assert notes[tmp_path / "Alice.zip"] == "duplicate id 'Alice': also alice; graded as 'Alice.zip'"


def test_a_clash_that_remains_gets_a_number():
    paths = [Path("/x/a.zip"), Path("/x/a.ZIP"), Path("/x/A.zip")]
    ids, _ = assign_ids(paths)
    assert len({i.casefold() for i in ids.values()}) == 3
    assert sorted(ids.values(), key=str.casefold)[0].casefold() == "a.zip"
    assert any(i.endswith("~2") for i in ids.values())


def test_the_same_names_give_the_same_ids_in_any_order():
    paths = [Path(f"/x/{n}") for n in ("b.zip", "B.py", "b", "c.zip")]
    assert assign_ids(paths)[0] == assign_ids(list(reversed(paths)))[0]


@pytest.mark.parametrize("name, shown", [("plain", "plain"), ("tab\there", "tab\\there"), ("esc\x1b[2J", "esc\\x1b[2J"),
                                         ("ünï", "ünï"), ("bidi\u202e", "bidi\\u202e")])
def test_ids_are_printable(name, shown):
    assert safe_id(name) == shown


def test_an_undecodable_name_is_escaped():
    name = b"bad\xff".decode("utf-8", "surrogateescape")
    assert safe_id(name) == "bad\\xff"


def test_a_long_name_is_cut_and_kept_distinct():
    a, b = "é" * 200 + "a", "é" * 200 + "b"
    assert len(safe_id(a).encode()) <= ID_MAX_BYTES and safe_id(a) != safe_id(b)
    safe_id(a).encode("utf-8")                           # no half character left at the cut


def test_is_hidden():
    assert is_hidden(".git") and is_hidden("__MACOSX") and is_hidden("submission_metadata.yml")
    assert not is_hidden("alice") and not is_hidden("_alice")


def test_a_files_hash_changes_with_its_bytes(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("one")
    first = input_sha256(path)
    path.write_text("two")
    assert len(first) == 64 and input_sha256(path) != first


def test_a_folders_hash_covers_names_and_bytes_but_not_junk(tmp_path):
    folder = tmp_path / "sub"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "conv2d.py").write_text("x")
    first = input_sha256(folder)
    (folder / ".DS_Store").write_text("junk")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "c.pyc").write_text("junk")
    assert input_sha256(folder) == first
    (folder / "inner" / "conv2d.py").rename(folder / "inner" / "lab.py")
    assert input_sha256(folder) != first


def test_what_is_over_the_limits_or_not_a_plain_entry_is_not_hashed(tmp_path):
    limits = SubmissionLimits(max_zip_bytes=10, max_source_bytes=10, max_members=2, max_depth=2)
    (tmp_path / "big.zip").write_bytes(b"x" * 11)
    assert input_sha256(tmp_path / "big.zip", limits) == ""
    (tmp_path / "many").mkdir()
    for n in range(3):
        (tmp_path / "many" / f"{n}.py").write_text("")
    assert input_sha256(tmp_path / "many", limits) == ""
    (tmp_path / "deep" / "a" / "b").mkdir(parents=True)
    (tmp_path / "deep" / "a" / "b" / "f.py").write_text("")
    assert input_sha256(tmp_path / "deep", limits) == ""
    (tmp_path / "link.py").symlink_to(tmp_path / "big.zip")
    assert input_sha256(tmp_path / "link.py") == ""
    os.mkfifo(tmp_path / "fifo")
    assert input_sha256(tmp_path / "fifo") == ""
    assert input_sha256(tmp_path / "absent") == ""


def test_a_link_inside_a_folder_is_not_followed(tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "conv2d.py").write_text("x")
    first = input_sha256(folder)
    (folder / "link.py").symlink_to(tmp_path / "secret.txt")
    assert input_sha256(folder) == first
