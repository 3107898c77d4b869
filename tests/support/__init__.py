"""Helpers shared by the test suites (AWS emulation, sample data). Fixtures that use them live in tests/conftest.py."""
