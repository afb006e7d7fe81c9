"""autograder/grading.py's own small rules, without grading: the sandbox's limits from the config,
the folders closed to the worker, and the options' defaults. (grade_submission runs a sandbox: the
end-to-end tests grade for real.)"""

from types import SimpleNamespace

from autograder.grading import GradingOptions, limits_from, secret_paths


def test_limits_come_from_the_config_with_a_cpu_backstop_above_the_budget():
    config = SimpleNamespace(limits=SimpleNamespace(call_cpu_s=2.0, import_cpu_s=3.0, blocked_s=4.0, total_cpu_s=60.5,
                                                    total_wall_s=600.0, memory_mb=512, file_size_mb=8, open_files=32))
    limits = limits_from(config)
    assert (limits.call_cpu_s, limits.import_cpu_s, limits.blocked_s, limits.wall_s) == (2.0, 3.0, 4.0, 600.0)
    assert (limits.memory_mb, limits.file_size_mb, limits.open_files) == (512, 8, 32)
    assert limits.cpu_s == 65 and isinstance(limits.cpu_s, int)


def test_only_existing_secret_folders_are_named_never_a_parent(tmp_path):
    fixtures, out, reference = tmp_path / "fixtures", tmp_path / "out", tmp_path / "ref" / "conv2d.py"
    fixtures.mkdir()
    reference.parent.mkdir()
    assert secret_paths(fixtures, out, reference) == [fixtures, reference.parent]
    out.mkdir()
    assert secret_paths(str(fixtures), str(out), str(reference)) == [fixtures, out, reference.parent]
    assert tmp_path not in secret_paths(fixtures, out, reference)
    assert secret_paths(fixtures, None, reference) == [fixtures, reference.parent]     # pytest: no results folder


def test_the_default_options_grade_for_real():
    options = GradingOptions()
    assert options.which == "hidden" and not options.public_only and options.isolation is None
