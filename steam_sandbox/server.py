"""The sandbox's WSGI app and its threaded, loopback-only HTTP server."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from . import control, seed, steam
from .account import BotAccount
from .crypto import atomic_write_text
from .errors import ControlError
from .state import Persister, SandboxState
from .web import DropConnection, Request, Response, html_response, json_response, status_line

log = logging.getLogger("steam_sandbox")

# Parameters whose values never go into the request log.
_SECRET_PARAMS = {
    "access_token", "key", "k", "encrypted_password", "code", "nonce", "auth", "sessionid", "refresh_token", "ck",
}


class SandboxApp:
    def __init__(self, state: SandboxState, *, secure_cookies: bool = True):
        self.state = state
        # Steam marks its cookies Secure. requests' cookie jar judges them by the
        # original https URL the gateway's transport adapter keeps, so they still work
        # although the sandbox itself speaks plain http.
        self.secure_cookies = secure_cookies

    def __call__(self, environ, start_response):
        try:
            req = Request(environ)
        except ValueError as exc:
            resp = json_response({"error": "payload_too_large", "message": str(exc)}, 413)
        else:
            try:
                if req.path == "/sandbox" or req.path.startswith("/sandbox/"):
                    resp = self._control(req)
                else:
                    resp = self._steam(req)
            except DropConnection:
                raise
            except Exception as exc:  # an emulator bug must not look like a hang
                traceback.print_exc()
                resp = json_response({"error": "sandbox_internal_error", "message": repr(exc)}, 500)
        if resp.after is not None:
            if resp.after[0] == "drop":
                raise DropConnection()
            time.sleep(resp.after[1])
        start_response(status_line(resp.status), resp.headers + [("Content-Length", str(len(resp.body)))])
        return [resp.body]

    # ------------------------------------------------------------ control API
    def _control(self, req: Request) -> Response:
        state = self.state
        try:
            if req.path == "/sandbox/save" and req.method == "POST":
                state.save()
                return json_response({"saved": True, "stateDir": str(state.state_dir)})
            with state.lock:
                try:
                    state.tick()
                    return control.route(self, req)
                finally:
                    state.commit()  # durable before the answer (an error changed nothing but the tick)
        except ControlError as exc:
            return json_response({"error": exc.code, "message": exc.message, "details": exc.details}, exc.status)

    # ------------------------------------------------------------ Steam
    def _steam(self, req: Request) -> Response:
        state = self.state
        if req.host not in steam.STEAM_HOSTS:
            return html_response(
                "<h1>Steam sandbox</h1><p>Steam endpoints are routed on the Host header "
                f"(steamcommunity.com, api.steampowered.com, ...); this request came for {req.host!r}. "
                "The control API is under /sandbox/.</p>",
                404,
            )
        if req.host == steam.API and req.path.startswith("/IAuthenticationService/"):
            try:
                state.login_key.wait()  # outside the lock: key generation takes seconds
            except (TimeoutError, RuntimeError) as exc:
                return json_response({"error": str(exc)}, 503)
        started = time.perf_counter()
        with state.lock:
            latency = state.take_fault("latency", req.host, req.path, req.method)
        if latency:
            time.sleep(latency["ms"] / 1000)
        with state.lock:
            fault = None
            try:
                state.tick()
                if filtered := steam.request_filter(req, state.config):
                    fault, resp = {"kind": "request_filter"}, filtered
                elif rate := state.take_fault("rate_limit", req.host, req.path, req.method):
                    fault, resp = rate, steam.null(429)
                    if rate.get("retryAfterSeconds"):
                        resp.header("Retry-After", str(rate["retryAfterSeconds"]))
                elif err := state.take_fault("server_error", req.host, req.path, req.method):
                    fault, resp = err, _server_error(req, err)
                else:
                    resp = steam.route(self, req)
            finally:
                # Steam never forgets: what the request changed is on disk before
                # the answer (or the dropped connection) goes out.
                state.commit()
            self._log(req, resp, fault or latency, started)
        return resp

    def _log(self, req: Request, resp: Response, fault: dict | None, started: float) -> None:
        state = self.state
        state.request_seq += 1
        params = {k: ("<redacted>" if k in _SECRET_PARAMS else v) for k, v in req.params().items()}
        state.request_log.append({
            "seq": state.request_seq,
            "time": round(time.time(), 3),
            "method": req.method,
            "host": req.host,
            "path": req.raw_path,
            "params": params,
            "status": resp.status,
            "fault": fault["kind"] if fault else None,
            "dropped": bool(resp.after and resp.after[0] == "drop"),
            "ms": round((time.perf_counter() - started) * 1000, 2),  # the sandbox's own handling time
            "bytes": len(resp.body),
        })


def data_root() -> Path:
    """Where a checkout keeps its local state (`.astro/`, or ASTRO_DATA_DIR): the
    same folder the embedded services use, found without importing Astro."""
    return Path(os.environ.get("ASTRO_DATA_DIR") or Path(__file__).resolve().parent.parent / ".astro")


def _server_error(req: Request, fault: dict) -> Response:
    if req.path.startswith("/inventory/"):
        message = fault.get("message") or f"EYldRefreshAppIfNecessary failed with EResult {fault['eresult']}"
        return json_response({"error": message}, fault["status"])
    code = status_line(fault["status"])
    return html_response(f"<html><head><title>{code}</title></head><body><h1>{code}</h1></body></html>", fault["status"])


# ====================================================================== server
class _Handler(ServerHandler):
    def handle_error(self):
        if isinstance(sys.exc_info()[1], DropConnection):
            # Nothing has been written: close the socket so the client sees the
            # connection end without an answer.
            try:
                self.request_handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        log.debug("%s - %s", self.address_string(), format % args)

    def handle(self):
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _Handler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True)
        handler.request_handler = self
        handler.run(self.server.get_app())


class SandboxServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, state: SandboxState, *, secure_cookies: bool = True):
        super().__init__(address, _RequestHandler)
        self.state = state
        self.set_app(SandboxApp(state, secure_cookies=secure_cookies))
        self.persister = Persister(state)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> threading.Thread:
        """Serve in a background thread (for tests that run the sandbox in-process)."""
        self.persister.start()
        thread = threading.Thread(target=self.serve_forever, name="steam-sandbox", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.persister.stop()
        self.state.close()


def check_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(socket.gethostbyname(host))
    except (OSError, ValueError):
        raise ValueError(f"cannot resolve {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"the Steam sandbox only listens on loopback addresses, not {host!r}")


def make_server(
    state_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    bot: BotAccount | None = None,
    secure_cookies: bool = True,
    allow_non_loopback: bool = False,
    config: dict | None = None,
) -> SandboxServer:
    """`config`: switches this process starts with (and a reset returns to)."""
    if not allow_non_loopback:
        check_loopback(host)
    # One login RSA key per checkout, reused by every sandbox state made here (a
    # 2048-bit key takes pure Python seconds to generate).
    key_cache = data_root() / "sandbox-login-key.json"
    state = SandboxState(Path(state_dir), bot or BotAccount(), key_cache=key_cache, config=config)
    return SandboxServer((host, port), state, secure_cookies=secure_cookies)


def serve(
    *,
    state_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 8765,
    bot: BotAccount | None = None,
    load_seed: bool = False,
    reset: bool = False,
    ready_file: str | None = None,
    out=None,
    allow_non_loopback: bool = False,
    config: dict | None = None,
) -> None:
    """Run until SIGINT/SIGTERM, then save the state and return."""
    out = out or sys.stdout

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    server = make_server(state_dir, host=host, port=port, bot=bot, allow_non_loopback=allow_non_loopback, config=config)
    state = server.state
    if reset:
        state.reset()
    if load_seed:
        with state.lock:
            empty = not any(len(inv) for inv in state.inventories.by_key.values())
        if empty or reset:
            seed.load(state)
    state.commit()
    server.persister.start()

    def stop(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    url = server.url
    say(f"Steam sandbox listening on {url}  (state: {state.state_dir})")
    say("  Steam hosts (routed on the Host header): " + ", ".join(sorted(steam.STEAM_HOSTS)))
    say(f"  Control API: {url}/sandbox/state  (docs/sandbox.md)")
    say(f"  Bot: {state.bot.username} / steamid {state.bot.steam_id}")
    if config:
        say("  Started with: " + ", ".join(f"{k}={v}" for k, v in sorted(config.items())))
    if ready_file:
        atomic_write_text(Path(ready_file), url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.persister.stop()
        state.close()
        say("Steam sandbox stopped; state saved.")
