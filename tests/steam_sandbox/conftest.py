"""The sandbox's own tests run against Steam as it is: every 2026 behaviour on (the
session's sandbox starts with some off for the gateway's sake, see
tests.support.sandbox.GATEWAY_NOT_YET)."""

from __future__ import annotations

import pytest

from tests.support.sandbox import SandboxClient


@pytest.fixture
def sandbox(steam_sandbox) -> SandboxClient:
    steam_sandbox.reset(steam_defaults=True)
    yield steam_sandbox
    steam_sandbox.reset()  # back to what the session's other suites expect
