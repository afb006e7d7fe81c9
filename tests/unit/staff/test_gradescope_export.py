"""autograder/staff/gradescope_export.py on metadata files written here: who handed in which folder
and when, group submissions, a missing or odd field costing only that field, YAML's safe loader
with aliases refused, and where the export's folder is found."""

import pytest

from autograder.staff.gradescope_export import (METADATA_FILE, STUDENT_COLUMNS, ExportError, find_export,
                                                read_export)

METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '42'
    :email: ada@uni.edu
  :created_at: 2022-09-10 23:47:27.018556000 Z
  :score: 10.0
submission_1002:
  :submitters:
  - :name: "Bob\\tB"
    :sid: 7
    :email: bob@uni.edu
  - :name: Carol
    :sid: '8'
    :email: carol@uni.edu
  :created_at: 2022-09-11 10:00:00.000000000 +02:00
submission_1003:
  :submitters: not a list
  :created_at: [odd]
"""


def write(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METADATA_FILE).write_text(text)
    return folder


def test_each_folder_gets_its_students_and_time_in_utc(tmp_path):
    export = read_export(write(tmp_path, METADATA))
    ada = export.submissions["submission_1001"]
    assert ada.columns() == {"student_name": "Ada Lovelace", "student_email": "ada@uni.edu", "student_sid": "42",
                             "submitted_at": "2022-09-10T23:47:27Z"}
    group = export.submissions["submission_1002"].columns()
    assert group["student_name"] == "Bob B; Carol" and group["student_sid"] == "7; 8"
    assert group["submitted_at"] == "2022-09-11T08:00:00Z"
    odd = export.submissions["submission_1003"]
    assert odd.submitters == () and odd.submitted_at == "" and export.problem == ""


def test_annotate_adds_the_columns_or_leaves_them_empty(tmp_path):
    export = read_export(write(tmp_path, METADATA))
    row = export.annotate({"id": "x", "source": "submission_1001"})
    assert row["student_name"] == "Ada Lovelace"
    assert export.annotate({"id": "submission_1002"})["student_email"] == "bob@uni.edu; carol@uni.edu"
    assert export.annotate({"id": "elsewhere"}) == {"id": "elsewhere", **dict.fromkeys(STUDENT_COLUMNS, "")}


def test_aliases_are_refused_and_cost_only_the_names(tmp_path):
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    export = read_export(write(tmp_path, bomb))
    assert export.submissions == {} and "uses YAML aliases" in export.problem and "set aside" in export.problem


def test_a_python_object_tag_is_an_error_never_built(tmp_path):
    with pytest.raises(ExportError, match="not valid YAML"):
        read_export(write(tmp_path, "x: !!python/object/apply:os.system ['echo hi']\n"))


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "a: [unclosed\n"])
def test_metadata_that_is_not_a_mapping_of_folders(tmp_path, text):
    with pytest.raises(ExportError):
        read_export(write(tmp_path, text))


def test_an_oversized_file_is_set_aside_unread(tmp_path, monkeypatch):
    from autograder.staff import gradescope_export
    monkeypatch.setattr(gradescope_export, "MAX_METADATA_BYTES", 100)
    export = read_export(write(tmp_path, METADATA))
    assert export.submissions == {} and "is larger than" in export.problem


def test_the_export_is_found_in_its_folder_or_its_only_subfolder(tmp_path):
    write(tmp_path / "dl" / "assignment_1_export", METADATA)
    (tmp_path / "dl" / ".DS_Store").write_text("")
    assert find_export(tmp_path / "dl").folder == tmp_path / "dl" / "assignment_1_export"
    assert find_export(tmp_path / "dl" / "assignment_1_export") is not None
    (tmp_path / "dl" / "other").mkdir()
    assert find_export(tmp_path / "dl") is None
    assert find_export(tmp_path / "absent") is None
