"""autograder/fixtures.py on a tiny fixture set written here: the manifest's verification (files,
digests, set hash, seed, generator version), each refusal naming the command that fixes it, the
cases' lazily loaded read-only arrays, their variants and words, and which cases a check grades."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import fixtures as fixtures_module
from autograder.fixtures import (FORMAT_VERSION, FixtureError, load_fixture_set, set_hash, sha256_file,
                                 write_fixture_set)
from autograder.seeds import seed_digest

SEED = 2**70 + 11


class FakeLab:
    """The words, selectors and builder version a fixture set borrows from its lab."""
    def __init__(self, builder_version=1):
        self.selected = []
        self.config = SimpleNamespace(fixtures=SimpleNamespace(builder_version=builder_version),
                                      make_command=lambda target: f"make {target} LAB=lab/config.toml")

    def describe_case(self, case):
        return f"case {case.id} ({case.params['n']})"

    def bug_message(self, name):
        return f"the student did {name}"

    def bug_owner(self, name):
        return {"swap": "order_check"}.get(name, "")

    def checks_for(self, kind, params):
        self.selected.append((kind, params["n"]))
        return ["big"] if params["n"] > 1 else ["small", "big"]


def generated(checks=True):
    """(case_id, kind, params, checks, arrays) of three small cases."""
    return [("a", "col2im", {"n": 1}, ["small", "big"] if checks else [],
             {"expected": np.arange(6.0).reshape(2, 3), "variant_swap": np.zeros((2, 3)), "variant_dX_half": np.ones(2)}),
            ("b", "layer", {"n": 2}, ["big"] if checks else [], {"dX": np.eye(3, dtype=np.float32)}),
            ("c", "layer", {"n": 3}, ["big"] if checks else [], {"dX": np.arange(4, dtype=np.int64)})]


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "hidden"
    write_fixture_set(folder, SEED, generated())
    return folder


def load(folder, seed=SEED, which="hidden", lab=None):
    return load_fixture_set(folder, seed, which, lab=lab or FakeLab())


def refusal(folder, seed=SEED):
    with pytest.raises(FixtureError) as caught:
        load(folder, seed)
    message = str(caught.value)
    assert "run `make fixtures LAB=" in message, message
    return message


# --- writing and reading back --------------------------------------------------------------------

def test_the_manifest_lists_every_file_with_its_digest_and_never_the_seed(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    names = {p.name for p in folder.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == names and "cases.json" in names and "a__expected.npy" in names
    assert all(manifest["files"][n] == sha256_file(folder / n) for n in names)
    assert manifest["set_hash"] == set_hash(manifest["files"])
    assert manifest["seed_sha256"] == seed_digest(SEED) and manifest["which"] == "hidden"
    assert manifest["format_version"] == FORMAT_VERSION and manifest["builder_version"] == 1
    assert str(SEED) not in "".join(p.read_text(errors="replace") for p in folder.iterdir())


def test_a_set_loads_with_its_cases_in_file_order(folder):
    fixture_set = load(folder)
    assert [c.id for c in fixture_set.cases] == ["a", "b", "c"]
    a = fixture_set.cases[0]
    assert (a.kind, a.params, a.checks, a.arrays) == ("col2im", {"n": 1}, ("small", "big"),
                                                     ("expected", "variant_dX_half", "variant_swap"))
    assert fixture_set.set_hash == json.loads((folder / "manifest.json").read_text())["set_hash"]
    assert [c.id for c in fixture_set.for_check("big")] == ["a", "b", "c"]
    assert [c.id for c in fixture_set.for_check("small")] == ["a"] and fixture_set.for_check("none") == []


def test_a_set_whose_cases_list_no_check_asks_the_labs_selectors_once(tmp_path):
    write_fixture_set(tmp_path / "s", SEED, generated(checks=False))
    lab = FakeLab()
    fixture_set = load(tmp_path / "s", lab=lab)
    assert [c.checks for c in fixture_set.cases] == [("small", "big"), ("big",), ("big",)]
    assert lab.selected == [("col2im", 1), ("layer", 2), ("layer", 3)]


def test_rewriting_replaces_the_whole_set(folder):
    write_fixture_set(folder, SEED, generated()[:1], public=True)
    assert {p.name for p in folder.iterdir()} == {"cases.json", "manifest.json", "a__expected.npy",
                                                  "a__variant_dX_half.npy", "a__variant_swap.npy"}
    assert json.loads((folder / "manifest.json").read_text())["which"] == "public"
    assert not (folder.parent / "hidden.tmp").exists()


def test_set_hash_is_over_sorted_names_and_digests():
    assert set_hash({"b": "2", "a": "1"}) == set_hash({"a": "1", "b": "2"})
    assert set_hash({"a": "1", "b": "2"}) != set_hash({"a": "2", "b": "1"})


# --- verification ----------------------------------------------------------------------------------

def test_a_changed_file_is_refused_naming_it(folder):
    np.save(folder / "b__dX.npy", np.eye(3, dtype=np.float32) * 2)
    assert "b__dX.npy does not match its sha256 in the manifest" in refusal(folder)


def test_an_extra_or_missing_file_is_refused_naming_it(folder):
    (folder / "planted.npy").write_bytes(b"x")
    assert "unexpected: ['planted.npy'], missing: []" in refusal(folder)
    (folder / "planted.npy").unlink()
    (folder / "c__dX.npy").unlink()
    assert "unexpected: [], missing: ['c__dX.npy']" in refusal(folder)


def test_a_manifest_edited_to_match_a_changed_file_still_fails_its_set_hash(folder):
    np.save(folder / "b__dX.npy", np.zeros((3, 3), np.float32))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["b__dX.npy"] = sha256_file(folder / "b__dX.npy")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert "the set hash in" in refusal(folder)


def test_another_seed_is_refused_without_naming_either(folder):
    message = refusal(folder, seed=SEED + 1)
    assert "built from another seed" in message and str(SEED) not in message and str(SEED + 1) not in message
    assert load(folder, seed=None).cases                      # no seed to compare: the digests alone


def test_another_file_format_is_refused(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert f"format version {FORMAT_VERSION - 1}, this grader reads {FORMAT_VERSION}" in refusal(folder)


def test_a_set_from_another_version_of_the_labs_builder_is_refused(tmp_path):
    """The lab's config.toml names its builder's version: a set from an older case list is stale."""
    folder = tmp_path / "hidden"
    write_fixture_set(folder, SEED, generated(), builder_version=3)
    assert load(folder, lab=FakeLab(builder_version=3)).cases
    with pytest.raises(FixtureError, match=r"made by builder version 3, the lab's config.toml says 4 "
                                           r"\(\[fixtures\] builder_version\): run `make fixtures LAB="):
        load(folder, lab=FakeLab(builder_version=4))


@pytest.mark.parametrize("text", ["{", "[]", '{"no_files": 1}', '"text"'])
def test_a_manifest_that_is_not_one(folder, text):
    (folder / "manifest.json").write_text(text)
    assert "is not a valid manifest" in refusal(folder)


def test_no_set_at_all(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no public fixture set at" in str(pytest.raises(FixtureError, load, tmp_path / "empty", which="public").value)
    assert "manifest.json missing" in refusal(tmp_path / "nowhere")


# --- cases ------------------------------------------------------------------------------------------

def test_arrays_load_once_read_only(folder, monkeypatch):
    case = load(folder).cases[1]
    loads = []
    real_load = np.load
    monkeypatch.setattr(fixtures_module.np, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    dX = case.array("dX")
    assert dX.dtype == np.float32 and np.array_equal(dX, np.eye(3)) and case.array("dX") is dX
    assert len(loads) == 1
    with pytest.raises(ValueError):
        dX[0, 0] = 5


def test_an_unknown_array_name_is_a_key_error(folder):
    with pytest.raises(KeyError, match="case b has no array 'dY'"):
        load(folder).cases[1].array("dY")


def test_an_oversized_array_file_is_refused_before_it_is_read(folder, monkeypatch):
    monkeypatch.setattr(fixtures_module, "MAX_ARRAY_BYTES", 100)
    with pytest.raises(FixtureError, match="larger than 100 bytes"):
        load(folder).cases[1].array("dX")


def test_an_object_array_is_never_written(tmp_path):
    with pytest.raises(ValueError, match="allow_pickle"):
        write_fixture_set(tmp_path / "s", SEED, [("p", "k", {"n": 1}, ["x"], {"obj": np.array([{}], dtype=object)})])


def test_an_array_file_holding_a_pickle_is_never_unpickled(folder):
    # a forged set whose manifest matches: the pickle is still refused when the array is read
    np.save(folder / "b__dX.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["b__dX.npy"] = sha256_file(folder / "b__dX.npy")
    manifest["set_hash"] = set_hash(manifest["files"])
    (folder / "manifest.json").write_text(json.dumps(manifest))
    case = load(folder).cases[1]
    with pytest.raises(ValueError, match="allow_pickle"):
        case.array("dX")


def test_variants_in_the_labs_words_with_their_owners(folder):
    case = load(folder).cases[0]
    found = case.variants()
    assert [(bug, owner) for bug, _, owner in found] == [("the student did dX_half", ""),
                                                        ("the student did swap", "order_check")]
    assert np.array_equal(found[1][1], np.zeros((2, 3)))
    assert [bug for bug, _, _ in case.variants("dX_")] == ["the student did dX_half"]


def test_without_a_lab_a_case_uses_its_own_names():
    case = fixtures_module.Case(id="x", kind="k", params={}, checks=(), arrays=(), folder=None)
    assert case.describe() == "x" and case.variants() == []


def test_a_case_is_described_in_the_labs_words(folder):
    assert load(folder).cases[2].describe() == "case c (3)"


def test_cases_compare_by_their_data_not_their_folder(tmp_path):
    make = lambda folder: fixtures_module.Case(id="x", kind="k", params={"n": 1}, checks=("c",), arrays=("a",),
                                               folder=folder, lab=SimpleNamespace())
    assert make(tmp_path / "one") == make(tmp_path / "two")
