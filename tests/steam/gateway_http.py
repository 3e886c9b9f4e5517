"""A tiny real HTTP server for the gateway's transport and steampy-quirk tests.

It records every request (method, Host, path, query, headers, form) and answers
from a table of canned responses keyed by (Host, path). The Steam sandbox is the
emulator; this is only a probe to see exactly what goes over the wire.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    host: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]


@dataclass
class Canned:
    status: int = 200
    body: object = None  # dict/list/None -> JSON; str or bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)  # raw Set-Cookie values
    delay: float = 0.0  # seconds before answering (timeout tests)


class ProbeServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.routes: dict[tuple[str, str], Canned] = {}
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                host = self.headers.get("Host", "")
                probe.requests.append(
                    Recorded(self.command, host, parts.path, parse_qs(parts.query), dict(self.headers.items()),
                             parse_qs(raw))
                )
                canned = probe.routes.get((host, parts.path)) or Canned(status=404, body={"error": "no route"})
                if callable(canned):
                    canned = canned(probe.requests[-1])
                if canned.delay:
                    time.sleep(canned.delay)
                if isinstance(canned.body, bytes):
                    data = canned.body
                else:
                    data = (canned.body if isinstance(canned.body, str) else json.dumps(canned.body)).encode()
                self.send_response(canned.status)
                self.send_header("Content-Type", "text/html" if isinstance(canned.body, (str, bytes)) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                for cookie in canned.cookies:
                    self.send_header("Set-Cookie", cookie)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client that timed out and left
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, host: str, path: str, handler=None, **kwargs) -> None:
        """Answer (host, path) with Canned(**kwargs), or with handler(recorded) -> Canned."""
        self.routes[(host, path)] = handler or Canned(**kwargs)

    def start(self) -> ProbeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------- gateway helpers
BOT = 76561198080179568
PROBE_ACCESS = "eyAidHlwIjogIkpXVCIsICJhbGciOiAiRWREU0EiIH0.access"


def probe_gateway(probe: ProbeServer, *, identity_secret: str | None = None, **changes):
    """A real gateway logged in with operator cookies against the probe (which must
    answer steamcommunity.com/ with a page naming BOT), no retries, no pacing."""
    from django.core.cache import cache

    from astro.steam.gateway import GatewayConfig, RetryPolicy, SteampyGateway
    from astro.steam.session import SessionConfig

    config = GatewayConfig(
        session=SessionConfig(
            mode="sandbox", sandbox_url=probe.url, username="probe-bot", password=None, shared_secret=None,
            identity_secret=identity_secret, api_key=None, refresh_token=None,
            login_cookies=f"steamLoginSecure={BOT}%7C%7C{PROBE_ACCESS}; sessionid=0123456789abcdef01234567",
            timeout=0.5,
        ),
        inventories=((730, 2),), page_size=1000, currency=1,
        **{"inventory_pacing": 0, "confirmation_pacing": 0, **changes},
    )
    cache.delete(config.session_key)
    return SteampyGateway(config, retry=RetryPolicy(attempts=1))


def fresh_gateway(**changes):
    """A gateway for the current settings (the `steam_sandbox` fixture points them at
    the sandbox) with fast retries, after forgetting any cached session. `changes`
    name fields of GatewayConfig or of its SessionConfig."""
    from dataclasses import fields, replace

    from django.core.cache import cache

    from astro.steam.gateway import GatewayConfig, RetryPolicy, SteampyGateway
    from astro.steam.session import SessionConfig

    retry = changes.pop("retry", RetryPolicy(attempts=3, base_delay=0.01, max_delay=2))
    session_fields = {f.name for f in fields(SessionConfig)}
    base = GatewayConfig.from_settings()
    session = replace(base.session, **{k: v for k, v in changes.items() if k in session_fields})
    config = replace(base, session=session, **{k: v for k, v in changes.items() if k not in session_fields})
    cache.delete(config.session_key)
    return SteampyGateway(config, retry=retry)


def logins(sandbox, since: int = 0) -> int:
    """How many password logins the sandbox has seen since request `since`."""
    return len(sandbox.requests_log(since=since, path_prefix="/IAuthenticationService/BeginAuthSessionViaCredentials"))


def child_database_url() -> str:
    """The URL of pytest-django's test database, for child processes (they would use the
    development database's name otherwise)."""
    from urllib.parse import quote

    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = quote(s.get("HOST") or "127.0.0.1", safe="")
    return f"postgresql://{auth}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"


def stored_refresh_token(steam_id: int) -> str | None:
    """The bot's refresh token as the gateway stored it (decrypted), or None."""
    from astro.core import crypto
    from astro.steam.models import BotSession

    row = BotSession.objects.filter(steam_id=steam_id).first()
    return crypto.decrypt(row.refresh_token_encrypted) if row and row.refresh_token_encrypted else None
