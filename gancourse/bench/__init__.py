"""Measurements of the course's own code: training speed against the usual recipe."""
