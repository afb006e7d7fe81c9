"""What course staff read (issue 24): outputs the staff group can open, names beside ids,
a similarity page a TA can use, a Canvas export that fills the roster's own column."""

import os
import stat

import pytest

from autograder.results import write_atomic


# --- 3. outputs readable as the staff's umask allows ------------------------------------------

@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_get_the_mode_a_plain_write_would(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        for name in ("grades.csv", "report.html", "results.json"):
            write_atomic(tmp_path / name, "x\n")
            with open(tmp_path / f"plain-{name}", "w") as f:
                f.write("x\n")
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name
            assert stat.S_IMODE((tmp_path / f"plain-{name}").stat().st_mode) == expected
    finally:
        os.umask(old)


def test_an_atomic_rewrite_keeps_the_files_own_mode(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("old\n")
    path.chmod(0o640)
    write_atomic(path, "new\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "new\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]       # no temp file left
