"""autograder/sandbox/errors.py: a student's failure in words for the student (the exception, how a
worker died, a worker-sent message made safe). The message helpers are the module's own, used by
core.py and proxy.py; no worker is started here."""

import signal

import pytest

from autograder.sandbox.errors import MESSAGE_CAP, StudentError, _clean_message, _death_message


def test_a_student_error_is_its_message():
    exc = StudentError("timeout", "col2im used 10 s of CPU", call="col2im")
    assert (exc.kind, exc.message, exc.call) == ("timeout", "col2im used 10 s of CPU", "col2im")
    assert str(exc) == "col2im used 10 s of CPU" and repr(exc) == "StudentError('timeout', 'col2im used 10 s of CPU')"
    assert StudentError("crashed", "m").call == ""


@pytest.mark.parametrize("code, words", [
    (-signal.SIGSEGV, "exit code -11, segmentation fault"),
    (-signal.SIGKILL, "killed, for example for using too much memory"),
    (128 + signal.SIGXCPU, "exit code -24, CPU time limit exceeded"),          # a shell's 128 + n
    (-signal.SIGTERM, "exit code -15, SIGTERM"),                               # a signal with no words of ours
    (-200, "signal 200"),                                                       # not a signal at all
])
def test_a_death_by_signal_is_named(code, words):
    message = _death_message("Conv2d.backward", code)
    assert message.startswith("the worker process died during Conv2d.backward") and words in message


def test_an_exit_and_a_closed_channel_are_told_apart():
    assert _death_message("import", 3) == "the worker exited during import with os._exit(3) / sys.exit(3)"
    assert _death_message("col2im", None) == "the worker stopped answering during col2im (its reply channel was closed)"


def test_a_worker_sent_message_is_capped_and_has_no_control_characters():
    assert _clean_message("a\x1b[2Jb\n\tc\x00") == "a?[2Jb\n\tc?"
    long = "x" * (MESSAGE_CAP + 10)
    assert _clean_message(long) == "x" * MESSAGE_CAP + " ..."
    assert _clean_message("x" * MESSAGE_CAP) == "x" * MESSAGE_CAP
