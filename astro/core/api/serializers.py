"""Serializer building blocks shared by the API views."""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from astro.core.steamids import STEAM_ID64_PATTERN, is_individual_steam_id



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


@extend_schema_field({"type": "string", "pattern": STEAM_ID64_PATTERN, "example": "76561198123456789"})
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
            data = int(data)
        if not is_individual_steam_id(data):
            self.fail("range")
        return data

    def to_representation(self, value):
        return str(value)


def parse_steam_id(raw: str) -> int | None:
    try:
        return SteamIdField().to_internal_value(raw)
    except serializers.ValidationError:
        return None


@extend_schema_field(OpenApiTypes.OBJECT)
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
    """A JSON string only: DRF's CharField would turn 5 or true into "5" / "True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID as a JSON string only (DRF would also take an integer)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


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
