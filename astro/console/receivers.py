"""What the console does when others signal: an admin lockout goes into the audit trail."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.conf import settings
from django.core.cache import cache
from django.dispatch import receiver

from audit.models import Source
from audit.services import record_event


@receiver(user_locked_out, dispatch_uid="astro-admin-lockout")
def record_lockout(sender, request, username, ip_address, **kwargs) -> None:
    # django-axes signals the lockout and again for every attempt refused while it
    # lasts: record the lockout once per cool-off, or an attacker could flood the
    # append-only table.
    if not cache.add(f"admin-lockout:{username}:{ip_address}", 1, timeout=int(settings.AXES_COOLOFF_TIME.total_seconds())):
        return
    record_event(
        event_type="system.login_locked_out",
        description=f"Admin login locked out for {username!r} from {ip_address} after repeated failures.",
        actor=username or "unknown", source=Source.ADMIN, data={"username": username, "ipAddress": ip_address},
    )
