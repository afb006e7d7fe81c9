"""autograder/sandbox/portable.py: the one decision between the POSIX and the portable transport,
made from what this Python offers, and what replaces POSIX where it is missing (checked here with
the missing pieces taken away by monkeypatch; tests/e2e/test_transport.py runs real workers that way)."""

import os
import select

import pytest

from autograder.sandbox import portable


def test_on_posix_the_posix_path_is_used():
    if os.name == "nt":
        pytest.skip("a POSIX system's answer")
    assert portable.use_portable_path() is False
    assert portable.effective_uid() == os.geteuid() and portable.is_root() is (os.geteuid() == 0)
    assert portable.new_group_flags() == {} and portable.windows_env("/tmp/x") == {}


@pytest.mark.parametrize("module, name", [(select, "poll"), (os, "killpg"), (os, "setsid")])
def test_without_any_one_posix_call_the_portable_path_is_used(monkeypatch, module, name):
    monkeypatch.delattr(module, name, raising=False)
    assert portable.use_portable_path() is True


def test_without_uids_nobody_is_root(monkeypatch):
    monkeypatch.delattr(os, "geteuid", raising=False)
    assert portable.effective_uid() is None and portable.is_root() is False


def test_a_windows_worker_gets_its_temp_folder_and_what_python_needs(monkeypatch):
    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.setenv("SYSTEMROOT", r"C:\Windows")
    monkeypatch.setenv("PATH", r"C:\Python")
    monkeypatch.setenv("SECRET_TOKEN", "never passed on")
    env = portable.windows_env(r"C:\tmp\work")
    assert env == {"SYSTEMROOT": r"C:\Windows", "PATH": r"C:\Python", "TEMP": r"C:\tmp\work", "TMP": r"C:\tmp\work"}
    assert portable.use_portable_path() is True
