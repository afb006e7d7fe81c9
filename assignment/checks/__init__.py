"""The graded checks: plain pytest tests, one `@check(name)` each, parametrised over fixture cases.

A check's points, visibility and hint live in assignment/config.toml under the
same name; its score is points x (cases passed / cases run).
"""
