"""Command line: `python -m autograder COMMAND ...` (see `--help`)."""

import sys

from autograder.cli import main

sys.exit(main())
