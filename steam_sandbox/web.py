"""Minimal WSGI request/response plumbing (the sandbox must run without Django)."""

from __future__ import annotations

import json
import re
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, unquote

from .errors import bad_request

MAX_BODY = 512 * 1024 * 1024  # inventories of a few hundred thousand items are big


class DropConnection(Exception):
    """Close the client's connection without answering (the `send_timeout` fault)."""


class Request:
    def __init__(self, environ: dict):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or ""
        self.host = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host.split("]")[0] + "]"
        path = environ.get("PATH_INFO") or "/"
        self.raw_path = path
        # "//trade/new/acknowledge" (one client writes it so) is the same page
        self.path = re.sub(r"/{2,}", "/", path).rstrip("/") or "/"
        self.query_string = environ.get("QUERY_STRING", "")
        self.query = parse_qs(self.query_string, keep_blank_values=True)
        length = environ.get("CONTENT_LENGTH") or "0"
        try:
            length = int(length)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            raise ValueError("request body too large")
        self.body = environ["wsgi.input"].read(length) if length > 0 else b""
        self.content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        self.form: dict[str, list[str]] = {}
        if self.body and self.content_type == "application/x-www-form-urlencoded":
            self.form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        elif self.body and self.content_type == "multipart/form-data":
            self.form = parse_multipart(environ.get("CONTENT_TYPE", ""), self.body)
        self.cookies = parse_cookies(environ.get("HTTP_COOKIE", ""))

    def header(self, name: str) -> str | None:
        """A request header (None when absent)."""
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return self.environ.get(key)
        return self.environ.get(f"HTTP_{key}")

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query or form parameter (first value)."""
        for source in (self.form, self.query):
            if name in source:
                return source[name][0]
        return default

    def args(self, name: str) -> list[str]:
        return self.form.get(name, []) + self.query.get(name, [])

    def params(self) -> dict[str, str]:
        merged = {k: v[0] for k, v in self.query.items()}
        merged.update({k: v[0] for k, v in self.form.items()})
        return merged

    def json(self):
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise bad_request("the body is not valid JSON") from None


def parse_multipart(content_type: str, body: bytes) -> dict[str, list[str]]:
    """multipart/form-data fields (what node clients send), files as text too."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    form: dict[str, list[str]] = {}
    if not message.is_multipart():
        return form
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        form.setdefault(name, []).append(payload.decode("utf-8", "replace"))
    return form


def parse_cookies(header: str) -> dict[str, str]:
    cookies = {}
    for part in header.split(";"):
        if "=" in part:
            name, _, value = part.strip().partition("=")
            cookies.setdefault(name.strip(), value.strip().strip('"'))
    return cookies


class Response:
    def __init__(self, body: bytes | str = b"", status: int = 200, content_type: str = "application/json; charset=utf-8"):
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.status = status
        self.headers: list[tuple[str, str]] = [("Content-Type", content_type)]
        self.after: tuple | None = None  # ("drop",) or ("hang", seconds): the send_timeout fault

    def header(self, name: str, value: str) -> "Response":
        self.headers.append((name, value))
        return self

    def cookie(self, name: str, value: str, *, secure: bool, http_only: bool = False, expires: str | None = None) -> "Response":
        # No Domain attribute: Steam's cookies are host-only, stored under the request host.
        parts = [f"{name}={value}", "Path=/"]
        if expires:
            parts.append(f"Expires={expires}")
        if secure:
            parts.append("Secure")
        if http_only:
            parts.append("HttpOnly")
        parts.append("SameSite=None")
        self.headers.append(("Set-Cookie", "; ".join(parts)))
        return self


def json_body(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_response(value, status: int = 200) -> Response:
    return Response(value if isinstance(value, str) else json_body(value), status)


def html_response(text: str, status: int = 200) -> Response:
    return Response(text, status, "text/html; charset=UTF-8")


def unquote_cookie(value: str) -> str:
    return unquote(value or "")


STATUS_TEXT = {
    200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


def status_line(code: int) -> str:
    return f"{code} {STATUS_TEXT.get(code, 'Status')}"
