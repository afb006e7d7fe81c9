"""autograder/config.py on small config files written here, for a lab package written here: typed
sections (an int is a fine float, a list becomes a tuple, defaults), every error naming the file, the
table and the key with the expected type, `needs` validation, the lab's own [parameters] kept as read
(tests/unit/test_lab_loader.py types it), the seeds' paths, and that reading a config imports no lab code.
(tests/e2e/test_config.py edits the shipped config.)"""

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest

from autograder.config import KIT_ROOT, CheckSpec, ConfigError, Limits, Tolerance, load_config, read_table
from autograder import config as config_module
from autograder.seeds import SeedError
from helpers import config_error

CONFIG = """\
[lab]
name = "Mini lab"
package = "{lab}"
submission_file = "mini.py"
reference = "ref/mini.py"
template = "tpl/mini.py"

[fixtures]
public_seed = 3

[tolerances]
float64 = {{ rtol = 1e-7, atol = 1e-9 }}
float32 = {{ rtol = 1e-4, atol = 1 }}

[limits]
call_cpu_s = 1
import_cpu_s = 2.5
blocked_s = 1
total_cpu_s = 10
total_wall_s = 100
memory_mb = 256
file_size_mb = 1
open_files = 16

[checks.first]
title = "First check"
points = 2
visibility = "visible"
public = true
category = "a"
hint = "first hint"

[checks.second]
title = "Second check"
points = 3.5
visibility = "hidden"
public = false
category = "b"
hint = "second hint"
needs = ["first"]
"""

LAB_TABLE = """
[parameters]
epochs = 4

[parameters.inner]
eps = 1
names = ["x", "y"]
"""


@pytest.fixture
def lab_package(tmp_path, monkeypatch):
    """make(source) -> the name of a new lab package (its interface.py holds source), importable."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(source="CONTRACT = None\n"):
        name = f"unit_lab_{uuid.uuid4().hex[:10]}"
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
        (tmp_path / name / "interface.py").write_text(source)
        return name
    return make


@pytest.fixture
def write(tmp_path, lab_package):
    """write(text=CONFIG, lab_source=...) -> path of a config.toml for a new lab package."""
    def write(text=CONFIG, lab_source="CONTRACT = None\n", replace=()):
        text = text.format(lab=lab_package(lab_source))
        for old, new in replace:
            assert old in text, old
            text = text.replace(old, new, 1)
        path = tmp_path / "lab" / "config.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path
    return write


def error(path):
    return config_error(load_config, path)


# --- what loads --------------------------------------------------------------------------------

def test_every_table_is_typed_with_defaults(write):
    path = write()
    config = load_config(path)
    assert config.path == path and config.name == "Mini lab" and config.submission_file == "mini.py"
    assert config.limits == Limits(call_cpu_s=1.0, import_cpu_s=2.5, blocked_s=1.0, total_cpu_s=10.0,
                                   total_wall_s=100.0, memory_mb=256, file_size_mb=1, open_files=16)
    assert type(config.limits.call_cpu_s) is float and type(config.limits.memory_mb) is int
    assert config.tolerances.float32 == Tolerance(rtol=1e-4, atol=1.0) and type(config.tolerances.float32.atol) is float
    assert config.fixtures.hidden_seed_file == "secrets/hidden_seed" and config.fixtures.folder == "build/fixtures"
    assert config.similarity_threshold == 0.8 and config.public_seed == 3
    assert config.parameters_table is None


def test_checks_keep_file_order_and_needs_become_a_tuple(write):
    config = load_config(write())
    assert list(config.checks) == ["first", "second"]
    assert config.checks["second"] == CheckSpec(name="second", title="Second check", points=3.5, visibility="hidden",
                                                public=False, category="b", hint="second hint", needs=("first",))
    assert config.checks["first"].needs == () and config.max_score == 5.5


def test_tolerance_per_dtype(write):
    config = load_config(write())
    assert config.tolerance("float64").rtol == 1e-7
    assert config.tolerance(__import__("numpy").dtype("float32")).atol == 1.0
    with pytest.raises(ConfigError, match="no tolerance for dtype int8 in .*config.toml"):
        config.tolerance("int8")


def test_the_labs_own_table_is_kept_as_read_for_its_lab_to_type(write):
    config = load_config(write(CONFIG + LAB_TABLE))        # no Parameters needed: it is not read here
    assert config.parameters_table == {"epochs": 4, "inner": {"eps": 1, "names": ["x", "y"]}}
    assert "'parameters' should be a table, got 3" in error(write(CONFIG.replace("[lab]", "parameters = 3\n[lab]")))


def test_reading_a_config_imports_no_lab_code_nor_the_sandbox():
    """load_config reads TOML only: the lab package (its Parameters are typed by autograder.lab_loader.Lab), the
    sandbox and the worker stay unimported, so a command that needs the config alone starts fast."""
    probe = ("import json, sys; from autograder.config import load_config; "
             "config = load_config('assignment/config.toml'); "
             "print(json.dumps([config.name, sorted(m for m in sys.modules if m == 'assignment' or "
             "m.startswith(('assignment.', 'autograder.sandbox', 'autograder.worker')))]))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=KIT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    name, imported = json.loads(done.stdout)
    assert name and imported == []


# --- errors name the file, the table and the key ------------------------------------------------------

@pytest.mark.parametrize("old, new, words", [
    ("memory_mb = 256\n", "", "[limits]: missing key 'memory_mb' (an integer)"),
    ("memory_mb = 256", 'memory_mb = "256"', "[limits]: 'memory_mb' should be an integer, got '256'"),
    ("memory_mb = 256", "memory_mb = 256.5", "[limits]: 'memory_mb' should be an integer, got 256.5"),
    ("memory_mb = 256", "memory_mb = true", "[limits]: 'memory_mb' should be an integer, got True"),
    ("call_cpu_s = 1", "call_cpu_s = false", "[limits]: 'call_cpu_s' should be a number, got False"),
    ("open_files = 16", "open_files = 16\nopen_file = 3", "[limits]: unknown key 'open_file' (the keys are: call_cpu_s"),
    ("float64 = { rtol = 1e-7, atol = 1e-9 }", "float64 = { rtol = 1e-7 }", "[tolerances.float64]: missing key 'atol'"),
    ("float64 = { rtol = 1e-7, atol = 1e-9 }", "float64 = 1e-7", "[tolerances]: 'float64' should be a table, got 1e-07"),
    ("public = true", 'public = "yes"', "[checks.first]: 'public' should be true or false, got 'yes'"),
    ('needs = ["first"]', 'needs = "first"', "[checks.second]: 'needs' should be a list of a string, got 'first'"),
    ('needs = ["first"]', "needs = [1]", "[checks.second]: 'needs' should be a string, got 1"),
    ('hint = "first hint"', 'hint = "first hint"\nhnit = "x"', "[checks.first]: unknown key 'hnit'"),
])
def test_a_wrong_key_is_named_with_its_table_and_expected_type(write, old, new, words):
    assert words in error(write(replace=[(old, new)]))


@pytest.mark.parametrize("old, new, words", [
    ('needs = ["first"]', 'needs = ["frist"]', "[checks.second] needs: 'frist' is not another check of this file"),
    ('needs = ["first"]', 'needs = ["second"]', "[checks.second] needs: 'second' is not another check of this file"),
    ('visibility = "hidden"', 'visibility = "secret"', "[checks.second]: visibility must be one of visible, "),
    ("points = 3.5", "points = -1", "[checks.second]: points must not be negative"),
])
def test_a_checks_values_are_validated(write, old, new, words):
    assert words in error(write(replace=[(old, new)]))


def test_a_check_that_is_not_a_table(write):
    assert "[checks.third]: should be a table" in error(write(CONFIG + "\n[checks]\nthird = 3\n"))


@pytest.mark.parametrize("old, new, words", [
    ("[fixtures]\npublic_seed = 3\n", "", "missing table [fixtures]"),
    ("[lab]", "[labb]", "unknown table [labb] (the tables are: lab, fixtures"),
])
def test_tables_missing_or_unknown(write, old, new, words):
    assert words in error(write(replace=[(old, new)]))


def test_a_config_still_using_assignment_is_told_what_to_rename(write):
    message = error(write(CONFIG.replace("[lab]", "[assignment]").replace("package = ", "lab = ")))
    assert "the table [assignment] is now called [lab]: rename it, and its key 'lab'" in message
    assert "[lab.NAME] are now [parameters.NAME]" in message


def test_at_least_one_check(write):
    assert "missing table [checks.NAME]" in error(write(CONFIG.split("[checks.first]")[0]))


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_the_similarity_threshold_is_a_share(write, value):
    assert "[integrity]: similarity_threshold must be in (0, 1]" in error(
        write(CONFIG + f"\n[integrity]\nsimilarity_threshold = {value}\n"))


def test_a_threshold_of_one_is_fine(write):
    assert load_config(write(CONFIG + "\n[integrity]\nsimilarity_threshold = 1\n")).similarity_threshold == 1.0


def test_the_hidden_seed_in_config_toml_is_refused_saying_what_to_run(write):
    message = error(write(replace=[("public_seed = 3", "public_seed = 3\nhidden_seed = 123456789")]))
    assert "[fixtures]: hidden_seed must not be in config.toml" in message and "make fixtures NEW_SEED=1" in message


def test_a_missing_file_and_bad_toml(tmp_path, write):
    assert error(tmp_path / "absent.toml").startswith("config file not found:")
    assert error(tmp_path).startswith("cannot read the config file")          # a folder, e.g. an empty LAB file
    assert "is not valid TOML" in error(write(CONFIG + "\n[limits\n"))
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"name = \"\xe9\"\n")
    assert "is not valid TOML" in error(path)


# --- seeds and paths ----------------------------------------------------------------------------

def test_the_hidden_seed_file_is_read_from_config_tomls_folder(write):
    path = write()
    config = load_config(path)
    assert config.hidden_seed_path == path.parent / "secrets" / "hidden_seed"
    assert config.fixture_seed("public") == 3 and config.fixture_seed("hidden") is None
    with pytest.raises(SeedError, match="no hidden seed at .*secrets/hidden_seed: run `make fixtures LAB="):
        config.hidden_seed
    config.hidden_seed_path.parent.mkdir()
    config.hidden_seed_path.write_text(f"{2**100}\n")
    assert config.hidden_seed == 2**100 == config.fixture_seed("hidden")


def test_every_path_a_config_names_is_relative_to_its_folder(write):
    path = write(CONFIG + '\n[handout]\nlauncher = "../tpl/run.py"\n')
    config = load_config(path)
    assert config.resolve(config.lab.reference) == path.parent / "ref" / "mini.py"
    assert config.resolve(config.fixtures.folder) == path.parent / "build" / "fixtures"
    assert config.resolve(config.lab.catalogue) == path.parent / "catalogue"
    assert config.handout.launcher == "../tpl/run.py" and config.handout.text == "README.md"
    assert config.handout.notebook == "" and config.fixtures.builder_version == 1


@pytest.mark.parametrize("old, new, words", [
    ("public_seed = 3", 'public_seed = 3\nbuilder_version = "2"', "[fixtures]: 'builder_version' should be an integer"),
    ("[tolerances]", '[handout]\nnotebok = "lab.ipynb"\n\n[tolerances]', "[handout]: unknown key 'notebok'"),
    ("[tolerances]", '[handout]\nfigures = false\n\n[tolerances]', "[handout]: 'figures' should be a string"),
])
def test_the_new_keys_are_typed(write, old, new, words):
    assert words in error(write(replace=[(old, new)]))


def test_the_labs_package_imports_from_the_folder_above_the_one_config_toml_sits_in(tmp_path):
    """A lab anywhere: config.toml in its package's folder puts that package's root on sys.path."""
    import sys
    name = f"unit_lab_{uuid.uuid4().hex[:10]}"
    package = tmp_path / "away" / "courses" / name
    package.mkdir(parents=True)
    (tmp_path / "away" / "courses" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "interface.py").write_text("CONTRACT = None\n")
    (package / "config.toml").write_text(CONFIG.format(lab=f"courses.{name}"))
    try:
        config = load_config(package / "config.toml")
        assert config.lab_root == (tmp_path / "away").resolve()
        assert config_module.lab_root(tmp_path / "elsewhere" / "config.toml", f"courses.{name}") is None
    finally:
        if str((tmp_path / "away").resolve()) in sys.path:
            sys.path.remove(str((tmp_path / "away").resolve()))
        for module in [m for m in sys.modules if m == "courses" or m.startswith("courses.")]:
            del sys.modules[module]


def test_read_table_takes_known_fields_from_the_caller():
    spec = read_table(CheckSpec, dict(title="t", points=1, visibility="visible", public=True, category="c", hint="h"),
                      "where [checks.x]", name="x")
    assert spec.name == "x" and spec.points == 1.0
    with pytest.raises(ConfigError, match=r"where \[checks.x\]: unknown key 'name'"):
        read_table(CheckSpec, dict(name="y", title="t", points=1, visibility="visible", public=True, category="c",
                                   hint="h"), "where [checks.x]", name="x")


@dataclass(frozen=True)
class WithList:
    values: list[int]


def test_a_list_field_is_read_as_a_tuple_of_checked_items():
    assert read_table(WithList, {"values": [1, 2]}, "w").values == (1, 2)
    with pytest.raises(ConfigError, match="'values' should be an integer, got 'x'"):
        read_table(WithList, {"values": [1, "x"]}, "w")



# --- the staff file: the staff tools' settings, never in config.toml ---------------------------------

def test_the_conv_labs_staff_file_holds_its_mutants_and_bench_settings():
    from autograder.config import load_staff_settings
    config = load_config(KIT_ROOT / "assignment" / "config.toml")
    staff = load_staff_settings(config)
    assert staff.path == KIT_ROOT / "assignment" / "staff.toml"
    assert "Conv2d.backward" in staff.mutants.targets and staff.mutants.float64 > 0
    assert staff.resolve(staff.mutants.results) == KIT_ROOT / "tools" / "mutants.json"
    assert ("untouched template", "template") in staff.bench.grading_subjects
    # config.toml ships with every package: nothing of the reference's insides may be named there
    assert "batch_col2im" not in config.path.read_text() and "batch_col2im" in staff.path.read_text()


def test_a_mutants_table_in_config_toml_is_refused_and_sent_to_the_staff_file(write):
    message = error(write(CONFIG + '\n[mutants]\ntargets = ["f"]\n'))
    assert "[mutants] belongs in the staff file [lab] staff names" in message


@pytest.mark.parametrize("staff, words", [
    (None, "no 'staff' file"),
    ("", "[lab] staff: staff file not found"),
    ('[mutants]\ntargets = "f"\n', "[mutants]: 'targets' should be a list of a string"),
    ('[bench]\ngrading_subjects = []\nrealistic_subjects = []\n', "missing key 'memory_subjects'"),
    ("[benchmarks]\n", "unknown table [benchmarks]"),
])
def test_a_wrong_staff_file_is_a_clear_config_error(write, staff, words):
    from autograder.config import load_staff_settings
    path = write(CONFIG.replace('template = "tpl/mini.py"\n', 'template = "tpl/mini.py"\nstaff = "staff.toml"\n')
                 if staff is not None else CONFIG)
    if staff:
        (path.parent / "staff.toml").write_text(staff)
    with pytest.raises(ConfigError) as caught:
        load_staff_settings(load_config(path))
    assert words in str(caught.value), caught.value
