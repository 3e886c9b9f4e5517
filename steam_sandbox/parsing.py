"""Reading the control API's JSON values: a wrong one is a 400 that names the field."""

from __future__ import annotations

from datetime import datetime, timezone

from .errors import bad_request


def parse_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an integer", field=name)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer", field=name) from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise bad_request(f"{name} must be between {minimum} and {maximum}", field=name)
    return number


def parse_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise bad_request(f"{name} must be true or false", field=name)


def parse_time(value, name: str) -> int:
    """An ISO 8601 time (UTC when it names no zone) or a unix time, as a unix time."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise bad_request(f"{name} must be an ISO 8601 time or a unix time", field=name) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp())
    raise bad_request(f"{name} must be an ISO 8601 time or a unix time", field=name)


def require_object(value) -> dict:
    if not isinstance(value, dict):
        raise bad_request("the body must be a JSON object")
    return value


def iso(ts: int | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None
