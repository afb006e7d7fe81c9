"""The fast tier (`make test-fast`): one module per engine module of autograder/, testing that module's
own job through its public functions on small hand-made inputs. Nothing here starts a sandbox, grades a
submission, runs a subprocess or builds a fixture set; the whole tier runs in well under a minute.

A package (this file) so that tests/unit/test_config.py and tests/e2e/test_config.py can both exist."""
