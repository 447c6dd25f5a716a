"""Sessions and users read in plain queries still mean what Django's own backends mean."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/"  # the reviewer's home: people only


def _signed_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def test_a_signed_in_person_is_recognised():
    client = _signed_in(UserFactory(username="rita"))
    assert client.get(PAGE).status_code == 200


def test_an_expired_session_signs_nobody_in():
    client = _signed_in(UserFactory(username="rita"))
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(PAGE).status_code == 302


def test_a_deactivated_account_is_signed_out_at_its_next_request():
    rita = UserFactory(username="rita")
    client = _signed_in(rita)
    rita.is_active = False
    rita.save()
    assert client.get(PAGE).status_code == 302


def test_a_deleted_account_is_signed_out_too():
    rita = UserFactory(username="rita")
    client = _signed_in(rita)
    rita.delete()
    assert client.get(PAGE).status_code == 302
