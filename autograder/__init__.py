"""Grader for the conv2d backprop assignment: `python -m autograder ...`."""
