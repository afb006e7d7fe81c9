"""autograder/staff/catalogue.py on a small catalogue written here: a partial solution completed with
the template, bug and hostile entries made by edits of a base (each edit's text found exactly once),
the utf-7 disguise, and the zip written under the lab's file name."""

import zipfile
from types import SimpleNamespace

import pytest

from autograder.lab_loader import Contract
from autograder.staff.catalogue import complete_with_template, load_catalogue, module_from_source, write_zip

# What the catalogue reads of its lab: the file's name and the contract's class.
LAB = SimpleNamespace(config=SimpleNamespace(submission_file="conv2d.py"),
                      contract=Contract(functions=("col2im",), classes=("Conv2d",)))

TEMPLATE = '''\
"""The template's docstring."""

import numpy as np


def col2im(X_col, C, H, W, kH, kW, stride=1):
    raise NotImplementedError("col2im")


def im2col(x):
    return x


class Conv2d:
    def forward(self, x):
        return x

    def backward(self, dY):
        raise NotImplementedError("backward")
'''

PARTIAL = '''\
"""Mine: col2im with a helper."""

import math


def col2im(X_col, C, H, W, kH, kW, stride=1):
    return helper(X_col)


def helper(v):
    return v * 2


class Conv2d:
    def backward(self, dY):
        return dY + 1

    def extra(self):
        return math.pi
'''


def test_a_partial_replaces_and_adds_definitions_in_the_template():
    full = complete_with_template(PARTIAL, TEMPLATE, lab=LAB)
    module = module_from_source(full, "unit_catalogue_full")
    assert module.__doc__ == "Mine: col2im with a helper."
    assert module.col2im(3, 1, 1, 1, 1, 1) == 6 and module.im2col(5) == 5           # the template's given code kept
    layer = module.Conv2d()
    assert layer.forward(4) == 4 and layer.backward(1) == 2 and layer.extra() == pytest.approx(3.14159, abs=1e-5)
    assert full.count("import numpy as np") == 1 and "import math" in full
    assert "NotImplementedError" not in full


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    folder = tmp_path / "submissions"
    (folder / "correct").mkdir(parents=True)
    (folder / "correct" / "mine.py").write_text(PARTIAL)
    (folder / "catalogue.toml").write_text('''\
examples = ["bug/doubled"]

[[bug]]
name = "doubled"
base = "mine"
story = "doubles twice"
fails = "some_check"
replace = [{ old = "return v * 2", new = "return v * 4" }]

[[hostile]]
name = "hidden_in_utf7"
base = "mine"
story = "the same code, disguised"
fails = ["all"]
twin = "correct/mine"
coding = "utf-7"
''')
    from autograder.staff import catalogue as module
    monkeypatch.setattr(module, "complete_with_template", lambda partial, template=None, *, lab: complete_with_template(
        partial, TEMPLATE, lab=lab))
    return folder


def test_entries_are_edits_of_their_base(catalogue):
    entries, examples = load_catalogue(catalogue, lab=LAB)
    assert list(entries) == ["correct/mine", "bug/doubled", "hostile/hidden_in_utf7"] and examples == ["bug/doubled"]
    assert entries["correct/mine"].story == "Mine: col2im with a helper."
    bug = entries["bug/doubled"]
    assert bug.fails == ("some_check",) and bug.source == entries["correct/mine"].source.replace("v * 2", "v * 4")
    hostile = entries["hostile/hidden_in_utf7"]
    assert hostile.fails == ("all",) and hostile.twin == "correct/mine"
    assert hostile.source.startswith("# coding: utf-7\n+") and "def col2im" not in hostile.source
    module = module_from_source(hostile.source.encode("ascii").decode("utf-7").split("\n", 1)[1], "unit_utf7")
    assert module.col2im(1, 1, 1, 1, 1, 1) == 2                     # what Python runs is the base's code


def test_an_edit_whose_text_is_not_found_exactly_once_is_an_error(catalogue):
    text = (catalogue / "catalogue.toml").read_text().replace('old = "return v * 2"', 'old = "return"')
    (catalogue / "catalogue.toml").write_text(text)
    with pytest.raises(ValueError, match="bug/doubled: text to replace occurs [2-9] times in its base, expected once"):
        load_catalogue(catalogue, lab=LAB)


def test_the_zip_holds_the_source_under_the_labs_file_name(catalogue, tmp_path):
    entries, _ = load_catalogue(catalogue, lab=LAB)
    path = write_zip(entries["bug/doubled"], tmp_path / "zips" / "bug.zip", lab=LAB)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["conv2d.py"] and zf.read("conv2d.py").decode() == entries["bug/doubled"].source
