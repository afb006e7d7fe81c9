"""autograder/errors.py: ConfigError is one class wherever it is raised, so the commands' one
`except ConfigError` catches a bad config.toml and a bad hidden seed alike; seeds.py takes it from
errors.py, not from config.py (which imports seeds), so neither imports the other at load."""

import ast
import inspect

import pytest

from autograder import config, errors, seeds


def test_config_and_seeds_raise_the_one_config_error(tmp_path):
    assert config.ConfigError is errors.ConfigError and issubclass(seeds.SeedError, errors.ConfigError)
    with pytest.raises(errors.ConfigError, match="config file not found"):
        config.load_config(tmp_path / "missing.toml")
    (tmp_path / "hidden_seed").write_text("not a number")
    with pytest.raises(errors.ConfigError, match="should hold one whole number"):
        seeds.read_hidden_seed(tmp_path / "hidden_seed")


def test_seeds_does_not_import_config():
    tree = ast.parse(inspect.getsource(seeds))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "autograder.errors" in imported and "autograder.config" not in imported
