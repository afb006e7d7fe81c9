"""Tests for autograder.submission: unpacking what a student handed in, safely."""

import hashlib
import io
import os
import stat
import struct
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest

from autograder.lab_loader import Contract
from autograder.submission import (
    InvalidSubmission, Submission, SubmissionLimits, _read_bounded, load_submission,
    write_source)

SOURCE = "import numpy as np\n\n\ndef col2im(X_col, C, H, W, kH, kW, stride=1):\n    return None\n"
CONTRACT = SOURCE + "\n\nclass Conv2d:\n    pass\n"      # defines both names the contract asks for


def conv_limits(**caps):
    """The conv lab's limits (its file and contract), with `caps` changed."""
    return SubmissionLimits(target="conv2d.py", contract=Contract(functions=("col2im",), classes=("Conv2d",)), **caps)


LIMITS = conv_limits()


# ---------------------------------------------------------------------- helpers

def make_zip(path: Path, members: dict, compression=zipfile.ZIP_DEFLATED) -> Path:
    """Write a zip of name -> str | bytes | ZipInfo-tuple (info, data); return its path."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            if isinstance(data, tuple):
                zf.writestr(*data)
            else:
                zf.writestr(name, data)
    return path


def link_info(name: str) -> zipfile.ZipInfo:
    """A ZipInfo that unzip would restore as a symbolic link."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the mode bits mean what they say
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def refused(path, limits=LIMITS) -> str:
    """The student-facing message load_submission refuses `path` with."""
    with pytest.raises(InvalidSubmission) as caught:
        load_submission(path, limits)
    assert str(caught.value) == caught.value.message
    return caught.value.message


def patch_single_member(path: Path, *, flags: int = None, file_size: int = None,
                        crc: int = None) -> None:
    """Overwrite header fields of a one-member zip, in both the local and central headers."""
    data = bytearray(path.read_bytes())
    local, central = 0, data.find(b"PK\x01\x02")
    assert data[:4] == b"PK\x03\x04" and central > 0
    # (field offset in local header, in central header, struct format)
    fields = {"flags": (6, 8, "<H"), "crc": (14, 16, "<I"), "file_size": (22, 24, "<I")}
    for key, value in (("flags", flags), ("crc", crc), ("file_size", file_size)):
        if value is not None:
            lo, co, fmt = fields[key]
            struct.pack_into(fmt, data, local + lo, value)
            struct.pack_into(fmt, data, central + co, value)
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------ happy paths

def test_top_level_conv2d(tmp_path):
    z = make_zip(tmp_path / "submission.zip", {"conv2d.py": SOURCE, "notes.txt": "hi"})
    sub = load_submission(z, LIMITS)
    assert isinstance(sub, Submission)
    assert sub.source == SOURCE
    assert sub.origin == "submission.zip:conv2d.py"
    assert sub.sha256 == hashlib.sha256(z.read_bytes()).hexdigest()
    assert sub.files == ("conv2d.py", "notes.txt")


def test_inside_one_folder_with_macos_junk(tmp_path):
    z = make_zip(tmp_path / "hw.zip", {
        "hw3/": b"", "hw3/conv2d.py": SOURCE, "hw3/.DS_Store": b"\x00\x01",
        "__MACOSX/": b"", "__MACOSX/hw3/._conv2d.py": b"\x00\x05\x16\x07",
        "hw3/__pycache__/conv2d.cpython-311.pyc": b"\x00" * 16,
        ".git/HEAD": "ref: refs/heads/main\n"})
    sub = load_submission(z, LIMITS)
    assert sub.source == SOURCE
    assert sub.origin == "hw.zip:hw3/conv2d.py"
    assert sub.files == ("hw3/conv2d.py",)


def test_crlf_and_bom_give_the_same_source_as_lf(tmp_path):
    crlf = b"\xef\xbb\xbf" + SOURCE.replace("\n", "\r\n").encode()
    lone_cr = SOURCE.replace("\n", "\r").encode()
    a = load_submission(make_zip(tmp_path / "a.zip", {"conv2d.py": crlf}), LIMITS)
    b = load_submission(make_zip(tmp_path / "b.zip", {"conv2d.py": lone_cr}), LIMITS)
    assert a.source == b.source == SOURCE
    assert a.sha256 != b.sha256  # the hash is of what was handed in, not the text


def test_bare_conv2d_py(tmp_path):
    f = tmp_path / "conv2d.py"
    f.write_bytes(SOURCE.encode())
    sub = load_submission(f, LIMITS)
    assert (sub.source, sub.origin, sub.files) == (SOURCE, "conv2d.py", ("conv2d.py",))
    assert sub.sha256 == hashlib.sha256(SOURCE.encode()).hexdigest()


def test_zip_without_zip_suffix(tmp_path):
    z = make_zip(tmp_path / "upload", {"conv2d.py": SOURCE})
    assert load_submission(z, LIMITS).source == SOURCE


def test_folder_submission(tmp_path):
    root = tmp_path / "submission"
    (root / "hw3" / "__pycache__").mkdir(parents=True)
    (root / ".git" / "objects").mkdir(parents=True)
    (root / "hw3" / "conv2d.py").write_bytes(SOURCE.replace("\n", "\r\n").encode())
    (root / "hw3" / "__pycache__" / "conv2d.cpython-311.pyc").write_bytes(b"\x00")
    (root / ".git" / "objects" / "conv2d.py").write_text("not this one")
    (root / "README.md").write_text("notes")
    sub = load_submission(root, LIMITS)
    assert sub.source == SOURCE
    assert sub.origin == "submission/hw3/conv2d.py"
    assert sub.files == ("README.md", "hw3/conv2d.py")
    assert sub.sha256 == hashlib.sha256((root / "hw3" / "conv2d.py").read_bytes()).hexdigest()


def test_folder_holding_only_a_zip_is_graded_from_the_zip(tmp_path):
    # Gradescope unpacks an uploaded zip, but a zip inside a zip (or a zip dragged into
    # the upload box with nothing else) arrives as a folder holding just that zip.
    root = tmp_path / "submission"
    root.mkdir()
    make_zip(root / "hw3.zip", {"hw3/conv2d.py": SOURCE})
    (root / ".DS_Store").write_bytes(b"junk")
    sub = load_submission(root, LIMITS)
    assert sub.source == SOURCE
    assert sub.origin == "submission/hw3.zip:hw3/conv2d.py"
    assert sub.sha256 == hashlib.sha256((root / "hw3.zip").read_bytes()).hexdigest()


def test_folder_with_a_zip_beside_other_files_is_not_unpacked(tmp_path):
    root = tmp_path / "submission"
    root.mkdir()
    make_zip(root / "hw3.zip", {"conv2d.py": SOURCE})
    (root / "notes.txt").write_text("see zip")
    with pytest.raises(InvalidSubmission, match="conv2d.py"):
        load_submission(root, LIMITS)


def test_deeper_copy_beside_the_real_one_is_not_taken(tmp_path):
    # Only the top level and one folder count, so an old deep copy does not compete.
    z = make_zip(tmp_path / "s.zip", {"hw3/conv2d.py": SOURCE, "hw3/old/conv2d.py": "x = 1\n"})
    assert load_submission(z, LIMITS).origin == "s.zip:hw3/conv2d.py"


def test_write_source_writes_utf8_lf(tmp_path):
    f = tmp_path / "conv2d.py"
    f.write_bytes("# é\r\nx = 1\r\n".encode("utf-8-sig"))
    dest = write_source(load_submission(f, LIMITS), tmp_path / "work", "conv2d.py")
    assert dest == tmp_path / "work" / "conv2d.py"
    assert dest.read_bytes() == "# é\nx = 1\n".encode("utf-8")
    assert sorted(os.listdir(dest.parent)) == ["conv2d.py"]  # no temporary left behind
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644


def test_write_source_replaces_a_planted_link_instead_of_following_it(tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    work = tmp_path / "work"
    work.mkdir()
    (work / "conv2d.py").symlink_to(target)
    write_source(Submission("x = 1\n", "conv2d.py", "0" * 64, ("conv2d.py",)), work, "conv2d.py")
    assert target.read_text() == "keep me"
    assert not (work / "conv2d.py").is_symlink()


# ------------------------------------------------------------ what is handed in

def test_missing_path(tmp_path):
    assert "does not exist" in refused(tmp_path / "nothing.zip")


def test_empty_zip_file(tmp_path):
    (tmp_path / "submission.zip").write_bytes(b"")
    assert refused(tmp_path / "submission.zip") == "the submission submission.zip is empty (0 bytes)"


def test_zip_with_no_members(tmp_path):
    assert "holds no files" in refused(make_zip(tmp_path / "s.zip", {}))


def test_empty_conv2d_py(tmp_path):
    (tmp_path / "conv2d.py").write_bytes(b"")
    assert "empty" in refused(tmp_path / "conv2d.py")
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": "\n  \n"})
    assert refused(z) == "conv2d.py is empty"


def test_loose_py_without_the_contract_is_refused(tmp_path):
    (tmp_path / "main.py").write_text(SOURCE)           # col2im but no Conv2d
    assert refused(tmp_path / "main.py") == ("main.py does not define col2im and Conv2d, so it is not "
                                             "a conv2d.py submission; submit your conv2d.py")


@pytest.mark.parametrize("name", ["alice_smith_1234.py", "conv2d (1).py", "Conv2D.py", "CONV2D.PY"])
def test_loose_py_with_the_contract_is_graded_whatever_its_name(tmp_path, name):
    (tmp_path / name).write_text(CONTRACT)
    sub = load_submission(tmp_path / name, LIMITS)
    assert sub.source == CONTRACT and sub.origin == name
    assert sub.notes == (f"Note: your file {name} was graded because it is the only Python file that "
                         "defines col2im and Conv2d; please name it conv2d.py next time.",)


def test_loose_py_errors_name_the_file_handed_in(tmp_path):
    (tmp_path / "hw.py").write_text("def col2im(:\n")
    assert refused(tmp_path / "hw.py").startswith("hw.py has a syntax error at line 1")


def test_neither_zip_nor_py(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert refused(tmp_path / "notes.txt") == ("not a submission: .txt file (notes.txt, 5 bytes); "
                                               "submit conv2d.py, or a zip holding it")
    (tmp_path / "README").write_text("hello")
    assert refused(tmp_path / "README").startswith("not a submission: file without an extension")
    (tmp_path / "conv2d.ipynb").write_text("{}")
    assert refused(tmp_path / "conv2d.ipynb") == "conv2d.ipynb is a notebook; submit the Python file conv2d.py"


def test_zip_suffix_but_not_a_zip(tmp_path):
    (tmp_path / "s.zip").write_text("this is not a zip")
    assert "s.zip is not a valid zip file" in refused(tmp_path / "s.zip")


def test_truncated_zip(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE * 50})
    z.write_bytes(z.read_bytes()[:-30])
    assert "not a valid zip file" in refused(z)


# ------------------------------------------------------------ finding conv2d.py

def test_missing_conv2d_lists_what_the_zip_holds(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv.py": "x = 1\n", "notes.txt": "n"})
    assert refused(z) == "no conv2d.py found; the zip holds: conv.py, notes.txt"


def test_missing_listing_is_capped(tmp_path):
    z = make_zip(tmp_path / "s.zip", {f"f{i:02d}.txt": "x" for i in range(40)})
    message = refused(z)
    assert message.endswith("f14.txt and 25 more")
    assert "f15.txt" not in message


def test_only_junk_is_no_submission(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"__MACOSX/._conv2d.py": b"\x00", "._conv2d.py": b"\x00"})
    message = refused(z)
    assert message.startswith("no conv2d.py found; the zip holds no files")
    assert "__MACOSX" in message


@pytest.mark.parametrize("name, hint", [
    ("Conv2D.py", "found Conv2D.py: the file must be named conv2d.py, lower case"),
    ("hw/CONV2D.PY", "found hw/CONV2D.PY: the file must be named conv2d.py, lower case"),
    ("conv2d (1).py", "found conv2d (1).py: rename it to conv2d.py"),
    ("conv2d.ipynb", "not a notebook"),
    ("hw3.zip", "a zip inside the zip is not opened"),
])
def test_near_miss_hints(tmp_path, name, hint):
    assert hint in refused(make_zip(tmp_path / "s.zip", {name: "x = 1\n"}))


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_the_one_python_file_defining_the_contract_is_graded(tmp_path, kind):
    members = {"hw/conv2d (1).py": CONTRACT, "hw/train_filter.py": "from conv2d import Conv2d\n",
               "notes.txt": "hi"}
    if kind == "zip":
        sub = load_submission(make_zip(tmp_path / "s.zip", members), LIMITS)
        assert sub.origin == "s.zip:hw/conv2d (1).py"
    else:
        for name, text in members.items():
            (tmp_path / "s" / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "s" / name).write_text(text)
        sub = load_submission(tmp_path / "s", LIMITS)
        assert sub.origin == "s/hw/conv2d (1).py"
    assert sub.source == CONTRACT and "hw/conv2d (1).py was graded" in sub.notes[0]


def test_two_files_defining_the_contract_are_refused(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d_v1.py": CONTRACT, "conv2d_v2.py": CONTRACT})
    assert refused(z) == ("no conv2d.py found, and the zip holds 2 Python files that define col2im and "
                          "Conv2d: conv2d_v1.py, conv2d_v2.py; keep only the one you want graded, named conv2d.py")


def test_conv2d_py_wins_over_other_contract_files(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE, "conv2d_old.py": CONTRACT})
    sub = load_submission(z, LIMITS)
    assert sub.source == SOURCE and sub.notes == ()


def test_contract_is_read_without_running_the_file(tmp_path):
    marker = tmp_path / "ran"
    evil = f"open({str(marker)!r}, 'w').write('x')\n" + CONTRACT
    z = make_zip(tmp_path / "s.zip", {"mine.py": evil})
    assert load_submission(z, LIMITS).source == evil and not marker.exists()


@pytest.mark.parametrize("text", [
    "col2im = lambda *a: None\nConv2d = object\n",          # bound, not defined
    "class col2im:\n    pass\ndef Conv2d():\n    pass\n",      # the wrong kinds
    "def f():\n    def col2im(): pass\n    class Conv2d: pass\n",  # not at the top level
    "def col2im(:\n",                                      # does not parse
])
def test_what_does_not_define_the_contract(tmp_path, text):
    assert "no conv2d.py found" in refused(make_zip(tmp_path / "s.zip", {"mine.py": text}))


def test_many_python_files_are_not_all_parsed(tmp_path):
    z = make_zip(tmp_path / "s.zip", {f"f{i:02d}.py": "x = 1\n" for i in range(21)})
    assert "there are 21 Python files to choose from" in refused(z)


def test_too_deep(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"a/b/conv2d.py": SOURCE})
    assert refused(z) == ("conv2d.py must be at the top of the zip or inside one folder; "
                          "found: a/b/conv2d.py")


def test_two_candidates_are_both_named(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE, "old/conv2d.py": SOURCE})
    message = refused(z)
    assert "2 files named conv2d.py: conv2d.py, old/conv2d.py" in message


def test_duplicate_member_names(tmp_path):
    z = tmp_path / "s.zip"
    with pytest.warns(UserWarning):  # zipfile itself warns about the duplicate
        make_zip(z, {"conv2d.py": SOURCE, "x": (zipfile.ZipInfo("conv2d.py"), "evil = 1\n")})
    assert "holds conv2d.py twice" in refused(z)


# -------------------------------------------------------------- hostile members

@pytest.mark.parametrize("name, why", [
    ("../conv2d.py", "'..' component"),
    ("hw/../../conv2d.py", "'..' component"),
    ("/etc/conv2d.py", "absolute path"),
    ("C:/hw/conv2d.py", "drive letter"),
    ("C:conv2d.py", "drive letter"),
    ("hw\\conv2d.py", "backslashes"),
    ("..\\..\\conv2d.py", "backslashes"),
    ("hw/conv2d.py\x1b[2J", "control characters"),
])
def test_unsafe_names_are_refused_naming_the_member(tmp_path, name, why):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE, name: "x = 1\n"})
    message = refused(z)
    assert why in message
    assert "\x1b" not in message  # never echo raw control characters to a student


def test_unsafe_name_inside_junk_is_still_refused(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE, "__MACOSX/../../x": "x"})
    assert "'..' component" in refused(z)


def test_nul_in_name_is_refused(tmp_path):
    # zipfile cuts names at NUL, so "conv2d.py\0.txt" would pass as conv2d.py.
    z = make_zip(tmp_path / "s.zip", {"conv2d.pyX.txt": SOURCE})
    z.write_bytes(z.read_bytes().replace(b"conv2d.pyX.txt", b"conv2d.py\x00.txt"))
    assert "control characters" in refused(z)


@pytest.mark.parametrize("name", ["conv2d.py", "hw/helper.py"])
def test_symlink_members_are_refused(tmp_path, name):
    members = {"hw/conv2d.py": SOURCE} if name != "hw/conv2d.py" else {}
    members[name] = (link_info(name), "/autograder/source/reference/conv2d.py")
    message = refused(make_zip(tmp_path / "s.zip", members))
    assert f"zip member {name} is a symbolic link" in message


def test_special_file_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("conv2d.py")
    info.create_system = 3
    info.external_attr = (stat.S_IFIFO | 0o644) << 16
    assert "not a regular file" in refused(make_zip(tmp_path / "s.zip", {"x": (info, SOURCE)}))


def test_encrypted_member_is_refused(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE})
    patch_single_member(z, flags=0x1)
    assert "zip member conv2d.py is encrypted" in refused(z)


# ------------------------------------------------------------------------ limits

def test_zip_file_size_limit(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE, "data.bin": os.urandom(5000)})
    message = refused(z, conv_limits(max_zip_bytes=4096))
    assert "the limit is 4.0 KiB" in message


def test_member_count_limit(tmp_path):
    members = {f"f{i}.txt": "x" for i in range(6)} | {"conv2d.py": SOURCE}
    message = refused(make_zip(tmp_path / "s.zip", members), conv_limits(max_members=5))
    assert "more than 5 files" in message


def test_member_count_ignores_junk(tmp_path):
    members = {f".git/objects/{i:03d}": "x" for i in range(300)} | {"conv2d.py": SOURCE}
    assert load_submission(make_zip(tmp_path / "s.zip", members), LIMITS).files == ("conv2d.py",)


def test_depth_limit(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE, "a/b/c/d/e/f/g.txt": "x"})
    assert "a/b/c/d/e/f/g.txt is nested more than 6 levels deep" in refused(z)


def test_honest_zip_bomb_is_refused_by_declared_size(tmp_path):
    # 51 MiB of zeros deflates to ~50 KiB; the headers say so honestly.
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("conv2d.py", SOURCE)
        with zf.open("bomb.bin", "w") as f:
            block = bytes(2**20)
            for _ in range(51):
                f.write(block)
    assert z.stat().st_size < 200_000
    message = refused(z)
    assert "unpacks to 51.0 MiB; the limit is 50.0 MiB uncompressed" in message


def test_oversized_source_is_refused(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": "#" * 2000 + "\n"})
    assert "conv2d.py is 2.0 KiB; the limit is 1.0 KiB" in refused(
        z, conv_limits(max_source_bytes=1024))
    (tmp_path / "conv2d.py").write_text("#" * 2000 + "\n")
    assert "larger than the limit of 1.0 KiB" in refused(
        tmp_path / "conv2d.py", conv_limits(max_source_bytes=1024))


def test_lying_header_bomb_does_not_inflate(tmp_path):
    # conv2d.py really inflates to 20 MiB but its headers claim 100 bytes.
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": b"#" * (20 * 2**20)})
    patch_single_member(z, file_size=100)
    start = time.perf_counter()
    assert "cannot be read" in refused(z)  # zipfile stops at 100 bytes and the CRC fails
    assert time.perf_counter() - start < 1.0
    # Even with a CRC matching the first 100 bytes we get 100 bytes, never 20 MiB.
    patch_single_member(z, crc=zlib.crc32(b"#" * 100))
    assert load_submission(z, LIMITS).source == "#" * 100


def test_bounded_read_never_trusts_the_stream():
    class Endless(io.RawIOBase):
        """A stream that never ends, like a decompressor fed a lying header."""
        served = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"#" * len(buffer)
            Endless.served += len(buffer)
            return len(buffer)

    with pytest.raises(InvalidSubmission, match="larger than the limit of 1.0 MiB"):
        _read_bounded(Endless(), 2**20, "conv2d.py")
    assert Endless.served <= 2**20 + 1


# ------------------------------------------------------------------------ folders

def test_folder_symlinked_conv2d_is_refused(tmp_path):
    secret = tmp_path / "reference.py"
    secret.write_text(SOURCE)
    root = tmp_path / "submission"
    root.mkdir()
    (root / "conv2d.py").symlink_to(secret)
    assert refused(root) == "conv2d.py is a symbolic link; submit the file itself, not a link"


def test_folder_symlinked_directory_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "conv2d.py").write_text(SOURCE)
    root = tmp_path / "submission"
    root.mkdir()
    (root / "hw3").symlink_to(outside, target_is_directory=True)
    assert "hw3 is a symbolic link" in refused(root)


def test_folder_search_rules_match_the_zip(tmp_path):
    root = tmp_path / "deep"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "conv2d.py").write_text(SOURCE)
    assert refused(root) == ("conv2d.py must be at the top of the folder or inside one "
                             "folder; found: a/b/conv2d.py")
    two = tmp_path / "two"
    (two / "old").mkdir(parents=True)
    (two / "conv2d.py").write_text(SOURCE)
    (two / "old" / "conv2d.py").write_text(SOURCE)
    assert "2 files named conv2d.py: conv2d.py, old/conv2d.py" in refused(two)
    empty = tmp_path / "empty"
    (empty / ".git").mkdir(parents=True)
    assert "holds no files" in refused(empty)


def test_folder_limits(tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    for i in range(6):
        (root / f"f{i}.txt").write_text("x")
    assert "more than 5 files" in refused(root, conv_limits(max_members=5))
    deep = tmp_path / "deep" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("x")
    assert "nested more than 3 levels" in refused(tmp_path / "deep", conv_limits(max_depth=3))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_folder_fifo_is_refused_without_blocking(tmp_path):
    root = tmp_path / "submission"
    root.mkdir()
    os.mkfifo(root / "conv2d.py")
    assert "not a regular file" in refused(root)


# ---------------------------------------------------------------------- decoding

def test_not_utf8_names_byte_and_line(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": "x = 1\r\n# café\n".encode("latin-1")})
    assert refused(z).startswith("conv2d.py is not UTF-8 text (byte 0xe9 at line 2)")


def test_utf16_is_named(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": SOURCE.encode("utf-16")})
    assert "saved as UTF-16" in refused(z)


def test_nul_bytes_are_binary(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": b"x = 1\n\x00\x01\x02"})
    assert refused(z) == ("conv2d.py contains NUL bytes (first at line 2): it is a binary "
                          "file, not Python source")


# ---------------------------------------------------------------------- compiling

def test_syntax_error_names_line_and_text(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": "x = 1\r\ndef f(:\n    pass\n"})
    message = refused(z)
    assert message.startswith("conv2d.py has a syntax error at line 2: ")
    assert "\n    def f(:\n" in message and message.endswith("^")


def test_indentation_error_is_a_syntax_error(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"conv2d.py": "def f():\nreturn 1\n"})
    assert refused(z).startswith("conv2d.py has a syntax error at line 2: expected an indented block")


def test_compiling_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    src = f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n"
    (tmp_path / "conv2d.py").write_text(src)
    assert load_submission(tmp_path / "conv2d.py", LIMITS).source == src
    assert not marker.exists()


def test_warnings_as_errors_do_not_refuse_valid_source(tmp_path):
    (tmp_path / "conv2d.py").write_text('pattern = "\\d+"\n')  # an invalid escape only warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_submission(tmp_path / "conv2d.py", LIMITS).source == 'pattern = "\\d+"\n'


def test_pathological_nesting_is_refused_not_crashing(tmp_path):
    (tmp_path / "conv2d.py").write_text("x = " + "+".join(["1"] * 100_000) + "\n")
    assert "nested too deeply" in refused(tmp_path / "conv2d.py")


def test_unknown_coding_declaration_is_refused_as_import_would(tmp_path):
    (tmp_path / "conv2d.py").write_text("# -*- coding: klingon -*-\nx = 1\n")
    assert "syntax error" in refused(tmp_path / "conv2d.py")


def test_the_handout_and_the_grader_agree_about_file_names(tmp_path):
    """Every other name the handout's §8 gives as an example is graded, with the note §8 promises
    (it once called `conv2d (1).py` invalid while the grader graded it)."""
    import re
    section = (Path(__file__).resolve().parents[2] / "assignment" / "README.md").read_text(
        encoding="utf-8").split("## 8.", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"`([^`/]+\.py)`", section)) - {"conv2d.py"}
    assert names, "§8 gives no example of another name"
    assert "note" in section
    for name in names:
        (tmp_path / name).write_text(CONTRACT)
        sub = load_submission(tmp_path / name, LIMITS)
        assert sub.source == CONTRACT and "please name it conv2d.py" in sub.notes[0], name
        (tmp_path / name).unlink()
