"""The viewer, operator and key-manager groups, and the command that makes console logins."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from astro.console.roles import CUSTOM_PERMISSIONS, ensure_admin_roles

PERMISSIONS = {codename: f"{app}.{codename}" for app, _, codename, _ in CUSTOM_PERMISSIONS}
# What operators may do and viewers may not (keys are the key managers').
CONTROLS = {PERMISSIONS[c] for c in ("run_overrides", "control_delivery", "control_sync", "view_trade_url_token")}


@pytest.mark.django_db
def test_viewers_may_look_at_everything_and_only_operators_may_act(make_staff):
    viewer, operator = make_staff("v", "viewer"), make_staff("o", "operator")

    for model in ("items.view_item", "assignments.view_assignment", "sync.view_inventorysynclog",
                  "audit.view_systemevent", "astro.view_apikey", "django_celery_beat.view_periodictask"):
        assert viewer.has_perm(model) and operator.has_perm(model), model
    assert not any(viewer.has_perm(p) for p in CONTROLS)
    assert all(operator.has_perm(p) for p in CONTROLS)
    assert viewer.has_perm("console.view_dashboard") and operator.has_perm("console.view_dashboard")
    assert not viewer.has_perm("astro.manage_api_keys") and not operator.has_perm("astro.manage_api_keys")
    for perms in (viewer.get_all_permissions(), operator.get_all_permissions()):
        assert not any(p.split(".")[1].startswith(("add_", "change_", "delete_")) for p in perms)
        assert not any(p.startswith("auth.") for p in perms)


@pytest.mark.django_db
def test_key_managers_mint_keys_and_see_only_the_systems_and_keys(make_staff):
    manager = make_staff("k", "key_manager")
    assert manager.has_perm("astro.manage_api_keys")
    assert manager.has_perm("astro.view_apikey") and manager.has_perm("astro.view_externalsystem")
    assert not any(manager.has_perm(p) for p in CONTROLS | {PERMISSIONS["view_dashboard"]})
    assert not manager.has_perm("items.view_item") and not manager.has_perm("audit.view_systemevent")


@pytest.mark.django_db
def test_add_admin_user_makes_a_key_manager(tmp_path, admin_roles):
    secret = tmp_path / "password"
    secret.write_text("a-long-enough-key-manager-passphrase\n")
    call_command("add_admin_user", "kate", "--role", "key-manager", "--password-file", str(secret))
    kate = get_user_model().objects.get(username="kate")
    assert kate.is_staff and list(kate.groups.values_list("name", flat=True)) == ["key_manager"]
    assert kate.has_perm("astro.manage_api_keys")


@pytest.mark.django_db
def test_rebuilding_the_roles_is_idempotent_and_keeps_members(make_staff):
    operator = make_staff("o", "operator")
    before = set(Group.objects.get(name="operator").permissions.values_list("id", flat=True))
    ensure_admin_roles()
    ensure_admin_roles()
    assert set(Group.objects.get(name="operator").permissions.values_list("id", flat=True)) == before
    assert list(operator.groups.values_list("name", flat=True)) == ["operator"]


@pytest.mark.django_db
def test_add_admin_user_creates_a_login_with_its_role(tmp_path, admin_roles):
    secret = tmp_path / "password"
    secret.write_text("a-long-enough-operator-passphrase\n")

    call_command("add_admin_user", "olga", "--role", "operator", "--password-file", str(secret))

    olga = get_user_model().objects.get(username="olga")
    assert olga.is_staff and not olga.is_superuser
    assert olga.check_password("a-long-enough-operator-passphrase")
    assert olga.has_perm("items.run_overrides")
    with pytest.raises(CommandError, match="already exists"):
        call_command("add_admin_user", "olga", "--role", "viewer", "--password-file", str(secret))
    secret.write_text("123\n")
    with pytest.raises(CommandError, match="too short"):
        call_command("add_admin_user", "vic", "--role", "viewer", "--password-file", str(secret))
    assert not get_user_model().objects.filter(username="vic").exists()
