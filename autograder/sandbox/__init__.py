"""Run a student's file in an isolated worker process and talk to it as untrusted.

Modules, one job each:

* ``core``: ``Sandbox``, the public object (start, call, restart, close).
* ``levels``: the isolation levels behind one interface, and the registry that detects
  the best one (``bwrap``, ``chroot``, ``uid``, ``process``; see the README's table).
* ``plumbing``: the worker process and its pipes; ``proxy``: ``ObjectProxy``.
* ``portable``: where POSIX is missing (Windows), the one decision and the tree kill;
  ``transport``: the worker over stdin/stdout, read by threads, used there.
* ``workdirs``: work dirs and clean-up, never following a student's links; what a killed
  grader left (``remove_work_dirs_of``, ``remove_temp_tree``).
* ``uids``: sandbox uid slots and killing a uid's processes.
* ``python_env``, ``jail``, ``seccomp_filter``: the worker's Python, the chroot built
  from it, and the seccomp filter of the ``chroot`` level.
* ``errors``: ``StudentError`` and messages for students. The limits a sandbox enforces are
  ``autograder.limits.Limits`` (re-exported here), the type a lab's config reads.
"""

from autograder.limits import Limits
from autograder.sandbox.core import Sandbox, protect_secret_paths
from autograder.sandbox.errors import StudentError
from autograder.sandbox.levels import (ISOLATION_LEVELS, LEVELS, LevelUnusable,
                                       describe_isolation, detect_isolation)
from autograder.sandbox.proxy import ObjectProxy
from autograder.sandbox.workdirs import WORKDIR_PREFIX, remove_temp_tree, remove_work_dirs_of

__all__ = ["Sandbox", "StudentError", "Limits", "ObjectProxy", "ISOLATION_LEVELS", "LEVELS",
           "LevelUnusable", "describe_isolation", "detect_isolation", "protect_secret_paths",
           "WORKDIR_PREFIX", "remove_temp_tree", "remove_work_dirs_of"]
