"""autograder/cli.py's argument rules and its export command, in-process on CSV files written here
(the commands that grade, build fixtures or package run in tests/e2e/test_workflows.py)."""

import pytest

from autograder import cli


def parse(*argv):
    return cli.build_parser().parse_args(list(argv))


def test_each_command_reaches_its_function():
    assert parse("grade", "s.zip", "--out", "o").func is cli.cmd_grade
    assert parse("batch", "folder", "--out", "o").func is cli.cmd_batch
    assert parse("export", "canvas", "--grades", "g", "--roster", "r", "--assignment", "Lab").func is cli.cmd_export
    assert parse("submit").out == "submission.zip" and parse("check").file is None
    assert [parse("package", what, "--out", "o").what for what in ("gradescope", "handout", "otter")] == \
        ["gradescope", "handout", "otter"]


@pytest.mark.parametrize("argv", [("batch", "f", "--out", "o", "--jobs", "0"), ("batch", "f", "--out", "o", "--jobs", "x"),
                                  ("fixtures", "--seed", "12.5"), ("fixtures", "--seed", "1", "--new-seed"),
                                  ("grade", "s.zip"), ("grade", "s.zip", "--out", "o", "--isolation", "none"),
                                  ("package", "pdf", "--out", "o"), ("package", "prairielearn"), ()])
def test_bad_arguments_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        parse(*argv)
    assert caught.value.code == 2


def test_package_names_every_platform():
    for what in ("gradescope", "handout", "otter", "prairielearn"):
        args = parse("package", what, "--out", "o")
        assert (args.what, args.out, args.image) == (what, "o", None)
    assert parse("package", "prairielearn", "--out", "o", "--image", "r/n:1").image == "r/n:1"


def test_the_lab_is_the_option_then_the_environments_then_the_packaged_pointer_then_the_default(
        tmp_path, monkeypatch):
    pointer = tmp_path / "LAB"
    monkeypatch.setattr(cli, "LAB_POINTER", pointer)
    monkeypatch.delenv(cli.CONFIG_ENV, raising=False)
    assert cli.lab_config_path() == cli.DEFAULT_CONFIG == cli.KIT_ROOT / "assignment" / "config.toml"
    pointer.write_text("examples/other/config.toml\n")
    assert cli.lab_config_path() == cli.KIT_ROOT / "examples" / "other" / "config.toml"
    monkeypatch.setenv(cli.CONFIG_ENV, str(tmp_path / "mine.toml"))
    assert cli.lab_config_path() == tmp_path / "mine.toml"
    monkeypatch.chdir(tmp_path)
    assert cli.lab_config_path("given.toml") == tmp_path / "given.toml"        # absolute, for a child process


def test_numbers_are_read_whole():
    assert parse("batch", "f", "--out", "o", "--jobs", "3").jobs == 3
    assert parse("fixtures", "--seed", str(2**100)).seed == 2**100
    assert parse("batch", "f", "--out", "o", "--only", "a,b", "--only", "c").only == ["a,b", "c"]


def test_export_writes_the_sheet_on_stdout_and_the_leftovers_on_stderr(tmp_path, capsys):
    (tmp_path / "grades.csv").write_text("id,score,max_score,status\n1001,5,10,graded\n1002,3,10,graded\n")
    (tmp_path / "roster.csv").write_text("name,sid\nAda,1001\nBo,1003\n")
    code = cli.main(["export", "csv", "--grades", str(tmp_path / "grades.csv"), "--roster",
                     str(tmp_path / "roster.csv"), "--assignment", "Lab 7"])
    out, err = capsys.readouterr()
    assert code == 0 and out.splitlines()[1].startswith("Ada,1001,,5,10")
    assert "1 roster student(s) with no grade" in err and "not on the roster" in err


def test_an_export_that_cannot_be_read_is_an_error_message_not_a_traceback(tmp_path, capsys):
    code = cli.main(["export", "canvas", "--grades", str(tmp_path / "absent.csv"), "--roster",
                     str(tmp_path / "absent.csv"), "--assignment", "Lab 7"])
    assert code == cli.EXIT_INVALID and capsys.readouterr().err.startswith("error: cannot read grades file")
