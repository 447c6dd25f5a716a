"""manage.py createagent SLUG --owner USERNAME [--queue QUEUE ...]: the token is the last line."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accountability.audit import Actor
from agents import services
from agents.models import Agent
from review.models import Queue


class Command(BaseCommand):
    help = "Create an agent (or add a token to an existing one) and print its new API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--owner", required=True, help="Username of the accountable owner.")
        parser.add_argument("--name", default="", help="Display name (default: the slug).")
        parser.add_argument("--team", default="")
        parser.add_argument(
            "--queue", action="append", default=[], help="A queue slug it may post to."
        )

    def handle(
        self,
        *args: object,
        slug: str,
        owner: str,
        name: str,
        team: str,
        queue: list[str],
        **opts: object,
    ) -> None:
        User = get_user_model()
        owner_user = User.objects.filter(username=owner).first()
        if owner_user is None:
            raise CommandError(f"--owner: no user named {owner!r}")
        queues = list(Queue.objects.filter(slug__in=queue))
        unknown = sorted(set(queue) - {q.slug for q in queues})
        if unknown:
            raise CommandError(f"--queue: no queue with slug {', '.join(unknown)}")
        actor = Actor.system("manage.py createagent")
        with transaction.atomic():
            agent = Agent.objects.filter(slug=slug).first()
            if agent is None:
                agent = services.agent_create(
                    slug=slug,
                    name=name or slug,
                    owner=owner_user,
                    team=team,
                    queues=queues,
                    actor=actor,
                )
                self.stderr.write(f"Created agent {slug} owned by {owner}.")
            else:
                agent.queues.add(*queues)
                self.stderr.write(f"Agent {slug} exists; added a new token.")
            _, raw = services.agent_token_create(
                agent=agent, name="createagent", created_by=owner_user, actor=actor
            )
        self.stderr.write("Store this token now; it is not shown again:")
        self.stdout.write(raw)
