"""Flows as data, their catalogs and triage rules, and the pure engine step."""
