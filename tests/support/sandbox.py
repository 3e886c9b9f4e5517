"""pytest fixtures that run the Steam sandbox (steam_sandbox/) for every suite.

- `steam_sandbox` (session): one sandbox process on a free port with a temporary state
  directory. It points os.environ["STEAM_SANDBOX_URL"] and Django's settings
  (STEAM_SANDBOX_URL, STEAM_MODE="sandbox", the bot's credentials) at it, so the
  gateway and child processes (Celery workers of e2e tests) use it. Yields a
  `SandboxClient` wrapping the control API.
- `sandbox` (function): the same client, reset to an empty world before the test.

The client's methods map one to one onto the control API (docs/sandbox.md). Its own
Steam traffic (`steam_session()`, `steampy_client()`) looks like a 2026 client's: a
browser's headers, Origin/Referer on finalizelogin, polling until the tokens are
ready, Steam's time (QueryTime) for codes and keys, the trade protection notice
acknowledged once after login.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from steampy import guard
from steampy.client import SteamClient
from steampy.confirmation import ConfirmationExecutor
from steampy.login import LoginExecutor
from steampy.models import SteamUrl

from steam_sandbox.account import BotAccount
from astro.steam.transport import mount_transport

BASE_DIR = Path(__file__).resolve().parents[2]

# What a browser sends: steamcommunity.com answers 429 without it (Steam since July 2026).
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:152.0) Gecko/20100101 Firefox/152.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    "Accept-Encoding": "gzip, deflate",
}

# The session's sandbox runs Steam's 2026 behaviours as Steam does, all on; only
# Steam's pace is shortened. Tests that need a glitch or a fault switch it on
# themselves, and the `sandbox` fixture's reset switches it off again. The pace is
# not a behaviour: the gateway polls at whatever interval the sandbox answers.
TEST_PACE = {"authPollIntervalSeconds": 0.05}


class SandboxError(Exception):
    def __init__(self, status: int, body):
        super().__init__(f"sandbox control API answered {status}: {body}")
        self.status = status
        self.body = body
        self.code = body.get("error") if isinstance(body, dict) else None


# ---------------------------------------------------------------- Steam traffic to the sandbox
def mount_sandbox(session: requests.Session, sandbox_url: str, *, timeout: float = 30) -> requests.Session:
    """Route the session's Steam traffic to the sandbox with the gateway's own adapter."""
    mount_transport(session, mode="sandbox", sandbox_url=sandbox_url, timeout=timeout)
    return session


# ---------------------------------------------------------------- the control-API client
class SandboxClient:
    def __init__(self, url: str, *, bot: BotAccount | None = None, process: "SandboxProcess | None" = None):
        self.url = url.rstrip("/")
        self.bot = bot or BotAccount()
        self.process = process
        self.http = requests.Session()

    # plumbing
    def call(self, method: str, path: str, body=None, *, params=None, expect=(200, 201)):
        resp = self.http.request(method, f"{self.url}{path}", json=body, params=params, timeout=120)
        try:
            data = resp.json()
        except ValueError:
            data = resp.text
        if resp.status_code not in expect:
            raise SandboxError(resp.status_code, data)
        return data

    def steam_session(self) -> requests.Session:
        """A requests.Session whose Steam-host traffic goes to this sandbox, with a browser's headers."""
        session = requests.Session()
        session.headers.update(BROWSER_HEADERS)
        return mount_sandbox(session, self.url)

    def steampy_client(self, *, password: str | None = None, shared_secret: str | None = None) -> "SandboxSteamClient":
        """A steampy SteamClient (not logged in) wired to this sandbox, behaving as a
        2026 client must (see SandboxSteamClient)."""
        steam_guard = json.dumps({
            "steamid": str(self.bot.steam_id),
            "shared_secret": shared_secret or self.bot.shared_secret,
            "identity_secret": self.bot.identity_secret,
        })
        client = SandboxSteamClient(self.bot.api_key, self.bot.username, password or self.bot.password, steam_guard)
        client._session.headers.update(BROWSER_HEADERS)
        mount_sandbox(client._session, self.url)
        return client

    # whole state
    def health(self) -> dict:
        return self.call("GET", "/sandbox/health")

    def state(self) -> dict:
        return self.call("GET", "/sandbox/state")

    def reset(self, *, seed: bool = False, steam_defaults: bool = False) -> dict:
        """An empty world with the config this sandbox started with, or (`steam_defaults`) Steam's own."""
        return self.call("POST", "/sandbox/reset", {"seed": seed, "config": "steam" if steam_defaults else "start"})

    def seed(self) -> dict:
        return self.call("POST", "/sandbox/seed")

    def save(self) -> dict:
        return self.call("POST", "/sandbox/save")

    def set_config(self, **config) -> dict:
        return self.call("POST", "/sandbox/config", config)

    def advance_clock(self, seconds: int) -> dict:
        return self.call("POST", "/sandbox/clock", {"advanceSeconds": seconds})

    # inventories ("bot" or a user's steamid)
    def load_inventory(self, inventory: dict | str | Path, *, account="bot", appid: int = 730, contextid: int = 2) -> dict:
        if isinstance(inventory, (str, Path)):
            inventory = json.loads(Path(inventory).read_text())
        return self.call("POST", f"/sandbox/inventories/{account}/{appid}/{contextid}", inventory)

    def generate_inventory(self, count: int, *, account="bot", appid: int = 730, contextid: int = 2, seed: int = 1, **options) -> dict:
        return self.call("POST", f"/sandbox/inventories/{account}/{appid}/{contextid}/generate", {"count": count, "seed": seed, **options})

    def add_items(self, *, account="bot", appid: int = 730, contextid: int = 2, count: int | None = None, items: list | None = None) -> list[dict]:
        body = {"items": items} if items is not None else {"count": count or 1}
        return self.call("POST", f"/sandbox/inventories/{account}/{appid}/{contextid}/add", body)["assets"]

    def inventory(self, *, account="bot", appid: int = 730, contextid: int = 2, limit: int = 100_000) -> dict:
        return self.call("GET", f"/sandbox/inventories/{account}/{appid}/{contextid}", params={"limit": limit})

    def asset_ids(self, *, account="bot", appid: int = 730, contextid: int = 2) -> list[str]:
        return [a["assetid"] for a in self.inventory(account=account, appid=appid, contextid=contextid)["assets"]]

    def remove_assets(self, asset_ids, *, account="bot", appid: int = 730, contextid: int = 2) -> dict:
        return self.call("POST", f"/sandbox/inventories/{account}/{appid}/{contextid}/remove", {"assetIds": [str(a) for a in asset_ids]})

    def update_asset(self, asset_id, *, account="bot", appid: int = 730, contextid: int = 2, **changes) -> dict:
        return self.call("PATCH", f"/sandbox/inventories/{account}/{appid}/{contextid}/assets/{asset_id}", changes)

    # users
    def create_user(self, behaviour: str = "accept", *, delay_seconds: int = 0, persona_name: str | None = None,
                    steam_id: int | None = None, **extra) -> dict:
        body = {"behaviour": behaviour, "delaySeconds": delay_seconds, **extra}
        if persona_name is not None:
            body["personaName"] = persona_name
        if steam_id is not None:
            body["steamId"] = str(steam_id)
        return self.call("POST", "/sandbox/users", body)

    def update_user(self, steam_id, **changes) -> dict:
        return self.call("PATCH", f"/sandbox/users/{steam_id}", changes)

    def user(self, steam_id) -> dict:
        return self.call("GET", f"/sandbox/users/{steam_id}")

    def deposit(self, steam_id, *, assets: list | None = None, items: list | None = None, count: int | None = None,
                appid: int = 730, contextid: int = 2, **options) -> dict:
        body = {"appid": appid, "contextid": contextid, **options}
        if assets is not None:
            body["assets"] = assets
        elif items is not None:
            body["items"] = items
        else:
            body["count"] = count or 1
        return self.call("POST", f"/sandbox/users/{steam_id}/deposit", body)

    # offers & trades
    def offers(self, *, state: int | None = None, partner=None) -> list[dict]:
        params = {}
        if state is not None:
            params["state"] = state
        if partner is not None:
            params["partner"] = partner
        return self.call("GET", "/sandbox/offers", params=params)["offers"]

    def offer(self, offer_id) -> dict:
        return self.call("GET", f"/sandbox/offers/{offer_id}")

    def act_on_offer(self, offer_id, action: str, **options) -> dict:
        """accept | decline | counter | expire | cancel | confirm | escrow | release | revert"""
        return self.call("POST", f"/sandbox/offers/{offer_id}/{action}", options)

    def trades(self) -> list[dict]:
        return self.call("GET", "/sandbox/trades")["trades"]

    def trade(self, trade_id) -> dict:
        return self.call("GET", f"/sandbox/trades/{trade_id}")

    def confirmations(self) -> list[dict]:
        return self.call("GET", "/sandbox/confirmations")["confirmations"]

    # faults & sessions
    def set_fault(self, kind: str, **params) -> dict:
        """rate_limit | server_error | latency | send_timeout | send_error | empty_inventory |
        page_size_limit | expire_session; common params: count, pathPrefix, host, method."""
        return self.call("POST", "/sandbox/faults", {"kind": kind, **params})

    def clear_faults(self) -> dict:
        return self.call("DELETE", "/sandbox/faults")

    def faults(self) -> list[dict]:
        return self.call("GET", "/sandbox/faults")["faults"]

    def expire_sessions(self) -> int:
        return self.call("POST", "/sandbox/sessions/expire")["expiredSessions"]

    # per bot ("bot" or a bot's steamid)
    def set_trade_protection_acknowledged(self, acknowledged: bool, *, bot="bot") -> dict:
        return self.call("POST", f"/sandbox/bots/{bot}/trade-protection", {"acknowledged": acknowledged})

    def tokens(self, *, bot="bot") -> dict:
        """The tokens minted lately and the bot's sessions."""
        return self.call("GET", f"/sandbox/bots/{bot}/tokens")

    def expire_refresh_tokens(self, *, bot="bot") -> int:
        return self.call("POST", f"/sandbox/bots/{bot}/tokens/expire")["expiredRefreshTokens"]

    def revoke_tokens(self, *, bot="bot") -> int:
        return self.call("POST", f"/sandbox/bots/{bot}/tokens/revoke")["revokedSessions"]

    def counters(self, *, bot="bot") -> dict:
        return self.call("GET", f"/sandbox/bots/{bot}/counters")

    def reset_counters(self) -> dict:
        return self.call("POST", "/sandbox/counters/reset")

    def set_hidden_items(self, count: int, *, account="bot", appid: int = 730, contextid: int = 2) -> dict:
        return self.call("POST", f"/sandbox/inventories/{account}/{appid}/{contextid}/hidden", {"count": count})

    # prices & the request log
    def set_price(self, market_hash_name: str, *, appid: int = 730, **price) -> dict:
        return self.call("POST", "/sandbox/prices", {"appid": appid, "marketHashName": market_hash_name, **price})

    def requests_log(self, *, since: int = 0, host: str | None = None, path_prefix: str | None = None, method: str | None = None) -> list[dict]:
        params = {"since": since}
        if host:
            params["host"] = host
        if path_prefix:
            params["pathPrefix"] = path_prefix
        if method:
            params["method"] = method
        return self.call("GET", "/sandbox/requests", params=params)["requests"]

    def last_request_seq(self) -> int:
        return self.call("GET", "/sandbox/requests", params={"since": 2**62})["lastSeq"]


# ---------------------------------------------------------------- steampy as a 2026 client
def steam_time(session: requests.Session) -> int:
    """Steam's time now, from ITwoFactorService/QueryTime (what codes and keys need)."""
    before = time.time()
    answer = session.post(f"{SteamUrl.API_URL}/ITwoFactorService/QueryTime/v1").json()["response"]
    return int(answer["server_time"]) + int(time.time() - before)


class _Login2026(LoginExecutor):
    """steampy 1.2.0's login as Steam wants it now: the code at Steam's time, the
    poll repeated until the tokens are ready, Origin/Referer on finalizelogin."""

    MAX_POLLS = 10

    def _update_steam_guard(self, login_response) -> None:
        client_id = login_response.json()["response"]["client_id"]
        steamid = login_response.json()["response"]["steamid"]
        request_id = login_response.json()["response"]["request_id"]
        code = guard.generate_one_time_code(self.shared_secret, steam_time(self.session))
        update = {"client_id": client_id, "steamid": steamid, "code_type": 3, "code": code}
        response = self._api_call("POST", "IAuthenticationService", "UpdateAuthSessionWithSteamGuardCode", params=update)
        if response.status_code != 200:
            raise Exception("Cannot update Steam guard")
        self._pool_sessions_steam(client_id, request_id)

    def _pool_sessions_steam(self, client_id: str, request_id: str) -> None:
        data = {"client_id": client_id, "request_id": request_id}
        for _ in range(self.MAX_POLLS):
            response = self._api_call("POST", "IAuthenticationService", "PollAuthSessionStatus", params=data)
            if "refresh_token" in response.json()["response"]:
                break
        self.refresh_token = response.json()["response"]["refresh_token"]  # KeyError: never ready, like steampy

    def _finalize_login(self):
        sessionid = self.session.cookies["sessionid"]
        data = {"nonce": self.refresh_token, "sessionid": sessionid, "redir": f"{SteamUrl.COMMUNITY_URL}/login/home/?goto="}
        headers = {"Origin": SteamUrl.COMMUNITY_URL, "Referer": f"{SteamUrl.COMMUNITY_URL}/"}
        return self.session.post(f"{SteamUrl.LOGIN_URL}/jwt/finalizelogin", data=data, headers=headers)


class SteamTimeConfirmations(ConfirmationExecutor):
    """steampy's mobile confirmations, with `t` and `k` at Steam's time."""

    def _create_confirmation_params(self, tag_string: str) -> dict:
        t = steam_time(self._session)
        return {
            "p": guard.generate_device_id(self._my_steam_id), "a": self._my_steam_id, "t": t, "m": "android",
            "tag": tag_string, "k": guard.generate_confirmation_key(self._identity_secret, tag_string, t),
        }


class SandboxSteamClient(SteamClient):
    """steampy's SteamClient, logging in and confirming as a 2026 client must (see
    `_Login2026`, `SteamTimeConfirmations`), and acknowledging the trade protection
    notice once after logging in, as a bot does before it trades."""

    def login(self, username: str | None = None, password: str | None = None, steam_guard: str | None = None) -> None:
        if self.was_login_executed:
            if self.is_session_alive():
                return
            self._session.cookies.clear()  # steampy cannot log in over its own cookies
        self._session.cookies.set("steamRememberLogin", "true")
        _Login2026(self.username, self._password, self.steam_guard["shared_secret"], self._session).login()
        self.was_login_executed = True
        self.market._set_login_executed(self.steam_guard, self._get_session_id())
        self._access_token = self._set_access_token()
        self._session.post(f"{SteamUrl.COMMUNITY_URL}/trade/new/acknowledge",
                           data={"sessionid": self._get_session_id(), "message": 1})

    def confirmation_executor(self) -> SteamTimeConfirmations:
        return SteamTimeConfirmations(self.steam_guard["identity_secret"], self.steam_guard["steamid"], self._session)

    def _confirm_transaction(self, trade_offer_id: str) -> dict:
        return self.confirmation_executor().send_trade_allow_request(trade_offer_id)


# ---------------------------------------------------------------- the sandbox process
class SandboxProcess:
    def __init__(self, proc: subprocess.Popen, url: str, state_dir: Path, log_path: Path):
        self.proc = proc
        self.url = url
        self.state_dir = state_dir
        self.log_path = log_path

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM: the sandbox saves its state and exits."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


def start_sandbox(state_dir: Path, *, port: int = 0, bot: BotAccount | None = None, args=(), timeout: float = 60) -> SandboxProcess:
    """Start `python -m steam_sandbox` and wait until it listens."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    ready = state_dir / "ready.url"
    ready.unlink(missing_ok=True)

    log_path = state_dir / "sandbox.log"
    env = {**os.environ, **(bot or BotAccount()).env()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "steam_sandbox", "--host", "127.0.0.1", "--port", str(port),
             "--state-dir", str(state_dir), "--ready-file", str(ready), *args],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"the Steam sandbox exited with {proc.returncode}:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the Steam sandbox did not start in {timeout}s:\n{log_path.read_text()}")
        time.sleep(0.05)
    return SandboxProcess(proc, ready.read_text().strip(), state_dir, log_path)


def bot_from_settings() -> BotAccount:
    """The sandbox values of Django settings (STEAM_MODE=sandbox); the sandbox defaults in
    live mode, so live credentials never enter the sandbox."""
    from django.conf import settings

    if settings.STEAM_MODE != "sandbox":
        return BotAccount()
    defaults = BotAccount()
    return BotAccount(
        username=settings.STEAM_USERNAME or defaults.username,
        password=settings.STEAM_PASSWORD or defaults.password,
        shared_secret=settings.STEAM_SHARED_SECRET or defaults.shared_secret,
        identity_secret=settings.STEAM_IDENTITY_SECRET or defaults.identity_secret,
        api_key=settings.STEAM_API_KEY or defaults.api_key,
    )


@pytest.fixture(scope="session")
def steam_sandbox(tmp_path_factory):
    from django.conf import settings

    bot = bot_from_settings()
    started_with = [f"--config={key}={json.dumps(value)}" for key, value in TEST_PACE.items()]
    process = start_sandbox(tmp_path_factory.mktemp("steam-sandbox"), bot=bot, args=started_with)
    overrides = {
        "STEAM_SANDBOX_URL": process.url,
        "STEAM_MODE": "sandbox",
        "STEAM_USERNAME": bot.username,
        "STEAM_PASSWORD": bot.password,
        "STEAM_SHARED_SECRET": bot.shared_secret,
        "STEAM_IDENTITY_SECRET": bot.identity_secret,
        "STEAM_API_KEY": bot.api_key,
    }
    saved_settings = {k: getattr(settings, k, None) for k in overrides}
    saved_env = {k: os.environ.get(k) for k in overrides}
    for key, value in overrides.items():
        setattr(settings, key, value)
        os.environ[key] = value  # child processes (Celery workers) read these
    client = SandboxClient(process.url, bot=bot, process=process)
    try:
        yield client
    finally:
        process.stop()
        for key, value in saved_settings.items():
            setattr(settings, key, value)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def sandbox(steam_sandbox) -> SandboxClient:
    steam_sandbox.reset()
    return steam_sandbox


@pytest.fixture
def sandbox_steampy(sandbox):
    """A steampy SteamClient logged in to a clean sandbox as the bot."""
    client = sandbox.steampy_client()
    client.login()
    return client
