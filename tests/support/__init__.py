"""Helpers shared by the suite: factories, waiting, and the pytest plugins that run
the Steam sandbox, admin logins and real Celery workers (tests/conftest.py loads them)."""
