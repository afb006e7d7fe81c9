"""autograder/grading.py's own small rules, without grading: the folders closed to the worker and
the options' defaults. (The sandbox gets the config's Limits as they are: tests/unit/test_limits.py;
grade_submission runs a sandbox: the end-to-end tests grade for real.)"""

from autograder.grading import GradingOptions, secret_paths


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
