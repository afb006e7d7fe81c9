"""The untouched student template: stubs say what to do, the demo and self-check stay friendly."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from autograder.staff.catalogue import correct_solution
from helpers import CONV_LAB, REPO, hang_guard

TEMPLATE_DIR = REPO / "student_template"


def test_col2im_stub_says_what_to_implement(template):
    with pytest.raises(NotImplementedError, match="col2im is not implemented yet"):
        template.col2im(np.zeros((9, 4)), 1, 4, 4, 3, 3)


def test_backward_stub_says_what_to_implement(template):
    layer = template.Conv2d(1, 1, 3, padding=1)
    layer.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(NotImplementedError, match="Conv2d.backward is not implemented yet"):
        layer.backward(np.zeros((1, 1, 4, 4)))


def run_in_copy(tmp_path, script, conv2d_source=None):
    """Runs a student script in a copy of the template folder, as a student would.

    conv2d_source: the text of a conv2d.py to use instead of the template's."""
    for name in ("conv2d.py", "train_filter.py", "self_check.py"):
        shutil.copy(TEMPLATE_DIR / name, tmp_path / name)
    if conv2d_source is not None:
        (tmp_path / "conv2d.py").write_text(conv2d_source)
    return subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=hang_guard(10))


def test_demo_on_untouched_template_prints_friendly_message(tmp_path):
    result = run_in_copy(tmp_path, "train_filter.py")
    assert "Implement col2im and Conv2d.backward first" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1


def test_self_check_on_untouched_template_reports_todo(tmp_path):
    result = run_in_copy(tmp_path, "self_check.py")
    assert "TODO" in result.stdout and "0 of 3 self-checks passed" in result.stdout
    assert result.returncode == 1


def test_demo_and_self_check_pass_with_a_correct_solution(tmp_path):
    solution = correct_solution("lecture_loops", lab=CONV_LAB)
    demo = run_in_copy(tmp_path, "train_filter.py", solution)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Your layer learned the filter, and dX matches finite differences." in demo.stdout
    assert demo.stdout.count("loss =") == 50
    assert (tmp_path / "loss_curve.png").stat().st_size > 1000
    assert (tmp_path / "learned_kernel.png").stat().st_size > 1000
    check = run_in_copy(tmp_path, "self_check.py", solution)
    assert check.returncode == 0 and "3 of 3 self-checks passed" in check.stdout, check.stdout
