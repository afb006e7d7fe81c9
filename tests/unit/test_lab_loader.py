"""autograder/lab_loader.py on a lab package written here: the contract a submission must define, the names
an interface module must declare (and what a lab written for the earlier names must rename), the checks
found from their @check declarations in pytest's order (a pytest mark no longer declares one), the
selectors, the feedback vocabulary, and the lab's own [parameters] table typed by its Parameters."""

import uuid

import pytest

from autograder.config import ConfigError
from autograder.lab_loader import Contract, Lab, load_lab
from helpers import config_error

INTERFACE_PY = '''\
from autograder.lab_loader import Contract

CONTRACT = Contract(functions=("scale",), classes=("Layer",))
STUDENT_PARTS = ["scale"]
BUG_VARIANTS = {"halved": "the result is halved", "swapped": ("rows and columns swapped", "order")}


class Adapter:
    pass


def describe_case(case):
    return f"n={case.params['n']}"
'''

CHECK_B = '''\
from autograder.checks import check


def big(case):
    return case.params["n"] > 2


@check("second", cases=big)
def test_second(code, config, case):
    pass


def test_not_a_check(code, config, case):
    pass


@check("third")
def test_third(code, config):
    pass
'''

CHECK_A = '''\
import autograder.checks


@autograder.checks.check("first", cases=lambda case: case.kind == "k")
def test_first(code, config, case):
    pass


def helper():
    pass
'''

CONFIG = '''\
[lab]
name = "Mini"
package = "{lab}"
submission_file = "mini.py"
reference = "ref/mini.py"
template = "tpl/mini.py"

[fixtures]
public_seed = 1

[tolerances]
float64 = {{ rtol = 1e-7, atol = 1e-9 }}
float32 = {{ rtol = 1e-4, atol = 1e-5 }}

[limits]
call_cpu_s = 1
import_cpu_s = 1
blocked_s = 1
total_cpu_s = 1
total_wall_s = 1
memory_mb = 1
file_size_mb = 1
open_files = 1
''' + "".join(f'''
[checks.{name}]
title = "{name}"
points = 1
visibility = "visible"
public = true
category = "c"
hint = "h"
''' for name in ("third", "second", "first"))


@pytest.fixture
def make_lab(tmp_path, monkeypatch):
    """make_lab(interface_py=INTERFACE_PY) -> config.toml path of a new lab package with checks/check_a.py
    and check_b.py."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(interface_py=INTERFACE_PY):
        name = f"unit_lab_{uuid.uuid4().hex[:10]}"
        package = tmp_path / name
        (package / "checks").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "interface.py").write_text(interface_py)
        (package / "checks" / "__init__.py").write_text("")
        (package / "checks" / "check_b.py").write_text(CHECK_B)
        (package / "checks" / "check_a.py").write_text(CHECK_A)
        (package / "checks" / "helpers_not_checks.py").write_text("raise RuntimeError('never imported')\n")
        (package / "config.toml").write_text(CONFIG.format(lab=name))
        return package / "config.toml"
    return make


def test_a_contract_needs_each_function_as_a_function_and_each_class_as_a_class():
    contract = Contract(functions=("col2im",), classes=("Conv2d",))
    assert contract.defines({("col2im", False), ("Conv2d", True), ("extra", False)})
    assert not contract.defines({("col2im", False)})
    assert not contract.defines({("col2im", True), ("Conv2d", True)})           # a class named col2im
    assert not contract.defines({("col2im", False), ("Conv2d", False)})         # a function named Conv2d
    assert contract.describe() == "col2im and Conv2d" and Contract().defines(set())


def test_the_lab_module_must_declare_the_interface(make_lab):
    path = make_lab(INTERFACE_PY.replace("STUDENT_PARTS", "STUDENT_PARTZ"))
    with pytest.raises(ConfigError, match="defines no STUDENT_PARTS .see docs/new-lab.md."):
        load_lab(path)


def test_the_labs_parts_and_paths(make_lab):
    path = make_lab()
    lab = load_lab(path)
    assert lab.contract == Contract(functions=("scale",), classes=("Layer",)) and lab.student_parts == ("scale",)
    assert lab.folder == path.parent and lab.checks_dir == path.parent / "checks"
    assert lab.adapter_class.__name__ == "Adapter"
    assert lab.reference == path.parent / "ref" / "mini.py"            # relative to config.toml's folder


def test_the_config_names_the_checks_folder_and_the_builder_inside_the_package(make_lab):
    path = make_lab()
    (path.parent / "graded").mkdir()
    (path.parent / "checks" / "check_a.py").rename(path.parent / "graded" / "check_a.py")
    (path.parent / "graded" / "__init__.py").write_text("")
    (path.parent / "build_sets.py").write_text("def build_fixture_set(folder, seed, config, public=False):\n    pass\n")
    text = path.read_text().replace('template = "tpl/mini.py"', 'template = "tpl/mini.py"\nchecks = "graded"\n'
                                                                'fixture_builder = "build_sets.py"')
    path.write_text(text)
    lab = load_lab(path)
    assert [name for name, *_ in lab.check_functions] == ["first"] and lab.checks_dir == path.parent / "graded"
    assert lab.builder.__name__ == f"{lab.package}.build_sets"
    other = make_lab()
    other.write_text(other.read_text().replace('template = "tpl/mini.py"', 'template = "tpl/mini.py"\n'
                                                                          'fixture_builder = "../builder.py"'))
    with pytest.raises(ConfigError, match=r"\[lab\] fixture_builder: .*builder.py is not inside the lab's "
                                          r"package folder"):
        load_lab(other).builder


def test_checks_are_found_by_their_declarations_in_pytests_order(make_lab):
    lab = load_lab(make_lab())
    found = [(name, function.__name__, select is not None, takes_case)
             for name, function, select, takes_case in lab.check_functions]
    assert found == [("first", "test_first", True, True), ("second", "test_second", True, True),
                     ("third", "test_third", False, False)]


def test_a_check_still_marked_the_pytest_way_is_refused_with_what_to_write(make_lab):
    path = make_lab()
    legacy = "\n\nclass Mark:\n    name, args, kwargs = 'check', ('fourth',), {}\n\n\n" \
             "def test_fourth(code, config, case):\n    pass\n\n\ntest_fourth.pytestmark = [Mark()]\n"
    with open(path.parent / "checks" / "check_b.py", "a") as f:
        f.write(legacy)                 # what @pytest.mark.check("fourth") leaves on a function
    with pytest.raises(ConfigError, match="test_fourth is marked with pytest.mark.check.*from autograder.checks "
                                          "import check"):
        load_lab(path).check_functions


def test_checks_for_asks_the_selectors_in_config_order(make_lab):
    lab = load_lab(make_lab())
    assert set(lab.case_selectors) == {"first", "second"}
    assert lab.checks_for("k", {"n": 5}) == ["second", "first"]          # config order: third, second, first
    assert lab.checks_for("k", {"n": 1}) == ["first"]
    assert lab.checks_for("other", {"n": 1}) == []


def test_the_feedback_vocabulary(make_lab):
    lab = load_lab(make_lab())
    assert lab.bug_message("halved") == "the result is halved" and lab.bug_owner("halved") == ""
    assert lab.bug_message("swapped") == "rows and columns swapped" and lab.bug_owner("swapped") == "order"
    assert lab.bug_message("unknown_name") == "unknown_name" and lab.bug_owner("unknown_name") == ""
    assert lab.describe_case(type("C", (), {"params": {"n": 4}})()) == "n=4"
    assert lab.error_layout(None, None) is None


PARAMETERS = """

from dataclasses import dataclass


@dataclass(frozen=True)
class Inner:
    eps: float
    names: tuple[str, ...] = ("a",)


@dataclass(frozen=True)
class Parameters:
    inner: Inner
    epochs: int
"""

LAB_TABLE = """
[parameters]
epochs = 4

[parameters.inner]
eps = 1
names = ["x", "y"]
"""


def with_table(path, table):
    path.write_text(path.read_text() + table)
    return path


def test_a_lab_is_loaded_from_the_config_file_it_is_given(make_lab):
    path = make_lab()
    lab = load_lab(str(path))
    assert isinstance(lab, Lab) and lab.config.path == path and lab.parameters is None


def test_the_labs_parameters_are_typed_like_every_table(make_lab):
    lab = load_lab(with_table(make_lab(INTERFACE_PY + PARAMETERS), LAB_TABLE))
    assert lab.parameters.epochs == 4 and lab.parameters.inner.eps == 1.0 and lab.parameters.inner.names == ("x", "y")
    assert type(lab.parameters).__name__ == "Parameters"


def error(path):
    return config_error(load_lab, path)


def test_a_lab_table_needs_parameters_and_parameters_need_their_keys(make_lab):
    assert "[parameters] given, but" in error(with_table(make_lab(), LAB_TABLE))
    assert "[parameters]: missing key 'inner' (a table)" in error(make_lab(INTERFACE_PY + PARAMETERS))
    bad = LAB_TABLE.replace("eps = 1", 'eps = "small"')
    assert "[parameters.inner]: 'eps' should be a number, got 'small'" in error(
        with_table(make_lab(INTERFACE_PY + PARAMETERS), bad))
    assert "[parameters]: unknown key 'momentum'" in error(with_table(make_lab(INTERFACE_PY + PARAMETERS),
                                                               LAB_TABLE.replace("epochs = 4", "epochs = 4\nmomentum = 1")))


def test_a_lab_that_cannot_be_imported(make_lab):
    path = make_lab()
    path.write_text(path.read_text().replace('package = "unit_lab_', 'package = "no_such_package_'))
    assert "[lab] package: cannot import the lab's interface module no_such_package_" in error(path)


def test_a_lab_written_for_the_earlier_names_is_told_what_to_rename(make_lab):
    path = make_lab()
    (path.parent / "interface.py").rename(path.parent / "lab.py")
    assert "has a lab.py but no interface.py" in error(path) and "rename lab.py to interface.py" in error(path)
    message = error(make_lab(INTERFACE_PY.replace("class Adapter:", "class Student:")))
    assert "defines Student but no Adapter" in message and "rename Student to Adapter" in message
    message = error(make_lab(INTERFACE_PY.replace("autograder.lab_loader", "autograder.lab")))
    assert "autograder.lab is now called autograder.lab_loader" in message
    message = error(make_lab("from autograder.student import StudentCode\n" + INTERFACE_PY))
    assert "autograder.student is now called autograder.adapter" in message
