"""pytest set-up for the kit's tests: import paths, Hypothesis profiles, shared fixtures (helpers: helpers.py)."""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.staff.catalogue import correct_solution, module_from_source  # noqa: E402
from helpers import CONV_LAB, TEMPLATE  # noqa: E402

# CI runs every property with more examples than a quick local run.
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def template():
    return module_from_source(TEMPLATE.read_text(encoding="utf-8"), "_kit_template_conv2d")


@pytest.fixture(scope="session")
def lecture_loops():
    return module_from_source(correct_solution("lecture_loops", lab=CONV_LAB), "_kit_lecture_loops")
