"""manage.py createtoken USERNAME: a personal API token, printed as the last line."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accountability.audit import Actor
from agents import services


class Command(BaseCommand):
    help = "Create a personal API token for a person (reviewer API) and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="personal")

    def handle(self, *args: object, username: str, name: str, **opts: object) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        _, raw = services.personal_token_create(
            user=user, name=name, actor=Actor.system("manage.py createtoken")
        )
        self.stderr.write("Store this token now; it is not shown again:")
        self.stdout.write(raw)
