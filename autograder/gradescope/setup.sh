#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built (as root, from the
# unpacked zip in $AUTOGRADER_ROOT/source). It makes a Python >= 3.11 virtual
# environment with the pinned grader requirements (pyseccomp among them) and prepares
# the sandbox: bubblewrap and libseccomp2 from apt, a Python the unprivileged worker
# can run, and the chroot built from it (the level Gradescope's containers get, as they
# refuse user namespaces). AUTOGRADER_ROOT exists so tests can use a temp folder.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
PY=""
for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null && python_ok "$candidate"; then PY="$(command -v "$candidate")"; break; fi
done
if [ -z "$PY" ]; then
    # Ubuntu 22.04 (Gradescope's default base image) ships 3.10; its archive has 3.11.
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3.11 python3.11-venv
    PY="$(command -v python3.11)"
fi
echo "grader Python: $PY ($("$PY" --version))"
"$PY" -m venv "$SRC/.venv"
"$SRC/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SRC/requirements-grader.txt"
cd "$SRC"
"$SRC/.venv/bin/python" -m autograder.runtime
# The kit must be out of other users' reach: the 'uid' fallback level refuses to run otherwise.
chmod go-rwx "$SRC"
