"""Sessions and users read in plain queries still mean what Django's own backends mean."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session as DjangoSession
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accountability.models import Session
from accountability.tasks import sessions_clear_expired
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


def test_a_request_reads_the_session_and_its_person_in_one_query(reviewer):
    client = _signed_in(reviewer)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/queues").status_code == 200
    reads = [q["sql"] for q in queries if "auth_user" in q["sql"] or "session" in q["sql"]]
    assert len(reads) == 1, reads
    assert Session.objects.get().user_id == reviewer.pk


def test_signing_out_ends_the_session():
    rita = UserFactory(username="rita")
    client = _signed_in(rita)
    client.post("/accounts/logout/")
    assert not Session.objects.exists()
    assert client.get(PAGE).status_code == 302


def test_a_session_naming_someone_else_is_not_trusted_over_its_signed_data():
    # The row's user_id only speeds the read up: who is signed in is what the signed session
    # data says, as with Django's own store.
    rita, sam = UserFactory(username="rita"), UserFactory(username="sam")
    client = _signed_in(rita)
    Session.objects.update(user_id=sam.pk)
    response = client.get("/api/v1/queues")
    assert response.status_code == 200
    assert response.wsgi_request.user == rita


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_keeps_people_signed_in():
    MigrationExecutor(connection).migrate([("accountability", "0002_audit_chain")])
    rita = UserFactory(username="rita")
    old_store = DjangoSessionStore()
    old_store.update(
        {
            SESSION_KEY: str(rita.pk),
            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
            HASH_SESSION_KEY: rita.get_session_auth_hash(),
        }
    )
    old_store.create()
    expired = DjangoSessionStore()
    expired.update({SESSION_KEY: str(rita.pk)})
    expired.create()
    DjangoSession.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    # A fresh executor: it reads which migrations are applied when made.
    MigrationExecutor(connection).migrate([("accountability", "0003_person_sessions")])
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = old_store.session_key
    response = client.get("/api/v1/queues")
    assert response.status_code == 200
    assert response.wsgi_request.user == rita
    assert list(Session.objects.values_list("session_key", "user_id")) == [
        (old_store.session_key, rita.pk)
    ]


def test_the_daily_job_deletes_expired_sessions_and_keeps_the_rest():
    active = _signed_in(UserFactory(username="rita"))
    _signed_in(UserFactory(username="sam"))
    Session.objects.exclude(session_key=active.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    assert "accountability.tasks.sessions_clear_expired" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert sessions_clear_expired.delay().get() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        active.session.session_key
    ]
    assert active.get(PAGE).status_code == 200
