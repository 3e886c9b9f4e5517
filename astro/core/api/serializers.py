"""Serializer building blocks shared by the API views."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from astro.core.api.query import TEXT_PATTERN, UUID_PATTERN
from astro.core.steamids import STEAM_ID64_EXACT_PATTERN, STEAM_ID64_MAX, STEAM_ID64_MIN, is_individual_steam_id

_UUID = re.compile(UUID_PATTERN)


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not declare: a typo or a read-only field (`status`,
    `deliveredAt`, `id`) is a 400, never silently ignored."""

    # Output field names a client may be tempted to send; named as read-only in the error.
    read_only_names: frozenset[str] = frozenset()

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            extra = sorted(set(data) - set(self.fields))
            if extra:
                errors = {}
                for name in extra:
                    if name in self.read_only_names:
                        errors[name] = [serializers.ErrorDetail("This field is read-only.", code="read_only")]
                    else:
                        errors[name] = [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictInputSchema(OpenApiSerializerExtension):
    """A strict serializer's schema says `additionalProperties: false`: what it refuses, the
    schema refuses, so a validator and a generated client agree with the server."""

    target_class = StrictInputSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


_STEAM_ID64 = re.compile(STEAM_ID64_EXACT_PATTERN)
STEAM_ID_STRING_SCHEMA = {"type": "string", "pattern": STEAM_ID64_EXACT_PATTERN, "example": "76561198123456789"}


@extend_schema_field(STEAM_ID_STRING_SCHEMA)
class SteamIdField(serializers.Field):
    """A steamid64 of an individual account, as a JSON string or integer.

    Output is always a string: a steamid64 is above 2**53, so JavaScript (and any
    client that parses JSON numbers as doubles) would silently change it.
    """

    default_error_messages = {
        "invalid": "Must be a steamid64 (17 digits) as a string or an integer.",
        "range": "Not an individual Steam account id.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str):
            if not (data.isascii() and data.isdigit() and len(data) <= 20):
                self.fail("invalid")
            if not _STEAM_ID64.fullmatch(data):
                self.fail("range")  # also a leading zero: the schema's pattern refuses it
            data = int(data)
        if not is_individual_steam_id(data):
            self.fail("range")
        return data

    def to_representation(self, value):
        return str(value)


@extend_schema_field({"anyOf": [
    STEAM_ID_STRING_SCHEMA, {"type": "integer", "minimum": STEAM_ID64_MIN, "maximum": STEAM_ID64_MAX},
]})
class SteamIdInputField(SteamIdField):
    """SteamIdField as a request states it: a string or an integer (integers above 2**53
    survive only in clients that parse JSON integers exactly; a string always does)."""


def parse_steam_id(raw: str) -> int | None:
    try:
        return SteamIdField().to_internal_value(raw)
    except serializers.ValidationError:
        return None


# Any JSON value PostgreSQL's jsonb can store: astro.core.api.schema adds the component.
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}


@extend_schema_field({"type": "object", "propertyNames": {"pattern": TEXT_PATTERN},
                      "additionalProperties": JSON_VALUE_REF})
class JsonObjectField(serializers.JSONField):
    """A JSON object of at most `max_bytes` (serialized) and `max_depth` levels."""

    default_error_messages = {
        "not_object": "Must be a JSON object.",
        "too_large": "Must be at most {max_bytes} bytes as JSON.",
        "too_deep": "Must nest at most {max_depth} levels.",
        "bad_character": "Strings and keys must not contain NUL (\\u0000) or lone surrogates.",
    }

    def __init__(self, *, max_bytes_setting: str, max_depth: int = 16, **kwargs):
        self.max_bytes_setting = max_bytes_setting
        self.max_depth = max_depth
        super().__init__(**kwargs)

    @staticmethod
    def _walk(value, level=0) -> tuple[int, bool]:
        """(nesting depth, whether a key or string holds NUL or a lone surrogate: PostgreSQL refuses both)."""
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return level, True
            return level, "\x00" in value
        if isinstance(value, (dict, list)):
            children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            depth, nul = level + 1, False
            for child in children:
                d, n = JsonObjectField._walk(child, level + 1)
                depth, nul = max(depth, d), nul or n
            return depth, nul
        return level, False

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_object")
        depth, nul = self._walk(data)
        if depth > self.max_depth:
            self.fail("too_deep", max_depth=self.max_depth)
        if nul:
            self.fail("bad_character")
        max_bytes = getattr(settings, self.max_bytes_setting)
        if len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()) > max_bytes:
            self.fail("too_large", max_bytes=max_bytes)
        return data


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF's CharField would turn 5 or true into "5" / "True"), and one
    PostgreSQL can store: no NUL (DRF's own check, stated in the schema as a pattern) and
    no lone surrogate (which JSON's \\ud800 escape can carry)."""

    default_error_messages = {"bad_character": "Must not contain NUL (\\u0000) or lone surrogates."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(TEXT_PATTERN, message=self.default_error_messages["bad_character"],
                                              code="bad_character"))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("bad_character")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    """A JSON string matching the whole pattern. Django's RegexValidator searches, so its
    `$` also matches before a final newline; the schema's pattern does not, nor do we."""

    def __init__(self, regex, **kwargs):
        kwargs.setdefault("trim_whitespace", False)  # " giveaway" does not match the schema's pattern either
        super().__init__(regex, **kwargs)
        self._whole = re.compile(regex)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not self._whole.fullmatch(value):
            self.fail("invalid")
        return value


# A trade URL as Steam shows it (steamcommunity.com/my/tradeoffers/privacy), in ASCII
# only: `partner` in [0-9], not any Unicode digit (int("²") fails far from here).
# Whether `partner` is the user's own account is checked by the service (invalid_trade_url).
TRADE_URL_PATTERN = r"^https://steamcommunity\.com/tradeoffer/new/?\?partner=[1-9][0-9]{0,9}&token=[A-Za-z0-9_-]{1,32}$"


INVALID_TRADE_URL = "invalid_trade_url"


class TradeUrlField(StrictRegexField):
    """Refused as `invalid_trade_url` (details.reason `malformed`), the code the service
    gives a URL of another account: one code for "this trade URL will not do"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "https://steamcommunity.com/tradeoffer/new/?partner=<accountid>&token=<token>, "
                          "exactly as Steam shows it; partner must be this user's account id "
                          "(steamId - 76561197960265728).")
        super().__init__(TRADE_URL_PATTERN, max_length=512, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if not self._whole.fullmatch(data):
            raise serializers.ValidationError(
                "Must be a Steam trade URL: https://steamcommunity.com/tradeoffer/new/?partner=<account id>"
                "&token=<token>, in ASCII.", code=INVALID_TRADE_URL)
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID as a JSON string in its canonical 8-4-4-4-12 form only (DRF would also take an
    integer, hex without hyphens or a urn:uuid: string, which the schema's `uuid` refuses)."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _UUID.fullmatch(data):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class UniqueListField(serializers.ListField):
    """A list of distinct values, at least one (unless allow_empty) and at most the number a
    setting names, read when validating, so the limit can change without a code change."""

    default_error_messages = {
        "too_many": "At most {limit} items.",
        "duplicate": "An item is listed more than once.",
    }

    def __init__(self, *, max_items_setting: str, **kwargs):
        self.max_items_setting = max_items_setting
        super().__init__(**kwargs)

    @property
    def max_items(self) -> int:
        return getattr(settings, self.max_items_setting)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if len(values) > self.max_items:
            self.fail("too_many", limit=self.max_items)
        if len(set(values)) != len(values):
            self.fail("duplicate")
        return values


class UniqueListSchema(OpenApiSerializerFieldExtension):
    """The schema states what UniqueListField refuses: minItems, maxItems (today's setting), uniqueItems."""

    target_class = UniqueListField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema.update(maxItems=self.target.max_items, uniqueItems=True)
        if not self.target.allow_empty:
            schema["minItems"] = 1
        return schema


def paginated(serializer_class):
    """The schema of a cursor page of `serializer_class`."""
    return type(
        f"Paginated{serializer_class.__name__.removesuffix('Output')}List",
        (serializers.Serializer,),
        {
            "next": serializers.URLField(allow_null=True, help_text="URL of the next page, or null."),
            "previous": serializers.URLField(allow_null=True, help_text="URL of the previous page, or null."),
            "results": serializer_class(many=True),
        },
    )
