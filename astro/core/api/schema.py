"""OpenAPI helpers: the documented error responses of each operation."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from astro.core.api.errors import ErrorSerializer
from astro.core.api.pagination import CURSOR_PATTERN, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from astro.core.api.query import TEXT_PATTERN, query_contract

_ERRORS = {
    400: "Invalid request: malformed JSON, wrong types, unknown or read-only fields, bad ids (`invalid_request`, "
    "`malformed_json`, `invalid_cursor`, `invalid_idempotency_key`, `invalid_trade_url`).",
    401: "Missing, unknown or revoked API key (`not_authenticated`, `invalid_api_key`).",
    403: "The key lacks the scope, its system is deactivated, or the body names another system "
    "(`insufficient_scope`, `system_inactive`, `external_system_mismatch`).",
    404: "No such resource visible to this system (`not_found`).",
    405: "Method not allowed (`method_not_allowed`).",
    406: "The Accept header excludes application/json (`not_acceptable`).",
    409: "Conflict with the current state (see the operation for codes).",
    413: "Body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (`payload_too_large`).",
    414: "The request line (path and query) is longer than the web server accepts (gunicorn's "
    "limit_request_line, 8190 bytes in Astro's own setups; a proxy in front may allow less). Answered by the web "
    "server before Astro sees the request, so the body is the server's own, not the API's error shape.",
    415: "Body not sent as application/json (`unsupported_media_type`).",
    422: "Idempotency-Key reused with a different request (`idempotency_key_reused`).",
    429: "Rate limit of the key exceeded (`rate_limited`); see Retry-After.",
    503: "Dependency down or a transient database conflict (`service_unavailable`, `database_conflict`); retry.",
}

READ_ERRORS = (400, 401, 403, 414, 429, 503)
WRITE_ERRORS = (400, 401, 403, 413, 414, 415, 429, 503)
# Answered before Astro: no body of the API's shape to state.
WEB_SERVER_STATUSES = (414,)


def errors(*codes: int, schemas: dict[int, type] | None = None, **descriptions: str) -> dict[int, OpenApiResponse]:
    """{status: OpenApiResponse(ErrorSerializer)} for extend_schema(responses=...).
    `descriptions` overrides per status, keyed like `d409="..."`; `schemas` gives a status
    an error serializer with its own `details` (astro.core.api.errors.error_serializer)."""
    out = {}
    for code in codes:
        text = descriptions.get(f"d{code}", _ERRORS[code])
        if code in WEB_SERVER_STATUSES:
            out[code] = OpenApiResponse(description=text)
        else:
            out[code] = OpenApiResponse((schemas or {}).get(code, ErrorSerializer), description=text)
    return out


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    type={"type": "string", "pattern": "^[!-~]{1,255}$"},
    description="1-255 visible ASCII characters, unique per logical request (a UUID is ideal). "
    "A retry with the same key and body replays the first response; kept IDEMPOTENCY_KEY_TTL_HOURS.",
)


def filter_parameters(filterset_class) -> list[OpenApiParameter]:
    """The query parameters of a list, as astro.core.api.query checks them."""
    return [
        OpenApiParameter(param.name, location=OpenApiParameter.QUERY, required=False, type=param.schema,
                         description=param.description, **({"explode": True} if param.many else {}))
        for param in query_contract(filterset_class)
    ]


CURSOR_PARAMETERS = [
    OpenApiParameter(
        "cursor", {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": 1024}, OpenApiParameter.QUERY,
        required=False,
        description="Opaque cursor from a previous page's `next` or `previous` link; anything else (an edited "
        "cursor, one of another list, one issued before Astro's keyset pagination) is 400 `invalid_cursor`.",
    ),
    OpenApiParameter(
        "pageSize", {"type": "integer", "minimum": 1, "maximum": PAGE_SIZE_MAX}, OpenApiParameter.QUERY,
        required=False, description=f"Results per page, 1-{PAGE_SIZE_MAX} (default {PAGE_SIZE_DEFAULT}).",
    ),
]


# OpenAPI links: where an answer's ids lead (a client generator's navigation, and the
# paths a stateful fuzzer follows). Only ids every such answer has: a list may be empty. {(operationId, status): {link name: (target operationId, {param: expression})}}
LINKS = {
    ("assignments_create", "201"): {
        "GetAssignment": ("assignments_retrieve", {"assignment_id": "$response.body#/id"}),
        "CancelAssignment": ("assignments_cancel", {"assignment_id": "$response.body#/id"}),
    },
    ("assignments_retrieve", "200"): {
        "CancelAssignment": ("assignments_cancel", {"assignment_id": "$response.body#/id"}),
    },
    ("users_update", "200"): {
        "GetUser": ("users_retrieve", {"steam_id": "$response.body#/steamId"}),
    },
}


# What JsonObjectField (externalContext) holds: any JSON whose strings and keys PostgreSQL's
# jsonb can store. Depth (16) and size (API_MAX_EXTERNAL_CONTEXT_BYTES) are in the field's text.
JSON_VALUE_SCHEMA = {
    "description": "Any JSON value whose strings and keys contain no NUL (\\u0000) and no lone surrogate "
                   "(a \\ud800-\\udfff escape not part of a pair): PostgreSQL's jsonb cannot store them.",
    "anyOf": [
        {"type": ["null", "boolean", "number"]},
        {"type": "string", "pattern": TEXT_PATTERN},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {"type": "object", "propertyNames": {"pattern": TEXT_PATTERN},
         "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}},
    ],
}


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS): LINKS into the responses,
    and the JsonValue component that JsonObjectField refers to."""
    result.setdefault("components", {}).setdefault("schemas", {})["JsonValue"] = JSON_VALUE_SCHEMA
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                links = LINKS.get((operation.get("operationId"), status))
                if links:
                    response["links"] = {
                        name: {"operationId": target, "parameters": parameters}
                        for name, (target, parameters) in links.items()
                    }
    return result
