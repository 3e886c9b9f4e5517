"""ITwoFactorService/QueryTime: Steam's time, from which a client takes the offset its
Steam Guard codes and confirmation keys need (the sandbox checks both against the
same clock, shared.AuthClock). No auth; JSON, or protobuf when asked in protobuf."""

from __future__ import annotations

from .. import protos
from ..enums import EResult
from ..web import Response
from .context import Ctx, steam_json

SKEW_TOLERANCE_SECONDS = 60


def query_time(ctx: Ctx) -> Response:
    now = ctx.state.auth_clock.now()
    answer = {
        "server_time": str(now),
        "skew_tolerance_seconds": str(SKEW_TOLERANCE_SECONDS),
        "large_time_jink": "86400",
        "probe_frequency_seconds": 3600,
        "adjusted_time_probe_frequency_seconds": 300,
        "hint_probe_frequency_seconds": 60,
        "sync_timeout": 60,
        "try_again_seconds": 900,
        "max_attempts": 3,
    }
    if ctx.req.arg("input_protobuf_encoded") is not None:
        resp = Response(protos.encode("CTwoFactor_Time_Response", answer), 200, "application/octet-stream")
        return resp.header("X-eresult", str(int(EResult.OK)))
    return steam_json({"response": answer})


API_METHODS = {("ITwoFactorService", "QueryTime"): query_time}
