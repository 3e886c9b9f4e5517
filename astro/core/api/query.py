"""The query parameters of a list, stated once: from its FilterSet, one description both
documents each parameter in the OpenAPI schema and checks it before django-filter sees it.

django-filter is lenient where the schema is not: it reads `appId=1.5` as 1, a UUID
without hyphens as a UUID, `createdAfter=...+23:59` as a time PostgreSQL cannot store,
and an empty number as "no filter". A generated client and a validator trust the
schema, so the server refuses exactly what the schema refuses, naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import django_filters
from django.db import models

from astro.core.errors import InvalidInput

# RFC 3339 date-time, with the two limits of what Astro can store: years 0001-9999
# (Python) and offsets up to ±15:59 (PostgreSQL's timestamptz).
_YEAR = r"(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
DATE_TIME_PATTERN = (
    rf"^{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]{1,6})?(?:[Zz]|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])$"
)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_INTEGER = re.compile(r"-?[0-9]{1,20}")
# A JSON number, as a client serializes one into a query string (1.5, 1e-07, 2E+3).
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# No NUL: PostgreSQL text and jsonb cannot hold it. (Nor a lone surrogate, which only a
# \ud800-style JSON escape can carry; a pattern cannot say so portably, so descriptions do.)
TEXT_PATTERN = r"^[^\u0000]*$"

_INTEGER_RANGES = {
    models.SmallIntegerField: (-(2**15), 2**15 - 1),
    models.IntegerField: (-(2**31), 2**31 - 1),
    models.BigIntegerField: (-(2**63), 2**63 - 1),
}


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict
    description: str
    many: bool
    # The raw value -> a message saying what is wrong with it, or None.
    check: Callable[[str], str | None]


def _choices(values: list[str]) -> Callable[[str], str | None]:
    allowed = set(values)
    return lambda raw: None if raw in allowed else f"Must be one of {', '.join(values)}."


def _integer(lo: int, hi: int) -> Callable[[str], str | None]:
    def check(raw: str) -> str | None:
        if not _INTEGER.fullmatch(raw) or not lo <= int(raw) <= hi:
            return f"Must be an integer from {lo} to {hi}."
        return None
    return check


def _decimal(lo, hi) -> Callable[[str], str | None]:
    def check(raw: str) -> str | None:
        try:
            value = Decimal(raw) if len(raw) <= 64 and _DECIMAL.fullmatch(raw) else None
        except InvalidOperation:
            value = None
        if value is None or (lo is not None and value < lo) or (hi is not None and value > hi):
            return f"Must be a decimal number from {lo} to {hi}." if lo is not None else "Must be a decimal number."
        return None
    return check


def _pattern(pattern: str, message: str) -> Callable[[str], str | None]:
    compiled = re.compile(pattern)
    return lambda raw: None if compiled.fullmatch(raw) else message


def _text(max_length: int | None) -> Callable[[str], str | None]:
    def check(raw: str) -> str | None:
        if "\x00" in raw:
            return "Must not contain NUL (\\u0000)."
        if max_length is not None and len(raw) > max_length:
            return f"At most {max_length} characters."
        return None
    return check


def _model_field(filterset_class, flt):
    try:
        field = filterset_class._meta.model._meta.get_field(flt.field_name)
    except Exception:  # a method filter, or a name the model does not have
        return None
    return field.target_field if field.is_relation else field  # user_id: the type of users.steam_id


def _param(filterset_class, name: str, flt) -> QueryParam:
    extra = flt.extra
    text = extra.get("help_text") or ""
    if isinstance(flt, django_filters.MultipleChoiceFilter):
        values = [str(c[0]) for c in extra["choices"]]
        schema = {"type": "array", "items": {"type": "string", "enum": values}}
        return QueryParam(name, schema, text, True, _choices(values))
    if isinstance(flt, (django_filters.ChoiceFilter, django_filters.TypedChoiceFilter)):
        values = [str(c[0]) for c in extra["choices"]]
        return QueryParam(name, {"type": "string", "enum": values}, text, False, _choices(values))
    if isinstance(flt, django_filters.BooleanFilter):
        return QueryParam(name, {"type": "boolean"}, text, False, _choices(["true", "false"]))
    if isinstance(flt, django_filters.UUIDFilter):
        schema = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
        return QueryParam(name, schema, text, False, _pattern(UUID_PATTERN, "Must be a UUID (8-4-4-4-12 hex digits)."))
    if isinstance(flt, django_filters.IsoDateTimeFilter):
        schema = {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}
        message = ("Must be an RFC 3339 date-time such as 2026-05-22T11:38:36Z, years 0001-9999, "
                   "UTC offset at most ±15:59.")
        return QueryParam(name, schema, (text + " " if text else "") + message, False,
                          _pattern(DATE_TIME_PATTERN, message))
    if isinstance(flt, django_filters.NumberFilter):
        field = _model_field(filterset_class, flt)
        lo, hi = extra.get("min_value"), extra.get("max_value")
        integer_range = next((r for cls, r in _INTEGER_RANGES.items() if isinstance(field, cls)), None)
        if integer_range is not None:
            lo = integer_range[0] if lo is None else lo
            hi = integer_range[1] if hi is None else hi
            return QueryParam(name, {"type": "integer", "minimum": lo, "maximum": hi}, text, False, _integer(lo, hi))
        schema = {"type": "number"}
        if lo is not None:
            schema["minimum"] = lo
        if hi is not None:
            schema["maximum"] = hi
        return QueryParam(name, schema, text, False, _decimal(lo, hi))
    max_length = extra.get("max_length")
    schema = {"type": "string", "pattern": TEXT_PATTERN}
    if max_length is not None:
        schema["maxLength"] = max_length
    return QueryParam(name, schema, text, False, _text(max_length))


def query_contract(filterset_class) -> list[QueryParam]:
    """Every filter of `filterset_class` as the API states and checks it."""
    return [_param(filterset_class, name, flt) for name, flt in filterset_class.base_filters.items()]


def check_query(query_params, filterset_class) -> None:
    """Raise InvalidInput naming every parameter whose value the schema refuses."""
    fields = {}
    for param in query_contract(filterset_class):
        values = query_params.getlist(param.name)
        if len(values) > 1 and not param.many:
            fields[param.name] = [{"code": "invalid", "message": "Give it at most once."}]
            continue
        problems = [problem for raw in values if (problem := param.check(raw))]
        if problems:
            fields[param.name] = [{"code": "invalid", "message": problems[0]}]
    if fields:
        name, errors = next(iter(fields.items()))
        raise InvalidInput(f"{name}: {errors[0]['message']}", details={"fields": fields})
