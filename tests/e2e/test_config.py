"""The typed config: a missing, unknown or mistyped key fails at load time, naming the file, the key
and the expected type; the lab's own [parameters] table is typed the same way when the lab loads."""

import re

import pytest

from autograder.config import ConfigError, Limits
from autograder.lab_loader import load_lab
from helpers import CONV_LAB, REPO

CONFIG_TEXT = (REPO / "assignment" / "config.toml").read_text(encoding="utf-8")


def load_edited(tmp_path, old, new):
    """The conv lab loaded from an edited copy of its config.toml (its [parameters] table typed too)."""
    assert old in CONFIG_TEXT, old
    path = tmp_path / "config.toml"
    path.write_text(CONFIG_TEXT.replace(old, new, 1), encoding="utf-8")
    return load_lab(path)


def error_of(tmp_path, old, new):
    with pytest.raises(ConfigError) as info:
        load_edited(tmp_path, old, new)
    message = str(info.value)
    assert str(tmp_path / "config.toml") in message, message
    return message


def test_the_shipped_config_loads_into_typed_sections():
    config = CONV_LAB.config
    assert isinstance(config.limits, Limits)
    assert type(config.limits.memory_mb) is int and type(config.limits.call_cpu_s) is float
    parameters = CONV_LAB.parameters
    assert parameters.training.kernels == ("blur", "sobel_x") and type(parameters.finite_difference.eps) is float


def test_a_renamed_limit_fails_at_load_time_not_in_grading(tmp_path):
    """The bug that filed this: a limit renamed passed load_config and crashed grading with KeyError."""
    message = error_of(tmp_path, "open_files = 64", "open_file_count = 64")
    assert "[limits]" in message and "unknown key 'open_file_count'" in message and "open_files (an integer)" in message


def test_a_missing_key_names_it_and_its_type(tmp_path):
    message = error_of(tmp_path, "memory_mb = 1024", "# memory_mb removed")
    assert re.search(r"\[limits\]: missing key 'memory_mb' \(an integer\)", message), message


@pytest.mark.parametrize("old, new, key, expected", [
    ("open_files = 64", 'open_files = "64"', "open_files", "an integer"),
    ("open_files = 64", "open_files = 64.5", "open_files", "an integer"),
    ("call_cpu_s = 10.0", "call_cpu_s = true", "call_cpu_s", "a number"),
    ("public_seed = 7", 'public_seed = "7"', "public_seed", "an integer"),
    ("epochs = 10", "epochs = 10.0", "epochs", "an integer"),
    ('kernels = ["blur", "sobel_x"]', 'kernels = "blur"', "kernels", "a list of a string"),
    ("public = true", 'public = "yes"', "public", "true or false"),
], ids=["int-as-string", "int-as-float", "float-as-bool", "seed-as-string", "lab-int", "lab-list",
        "check-bool"])
def test_a_mistyped_key_names_it_and_the_expected_type(tmp_path, old, new, key, expected):
    message = error_of(tmp_path, old, new)
    assert f"'{key}' should be {expected}" in message, message


def test_unknown_keys_and_tables_fail_everywhere(tmp_path):
    assert "unknown key 'extra'" in error_of(tmp_path, "[fixtures]\n", "[fixtures]\nextra = 1\n")
    assert "[parameters.training]: unknown key 'momentum'" in error_of(tmp_path, "[parameters.training]\n",
                                                                       "[parameters.training]\nmomentum = 0.9\n")
    assert "unknown table [limit]" in error_of(tmp_path, "[limits]\n", "[limit]\n")
    assert "unknown key 'weight'" in error_of(tmp_path, 'category = "col2im"\n', 'category = "col2im"\nweight = 2\n')


def test_a_lab_that_cannot_be_imported_is_a_config_error(tmp_path):
    message = error_of(tmp_path, 'package = "assignment"', 'package = "no_such_lab"')
    assert "no_such_lab.interface" in message


def test_a_renamed_limit_is_a_clear_cli_error_not_a_traceback(tmp_path):
    import subprocess
    import sys
    bad = tmp_path / "config.toml"
    bad.write_text(CONFIG_TEXT.replace("cpu_s = 120", "cpu_seconds = 120"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "autograder", "--config", str(bad), "grade",
                           str(REPO / "reference" / "conv2d.py"), "--out", str(tmp_path / "out")],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert "cpu_seconds" in proc.stderr + proc.stdout
