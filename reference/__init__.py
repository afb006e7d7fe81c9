"""The instructor's solution and the independent oracle it is checked against. Never shipped to students."""
