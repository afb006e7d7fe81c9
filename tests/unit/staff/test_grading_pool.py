"""autograder/staff/grading_pool.py without starting a process: the grading processes' environment."""

from autograder.staff.grading_pool import grading_process_env


def test_grading_processes_get_one_blas_thread_and_their_own_temp_folder(tmp_path):
    env = grading_process_env(tmp_path)
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1" and env["TMPDIR"] == str(tmp_path)
    assert env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
