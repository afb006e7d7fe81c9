"""The graded checks: `test_*` functions, one `@check(name, cases=select)` each (autograder.checks),
run on the fixture cases that select(case) accepts: by the grader (autograder/runner.py), or by
pytest on one submission (autograder/pytest_plugin.py).

A check's points, visibility and hint live in assignment/config.toml under the
same name; its score is points x (cases passed / cases run).
"""
