"""The sandbox keeps its world on disk across restarts (a state saved in an older layout
too), and runs as `python -m steam_sandbox`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from steampy.models import Asset, GameOptions

from steam_sandbox.crypto import TokenSigner
from tests.support.sandbox import SandboxClient, mount_sandbox, start_sandbox
from tests.support.waiting import wait_for

BASE_DIR = Path(settings.BASE_DIR)
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # see its README


@pytest.fixture
def own_sandbox(tmp_path, steam_sandbox):
    """A sandbox process of the test's own (it gets restarted and killed)."""
    processes = []

    def start():
        process = start_sandbox(tmp_path / "state", bot=steam_sandbox.bot)
        processes.append(process)
        return SandboxClient(process.url, bot=steam_sandbox.bot, process=process)

    yield start
    for process in processes:
        process.kill()


def test_the_world_survives_a_restart_sessions_included(own_sandbox):
    sandbox = own_sandbox()
    user = sandbox.create_user("ignore", persona_name="Persisted")
    sandbox.generate_inventory(1500, seed=5)
    sandbox.set_config(offerLifetimeSeconds=7200)
    sandbox.set_price("Recoil Case", lowestPrice="1.25")
    steam = sandbox.steampy_client()
    steam.login()
    [asset] = sandbox.asset_ids()[:1]
    offer_id = steam.make_offer_with_url([Asset(asset, GameOptions.CS)], [], user["tradeUrl"], message="astro:p")["tradeofferid"]
    deposit = sandbox.deposit(user["steamId"], count=2)
    before = {
        "ids": sandbox.asset_ids(), "offers": sandbox.offers(), "trades": sandbox.trades(),
        "user": sandbox.user(user["steamId"]),
    }

    sandbox.process.stop()  # SIGTERM: saves and exits
    assert sandbox.process.proc.returncode == 0
    restarted = own_sandbox()

    assert restarted.asset_ids() == before["ids"]
    assert restarted.offers() == before["offers"]
    assert restarted.trades() == before["trades"]
    assert restarted.user(user["steamId"]) == before["user"]
    assert restarted.call("GET", "/sandbox/config")["offerLifetimeSeconds"] == 7200
    assert restarted.call("GET", "/sandbox/prices", params={"marketHashName": "Recoil Case"})["lowestPrice"] == 125
    # The bot's web session is still good: steampy carries on without logging in again.
    mount_sandbox(steam._session, restarted.url)
    assert asset in steam.get_my_inventory(GameOptions.CS, count=1000)
    assert steam.get_trade_offer(offer_id, use_webtoken=True)["response"]["offer"]["trade_offer_state"] == 2
    assert {a["newAssetId"] for a in deposit["assets"]} <= set(restarted.asset_ids(contextid=16))  # trade-protected
    # New ids keep growing past the old ones.
    fresh = restarted.add_items(count=1)[0]["assetid"]
    assert int(fresh) > max(int(a) for a in before["ids"])


def test_changes_reach_the_disk_without_an_explicit_save(own_sandbox, tmp_path):
    sandbox = own_sandbox()
    user = sandbox.create_user(persona_name="Written")
    core = tmp_path / "state" / "core.json"

    wait_for(lambda: core.exists() and "Written" in core.read_text())
    sandbox.process.kill()  # no chance to save on the way out
    restarted = own_sandbox()

    assert restarted.user(user["steamId"])["personaName"] == "Written"


def test_reads_do_not_rewrite_the_state(own_sandbox, tmp_path):
    sandbox = own_sandbox()
    sandbox.generate_inventory(50)
    sandbox.save()
    files = sorted((tmp_path / "state").rglob("*.json"))
    steam = sandbox.steampy_client()
    steam.login()
    sandbox.save()
    stamps = {f: f.stat().st_mtime_ns for f in files}  # the login changed the sessions

    steam.get_my_inventory(GameOptions.CS, count=100)
    sandbox.state()
    sandbox.inventory()
    sandbox.save()

    assert {f: f.stat().st_mtime_ns for f in files} == stamps
    assert not list((tmp_path / "state").rglob("*.tmp"))
    for f in files:
        json.loads(f.read_text())


def test_the_module_command_uses_the_settings_credentials_and_seeds(tmp_path):
    ready = tmp_path / "ready.url"
    env = {**os.environ, "PYTHONPATH": str(BASE_DIR)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "steam_sandbox", "--port", "0", "--state-dir", str(tmp_path / "state"),
         "--seed", "--ready-file", str(ready)],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.stdout.read()
        client = SandboxClient(ready.read_text().strip())
        assert client.call("GET", "/sandbox/bot")["username"] == settings.STEAM_USERNAME
        assert client.state()["botItemCount"] > 25
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Steam sandbox listening on http://127.0.0.1:" in output and "state saved" in output


def test_the_module_command_refuses_a_non_loopback_address(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "steam_sandbox", "--host", "0.0.0.0", "--state-dir", str(tmp_path)],
        cwd=BASE_DIR, env={**os.environ, "PYTHONPATH": str(BASE_DIR)}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "only listens on loopback" in result.stderr


def test_live_credentials_never_enter_the_sandbox(tmp_path):
    live = {**os.environ, "STEAM_MODE": "live", "STEAM_USERNAME": "real_bot", "STEAM_PASSWORD": "real-password",
            "PYTHONPATH": str(BASE_DIR)}
    ready = tmp_path / "ready.url"
    proc = subprocess.Popen(
        [sys.executable, "-m", "steam_sandbox", "--port", "0", "--state-dir", str(tmp_path / "s"),
         "--ready-file", str(ready)],
        cwd=BASE_DIR, env=live, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, timeout=60)
        bot = SandboxClient(ready.read_text().strip()).call("GET", "/sandbox/bot")
        assert (bot["username"], bot["password"]) == ("astro_sandbox_bot", "sandbox-password")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_the_sandbox_also_runs_in_process_on_a_free_port(tmp_path):
    from steam_sandbox import make_server

    server = make_server(tmp_path, port=0)
    server.start()
    try:
        client = SandboxClient(server.url)
        assert client.health()["ok"] is True
        client.generate_inventory(3)
        steam = client.steampy_client()
        steam.login()
        assert len(steam.get_my_inventory(GameOptions.CS, count=10)) == 3
    finally:
        server.stop()
    assert (tmp_path / "core.json").exists()


def test_a_state_dir_saved_before_the_per_bot_layout_loads_as_it_was(tmp_path, steam_sandbox):
    state_dir = tmp_path / "state"
    shutil.copytree(FIXTURES / "state_v1", state_dir)
    old_core = json.loads((state_dir / "core.json").read_text())
    answers = json.loads((FIXTURES / "state_v1_answers.json").read_text())
    bot = steam_sandbox.bot
    process = start_sandbox(state_dir, bot=bot)
    try:
        sandbox = SandboxClient(process.url, bot=bot, process=process)

        summary = sandbox.state()
        del summary["stateDir"], summary["clock"]["now"]
        # Config keys added since then take Steam's defaults; the saved ones are as they were.
        steam_defaults = sandbox.call("GET", "/sandbox/config/defaults")["steam"]
        newer = {k: v for k, v in steam_defaults.items() if k not in answers["config"]}
        assert summary == {**answers["state"], "config": {**answers["config"], **newer}}
        assert sandbox.offers() == answers["offers"]
        assert sandbox.trades() == answers["trades"]
        assert sandbox.confirmations() == answers["confirmations"]
        assert sandbox.call("GET", "/sandbox/users") == answers["users"]
        assert sandbox.call("GET", "/sandbox/config") == {**answers["config"], **newer}
        assert sandbox.call("GET", "/sandbox/clock")["offsetSeconds"] == answers["offset"]
        for key, inventory in answers["inventories"].items():
            account, appid, contextid = key.split("/")
            assert sandbox.inventory(account=account, appid=int(appid), contextid=int(contextid)) == inventory

        # The saved login session is the bot's: an access token of it works, and the
        # Web API answers byte for byte what the old code did. (Token lifetimes run on
        # the sandbox clock now, which this state has two days ahead.)
        [jti] = old_core["sessions"]
        signer = TokenSigner(bytes.fromhex((state_dir / "secret.key").read_text().strip()))
        sandbox_now = sandbox.call("GET", "/sandbox/clock")["now"]
        token = signer.issue({"iss": f"r:{jti}", "sub": str(bot.steam_id), "exp": sandbox_now + 600})
        steam = sandbox.steam_session()
        econ = "https://api.steampowered.com/IEconService"
        calls = {
            "GetTradeOffers": {"get_sent_offers": 1, "get_received_offers": 1, "get_descriptions": 1},
            "GetTradeHistory": {"include_failed": 1, "include_total": 1, "get_descriptions": 1, "max_trades": 100},
            "GetTradeOffersSummary": {},
            **{f"GetTradeStatus/{t['tradeId']}": {"tradeid": t["tradeId"], "get_descriptions": 1} for t in answers["trades"]},
        }
        for name, params in calls.items():
            resp = steam.get(f"{econ}/{name.split('/')[0]}/v1", params={"access_token": token, **params})
            assert resp.text == answers["webapi"][name], name

        # The pending confirmations are the bot's phone's (whose keys are made at
        # Steam's time, two days ahead here: the client asks QueryTime).
        client = sandbox.steampy_client()
        client.login()
        listed = client.confirmation_executor()._get_confirmations()
        assert sorted(c.data_confid for c in listed) == sorted(c["id"] for c in answers["confirmations"])

        # Saved again, it is in the current layout: per-bot state under the bot's steamid.
        sandbox.save()
        core = json.loads((state_dir / "core.json").read_text())
        me = str(bot.steam_id)
        assert core["version"] == 2
        assert {key: list(core[key]) for key in ("offers", "trades", "confirmations", "sessions", "acknowledged")} == {
            "offers": [me], "trades": [me], "confirmations": [me], "sessions": [me], "acknowledged": [me],
        }
        assert [o["id"] for o in core["offers"][me]] == [o["id"] for o in old_core["offers"]]
        assert jti in core["sessions"][me]
    finally:
        process.stop()
    assert process.proc.returncode == 0


def test_a_state_dir_from_a_newer_sandbox_is_refused(tmp_path, steam_sandbox):
    (tmp_path / "core.json").write_text(json.dumps({"version": 99}))
    result = subprocess.run(
        [sys.executable, "-m", "steam_sandbox", "--port", "0", "--state-dir", str(tmp_path)],
        cwd=BASE_DIR, env={**os.environ, "PYTHONPATH": str(BASE_DIR)}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "core.json has version 99" in result.stderr
