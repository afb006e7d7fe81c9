"""autograder/staff/make_paths.py on the kit's own labs: the hidden set's manifest, the hidden seed, the
figures' script (`-` for none) and the files the fixture sets are computed from, relative to the current
folder when inside it and absolute otherwise; a bad config is refused with a message and no traceback.
(`make verify LAB=` reading them: tests/labs/linear/test_linear_lab.py.)"""

from pathlib import Path

import pytest

from autograder.staff.make_paths import main, make_paths

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def test_the_conv_labs_paths_are_relative_inside_the_current_folder(in_repo):
    paths = make_paths("assignment/config.toml")
    assert paths[:3] == ["build/fixtures/hidden/manifest.json", "assignment/secrets/hidden_seed",
                         "assignment/make_figures.py"]
    inputs = set(paths[3:])
    assert len(inputs) == len(paths[3:])          # each input once, whether the config names it or a folder holds it
    assert {"assignment/config.toml", "assignment/fixture_builder.py", "assignment/adapter.py",
            "assignment/checks/check_col2im.py", "reference/conv2d.py", "reference/oracle.py"} <= inputs
    assert all((REPO / p).is_file() and not Path(p).is_absolute() for p in inputs)
    assert not any(p.startswith(("student_template", "build", "tests")) for p in inputs)


def test_a_lab_without_figures_says_dash(in_repo):
    paths = make_paths("examples/linear_lab/config.toml")
    assert paths[:3] == ["build/fixtures/linear_lab/hidden/manifest.json", "examples/linear_lab/secrets/hidden_seed",
                         "-"]
    assert {"examples/linear_lab/config.toml", "examples/linear_lab/reference/linear.py",
            "examples/linear_lab/checks/check_linear.py"} <= set(paths[3:])
    assert not any(p.startswith(("assignment", "reference/")) for p in paths)        # nothing of another lab


def test_paths_outside_the_current_folder_are_absolute(in_repo, tmp_path, monkeypatch):
    inside = make_paths("assignment/config.toml")
    monkeypatch.chdir(tmp_path)
    outside = make_paths(REPO / "assignment" / "config.toml")
    assert all(Path(p).is_absolute() for p in outside)
    assert outside[:3] == [str(REPO / p) for p in inside[:3]]
    assert set(outside[3:]) == {str(REPO / p) for p in inside[3:]}


def test_usage_and_a_bad_config_are_told_in_a_line(tmp_path, capsys):
    assert main([]) == 2 and "usage:" in capsys.readouterr().err
    bad = tmp_path / "config.toml"
    bad.write_text("[lab]\nname = 1\n")
    assert main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'name' should be a string" in err and "Traceback" not in err
    assert main([str(tmp_path / "missing.toml")]) == 1 and "not found" in capsys.readouterr().err
