"""The grading engine: `python -m autograder ...` grades the lab its config names (assignment/ by default)."""

__version__ = "1.0.0"
