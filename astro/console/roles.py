"""Who may do what in the operator console: the `viewer` and `operator` groups.

- viewer: sees every Astro page (all `view_*` permissions of Astro's apps and
  of the beat schedules), changes nothing.
- operator: what a viewer sees, plus the overrides and controls, each guarded by
  one custom permission the admin checks before it calls a service.
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

# (app_label, model, codename, name): the permissions the admin's operations check.
CUSTOM_PERMISSIONS = [
    ("items", "item", "run_overrides",
     "Can resolve item discrepancies (confirm removed, restore, release, accept, quarantine)"),
    ("assignments", "assignment", "control_delivery",
     "Can control deliveries (retry, cancel, resend, check the offer now)"),
    ("sync", "inventorysynclog", "control_sync", "Can run a sync now and apply or discard held syncs"),
    ("astro", "apikey", "manage_api_keys", "Can create, rotate and revoke API keys"),
]

# Apps whose pages a viewer sees. Django's own (users, groups, sessions) are not
# operator business; only superusers manage accounts.
VIEWED_APPS = ("astro", "audit", "items", "assignments", "sync", "django_celery_beat")


def ensure_admin_roles(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Create the custom permissions and the two groups, with exactly their permissions."""
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

    custom = []
    for app_label, model, codename, name in CUSTOM_PERMISSIONS:
        content_type, _ = ContentType.objects.db_manager(using).get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.db_manager(using).update_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        custom.append(permission)

    view = list(
        Permission.objects.db_manager(using).filter(
            content_type__app_label__in=VIEWED_APPS, codename__startswith="view_"
        )
    )
    sizes = {}
    for group_name, permissions in ((VIEWER, view), (OPERATOR, view + custom)):
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
