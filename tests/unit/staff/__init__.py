"""Unit tests of the pure helpers of autograder/staff/."""
