"""Strict environment parsing.

A setting that is present but malformed is an error naming the variable, never a
silent default: `DEBUG=ture` must not quietly run production in debug mode.
Secrets may come from `NAME_FILE` (a mounted secret file) instead of `NAME`.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_UNSET = object()


def _raw(name: str) -> str | None:
    """The value of NAME, or of the file NAME_FILE points to; None when neither is set."""
    file_var = f"{name}_FILE"
    path = os.environ.get(file_var)
    if path:
        if name in os.environ:
            raise ImproperlyConfigured(f"{name} and {file_var} are both set; set only one.")
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{file_var}={path!r} cannot be read: {exc.strerror}") from exc
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def env_str(name: str, default=_UNSET) -> str | None:
    value = _raw(name)
    if value is None:
        if default is _UNSET:
            raise ImproperlyConfigured(f"{name} is required but not set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean; use one of {sorted(_TRUE | _FALSE)}."
    )


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is above the maximum {maximum}.")
    return number


def env_decimal(name: str, default: str) -> Decimal:
    value = _raw(name) or default
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={value!r} is not a decimal number.") from None
    if not number.is_finite():
        raise ImproperlyConfigured(f"{name}={value!r} is not a finite number.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [part.strip() for part in value.split(",") if part.strip()]


def env_int_mapping(name: str) -> dict[str, int]:
    """`giveaway:5,shop:2` -> {"giveaway": 5, "shop": 2}."""
    mapping: dict[str, int] = {}
    for part in env_list(name, []):
        key, sep, count = part.partition(":")
        if not sep or not key.strip() or not count.strip().isdigit():
            raise ImproperlyConfigured(f"{name}: {part!r} is not a name:count pair like giveaway:5.")
        mapping[key.strip()] = int(count)
    return mapping


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = (_raw(name) or default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {sorted(choices)}.")
    return value


def parse_inventories(name: str, default: str) -> list[tuple[int, int]]:
    """`730/2,730/16,440/2` -> [(730, 2), (730, 16), (440, 2)]."""
    raw = _raw(name) or default
    pairs: list[tuple[int, int]] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        app, sep, context = part.partition("/")
        if not sep or not app.isdigit() or not context.isdigit():
            raise ImproperlyConfigured(
                f"{name}: {part!r} is not an appid/contextid pair like 730/2."
            )
        pairs.append((int(app), int(context)))
    if not pairs:
        raise ImproperlyConfigured(f"{name} lists no inventories.")
    return pairs
