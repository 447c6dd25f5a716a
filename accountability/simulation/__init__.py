"""Simulated operations: weeks of agents, reviewers and leads, driven through the real services.

The models of agents (agents.py), reviewers (reviewers.py), the arrival clock (clock.py) and the
lead's threshold policy (policy.py) are pure: no database, so a benchmark can run them at any
volume. engine.py drives them through ingest, claiming, decisions, escalations, overrides and
queue policy changes under a simulated clock (time-machine); report.py turns the result into the
weekly table, and chart.py into a picture.
"""
