"""Steam never forgets: every change is on disk before the sandbox answers (an
fsynced journal, compacted into the snapshot files now and then), so a SIGKILL right
after an answer loses nothing. Real processes, killed."""

from __future__ import annotations

import json

import pytest
from steampy.models import Asset, GameOptions

from tests.support.sandbox import SandboxClient, mount_sandbox, start_sandbox


@pytest.fixture
def own_sandbox(tmp_path, steam_sandbox):
    """A sandbox process of the test's own (it gets killed and restarted)."""
    processes = []

    def start():
        process = start_sandbox(tmp_path / "state", bot=steam_sandbox.bot)
        processes.append(process)
        return SandboxClient(process.url, bot=steam_sandbox.bot, process=process)

    yield start
    for process in processes:
        process.kill()


def test_an_offer_sent_just_before_a_sigkill_is_there_after_the_restart(own_sandbox):
    sandbox = own_sandbox()
    user = sandbox.create_user("ignore")
    [asset] = [a["assetid"] for a in sandbox.add_items(count=1)]
    steam = sandbox.steampy_client()
    steam.login()

    sent = steam.make_offer_with_url([Asset(asset, GameOptions.CS)], [], user["tradeUrl"], message="astro:kill",
                                     confirm_trade=False)
    sandbox.process.kill()  # SIGKILL, at once: no save on the way out

    restarted = own_sandbox()
    [offer] = restarted.offers()
    assert (offer["id"], offer["state"], offer["message"]) == (sent["tradeofferid"], 9, "astro:kill")
    assert [c["offerId"] for c in restarted.confirmations()] == [sent["tradeofferid"]]
    assert restarted.asset_ids() == [asset]
    assert restarted.user(user["steamId"])["tradeToken"] == user["tradeToken"]
    # The login survived too: the same client confirms on the restarted sandbox.
    mount_sandbox(steam._session, restarted.url)
    assert steam.confirmation_executor().send_trade_allow_request(sent["tradeofferid"]) == {"success": True}
    assert restarted.offer(sent["tradeofferid"])["state"] == 2


def test_every_kind_of_change_survives_a_sigkill(own_sandbox):
    sandbox = own_sandbox()
    user = sandbox.create_user("accept", persona_name="Kept")
    sandbox.set_config(offerLifetimeSeconds=7200, holdDateFormat="legacy")
    sandbox.set_price("Recoil Case", lowestPrice="1.25")
    sandbox.generate_inventory(21_000, seed=3)  # too big for one journal line: written as a snapshot at once
    deposit = sandbox.deposit(user["steamId"], count=2)
    sandbox.remove_assets(sandbox.asset_ids()[:3])
    sandbox.set_hidden_items(4)
    sandbox.set_trade_protection_acknowledged(True)
    sandbox.advance_clock(60)
    before = {
        "offers": sandbox.offers(), "trades": sandbox.trades(), "inventory": sandbox.inventory(),
        "protected": sandbox.inventory(contextid=16), "config": sandbox.call("GET", "/sandbox/config"),
        "clock": sandbox.call("GET", "/sandbox/clock")["offsetSeconds"], "state": sandbox.state(),
    }
    sandbox.process.kill()

    restarted = own_sandbox()

    assert restarted.offers() == before["offers"] and restarted.trades() == before["trades"]
    assert restarted.inventory() == before["inventory"] and restarted.inventory(contextid=16) == before["protected"]
    assert restarted.inventory()["hidden"] == 4
    assert {a["newAssetId"] for a in deposit["assets"]} == set(restarted.asset_ids(contextid=16))
    assert restarted.call("GET", "/sandbox/config") == before["config"]
    assert restarted.call("GET", "/sandbox/clock")["offsetSeconds"] == before["clock"]
    assert restarted.call("GET", "/sandbox/prices", params={"marketHashName": "Recoil Case"})["lowestPrice"] == 125
    assert restarted.state()["bot"]["tradeProtectionAcknowledged"] is True
    fresh = restarted.add_items(count=1)[0]["assetid"]
    assert int(fresh) > max(int(a["assetid"]) for a in before["inventory"]["assets"])


def test_a_reset_survives_a_sigkill(own_sandbox):
    sandbox = own_sandbox()
    sandbox.create_user("ignore")
    sandbox.add_items(count=3)
    sandbox.save()
    sandbox.reset()
    sandbox.add_items(count=1)
    sandbox.process.kill()

    restarted = own_sandbox()

    assert restarted.state()["users"] == 0 and len(restarted.asset_ids()) == 1


def test_the_journal_is_compacted_into_the_snapshot_and_a_cut_line_is_dropped(own_sandbox, tmp_path):
    state_dir = tmp_path / "state"
    sandbox = own_sandbox()
    sandbox.create_user("ignore", persona_name="Snapshotted")
    sandbox.save()  # compaction: the snapshot holds it, the journal starts afresh
    core = json.loads((state_dir / "core.json").read_text())
    [journal] = sorted(state_dir.glob("journal-*.jsonl"))
    assert [u["persona_name"] for u in core["users"]] == ["Snapshotted"]
    assert journal.name == f"journal-{core['journal']:06d}.jsonl" and journal.read_text() == ""

    sandbox.create_user("ignore", persona_name="Journaled")
    sandbox.process.kill()
    lines = journal.read_text().splitlines(keepends=True)
    assert len(lines) == 1 and "Journaled" in lines[0]
    with open(journal, "a") as fh:
        fh.write('{"put": [["user", 7656119')  # a commit the crash cut short: never answered

    restarted = own_sandbox()

    assert sorted(u["personaName"] for u in restarted.call("GET", "/sandbox/users")["users"]) == ["Journaled", "Snapshotted"]
    assert not (state_dir / journal.name).exists()  # replayed, compacted, and gone
