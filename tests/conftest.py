"""Shared helpers for the kit's own tests."""

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "student_template" / "conv2d.py"
SUBMISSIONS = REPO / "tests" / "submissions"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# CI runs every property with more examples than a quick local run.
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if __import__("os").environ.get("CI") else "dev")


def load_module(path, name=None):
    """Import a conv2d.py-like file from `path` under a unique module name (trusted files only)."""
    name = name or f"_kit_test_{Path(path).parent.name}_{Path(path).stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def template():
    return load_module(TEMPLATE, "_kit_template_conv2d")


@pytest.fixture(scope="session")
def lecture_loops():
    return load_module(SUBMISSIONS / "correct" / "lecture_loops.py", "_kit_lecture_loops")
