"""Clients of the sandbox as Steam's 2026 clients talk: the mobile app's login in
protobuf (field numbers from Steam's steammessages_auth .proto, encoded here by
hand so the sandbox's own descriptors are checked, not reused), JWT claims, and the
cookies a mobile-app access token makes without finalizelogin."""

from __future__ import annotations

import base64
import json
import struct
from urllib.parse import urlsplit, urlunsplit

import requests
import rsa
from requests.adapters import HTTPAdapter
from steampy import guard

API = "https://api.steampowered.com"
AUTH = f"{API}/IAuthenticationService"
COMMUNITY = "https://steamcommunity.com"
MOBILE_HEADERS = {"User-Agent": "okhttp/4.9.2", "Cookie": "mobileClient=android; mobileClientVersion=777777 3.10.3"}


# ---------------------------------------------------------------- a session that adds nothing
STEAM_HOSTS = ("steamcommunity.com", "api.steampowered.com", "login.steampowered.com", "store.steampowered.com",
               "help.steampowered.com", "steam.tv", "checkout.steampowered.com")


class _Forward(HTTPAdapter):
    """`https://<steam host>/<path>` to the sandbox with `Host: <steam host>`, and
    nothing else: unlike the gateway's transport it adds no header of its own, so a
    test sees what the sandbox does to exactly what it sent."""

    def __init__(self, sandbox_url: str):
        super().__init__(max_retries=0)
        self._base = urlsplit(sandbox_url)

    def send(self, request, **kwargs):
        original = urlsplit(request.url)
        forwarded = request.copy()
        forwarded.url = urlunsplit((self._base.scheme, self._base.netloc, original.path or "/", original.query, ""))
        forwarded.headers["Host"] = original.netloc
        kwargs["proxies"] = {}
        response = super().send(forwarded, **{**kwargs, "timeout": kwargs.get("timeout") or 30})
        response.request, response.url = request, request.url  # cookies stay on the Steam host
        return response


def raw_session(sandbox, **headers) -> requests.Session:
    """A requests.Session to the sandbox's Steam hosts that sends what `requests` sends
    (python-requests, no Accept-Language) plus `headers`."""
    session = requests.Session()
    session.headers.update(headers)
    forward = _Forward(sandbox.url)
    for host in STEAM_HOSTS:
        session.mount(f"https://{host}/", forward)
    return session


# ---------------------------------------------------------------- protobuf wire format
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int32s go as ten-byte varints
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb(*fields: tuple) -> bytes:
    """(number, value) pairs: int -> varint, bytes/str -> length-delimited, float -> fixed32,
    ("fixed64", n) -> fixed64."""
    out = bytearray()
    for number, value in fields:
        if isinstance(value, tuple) and value[0] == "fixed64":
            out += _varint(number << 3 | 1) + value[1].to_bytes(8, "little")
        elif isinstance(value, int):  # bool too
            out += _varint(number << 3) + _varint(int(value))
        elif isinstance(value, float):
            out += _varint(number << 3 | 5) + struct.pack("<f", value)
        else:
            data = value.encode() if isinstance(value, str) else value
            out += _varint(number << 3 | 2) + _varint(len(data)) + data
    return bytes(out)


def unpb(data: bytes) -> dict[int, list]:
    """field number -> values (varints as int, fixed64 as int, length-delimited as bytes)."""
    fields: dict[int, list] = {}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
        elif wire == 1:
            value, i = int.from_bytes(data[i:i + 8], "little"), i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            size, i = _read_varint(data, i)
            value, i = data[i:i + size], i + size
        fields.setdefault(number, []).append(value)
    return fields


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, i


def encoded(message: bytes) -> dict:
    return {"input_protobuf_encoded": base64.b64encode(message).decode()}


# ---------------------------------------------------------------- tokens
def claims(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def steam_time(session) -> int:
    return int(session.post(f"{API}/ITwoFactorService/QueryTime/v1").json()["response"]["server_time"])


# ---------------------------------------------------------------- the mobile app's login
def mobile_login(sandbox, session, *, polls: int = 5) -> dict:
    """The mobile app's login, all in protobuf: {"refresh_token", "access_token", ...}."""
    bot = sandbox.bot
    key_answer = unpb(session.get(f"{AUTH}/GetPasswordRSAPublicKey/v1", headers=MOBILE_HEADERS,
                                  params={**encoded(pb((1, bot.username))), "origin": "SteamMobile"}).content)
    public = rsa.PublicKey(int(key_answer[1][0], 16), int(key_answer[2][0], 16))
    password = base64.b64encode(rsa.encrypt(bot.password.encode(), public)).decode()
    device = pb((1, "Galaxy S25"), (2, 3), (3, -500), (4, 528))
    begin = session.post(f"{AUTH}/BeginAuthSessionViaCredentials/v1", headers=MOBILE_HEADERS, files={
        k: (None, v) for k, v in encoded(pb(
            (2, bot.username), (3, password), (4, key_answer[3][0]), (5, True), (7, 1), (8, "Mobile"),
            (9, device), (11, 0), (12, 2),
        )).items()
    })
    assert begin.headers["X-eresult"] == "1", begin.headers
    started = unpb(begin.content)
    client_id, request_id, steamid = started[1][0], started[2][0], started[5][0]
    code = guard.generate_one_time_code(bot.shared_secret, steam_time(session))
    update = session.post(f"{AUTH}/UpdateAuthSessionWithSteamGuardCode/v1", headers=MOBILE_HEADERS, files={
        k: (None, v) for k, v in encoded(pb((1, client_id), (2, ("fixed64", steamid)), (3, code), (4, 3))).items()
    })
    assert update.headers["X-eresult"] == "1", update.headers
    for _ in range(polls):
        poll = session.post(f"{AUTH}/PollAuthSessionStatus/v1", headers=MOBILE_HEADERS, files={
            k: (None, v) for k, v in encoded(pb((1, client_id), (2, request_id))).items()
        })
        answer = unpb(poll.content)
        if 3 in answer:
            return {
                "refresh_token": answer[3][0].decode(),
                "access_token": answer[4][0].decode() if 4 in answer else None,
                "account_name": answer[6][0].decode(),
                "steamid": steamid,
            }
    raise AssertionError("the mobile login never became ready")


def renew(session, refresh_token: str, steamid: int, renewal_type: int = 0, *, protobuf: bool = False):
    """GenerateAccessTokenForApp; (X-eresult, answer dict)."""
    url = f"{AUTH}/GenerateAccessTokenForApp/v1"
    if protobuf:
        resp = session.post(url, files={k: (None, v) for k, v in encoded(
            pb((1, refresh_token), (2, ("fixed64", steamid)), (3, renewal_type))).items()})
        fields = unpb(resp.content)
        answer = {name: fields[n][0].decode() for n, name in ((1, "access_token"), (2, "refresh_token")) if n in fields}
        return int(resp.headers["X-eresult"]), answer
    resp = session.post(url, data={"refresh_token": refresh_token, "steamid": steamid, "renewal_type": renewal_type})
    return int(resp.headers["X-eresult"]), resp.json()["response"]


def web_cookies(session, steamid, access_token: str, *, separator: str = "%7C%7C") -> str:
    """What a mobile-app client sets for steamcommunity.com itself: steamLoginSecure
    from steamid and access token, and any 24-hex sessionid. Returns the sessionid."""
    sessionid = "0123456789abcdef01234567"
    session.cookies.set("steamLoginSecure", f"{steamid}{separator}{access_token}", domain="steamcommunity.com")
    session.cookies.set("sessionid", sessionid, domain="steamcommunity.com")
    return sessionid
