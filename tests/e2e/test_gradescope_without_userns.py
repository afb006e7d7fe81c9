"""Gradescope's condition, simulated: a root container that refuses new user namespaces.

``tests/without_userns.py`` runs ``setup.sh`` and ``run_autograder`` under the part of
Docker's default seccomp profile that refuses namespaces, so bubblewrap fails for real.
The grader must then pick the chroot level, record it, and still grade a correct (full
marks), a buggy and hostile submissions, in the Gradescope layout (AUTOGRADER_ROOT/
source, submission, results) under a temp folder.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.staff.catalogue import load_catalogue
from helpers import CONV_LAB, REPO, hang_guard
from helpers import assert_gradescope_schema

CONFIG = CONV_LAB.config
CATALOGUE, _ = load_catalogue(lab=CONV_LAB)
WITHOUT_USERNS = [sys.executable, str(REPO / "tests" / "without_userns.py")]
COL2IM_VALUES = {"col2im_overlap_sum", "col2im_adjoint", "col2im_channel_order", "col2im_uncovered_zero"}


def run(args, env, cwd, timeout=hang_guard(90)):     # setup.sh installs the pins: the slowest step
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root")
def test_gradescope_without_user_namespaces_grades_at_the_chroot_level(tmp_path):
    dest = tmp_path / "autograder.zip"
    built = run([sys.executable, "-m", "autograder", "package", "gradescope", "--out", str(dest)],
                env=None, cwd=REPO)
    assert built.returncode == 0, built.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(dest) as zf:
        zf.extractall(root / "source")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root))
    setup = run(WITHOUT_USERNS + ["bash", str(root / "source" / "setup.sh")], env, root / "source")
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    assert "sandbox isolation on this machine: chroot" in setup.stdout, setup.stdout[-2000:]

    hostile = {k: CATALOGUE[k].source.replace("{KIT_ROOT}", str(root / "source"))
               for k in ("hostile/steal_kit_solution_via_proc", "hostile/read_hidden_fixtures",
                         "hostile/proc_snooping_for_fixtures")}
    cases = [(CATALOGUE["correct/lecture_loops"].source, "full", set()),
             (CATALOGUE["bug/overwrite_overlaps"].source, "partial", set(CATALOGUE["bug/overwrite_overlaps"].fails)),
             *((source, "partial", COL2IM_VALUES) for source in hostile.values())]
    for source, expected, must_fail in cases:
        subprocess.run(["rm", "-rf", str(root / "submission"), str(root / "results")], check=True)
        (root / "submission").mkdir()
        (root / "submission" / "conv2d.py").write_text(source)
        graded = run(WITHOUT_USERNS + ["bash", str(root / "source" / "run_autograder")], env, root)
        assert graded.returncode == 0, graded.stderr[-2000:]
        results = json.loads((root / "results" / "results.json").read_text())
        assert_gradescope_schema(results)
        assert results["extra_data"]["isolation"] == "chroot", results["output"][:1000]
        failed = {t["extra_data"]["check"] for t in results["tests"] if t["score"] < t["max_score"]}
        if expected == "full":
            assert results["score"] == CONFIG.max_score, failed
        else:
            assert 0 <= results["score"] < CONFIG.max_score and must_fail <= failed, (must_fail - failed)
