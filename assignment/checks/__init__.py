"""The graded checks: plain pytest tests, one `@check(name, cases=select)` each, run on the fixture
cases that select(case) accepts.

A check's points, visibility and hint live in assignment/config.toml under the
same name; its score is points x (cases passed / cases run).
"""
