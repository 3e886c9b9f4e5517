"""GET /api/health: is Astro able to do its job? No auth, no secrets, no Steam calls."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from astro.core.api.errors import api_exception_handler
from astro.steam import session_state
from sync.selectors import sync_last_success, sync_max_age


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _redis() -> dict:
    try:
        cache.get("health-probe")
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _steam_session() -> dict:
    """The shared session as the workers cached it; logging in is the workers' job, not a probe's."""
    try:
        state = session_state()
    except Exception as exc:
        return {"ok": False, "state": "unknown", "error": type(exc).__name__}
    if state is None:
        # No session yet is normal: the next Steam call logs in.
        return {"ok": True, "state": "none", "mode": settings.STEAM_MODE}
    return {
        "ok": True, "state": "cached", "mode": settings.STEAM_MODE,
        "loginPath": state.get("login_path"), "loggedInAt": state.get("logged_in_at"),
    }


def _last_sync() -> dict:
    try:
        last = sync_last_success()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    if last is None:
        return {"ok": False, "completedAt": None, "ageSeconds": None, "error": "no successful sync yet"}
    completed: datetime = last.sync_completed_at or last.sync_started_at
    age = timezone.now() - completed
    return {
        "ok": age <= sync_max_age(), "completedAt": completed.isoformat(), "ageSeconds": int(age.total_seconds()),
        "maxAgeSeconds": int(sync_max_age().total_seconds()),
    }


class HealthOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unhealthy"])
    steamMode = serializers.ChoiceField(choices=["live", "sandbox"], help_text="Which Steam Astro talks to (STEAM_MODE).")
    checks = serializers.DictField(child=serializers.JSONField(), help_text="database, redis, steamSession, lastSync.")


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return api_exception_handler

    @extend_schema(
        operation_id="health", tags=["health"], summary="Health of Astro and its dependencies", auth=[],
        description="200 when the database and Redis answer, the Steam session state is readable and the last "
        "successful inventory sync is recent (3 x SYNC_INTERVAL_SECONDS); 503 otherwise. No authentication.",
        responses={200: HealthOutput, 503: HealthOutput},
    )
    def get(self, request):
        checks = {"database": _database(), "redis": _redis()}
        checks["steamSession"] = _steam_session() if checks["redis"]["ok"] else {"ok": False, "state": "unknown"}
        checks["lastSync"] = _last_sync() if checks["database"]["ok"] else {"ok": False, "error": "database down"}
        healthy = all(check["ok"] for check in checks.values())
        return Response(
            {"status": "ok" if healthy else "unhealthy", "steamMode": settings.STEAM_MODE, "checks": checks},
            status=200 if healthy else 503, headers={"Cache-Control": "no-store"},
        )
