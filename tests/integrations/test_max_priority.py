"""A system's ceiling on assignmentPriority: a setting's default, the admin's field, the database's range."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse

from astro.integrations.models import ExternalSystem
from astro.integrations.services import external_system_create


@pytest.mark.django_db
def test_a_new_system_gets_the_default_ceiling_from_the_setting(settings):
    assert external_system_create(slug="plain", actor="t", source="command").max_priority == 0
    settings.API_DEFAULT_MAX_PRIORITY = 25
    assert external_system_create(slug="later", actor="t", source="command").max_priority == 25
    assert external_system_create(slug="given", max_priority=-5, actor="t", source="command").max_priority == -5


@pytest.mark.django_db
def test_the_database_refuses_a_ceiling_outside_the_priority_range():
    system = external_system_create(slug="plain", actor="t", source="command")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalSystem.objects.filter(pk=system.pk).update(max_priority=1001)


@pytest.mark.django_db
def test_the_admin_registers_a_system_with_its_ceiling(client):
    client.force_login(get_user_model().objects.create_superuser("root", password="x" * 20))
    response = client.post(reverse("admin:astro_externalsystem_add"),
                           {"slug": "web_shop", "name": "Shop", "max_priority": "40"})
    assert response.status_code == 302, response.content[:500]
    assert ExternalSystem.objects.get(slug="web_shop").max_priority == 40
    refused = client.post(reverse("admin:astro_externalsystem_add"), {"slug": "greedy", "max_priority": "5000"})
    assert refused.status_code == 200 and not ExternalSystem.objects.filter(slug="greedy").exists()
