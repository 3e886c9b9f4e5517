"""The sandbox's own tests run against Steam as it is, at Steam's own pace too (the
session's sandbox shortens the login poll interval, see
tests.support.sandbox.TEST_PACE)."""

from __future__ import annotations

import pytest

from tests.support.sandbox import SandboxClient


@pytest.fixture
def sandbox(steam_sandbox) -> SandboxClient:
    steam_sandbox.reset(steam_defaults=True)
    yield steam_sandbox
    steam_sandbox.reset()  # back to what the session's other suites expect
