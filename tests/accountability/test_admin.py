"""Every model is in the admin, and records that must not be edited by hand cannot be."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin

from tests.factories import UserFactory, ingest

pytestmark = pytest.mark.django_db

OUR_APPS = {"accountability", "agents", "review"}
READ_ONLY = {
    "auditevent",
    "apitoken",
    "item",
    "itemfield",
    "reason",
    "lease",
    "review",
    "fieldlabel",
    "document",
}


def test_every_model_is_registered_and_its_list_opens(client, agent):
    ingest(agent)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for model in (m for m in apps.get_models() if m._meta.app_label in OUR_APPS):
        assert model in admin.site._registry, model
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url


def test_records_are_read_only_in_the_admin(rf):
    request = rf.get("/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in OUR_APPS and model._meta.model_name in READ_ONLY:
            assert not model_admin.has_change_permission(request), model
            assert not model_admin.has_delete_permission(request), model
