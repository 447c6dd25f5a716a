"""manage.py automation stop|resume --queue SLUG | --agent SLUG --reason "...": the stop switch."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accountability.audit import Actor
from agents.models import Agent
from review import services
from review.models import Queue


class Command(BaseCommand):
    help = "Stop or resume auto-acceptance for a queue or an agent (audited, with a reason)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["stop", "resume"])
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--queue")
        target.add_argument("--agent")
        parser.add_argument("--reason", required=True)

    def handle(
        self,
        *args: object,
        action: str,
        queue: str | None,
        agent: str | None,
        reason: str,
        **opts: object,
    ) -> None:
        model, slug = (Queue, queue) if queue else (Agent, agent)
        target = model.objects.filter(slug=slug).first()
        if target is None:
            raise CommandError(f"no {model._meta.verbose_name} with slug {slug!r}")
        switch = services.automation_stop if action == "stop" else services.automation_resume
        try:
            switch(target=target, actor=Actor.system("manage.py automation"), reason=reason)
        except ValidationError as invalid:
            raise CommandError(" ".join(invalid.messages)) from invalid
        state = "stopped" if action == "stop" else "resumed"
        self.stdout.write(f"auto-acceptance {state} for {model._meta.verbose_name} {slug}")
