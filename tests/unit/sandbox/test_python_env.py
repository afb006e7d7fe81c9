"""autograder/sandbox/python_env.py's rules, without building anything: the numpy pin read from
requirements.txt, where the worker venv lives (and the override), when it counts as built, one
builder at a time, and the folders other users cannot enter."""

import json
import os
import threading

import pytest

from autograder.sandbox import python_env


@pytest.fixture
def requirements(tmp_path, monkeypatch):
    path = tmp_path / "requirements.txt"
    monkeypatch.setattr(python_env, "REQUIREMENTS", path)
    return path


def test_the_pin_is_read_from_requirements_txt(requirements):
    requirements.write_text("# pins\nNumPy==2.1.3  # the worker's too\nnumpy-stubs==1\npytest==8.0\n")
    assert python_env.requirement_pin("numpy") == "NumPy==2.1.3"
    assert python_env.requirement_pin("pytest") == "pytest==8.0" and python_env.requirement_pin("scipy") is None
    assert python_env.numpy_pin() == "NumPy==2.1.3"


def test_without_a_pin_numpy_is_the_graders_own_version(requirements):
    import numpy
    assert python_env.requirement_pin("numpy") is None                  # no file at all
    assert python_env.numpy_pin() == f"numpy=={numpy.__version__}"


def test_the_venv_folder_changes_with_the_pin_and_can_be_overridden(requirements, monkeypatch):
    monkeypatch.delenv(python_env.VENV_ENV_VAR, raising=False)
    requirements.write_text("numpy==2.0.0\n")
    first = python_env.worker_venv_dir()
    requirements.write_text("numpy==2.0.1\n")
    second = python_env.worker_venv_dir()
    assert first != second and first.parent == second.parent == python_env.VENV_PARENT
    assert first.name.startswith("worker-") and len(first.name) == len("worker-") + 10
    monkeypatch.setenv(python_env.VENV_ENV_VAR, "/somewhere/venv")
    assert str(python_env.worker_venv_dir()) == "/somewhere/venv"


def test_a_venv_is_ready_only_with_a_marker_for_the_current_key(tmp_path, requirements):
    requirements.write_text("numpy==2.0.0\n")
    venv = tmp_path / "venv"
    assert not python_env.worker_venv_ready(venv)
    venv.mkdir()
    (venv / python_env.MARKER).write_text("{broken")
    assert not python_env.worker_venv_ready(venv)
    (venv / python_env.MARKER).write_text(json.dumps({"key": python_env._venv_key()}))
    assert python_env.worker_venv_ready(venv)
    requirements.write_text("numpy==2.0.1\n")                              # a new pin: not that venv
    assert not python_env.worker_venv_ready(venv)


def test_build_once_builds_only_when_not_ready(tmp_path):
    built = []
    target = tmp_path / "deep" / "thing"
    assert python_env.build_once(target, lambda: bool(built), lambda: built.append(1)) == target
    assert python_env.build_once(target, lambda: bool(built), lambda: built.append(1)) == target
    assert built == [1] and (tmp_path / "deep" / ".thing.lock").exists()


def test_concurrent_builders_wait_for_one(tmp_path):
    target, built, inside = tmp_path / "thing", [], threading.Event()
    release = threading.Event()

    def build():
        inside.set()
        release.wait(600)                  # a guard against a hang only
        built.append(threading.current_thread().name)

    first = threading.Thread(target=python_env.build_once, args=(target, lambda: bool(built), build), name="first")
    first.start()
    assert inside.wait(600)
    second = threading.Thread(target=python_env.build_once, args=(target, lambda: bool(built), build), name="second")
    second.start()
    release.set()
    first.join()
    second.join()
    assert built == ["first"]              # the second found it built once it had the lock


def test_the_nearest_folder_others_cannot_enter(tmp_path):
    closed = tmp_path / "closed"
    deeper = closed / "open" / "deeper"
    deeper.mkdir(parents=True)
    for folder in (deeper, closed / "open"):
        os.chmod(folder, 0o755)
    os.chmod(closed, 0o700)
    try:
        assert python_env.untraversable_ancestor(deeper / "python") == closed
        os.chmod(closed, 0o711)                    # others may enter, not list: enough
        assert python_env.untraversable_ancestor(deeper / "python") not in (closed, closed / "open", deeper)
    finally:
        os.chmod(closed, 0o755)
