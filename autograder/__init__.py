"""Grader for the conv2d backprop assignment: `python -m autograder ...`."""

__version__ = "1.0.0"
