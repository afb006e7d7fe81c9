"""Step 1 of grading: turn what a student handed in into the source of the lab's file.

A submission is a zip (the target file, e.g. `conv2d.py`, at its top level or inside one
folder), a folder laid out the same way (Gradescope unpacks uploads into
/autograder/submission), or a loose .py file. Lenient about names, strict about
content: where no file has the target's name, the one Python file that defines the
lab's contract (its top-level functions and classes) is taken whatever its name
("lab (1).py", "alice_smith_1234.py"), with a note asking for the right name; two
such files are refused. The contract is read from the syntax tree (`ast`): nothing is imported or
run. Everything about a submission is hostile until proven otherwise:

* A zip is read in memory with `zipfile`, never extracted. Every member name is
  checked (no absolute paths, `..`, drive letters, backslashes or control
  characters), links, special files and encrypted members are refused, and the
  sizes declared by the headers are capped; the one member we read is read through
  a bounded stream, so a header that lies about its size cannot inflate past the cap.
* A folder is walked without following symbolic links; a link is refused.
* The source must be UTF-8 text without NUL bytes and must compile. Compiling does
  not run any of the student's code; importing it is the sandbox's job, not ours.

Every refusal is an `InvalidSubmission` whose `message` is written for the student.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import re
import stat
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Iterable


# Junk that zip tools and editors add beside the real files; never a submission.
_IGNORED_DIRS = frozenset({"__MACOSX", "__pycache__"})
_IGNORED_NOTE = "ignoring __MACOSX/, __pycache__/, dot-files and dot-folders"
_LIST_MAX = 15          # names shown when telling a student what their zip holds
_NAME_MAX = 120         # characters of one name shown in a message
_LINE_MAX = 200         # characters of a source line shown in a syntax error
_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCRYPTED_FLAGS = 0x1 | 0x40  # traditional PKWARE and strong encryption bits

# What decompressing a damaged member may raise; lzma is optional in CPython builds.
_ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError,
    EOFError, OSError, RuntimeError, zlib.error)
try:
    import lzma
    _ZIP_ERRORS += (lzma.LZMAError,)
except ImportError:  # pragma: no cover - depends on how Python was built
    pass


class InvalidSubmission(Exception):
    """The submission cannot be graded; `message` tells the student why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Submission:
    """The student's file, read and checked, ready to hand to the sandbox.

    source: the text, decoded from UTF-8, BOM stripped, line endings normalised to LF.
    origin: where it came from, for messages, e.g. "submission.zip:hw/conv2d.py".
    sha256: hex digest of the original bytes handed in (the zip, the .py file, or
        for a folder the target's bytes found), to detect changed submissions.
    files: the file names that were considered (junk ignored), sorted, for messages.
    notes: sentences for the student's feedback about how the file was found
        (e.g. it was graded although it is not named as the target).
    """

    source: str
    origin: str
    sha256: str
    files: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubmissionLimits:
    """What one submission must hold (the lab's file name and contract) and the resource
    caps for unpacking it (bytes unless stated)."""

    target: str = None          # the lab's submission_file, e.g. "conv2d.py" (load_submission needs it)
    contract: object = None     # autograder.lab_loader.Contract: what that file defines (the lab's; likewise)

    max_zip_bytes: int = 20 * 2**20
    max_total_uncompressed: int = 50 * 2**20
    max_members: int = 200      # files considered, after ignoring junk
    max_depth: int = 6          # path components of a file considered
    max_source_bytes: int = 1 * 2**20
    max_candidates: int = 20    # Python files parsed to find the contract when none is the target

    @classmethod
    def of(cls, lab, **caps):
        """The limits of a submission to `lab` (autograder.lab_loader.Lab): its file and contract."""
        return cls(target=lab.config.submission_file, contract=lab.contract, **caps)



# --------------------------------------------------------------------------- API

def load_submission(path: Path, limits: SubmissionLimits) -> Submission:
    """Read the student's target file from a zip, a folder or a bare target file; `limits` names the
    lab's file and contract (SubmissionLimits.of(lab)).

    Raises InvalidSubmission, with a message for the student, when it cannot be graded.
    """
    if limits.target is None or limits.contract is None:
        raise ValueError("load_submission: the limits name no target file or contract (SubmissionLimits.of(lab))")
    path = Path(path)
    name = _show(path.name or str(path))
    try:
        st = path.stat()  # the grader chose this path, so following a link here is fine
    except FileNotFoundError:
        raise InvalidSubmission(f"no submission found: {name} does not exist") from None
    if stat.S_ISDIR(st.st_mode):
        return _load_folder(path, limits)
    if not stat.S_ISREG(st.st_mode):
        raise InvalidSubmission(f"{name} is not a regular file, a folder or a zip")
    if st.st_size == 0:
        raise InvalidSubmission(f"the submission {name} is empty (0 bytes)")
    suffix = path.suffix.lower()
    if path.name == limits.target:
        return _load_bare_file(path, limits)
    if suffix == ".py":
        return _load_loose_file(path, limits)
    if suffix == ".zip" or zipfile.is_zipfile(path):
        return _load_zip(path, st.st_size, limits)
    if suffix == ".ipynb":
        raise InvalidSubmission(f"{name} is a notebook; submit the Python file {limits.target}")
    kind = f"{_show(path.suffix)} file" if path.suffix else "file without an extension"
    raise InvalidSubmission(f"not a submission: {kind} ({name}, {_size(st.st_size)}); "
                            f"submit {limits.target}, or a zip holding it")


def defines_contract(tree: ast.Module, contract) -> bool:
    """True when a module's top level defines every function and class of the lab's contract.

    Read from the syntax tree only: the student's code is never imported or run here.
    """
    names = {(node.name, type(node) is ast.ClassDef) for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return contract.defines(names)


def write_source(submission: Submission, dest_dir: Path, name: str) -> Path:
    """Write the checked source to dest_dir/name (UTF-8, LF) and return that path.

    The file is written beside its destination and renamed into place, so a link
    already sitting at dest_dir/name is replaced, never followed. It is made
    world-readable because the sandbox reads it as an unprivileged user.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / name
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".submission-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(submission.source.encode("utf-8"))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


# ------------------------------------------------------------------ three sources

def _load_bare_file(path: Path, limits: SubmissionLimits) -> Submission:
    """The target file handed in on its own."""
    raw = _read_regular_file(path, limits.max_source_bytes, follow=True, what=limits.target)
    return Submission(source=_to_source(raw, limits.target), origin=path.name,
                      sha256=hashlib.sha256(raw).hexdigest(), files=(path.name,))


def _load_loose_file(path: Path, limits: SubmissionLimits) -> Submission:
    """A .py file not named as the target: graded only if it defines the contract."""
    raw = _read_regular_file(path, limits.max_source_bytes, follow=True, what=_show(path.name))
    source = _to_source(raw, path.name)
    if not _source_defines_contract(source, limits.contract):
        raise InvalidSubmission(
            f"{_show(path.name)} does not define {limits.contract.describe()}, so it is not a {limits.target} "
            f"submission; submit your {limits.target}")
    return Submission(source=source, origin=path.name, sha256=hashlib.sha256(raw).hexdigest(),
                      files=(path.name,), notes=(_renamed_note(path.name, limits),))


def _load_zip(path: Path, size: int, limits: SubmissionLimits, follow: bool = True) -> Submission:
    """A zip: check every member, then read the target from it without extracting."""
    name = _show(path.name)
    if size > limits.max_zip_bytes:
        raise InvalidSubmission(
            f"the zip {name} is {_size(size)}; the limit is {_size(limits.max_zip_bytes)}. "
            f"Submit a zip holding only {limits.target}")
    # One read, then work on the bytes: the hash and the contents cannot disagree.
    data = _read_regular_file(path, limits.max_zip_bytes, follow=follow, what=f"the zip {name}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        raise InvalidSubmission(
            f"{name} is not a valid zip file; it may be damaged or incomplete: "
            "re-create it with a standard zip tool") from None
    with archive:
        infos = archive.infolist()
        if not infos:
            raise InvalidSubmission(f"the zip {name} is empty: it holds no files")
        members = _check_zip_members(infos, limits)
        read = lambda rel: _read_zip_member(archive, members[rel], limits, rel)
        chosen, raw, notes = _find_target(sorted(members), "the zip", read, limits)
    return Submission(source=_to_source(raw, chosen.rsplit("/", 1)[-1]), origin=f"{path.name}:{chosen}",
                      sha256=hashlib.sha256(data).hexdigest(), files=tuple(sorted(members)), notes=notes)


def _load_folder(root: Path, limits: SubmissionLimits) -> Submission:
    """A folder laid out like the zip (as Gradescope unpacks an upload)."""
    files = _walk_folder(root, limits)
    if len(files) == 1 and "/" not in (only := next(iter(files))) and only.lower().endswith(".zip"):
        # What Gradescope makes of a zip inside the uploaded zip: grade the inner zip.
        inner = _load_zip(root / only, files[only], limits, follow=False)
        return replace(inner, origin=f"{root.name or root}/{inner.origin}")
    read = lambda rel: _read_regular_file(root.joinpath(*rel.split("/")), limits.max_source_bytes,
                                          follow=False, what=_show(rel))
    chosen, raw, notes = _find_target(sorted(files), "the folder", read, limits)
    return Submission(source=_to_source(raw, chosen.rsplit("/", 1)[-1]), origin=f"{root.name or root}/{chosen}",
                      sha256=hashlib.sha256(raw).hexdigest(), files=tuple(sorted(files)), notes=notes)


# ------------------------------------------------------------------------- zips

def _check_zip_members(infos: list[zipfile.ZipInfo],
                       limits: SubmissionLimits) -> dict[str, zipfile.ZipInfo]:
    """Refuse the zip if any member is unsafe or it is too big; return the files to consider.

    Safety checks cover every member, junk included: a hostile name anywhere means a
    hostile zip. Count and depth cover only the files considered, so a stray .git/
    folder does not get an honest submission refused.
    """
    declared = 0
    considered: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        parts = _safe_member_parts(info)
        declared += info.file_size
        if _is_zip_dir(info) or _is_ignored(parts):
            continue
        rel = "/".join(parts)
        if rel in considered:
            raise InvalidSubmission(f"the zip holds {_show(rel)} twice; re-create the zip")
        considered[rel] = info
    if declared > limits.max_total_uncompressed:
        raise InvalidSubmission(
            f"the zip unpacks to {_size(declared)}; the limit is "
            f"{_size(limits.max_total_uncompressed)} uncompressed. Submit only {limits.target}")
    _check_count_and_depth(considered, limits, "the zip")
    return considered


def _safe_member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """Path components of a member, after refusing names and types that could escape or mislead."""
    # orig_filename keeps what zipfile cuts at a NUL byte (a classic disguise).
    name = info.orig_filename
    shown = _show(name)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidSubmission(f"zip member {shown} has control characters in its name")
    if "\\" in name:
        raise InvalidSubmission(
            f"zip member {shown} uses backslashes in its path; re-create the zip with "
            "your system's standard zip tool")
    if name.startswith("/"):
        raise InvalidSubmission(f"zip member {shown} has an absolute path")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise InvalidSubmission(f"zip member {shown} has a '..' component in its path")
    if any(_DRIVE.match(p) for p in parts):
        raise InvalidSubmission(f"zip member {shown} has a drive letter in its path")
    if not parts and not info.is_dir():
        raise InvalidSubmission(f"zip member {shown} has an empty name")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise InvalidSubmission(
            f"zip member {shown} is a symbolic link; zip the file itself, not a link to it")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise InvalidSubmission(f"zip member {shown} is not a regular file")
    if info.flag_bits & _ENCRYPTED_FLAGS:
        raise InvalidSubmission(
            f"zip member {shown} is encrypted; submit a zip without a password")
    return parts


def _is_zip_dir(info: zipfile.ZipInfo) -> bool:
    """A directory entry (trailing slash, or a directory mode from a Unix zip tool)."""
    return info.is_dir() or stat.S_ISDIR(info.external_attr >> 16)


def _read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                     limits: SubmissionLimits, rel: str) -> bytes:
    """Decompress one member, never producing more than the source cap allows."""
    cap = min(limits.max_source_bytes, limits.max_total_uncompressed)
    shown = _show(rel)
    if info.file_size > cap:
        raise InvalidSubmission(f"{shown} is {_size(info.file_size)}; the limit is {_size(cap)}")
    try:
        with archive.open(info) as stream:
            return _read_bounded(stream, cap, f"{shown} in the zip")
    except _ZIP_ERRORS as e:
        raise InvalidSubmission(
            f"{shown} in the zip cannot be read ({e}); the zip may be damaged or use an "
            "unusual compression method: re-create it with a standard zip tool") from None


# ---------------------------------------------------------------------- folders

def _walk_folder(root: Path, limits: SubmissionLimits) -> dict[str, int]:
    """Map each file to consider (relative posix path) to its size, refusing links.

    Links are never followed: a target file that points at the reference solution
    must not be graded. Ignored folders are not entered at all.
    """
    files: dict[str, int] = {}
    pending: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                parts = prefix + (entry.name,)
                if _is_ignored(parts):
                    continue
                rel = "/".join(parts)
                if len(parts) > limits.max_depth:
                    raise InvalidSubmission(_too_deep(rel, limits, "the folder"))
                if entry.is_symlink():
                    raise InvalidSubmission(
                        f"{_show(rel)} is a symbolic link; submit the file itself, not a link")
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), parts))
                elif entry.is_file(follow_symlinks=False):
                    files[rel] = entry.stat(follow_symlinks=False).st_size
                    if len(files) > limits.max_members:  # stop walking a huge tree early
                        raise InvalidSubmission(_too_many(limits, "the folder"))
                else:
                    raise InvalidSubmission(f"{_show(rel)} is not a regular file")
    total = sum(files.values())
    if total > limits.max_total_uncompressed:
        raise InvalidSubmission(
            f"the folder holds {_size(total)}; the limit is "
            f"{_size(limits.max_total_uncompressed)}. Submit only {limits.target}")
    return files


# ----------------------------------------------------------------- shared rules

def _is_ignored(parts: tuple[str, ...]) -> bool:
    """Junk from zip tools, git and Python: __MACOSX/, __pycache__/, dot-files, dot-folders."""
    return any(p in _IGNORED_DIRS or p.startswith(".") for p in parts)


def _check_count_and_depth(files: dict, limits: SubmissionLimits, where: str) -> None:
    """Refuse too many files, or a file nested deeper than the depth limit."""
    if len(files) > limits.max_members:
        raise InvalidSubmission(_too_many(limits, where))
    for rel in files:
        if rel.count("/") + 1 > limits.max_depth:
            raise InvalidSubmission(_too_deep(rel, limits, where))


def _too_many(limits: SubmissionLimits, where: str) -> str:
    return (f"{where} holds more than {limits.max_members} files, the most allowed "
            f"({_IGNORED_NOTE}); submit only {limits.target}")


def _too_deep(rel: str, limits: SubmissionLimits, where: str) -> str:
    return (f"{_show(rel)} is nested more than {limits.max_depth} levels deep in {where}; "
            f"put {limits.target} at the top or inside one folder")


def _find_target(names: list[str], where: str, read, limits: SubmissionLimits):
    """(chosen name, its bytes, notes): the one target file at the top level or inside one
    folder; failing that, the one Python file there that defines the contract; or explain.

    read(name) -> bytes reads one file of the submission, bounded.
    """
    hits = [n for n in names if n.rsplit("/", 1)[-1] == limits.target]
    shallow = [n for n in hits if n.count("/") <= 1]
    if len(shallow) == 1:
        return shallow[0], read(shallow[0]), ()
    if shallow:
        raise InvalidSubmission(
            f"{where} holds {len(shallow)} files named {limits.target}: {_listing(shallow)}; "
            "keep only the one you want graded")
    if hits:
        raise InvalidSubmission(
            f"{limits.target} must be at the top of {where} or inside one folder; "
            f"found: {_listing(hits)}")
    if not names:
        raise InvalidSubmission(f"no {limits.target} found; {where} holds no files ({_IGNORED_NOTE})")
    candidates = _contract_candidates(names, read, limits)
    if len(candidates) == 1:
        (chosen, raw), = candidates.items()
        return chosen, raw, (_renamed_note(chosen, limits),)
    if candidates:
        raise InvalidSubmission(
            f"no {limits.target} found, and {where} holds {len(candidates)} Python files that define "
            f"{limits.contract.describe()}: {_listing(candidates)}; keep only the one you want graded, "
            f"named {limits.target}")
    message = f"no {limits.target} found; {where} holds: {_listing(names)}"
    hints = [h for h in (_near_miss(n, limits.target) for n in names) if h]
    if hints:
        message += ". Hint: " + "; ".join(hints[:3])
    raise InvalidSubmission(message)


def _contract_candidates(names: list[str], read, limits: SubmissionLimits) -> dict[str, bytes]:
    """{name: bytes} of the Python files, at the top or inside one folder, that define the contract.

    Files that cannot be read, decoded or parsed are not candidates; at most
    max_candidates files are parsed (a zip of hundreds of .py files is not a submission).
    """
    python = [n for n in names if n.lower().endswith(".py") and n.count("/") <= 1]
    if len(python) > limits.max_candidates:
        raise InvalidSubmission(
            f"no {limits.target} found, and there are {len(python)} Python files to choose from; "
            f"name the file you want graded {limits.target}")
    found = {}
    for name in python:
        try:
            raw = read(name)
            if _source_defines_contract(_decode(raw, name), limits.contract):
                found[name] = raw
        except InvalidSubmission:
            continue
    return found


def _source_defines_contract(source: str, contract) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return defines_contract(ast.parse(source), contract)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _renamed_note(name: str, limits: SubmissionLimits) -> str:
    return (f"Note: your file {_show(name)} was graded because it is the only Python file that "
            f"defines {limits.contract.describe()}; please name it {limits.target} next time.")


def _near_miss(rel: str, target: str) -> str | None:
    """A hint when a file is almost, but not exactly, the one we want."""
    base = rel.rsplit("/", 1)[-1]
    lower = base.lower()
    shown = _show(rel)
    if lower == target:
        return f"found {shown}: the file must be named {target}, lower case"
    if lower.strip() == target:
        return f"found {shown}: the name has extra spaces; it must be exactly {target}"
    stem = target.rsplit(".", 1)[0].lower()
    if stem in lower and lower.endswith(".ipynb"):
        return f"found {shown}: submit the Python file {target}, not a notebook"
    if stem in lower:
        return f"found {shown}: rename it to {target}"
    if lower.endswith(".zip"):
        return f"found {shown}: a zip inside the zip is not opened; zip {target} itself"
    return None


# ---------------------------------------------------------------- bytes to text

def _read_regular_file(path: Path, cap: int, follow: bool, what: str) -> bytes:
    """Read at most `cap` bytes of a regular file; refuse links (unless `follow`) and FIFOs."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block us
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise InvalidSubmission(f"cannot open {_show(path.name)}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise InvalidSubmission(f"{_show(path.name)} is not a regular file")
        return _read_bounded(f, cap, what)


def _read_bounded(stream: BinaryIO, cap: int, what: str) -> bytes:
    """Read a stream to its end, refusing it as soon as it exceeds `cap` bytes.

    Never trusts a declared size: whatever the stream claims, at most cap + 1
    bytes are ever held in memory.
    """
    chunks, total = [], 0
    while True:
        chunk = stream.read(min(_CHUNK, cap + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > cap:
            raise InvalidSubmission(f"{what} is larger than the limit of {_size(cap)}")


def _decode(raw: bytes, name: str) -> str:
    """Source text from a file's bytes: UTF-8, BOM stripped, LF line endings."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidSubmission(f"{name} is saved as UTF-16 text; save it as UTF-8")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise InvalidSubmission(
            f"{name} contains NUL bytes (first at line {_line_of(raw, nul)}): it is a "
            "binary file, not Python source")
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidSubmission(
            f"{name} is not UTF-8 text (byte 0x{body[e.start]:02x} at line "
            f"{_line_of(body, e.start)}); save it with UTF-8 encoding") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _to_source(raw: bytes, name: str) -> str:
    """Decode the graded file's bytes to text with LF line endings, and check that it compiles.

    name: the file's name as the student will recognise it in a message.
    """
    name = _show(name)
    text = _decode(raw, name)
    if not text.strip():
        raise InvalidSubmission(f"{name} is empty")
    _check_compiles(text, name)
    return text


def _line_of(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset, counting CRLF, LF and lone CR as line ends."""
    head = data[:offset].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return head.count(b"\n") + 1


def _check_compiles(text: str, name: str) -> None:
    """Refuse source that Python cannot compile. Compiling runs none of it.

    The UTF-8 bytes are compiled, not the str, so a coding declaration is honoured
    exactly as it will be when the sandbox imports the file. Warnings are silenced:
    under `-W error` a SyntaxWarning (e.g. an invalid escape) would become an error
    that a normal import does not raise.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text.encode("utf-8"), name, "exec", dont_inherit=True)
    except SyntaxError as e:
        raise InvalidSubmission(_syntax_message(e, name)) from None
    except (RecursionError, MemoryError):
        raise InvalidSubmission(
            f"{name} is nested too deeply for Python to compile it") from None


def _syntax_message(e: SyntaxError, name: str) -> str:
    """'conv2d.py has a syntax error at line N: msg' plus the line with a caret under the error."""
    at = f" at line {e.lineno}" if e.lineno else ""
    message = f"{name} has a syntax error{at}: {e.msg}"
    if e.text:
        line = e.text.rstrip("\r\n")[:_LINE_MAX]
        message += f"\n    {line}"
        if e.offset and 0 < e.offset <= len(line) + 1:
            # Keep tabs so the caret lines up however the line is indented.
            pad = "".join(c if c == "\t" else " " for c in line[: e.offset - 1])
            message += f"\n    {pad}^"
    return message


# ---------------------------------------------------------------- message parts

def _show(name: str) -> str:
    """A name safe to print to a student: escaped if unprintable, shortened if long."""
    shown = name if name.isprintable() else ascii(name)[1:-1]
    return shown if len(shown) <= _NAME_MAX else shown[: _NAME_MAX - 1] + "…"


def _listing(names: Iterable[str]) -> str:
    """At most _LIST_MAX names, comma-separated, then 'and N more'."""
    names = [_show(n) for n in names]
    head = ", ".join(names[:_LIST_MAX])
    rest = len(names) - _LIST_MAX
    return f"{head} and {rest} more" if rest > 0 else head


def _size(n: int) -> str:
    """Bytes as a student reads them: '512 bytes', '2.0 MiB'."""
    if n < 1024:
        return f"{n} bytes"
    if n < 2**20:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 2**20:.1f} MiB"
