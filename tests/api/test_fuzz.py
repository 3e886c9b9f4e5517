"""Schema-driven fuzzing: schemathesis against Astro served by gunicorn, every check on.

It finds no 5xx, no response the schema does not describe, and no schema-valid request
refused for a reason the schema does not state; refusals the schema does state are
configured as expected in tests/api/fuzz/ (schemathesis.toml, hooks.py), never suppressed.
A fixed seed and a bounded number of cases per operation keep a run the same every time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from astro.integrations.models import ALL_SCOPES
from astro.integrations.services import api_key_create, external_system_create
from sync.models import InventorySyncLog
from tests.api.live import gunicorn_api  # noqa: F401  (fixture)

FUZZ = Path(__file__).resolve().parent / "fuzz"
SEED = 20261201
MAX_EXAMPLES = int(os.environ.get("ASTRO_FUZZ_MAX_EXAMPLES", "100"))


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_nothing(gunicorn_api, make_items, tmp_path):
    system = external_system_create(slug="fuzzer", scopes=list(ALL_SCOPES), rate_limit="1000000/min",
                                    actor="tests", source="command")
    _, key = api_key_create(system=system, actor="tests", source="command")
    items = make_items(40)
    # A healthy Astro: /api/health's 503 is for a sync that is late, not for a fresh test database.
    now = timezone.now()
    InventorySyncLog.objects.create(sync_status="success", sync_started_at=now, sync_completed_at=now, trigger="schedule")
    server = gunicorn_api(workers=2, API_ANON_RATE="1000000/min")

    command = [
        str(Path(sys.executable).with_name("st")), "--config-file", str(FUZZ / "schemathesis.toml"),
        "run", f"{server.url}/api/schema/",
        "--checks", "all", "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1", "--header", f"Authorization: Api-Key {key}",
        "--report", "junit", "--report-dir", str(tmp_path / "report"),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.fuzz.hooks", "PYTHONPATH": str(FUZZ.parents[2]),
           "ASTRO_FUZZ_SYSTEM": system.slug, "ASTRO_FUZZ_ITEM_IDS": ",".join(str(i.id) for i in items)}
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=FUZZ.parents[2])
    print(run.stdout[-20000:])
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:] + server.output()[-5000:]
