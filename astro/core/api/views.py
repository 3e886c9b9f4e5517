"""Small helpers the API views share."""

from __future__ import annotations

import re
import uuid

from astro.core.api.pagination import CURSOR_PARAM, PAGE_SIZE_PARAM, KeysetPagination
from astro.core.api.query import UUID_PATTERN, check_query
from astro.core.api.serializers import parse_steam_id
from astro.core.errors import Forbidden, InvalidInput

_UUID = re.compile(UUID_PATTERN)


class ExternalSystemMismatch(Forbidden):
    code = "external_system_mismatch"
    message = "An API key may only act as its own external system."


def path_uuid(value: str, *, name: str = "id") -> uuid.UUID:
    """A UUID in the canonical form the schema's `uuid` states (uuid.UUID alone would also
    take braces, a urn: prefix or no hyphens)."""
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise InvalidInput(
            f"{name}: not a UUID.", details={"fields": {name: [{"code": "invalid", "message": "Must be a UUID."}]}}
        )
    return uuid.UUID(value)


def path_steam_id(value: str, *, name: str = "steamId") -> int:
    steam_id = parse_steam_id(value)
    if steam_id is None:
        raise InvalidInput(
            f"{name}: not a steamid64 of an individual account.",
            details={"fields": {name: [{"code": "invalid", "message": "Must be a 17-digit steamid64."}]}},
        )
    return steam_id


def paginate(view, queryset, serializer_class, *, time_field: str = "created_at"):
    """One page of `queryset`, newest first on (time_field, id), rendered by `serializer_class`."""
    paginator = KeysetPagination(time_field=time_field)
    page = paginator.paginate_queryset(queryset, view.request)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def query_filters(request, filterset_class) -> dict:
    """The request's filters, checked against the schema's statement of them
    (astro.core.api.query), minus the pagination parameters."""
    check_query(request.query_params, filterset_class)
    params = request.query_params.copy()
    for name in (CURSOR_PARAM, PAGE_SIZE_PARAM):
        params.pop(name, None)
    return params
