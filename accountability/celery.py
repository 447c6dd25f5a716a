"""The Celery app. Eager (in process) unless REDIS_URL is set; see settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountability.settings")

app = Celery("accountability")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
