"""autograder/limits.py: one Limits from a lab's [limits] table to the worker's setrlimit, checked on
both sides, and the one outer margin every parent that kills a grader waits. No worker is started:
the worker's own reading (autograder/worker.py's read_limits, limits.py loaded by path as in the
sandbox) runs here in-process."""

import json
import math
from types import SimpleNamespace

import pytest

from autograder import worker
from autograder.config import ConfigError, read_table
from autograder.limits import OUTER_MARGIN_S, Limits, LimitsError
from autograder.sandbox import levels
from autograder.staff import otter_bridge, prairielearn
from autograder.staff.grading_pool import GradingProcess

TABLE = {"call_cpu_s": 2, "import_cpu_s": 3.5, "blocked_s": 4, "total_cpu_s": 60.5, "total_wall_s": 600,
         "memory_mb": 512, "file_size_mb": 8, "open_files": 32}


def from_table(table):
    return read_table(Limits, table, "config.toml [limits]")


def test_the_config_table_reaches_the_worker_unchanged():
    limits = from_table(dict(TABLE, max_reply_mb=8))             # a default the table may set too
    assert (limits.call_cpu_s, limits.import_cpu_s, limits.total_wall_s, limits.memory_mb) == (2.0, 3.5, 600.0, 512)
    assert type(limits.call_cpu_s) is float and type(limits.memory_mb) is int and limits.max_reply_mb == 8
    assert limits.output_cap_kb == Limits().output_cap_kb                          # not in the table: its default
    on_the_wire = json.loads(json.dumps(limits.to_dict()))       # as the worker's command line carries it
    in_worker = worker.read_limits(on_the_wire)
    assert type(in_worker).__module__ == "convkit_limits"         # limits.py loaded by path, as in the work dir
    assert in_worker.to_dict() == limits.to_dict() and Limits.from_dict(on_the_wire) == limits
    assert in_worker.rlimit_cpu_s == limits.rlimit_cpu_s == 65     # RLIMIT_CPU: the budget's whole seconds + 5


def test_the_config_must_give_the_labs_own_limits_and_only_sane_ones():
    for key in Limits.REQUIRED_KEYS:
        table = {k: v for k, v in TABLE.items() if k != key}
        with pytest.raises(ConfigError, match=rf"\[limits\]: missing key '{key}'"):
            from_table(table)
    with pytest.raises(ConfigError, match=r"\[limits\]: limit 'memory_mb' should be positive and finite, got 0"):
        from_table(dict(TABLE, memory_mb=0))
    with pytest.raises(ConfigError, match=r"\[limits\]: limit 'blocked_s' should be positive and finite, got -1.0"):
        from_table(dict(TABLE, blocked_s=-1))
    with pytest.raises(ConfigError, match=r"\[limits\]: unknown key 'cpu_s'"):
        from_table(dict(TABLE, cpu_s=30))                          # RLIMIT_CPU follows total_cpu_s


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("memory_mb"), "limit 'memory_mb' is missing"),
    (lambda d: d.update(cpu_s=30), "unknown limit 'cpu_s'"),
    (lambda d: d.update(open_files="64"), "limit 'open_files' should be an integer, got '64'"),
    (lambda d: d.update(open_files=64.5), "limit 'open_files' should be an integer, got 64.5"),
    (lambda d: d.update(call_cpu_s=True), "limit 'call_cpu_s' should be a number, got True"),
    (lambda d: d.update(call_cpu_s=None), "limit 'call_cpu_s' should be a number, got None"),
    (lambda d: d.update(total_wall_s=float("nan")), "limit 'total_wall_s' should be positive and finite, got nan"),
    (lambda d: d.update(total_wall_s=float("inf")), "limit 'total_wall_s' should be positive and finite, got inf"),
    (lambda d: d.update(file_size_mb=0), "limit 'file_size_mb' should be positive and finite, got 0"),
])
def test_a_malformed_dict_is_refused_naming_the_limit(change, message):
    data = Limits().to_dict()
    change(data)
    with pytest.raises(LimitsError, match=message):
        Limits.from_dict(data)
    with pytest.raises(ValueError, match=message):                # the worker's own copy says the same
        worker.read_limits(data)


def test_no_limits_at_all_is_refused():
    for data in (None, [], "limits"):
        with pytest.raises(LimitsError, match="the limits should be a JSON object"):
            Limits.from_dict(data)


def test_a_worker_given_bad_limits_says_so_and_exits_before_anything_else(monkeypatch, capsys):
    data = dict(Limits().to_dict(), memory_mb=-5)
    monkeypatch.setattr("sys.argv", ["worker.py", json.dumps({"limits": data, "module": "conv2d"})])
    monkeypatch.setattr(worker, "apply_limits", lambda limits: pytest.fail("limits applied"))
    with pytest.raises(SystemExit) as exit_:
        worker.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "limit 'memory_mb' should be positive and finite, got -5" in err and "Traceback" not in err


def test_limits_are_frozen():
    with pytest.raises(AttributeError):
        Limits().call_cpu_s = 5


def test_every_parent_waits_the_one_margin_past_the_budget(tmp_path):
    limits = Limits(total_cpu_s=100.0, total_wall_s=700.0)
    assert limits.outer_timeout_s() == 700 + OUTER_MARGIN_S
    pool_process = GradingProcess(tmp_path / "config.toml", tmp_path, "fixture-hash", limits)          # no process starts before grade()
    assert pool_process.timeout_s == limits.outer_timeout_s()
    otter = otter_bridge.otter_config(SimpleNamespace(limits=limits))            # the otter zip, for Gradescope
    assert otter["plugins"][0][otter_bridge.PLUGIN]["timeout_s"] == limits.outer_timeout_s()
    lab = SimpleNamespace(config=SimpleNamespace(limits=limits))
    assert prairielearn.timeout_s(lab) == math.ceil(100 + OUTER_MARGIN_S)     # PrairieLearn pads the CPU budget
    assert prairielearn.PL_MAX_TIMEOUT_S == 600 < Limits().outer_timeout_s()  # why: its cap is below the wall bound


def test_the_work_dir_holds_the_limits_beside_the_worker_and_no_student_file_replaces_them(tmp_path):
    level = levels.ProcessLevel(Limits())
    files = level.workdir_files(tmp_path / "conv2d.py")
    assert files == {"conv2d.py": tmp_path / "conv2d.py", **levels.WORKER_FILES}
    assert levels.WORKER_FILES["limits.py"].read_text(encoding="utf-8").startswith('"""The limits of one submission')
    for name in ("limits.py", "worker.py"):
        with pytest.raises(ValueError, match=f"the student's file may not be named {name}"):
            level.workdir_files(tmp_path / name)
