"""Unit tests of autograder/sandbox/ modules whose job needs no worker process."""
