"""Keyset pagination for every API list: newest first on (created_at, id).

One `created_at` can hold thousands of rows (a first import writes them in one
transaction), so the order needs a unique tie-breaker, and a page must start after
the last row seen rather than at an offset: `(created_at, id) < (t, i)`, a row-value
comparison PostgreSQL answers from the index on created_at. Rows inserted or removed
meanwhile never make a page repeat or skip another one's rows.

A cursor is the position of the last row sent (or of the first, for `previous`),
signed with the SECRET_KEY and bound to its list's path: a client cannot forge or
edit one, and anything that is not a cursor this server issued for this list is
`400 invalid_cursor` before the database sees it.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.core import signing
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from astro.core.errors import InvalidInput

CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "pageSize"
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
_SALT = "astro.api.cursor.v2"
_DIGITS = re.compile(r"[0-9]{1,4}")
# What a cursor looks like on the wire (django.core.signing's URL-safe base64 and its
# signature), stated in the schema.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$"


class InvalidCursor(exceptions.APIException):
    status_code = 400
    default_code = "invalid_cursor"
    default_detail = "The cursor is invalid; use the `next`/`previous` URL exactly as returned."


def _one(request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"{name}: given more than once.",
                           details={"fields": {name: [{"code": "invalid", "message": "Give it at most once."}]}})
    return values[0] if values else None


def page_size_of(request) -> int:
    """`pageSize`: absent means the default; otherwise ASCII digits, 1..PAGE_SIZE_MAX, or a 400 naming it."""
    raw = _one(request, PAGE_SIZE_PARAM)
    if raw is None:
        return PAGE_SIZE_DEFAULT
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= PAGE_SIZE_MAX:
        message = f"Must be an integer from 1 to {PAGE_SIZE_MAX}."
        raise InvalidInput(f"{PAGE_SIZE_PARAM}: {message}",
                           details={"fields": {PAGE_SIZE_PARAM: [{"code": "invalid", "message": message}]}})
    return int(raw)


class KeysetPagination:
    """Pages of `page_size` rows of a queryset, newest first, with opaque `next`/`previous` links."""

    time_field = "created_at"

    def __init__(self, *, time_field: str | None = None):
        self.time_field = time_field or self.time_field

    # ------------------------------------------------------------ cursors
    def _encode(self, request, row, direction: str) -> str:
        position = {"d": direction, "t": getattr(row, self.time_field).isoformat(), "i": str(row.pk),
                    "p": request.path}
        return signing.Signer(salt=_SALT).sign_object(position)

    def _decode(self, request, raw: str, pk_field):
        try:
            position = signing.Signer(salt=_SALT).unsign_object(raw)
            if position["p"] != request.path or position["d"] not in ("n", "p"):
                raise ValueError("a cursor of another list")
            return position["d"], datetime.fromisoformat(position["t"]), pk_field.to_python(position["i"])
        except (signing.BadSignature, ValueError, TypeError, KeyError, AttributeError, UnicodeError):
            # BadSignature includes anything not signed by us: DRF's cursors of before, edited ones.
            raise InvalidCursor() from None

    # ------------------------------------------------------------- pages
    def paginate_queryset(self, queryset: QuerySet, request) -> list:
        self.request = request
        self.page_size = page_size_of(request)
        raw = _one(request, CURSOR_PARAM)
        key = Tuple(F(self.time_field), F("pk"))
        limit = self.page_size + 1  # one more than a page: tells whether another page follows
        if raw is None:
            rows = list(queryset.order_by(f"-{self.time_field}", "-pk")[:limit])
            self.has_next, self.has_previous = len(rows) > self.page_size, False
            self.rows = rows[: self.page_size]
            return self.rows
        direction, at, pk = self._decode(request, raw, queryset.model._meta.pk)
        if direction == "n":  # older than the last row the client saw
            rows = list(queryset.filter(TupleLessThan(key, (at, pk))).order_by(f"-{self.time_field}", "-pk")[:limit])
            self.has_next, self.has_previous = len(rows) > self.page_size, True
            self.rows = rows[: self.page_size]
        else:  # newer than the first row the client saw, nearest first, shown newest first
            rows = list(queryset.filter(TupleGreaterThan(key, (at, pk))).order_by(self.time_field, "pk")[:limit])
            self.has_next, self.has_previous = True, len(rows) > self.page_size
            self.rows = rows[: self.page_size][::-1]
        return self.rows

    def _link(self, row, direction: str) -> str:
        url = self.request.build_absolute_uri()
        return replace_query_param(url, CURSOR_PARAM, self._encode(self.request, row, direction))

    def get_paginated_response(self, data) -> Response:
        # An empty page has no row to stand on: no links from it (the first page is the way back).
        return Response({
            "next": self._link(self.rows[-1], "n") if self.has_next and self.rows else None,
            "previous": self._link(self.rows[0], "p") if self.has_previous and self.rows else None,
            "results": data,
        })
