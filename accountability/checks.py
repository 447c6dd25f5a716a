"""`manage.py check --deploy`: refuse the embedded defaults, which only work in one process.

SQLite serialises every write of every web process and worker; without Redis, Celery runs in
the web process and a websocket hears only what its own process sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning


@register("services", deploy=True)
def production_services_check(
    app_configs: Sequence[AppConfig] | None, **kwargs: object
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        messages.append(
            CheckWarning(
                "DATABASE_URL is not PostgreSQL: several web processes and workers need it.",
                hint="Set DATABASE_URL=postgres://USER@HOST:5432/NAME.",
                id="accountability.W001",
            )
        )
    if not settings.REDIS_URL:
        messages.append(
            CheckWarning(
                "REDIS_URL is not set: background work runs in the web process and websockets "
                "reach only the process that sent the update.",
                hint="Set REDIS_URL=redis://HOST:6379/0 and run a Celery worker and beat.",
                id="accountability.W002",
            )
        )
    elif settings.CELERY_TASK_ALWAYS_EAGER:
        messages.append(
            CheckWarning(
                "CELERY_TASK_ALWAYS_EAGER is on: PDFs are processed and webhooks sent inside "
                "web requests.",
                hint="Unset CELERY_TASK_ALWAYS_EAGER and run a Celery worker.",
                id="accountability.W003",
            )
        )
    return messages
