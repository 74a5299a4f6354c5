"""Fake provider APIs served over real HTTP on loopback, for end-to-end tests."""
