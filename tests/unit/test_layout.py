"""The fast tier's layout: every module of autograder/ has its own unit test module,
tests/unit/<same folder>/test_<name>.py, except the few whose job needs real processes or a sandbox,
each named here with the end-to-end test file that covers it."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "autograder"

# Module (relative to autograder/) -> the tests/e2e/ file that covers it. Only modules whose job is
# a real process, a sandbox or a machine's set-up belong here; one that can be tested in process
# with fakes gets a unit test instead, and leaves this list (the last test below insists).
NEEDS_PROCESSES = {
    "otter_plugin.py": "test_otter.py",             # otter-grader's plugin, run by otter's own grading
    "pytest_plugin.py": "test_pytest_entry.py",     # the checks under pytest, each run in a sandbox
    "runtime.py": "test_sandbox.py",                # the machine's set-up: apt-get, the worker venv, the chroot
    "sandbox/core.py": "test_sandbox.py",           # Sandbox: starts, calls, restarts and kills the worker
    "sandbox/jail.py": "test_isolation.py",         # the chroot built from the worker's Python
    "sandbox/levels.py": "test_isolation.py",       # each isolation level, detected by trying it
    "sandbox/plumbing.py": "test_transport.py",     # the worker process and its pipes
    "sandbox/seccomp_filter.py": "test_isolation.py",   # the filter, loaded into a child
    "sandbox/transport.py": "test_transport.py",    # the stdio transport's reader and writer threads
    "sandbox/uids.py": "test_isolation.py",         # uid slots and killing a uid's processes (root)
    "staff/integrity_job.py": "test_staff_outputs.py",  # the integrity report's child process
}


def engine_modules():
    return sorted(str(p.relative_to(ENGINE)) for p in ENGINE.rglob("*.py")
                  if p.name not in ("__init__.py", "__main__.py"))


def unit_test_of(module):
    path = Path(module)
    return REPO / "tests" / "unit" / path.parent / f"test_{path.name}"


def test_every_engine_module_has_its_unit_test_module():
    missing = [m for m in engine_modules() if m not in NEEDS_PROCESSES and not unit_test_of(m).is_file()]
    assert missing == [], (f"no tests/unit/.../test_<name>.py for {missing}: write one, or (only if its job needs "
                           "real processes) name it in NEEDS_PROCESSES with its tests/e2e/ file")


def test_each_module_left_to_end_to_end_tests_is_named_and_covered_there():
    modules = set(engine_modules())
    for module, e2e in NEEDS_PROCESSES.items():
        assert module in modules, f"{module} is no module of autograder/ any more: drop it from NEEDS_PROCESSES"
        assert (REPO / "tests" / "e2e" / e2e).is_file(), f"{module}'s end-to-end test tests/e2e/{e2e} is missing"
        assert not unit_test_of(module).is_file(), f"{module} has a unit test now: drop it from NEEDS_PROCESSES"
