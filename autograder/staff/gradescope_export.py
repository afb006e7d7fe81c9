"""Reading a Gradescope "Export Submissions" download: who handed in which folder, and when.

The download (submissions.zip) unpacks to one folder, e.g. `assignment_123_export/`,
holding `submission_metadata.yml` and one folder per submission named by its key
in that file (`submission_132970515/`). Each key maps to (Ruby symbols, so the
keys keep their leading colon):

    :submitters: [{:name, :sid, :email}, ...]   several for a group submission
    :created_at: 2022-09-10 23:47:27.018556000 Z
    :score, :status, :results, :history          (not used here: the kit regrades)

`python -m autograder batch EXPORT` grades the submission folders as usual; this
module adds each one's names, emails, SIDs and submission time to its row.
The file is read with YAML's safe loader only (it holds student-typed text), after its
size is checked and with YAML aliases refused: nine levels of nine aliases make a file of
a few hundred bytes name a list of billions of items. Names are an enrichment: metadata
set aside for either reason costs the student columns (left empty), never a grade.
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

METADATA_FILE = "submission_metadata.yml"
MAX_METADATA_BYTES = 512 * 2**20       # about 50 KB per submission with its history: far above a real class
STUDENT_COLUMNS = ("student_name", "student_email", "student_sid", "submitted_at")
JOIN = "; "                            # between the members of a group submission, in one cell


class ExportError(Exception):
    """The export's metadata cannot be read; the message says why."""


class SetAside(Exception):
    """The metadata is refused before it is built (too large, aliases); the message says why,
    after the file's path ('is larger than ...')."""


@dataclass(frozen=True)
class Submitter:
    name: str
    email: str
    sid: str


@dataclass(frozen=True)
class ExportedSubmission:
    key: str                 # the folder's name, e.g. submission_132970515
    submitters: tuple        # Submitter, one or more (a group)
    submitted_at: str        # ISO 8601 in UTC, '' when missing

    def columns(self):
        """The four student columns of grades.csv, group members joined by '; '."""
        return dict(student_name=JOIN.join(s.name for s in self.submitters),
                    student_email=JOIN.join(s.email for s in self.submitters),
                    student_sid=JOIN.join(s.sid for s in self.submitters),
                    submitted_at=self.submitted_at)


@dataclass(frozen=True)
class GradescopeExport:
    folder: Path             # holds the metadata file and the submission folders
    submissions: dict        # folder name -> ExportedSubmission
    problem: str = ""        # why the metadata was set aside ('' when it was read)

    def annotate(self, record):
        """Adds the student columns to a batch record (matched by the folder it was graded from)."""
        found = self.submissions.get(record.get("source", record["id"])) or self.submissions.get(record["id"])
        record.update(found.columns() if found else dict.fromkeys(STUDENT_COLUMNS, ""))
        return record


def find_export(folder):
    """The export in `folder` (or in its only sub-folder, the zip's top folder); None if it is not one."""
    folder = Path(folder)
    if (folder / METADATA_FILE).is_file():
        return read_export(folder)
    children = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
    if len(children) == 1 and children[0].is_dir() and (children[0] / METADATA_FILE).is_file():
        return read_export(children[0])
    return None


def read_export(folder):
    """The export in `folder`: its submissions' metadata, or none and the reason it was set aside.
    ExportError: the file cannot be read, or is not YAML mapping folders to metadata."""
    import yaml
    folder = Path(folder)
    path = folder / METADATA_FILE
    try:
        data = _parse_yaml(_read_capped(path))
    except SetAside as exc:
        return GradescopeExport(folder, {}, f"{path} {exc}; it was set aside: every submission is graded without "
                                            "the students' names, emails, SIDs and submission times")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ExportError(f"{path} is not valid YAML: {' '.join(str(exc).split())[:300]}") from None
    if not isinstance(data, dict):
        raise ExportError(f"{path} does not map submission folders to their metadata")
    return GradescopeExport(folder, {str(key): _submission(str(key), value) for key, value in data.items()})


def _read_capped(path):
    """The file's text, its size checked before it is read and the read itself capped."""
    too_large = SetAside(f"is larger than {MAX_METADATA_BYTES // 2**20} MiB")
    if path.stat().st_size > MAX_METADATA_BYTES:
        raise too_large
    with open(path, "rb") as f:
        raw = f.read(MAX_METADATA_BYTES + 1)          # it may have grown since
    if len(raw) > MAX_METADATA_BYTES:
        raise too_large
    return raw.decode("utf-8")


def _parse_yaml(text):
    """The document, by YAML's safe loader; aliases are refused from the event stream, before
    anything is built (the C parser when PyYAML has it)."""
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader)):
        raise SetAside("uses YAML aliases (*name), which can make a small file expand to "
                       "gigabytes, so this reader refuses them")
    return yaml.load(text, Loader=loader)


def _field(table, name):
    """A metadata field by name, with or without the Ruby symbol's colon."""
    if not isinstance(table, dict):
        return None
    return table.get(f":{name}", table.get(name))


def _text(value):
    """One line of at most 200 characters from a scalar; a list or mapping where text belongs gives ''."""
    if not isinstance(value, (str, int, float, datetime.date)):
        return ""
    return " ".join(str(value).split())[:200]


def _submission(key, meta):
    people = _field(meta, "submitters")
    submitters = tuple(Submitter(_text(_field(p, "name")), _text(_field(p, "email")), _text(_field(p, "sid")))
                       for p in (people if isinstance(people, list) else []) if isinstance(p, dict))
    return ExportedSubmission(key, submitters, _timestamp(_field(meta, "created_at")))


def _timestamp(value):
    """ISO 8601 UTC text from YAML's datetime (or the string it could not parse)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    return _text(value)
