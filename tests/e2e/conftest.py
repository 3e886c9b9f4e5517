"""Each e2e test starts without the delivery engine's per-bot state in Redis (see
tests/assignments/conftest.py)."""

from tests.assignments.conftest import _fresh_delivery_state  # noqa: F401  (an autouse fixture)
