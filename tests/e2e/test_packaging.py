"""What each package holds, from one manifest (autograder/staff/packaging.py), written by one
deterministic zip writer: Gradescope's zip, the students' handout and otter's kit files."""

import zipfile

from autograder.staff import otter_bridge, packaging
from helpers import CONV_LAB, REPO

ENGINE = {p.relative_to(REPO).as_posix() for p in (REPO / "autograder").rglob("*.py")
          if "staff" not in p.parts and "__pycache__" not in p.parts}
LAB = {"assignment/__init__.py", "assignment/interface.py", "assignment/adapter.py", "assignment/config.toml",
       "assignment/checks/__init__.py", "assignment/checks/check_backward.py", "assignment/checks/check_col2im.py",
       "assignment/checks/check_gradients.py", "assignment/checks/check_training.py"}


def fixture_names(which):
    return {f"build/fixtures/{which}/{p.name}" for p in (REPO / "build" / "fixtures" / which).iterdir()}


def test_engine_is_every_grader_module_but_the_staff_ones():
    assert "autograder/grading.py" in ENGINE and "autograder/sandbox/core.py" in ENGINE
    assert set(packaging.engine_files()) == ENGINE
    assert not any("staff" in name for name in ENGINE)


def test_gradescope_holds_its_scripts_the_engine_the_lab_and_the_hidden_set():
    names = set(packaging.gradescope_files(CONV_LAB))
    assert names == {"setup.sh", "run_autograder", "requirements-grader.txt", "LAB"} | ENGINE | LAB \
        | fixture_names("hidden")


def test_handout_holds_the_template_folder_the_handout_the_engine_the_lab_and_the_public_set():
    names = set(packaging.handout_files(CONV_LAB))
    figures = {f"figures/{p.name}" for p in (REPO / "assignment" / "figures").glob("*.png")}
    assert names == {"conv2d.py", "lab.py", "lab.ipynb", "train_filter.py", "self_check.py", "README.md", "Makefile",
                     "requirements.txt", "LAB"} | figures | ENGINE | LAB | fixture_names("public")


def test_otter_ships_the_gradescope_grader_plus_the_pins_otter_installs():
    gradescope = set(packaging.gradescope_files(CONV_LAB)) - {"setup.sh", "run_autograder", "requirements-grader.txt"}
    assert set(otter_bridge.kit_files(CONV_LAB)) == gradescope | {"requirements.txt"}


def test_no_package_holds_the_reference_the_builder_or_staff_code():
    for files in (packaging.gradescope_files(CONV_LAB), packaging.handout_files(CONV_LAB),
                  otter_bridge.kit_files(CONV_LAB)):
        assert not any(n.startswith(("reference/", "autograder/staff/", "tests/")) or n.endswith("fixture_builder.py")
                       for n in files)


def test_the_zip_writer_is_deterministic(tmp_path):
    files = packaging.gradescope_files(CONV_LAB)
    a = packaging.write_zip(tmp_path / "a.zip", files)
    b = packaging.write_zip(tmp_path / "b.zip", dict(reversed(list(files.items()))))
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    assert {i.date_time for i in infos.values()} == {packaging.FIXED_TIME}
    assert (infos["run_autograder"].external_attr >> 16) & 0o777 == 0o755
    assert (infos["autograder/cli.py"].external_attr >> 16) & 0o777 == 0o644
