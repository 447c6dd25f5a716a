"""Sessions that name their user (accountability.models.Session), so that a request reads its
session and its user in one statement. Unexpired sessions are carried over from Django's table:
nobody is signed out by the upgrade."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def carry_over_sessions(apps, schema_editor):  # noqa: ANN001, ANN201
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    Old = apps.get_model("sessions", "Session")
    New = apps.get_model("accountability", "Session")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    decode = SessionStore().decode  # the same key and serializer the sessions were signed with
    for old in Old.objects.filter(expire_date__gt=timezone.now()).iterator():
        user_id = decode(old.session_data).get(SESSION_KEY)
        if user_id is not None and not User.objects.filter(pk=user_id).exists():
            continue  # an account deleted since: its session would sign nobody in
        New.objects.create(
            session_key=old.session_key,
            session_data=old.session_data,
            expire_date=old.expire_date,
            user_id=user_id,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accountability", "0002_audit_chain"),
        ("sessions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Session",
            fields=[
                (
                    "session_key",
                    models.CharField(
                        max_length=40, primary_key=True, serialize=False, verbose_name="session key"
                    ),
                ),
                ("session_data", models.TextField(verbose_name="session data")),
                ("expire_date", models.DateTimeField(db_index=True, verbose_name="expire date")),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "session",
                "verbose_name_plural": "sessions",
                "abstract": False,
            },
        ),
        migrations.RunPython(carry_over_sessions, migrations.RunPython.noop),
    ]
