"""What a batch grades: every entry of the submissions folder, each under a unique id.

Every entry (a .zip, a folder, a .py file, or anything else an instructor's
download holds) is one row of the grade sheet; whether it is a submission is the
grading's job to say, with a reason. Only hidden names (dot-files such as
.DS_Store, and __MACOSX) and the batch's own output folder are not entries.

An id is the entry's name without its extension (a folder's whole name). Ids are
folder names under OUT/submissions/ and cells of grades.csv, so they are made safe
here: unprintable characters and undecodable bytes are escaped, long ones shortened,
and ids that clash (`alice/` and `alice.zip`; the comparison ignores case) take the
entry's whole name instead, then `~2`, `~3` if that still clashes. The same names
always give the same ids, so a rerun finds every grade again.

Nothing here reads more than an entry's metadata before its size is known to be
within the submission limits; hashing streams.
"""

import hashlib
import os
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autograder.staff.gradescope_export import METADATA_FILE
from autograder.submission import SubmissionLimits

HIDDEN_DIRS = frozenset({"__MACOSX"})
ID_MAX_BYTES = 120           # well under a file name's 255 bytes, with room for "~N"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    sha256: str          # of the input as found; "" when not hashed (over the limits, unreadable)
    note: str = ""       # for the staff, e.g. why the id is not the usual one


def is_hidden(name):
    return name.startswith(".") or name in HIDDEN_DIRS or name == METADATA_FILE


def discover(folder, out_dir=None, limits=SubmissionLimits()):
    """(entries sorted by id, names of the hidden entries left out) of `folder`.

    out_dir: the batch's output folder, left out when it lies inside `folder`.
    """
    folder = Path(folder)
    out = Path(out_dir).resolve() if out_dir is not None else None
    paths, hidden = [], []
    for path in sorted(folder.iterdir()):
        if is_hidden(path.name) or (out is not None and path.resolve() == out):
            hidden.append(path.name)
        else:
            paths.append(path)
    ids, notes = assign_ids(paths)
    entries = [Entry(ids[p], p, input_sha256(p, limits), notes.get(p, "")) for p in paths]
    return sorted(entries, key=lambda e: e.id), hidden


def assign_ids(paths):
    """({path: id}, {path: note}) with ids unique even when compared without case."""
    base = {p: safe_id(p.name if _is_dir(p) else Path(p.name).stem) for p in paths}
    clashes = Counter(b.casefold() for b in base.values())
    wanted = {p: safe_id(p.name) if clashes[b.casefold()] > 1 else b for p, b in base.items()}
    ids, notes, taken = {}, {}, set()
    for p in sorted(paths, key=lambda p: p.name):
        sid, n = wanted[p], 1
        while sid.casefold() in taken:
            n += 1
            sid = f"{wanted[p]}~{n}"
        taken.add(sid.casefold())
        ids[p] = sid
        if clashes[base[p].casefold()] > 1:
            others = sorted(safe_id(q.name) for q in paths if q != p and base[q].casefold() == base[p].casefold())
            notes[p] = f"duplicate id {base[p]!r}: also {', '.join(others)}; graded as {sid!r}"
    return ids, notes


def safe_id(name):
    """A name as a printable id: undecodable bytes and control characters escaped, length capped."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    if len(text.encode()) > ID_MAX_BYTES:
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
        text = text.encode()[:ID_MAX_BYTES - 11].decode("utf-8", "ignore") + "~" + digest
    return text


def _is_dir(path):
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def input_sha256(path, limits=SubmissionLimits()):
    """sha256 of a file's bytes, or of a folder's relative paths and file bytes; "" if not hashed.

    Not hashed (and so graded again on every run, where grading refuses it in a moment):
    a link, anything but a regular file or folder, an entry over the submission limits
    (decided from sizes before any byte is read), or one that cannot be read.
    """
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            if st.st_size > max(limits.max_zip_bytes, limits.max_source_bytes):
                return ""
            h = hashlib.sha256()
            _hash_file(h, path)
            return h.hexdigest()
        if not stat.S_ISDIR(st.st_mode):
            return ""
        files = _files_within_limits(Path(path), limits)
        if files is None:
            return ""
        h = hashlib.sha256()
        for rel in sorted(files):
            h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            _hash_file(h, Path(path) / rel)
            h.update(b"\0")
        return h.hexdigest()
    except OSError:
        return ""


def _files_within_limits(root, limits):
    """Relative paths of the regular files of a folder (links not followed, hidden junk left
    out, like the grading does), or None when the folder is over the count, depth or size limit."""
    files, total, pending = [], 0, [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as it:
            for item in it:
                if is_hidden(item.name) or item.name == "__pycache__":
                    continue
                rel = prefix + item.name
                if rel.count("/") + 1 > limits.max_depth:
                    return None
                if item.is_dir(follow_symlinks=False):
                    pending.append((Path(item.path), rel + "/"))
                elif item.is_file(follow_symlinks=False):
                    files.append(rel)
                    total += item.stat(follow_symlinks=False).st_size
                    if len(files) > limits.max_members or total > limits.max_total_uncompressed:
                        return None
    return files


def _hash_file(h, path):
    """Feed a file to a hash in chunks, without following a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        while chunk := f.read(_CHUNK):
            h.update(chunk)
