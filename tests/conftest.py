from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accountability import celery_app
from accountability.audit import Actor
from agents import services as agent_services
from agents.calibration.services import refit_schedule_forget
from tests.factories import AgentFactory, QueueFactory, UserFactory


@pytest.fixture(autouse=True, scope="session")
def own_cache_keys():
    """With Redis, the cache outlives the run: keys of an earlier run (a refit debounce for an
    agent with the same id) must not be seen by this one."""
    settings.CACHES["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 is slow on purpose; tests make many users and prove nothing about hashing cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # The manifest storage needs collectstatic first; production runs it, tests need not.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path_factory):
    # Uploaded documents and rendered pages go to a throwaway directory, never to ./media:
    # the database rolls back after each test, files would stay and pile up.
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def forget_refit_schedules():
    # Each test has a new database in which agent ids repeat (SQLite reuses them): a refit
    # check this process scheduled for a test before must not silence this one's.
    refit_schedule_forget()


@pytest.fixture(autouse=True)
def eager_celery():
    # Tasks run in-process in tests, even when REDIS_URL is set; test_tasks.py starts a real
    # worker for the one test that proves the broker path.
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def reviewer(db):
    return UserFactory(username="rita")


@pytest.fixture
def other_reviewer(db):
    return UserFactory(username="omar")


@pytest.fixture
def queue(db, reviewer, other_reviewer):
    return QueueFactory(slug="claims", name="Claim intake", reviewers=[reviewer, other_reviewer])


@pytest.fixture
def lead(queue):
    """Lena leads the queue: its escalations, dashboards and lead actions are hers."""
    lena = UserFactory(username="lena")
    queue.leads.add(lena)
    return lena


@pytest.fixture
def agent(db, queue):
    return AgentFactory(slug="claims-bot", queues=[queue])


@pytest.fixture
def agent_token(agent) -> str:
    _, raw = agent_services.agent_token_create(
        agent=agent, created_by=None, actor=Actor.system("tests")
    )
    return raw


@pytest.fixture
def agent_client(agent_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {agent_token}")
    return client


@pytest.fixture
def reviewer_client(reviewer) -> APIClient:
    client = APIClient()
    client.force_login(reviewer)
    return client


ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Tests that prove behaviour only PostgreSQL has (row locks, real concurrency); CI runs them.
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (DATABASE_URL)")


@pytest.fixture(scope="session", autouse=True)
def _allow_flushing_the_audit_trail(django_db_setup, django_db_blocker):
    """Tests that commit (transaction=True) are cleaned up with TRUNCATE, which the audit
    trail's trigger refuses unless the session says it is resetting the database on purpose."""
    if not ON_POSTGRES:
        return
    from django.db import connection

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            name = connection.ops.quote_name(connection.settings_dict["NAME"])
            cursor.execute(f"ALTER DATABASE {name} SET accountability.allow_audit_truncate = 'on'")
        connection.close()  # new connections pick the setting up


def tamper(sql: str, params: list | None = None) -> None:
    """Change the database behind the application's back, as someone with database access
    could: on PostgreSQL with triggers switched off (session_replication_role needs a superuser,
    which the tests connect as)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if ON_POSTGRES:
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params or [])
        if ON_POSTGRES:
            cursor.execute("SET session_replication_role = DEFAULT")


def run_concurrently(work, arguments: list[tuple], *, timeout: float = 300) -> list[BaseException]:  # noqa: ANN001
    """Run work(*args) for each args in its own thread with its own database connection, all
    released at once; return what they raised."""
    import threading

    from django.db import connection

    errors: list[BaseException] = []
    start = threading.Barrier(len(arguments))

    def run(*args: object) -> None:
        try:
            start.wait()
            work(*args)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
