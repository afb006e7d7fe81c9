"""The pure parts of autograder/staff/otter_bridge.py, with fake labs: otter's hidden flag and test file for
one check, and otter_config. (Building and running the package: tests/e2e/test_otter.py.)"""

import ast
from types import SimpleNamespace

import pytest

from autograder.config import CheckSpec
from autograder.lab_loader import Contract
from autograder.limits import OUTER_MARGIN_S, Limits
from autograder.staff import otter_bridge


def spec(visibility="visible", public=True, points=2.0):
    return CheckSpec(name="col2im_shape", title="col2im's shape", points=points, visibility=visibility, public=public,
                     category="c", hint="h")


@pytest.mark.parametrize("visibility, public, hidden", [("visible", True, False), ("visible", False, True),
                                                         ("hidden", True, True), ("after_due_date", True, True)])
def test_otters_hidden_flag_is_anything_not_shown_before_the_deadline(visibility, public, hidden):
    assert otter_bridge.is_hidden(spec(visibility, public)) is hidden


def test_points_are_written_as_python_numbers():
    assert otter_bridge._number(4.0) == "4" and otter_bridge._number(2.5) == "2.5" and otter_bridge._number(3) == "3"


def test_a_checks_otter_test_file_is_python_naming_the_check_and_its_points():
    config = SimpleNamespace(submission_file="conv2d.py", path=otter_bridge.KIT_ROOT / "lab" / "config.toml", lab_root=None)
    lab = SimpleNamespace(config=config,
                          contract=Contract(functions=("col2im",), classes=("Conv2d",)))
    text = otter_bridge.test_file_text(lab, spec("hidden", True, 2.5), "hidden", kit_root="/kit")
    tree = ast.parse(text)
    assigned = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
    assert ast.literal_eval(assigned["name"]) == "col2im_shape" and ast.literal_eval(assigned["points"]) == 2.5
    assert ast.literal_eval(assigned["KIT_ROOT"]) == "/kit"
    assert "@test_case(name='col2im_shape', points=2.5, hidden=True)" in text
    assert "def kit_grade(" in text                  # the helper travels with the file
    assert "'col2im_shape', env, 'hidden', KIT_ROOT, 'conv2d.py', ('col2im', 'Conv2d'), 'lab/config.toml')" in text


def test_otter_config_gives_the_plugin_the_grading_bound_and_shows_nothing_hidden():
    config = SimpleNamespace(limits=Limits(total_wall_s=900.0))
    data = otter_bridge.otter_config(config)
    (plugin,) = data["plugins"]
    assert plugin[otter_bridge.PLUGIN]["timeout_s"] == 900 + OUTER_MARGIN_S
    assert data["show_hidden"] is False and data["zips"] is False
