"""Who may do what in the operator console: the `viewer`, `operator` and `key_manager` groups.

- viewer: sees every Astro page (all `view_*` permissions of Astro's apps and
  of the beat schedules) and the dashboard, changes nothing; trade-URL tokens
  are shown masked.
- operator: what a viewer sees, plus the overrides and controls, each guarded by
  one custom permission the admin checks before it calls a service, and the
  trade-URL tokens in full.
- key_manager: sees the external systems and their keys, and mints, rotates and
  revokes keys. Kept apart from operators: a key acts as a system, so whoever can
  mint one could assign items to themselves under a shop's name.
- superusers: everything (Django gives them every permission).

The groups are rebuilt after every `migrate` (and after the test suite's flush)
from the lists below, so a model added later is visible to viewers at once and
nobody has to remember a setup step. Rebuilding only adds what is missing and
removes what no longer belongs; a group's users are never touched.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate

VIEWER = "viewer"
OPERATOR = "operator"
KEY_MANAGER = "key_manager"

# (app_label, model, codename, name): the permissions the admin's operations check.
CUSTOM_PERMISSIONS = [
    ("items", "item", "run_overrides",
     "Can resolve item discrepancies (confirm removed, restore, release, accept, quarantine)"),
    ("assignments", "assignment", "control_delivery",
     "Can control deliveries (retry, cancel, resend, check the offer now)"),
    ("sync", "inventorysynclog", "control_sync", "Can run a sync now and apply or discard held syncs"),
    ("astro", "apikey", "manage_api_keys", "Can create, rotate and revoke API keys"),
    ("console", "dashboard", "view_dashboard", "Can see the operator dashboard"),
    ("items", "steamuser", "view_trade_url_token", "Can see trade-URL tokens unmasked"),
]
OPERATOR_PERMISSIONS = ("run_overrides", "control_delivery", "control_sync", "view_dashboard", "view_trade_url_token")
VIEWER_PERMISSIONS = ("view_dashboard",)
KEY_MANAGER_PERMISSIONS = ("manage_api_keys",)
# What a key manager sees: the systems and their keys (Astro's `astro` app label).
KEY_MANAGER_VIEWED_APPS = ("astro",)

# Apps whose pages a viewer sees. Django's own (users, groups, sessions) are not
# operator business; only superusers manage accounts.
VIEWED_APPS = ("astro", "audit", "items", "assignments", "sync", "django_celery_beat")


def ensure_admin_roles(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Create the custom permissions and the groups, with exactly their permissions."""
    # Imported here: this module is imported by the console's AppConfig, before models can be.
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.management import create_contenttypes
    from django.contrib.contenttypes.models import ContentType

    # Model permissions are normally created app by app after migrate; make sure
    # every app's exist now, whichever app's signal we run in.
    for app_config in global_apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0, using=using)
        create_permissions(app_config, verbosity=0, using=using)

    custom = {}
    for app_label, model, codename, name in CUSTOM_PERMISSIONS:
        content_type, _ = ContentType.objects.db_manager(using).get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.db_manager(using).update_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        custom[codename] = permission

    def views(apps) -> list:
        # Model view permissions only (the custom ones above are handed out by name).
        return list(
            Permission.objects.db_manager(using)
            .filter(content_type__app_label__in=apps, codename__startswith="view_")
            .exclude(codename__in=list(custom))
        )

    view = views(VIEWED_APPS)
    sizes = {}
    for group_name, permissions in (
        (VIEWER, view + [custom[c] for c in VIEWER_PERMISSIONS]),
        (OPERATOR, view + [custom[c] for c in OPERATOR_PERMISSIONS]),
        (KEY_MANAGER, views(KEY_MANAGER_VIEWED_APPS) + [custom[c] for c in KEY_MANAGER_PERMISSIONS]),
    ):
        group, _ = Group.objects.db_manager(using).get_or_create(name=group_name)
        group.permissions.set(permissions)
        sizes[group_name] = len(permissions)
    return sizes


def _after_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    # post_migrate is sent once per app; the groups need every app's permissions,
    # so build them once, for the last app in INSTALLED_APPS.
    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if sender.label != with_models[-1].label:
        return
    ensure_admin_roles(using=using)


def connect() -> None:
    post_migrate.connect(_after_migrate, dispatch_uid="astro-admin-roles")
