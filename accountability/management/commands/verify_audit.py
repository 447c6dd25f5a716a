"""manage.py verify_audit: walk the audit chain; exit 1 at the first broken link."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accountability.chain import chain_verify, checkpoint_read, stored_checkpoints


class Command(BaseCommand):
    help = "Check every audit event's hash and link, and the chain against its checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint", action="append", default=[], help="A checkpoint file (repeatable)."
        )
        parser.add_argument(
            "--no-stored", action="store_true", help="Ignore checkpoints in the file storage."
        )

    def handle(self, *args: object, checkpoint: list[str], no_stored: bool, **opts: object) -> None:
        sources = [] if no_stored else stored_checkpoints()
        sources += [(path, Path(path).read_text()) for path in checkpoint]
        checkpoints = []
        for name, raw in sources:
            try:
                checkpoints.append(checkpoint_read(raw))
            except ValueError as problem:
                raise CommandError(f"checkpoint {name}: {problem}") from problem
        verdict = chain_verify(checkpoints=checkpoints)
        if not verdict.ok:
            raise CommandError(
                f"audit chain broken after {verdict.events} good events: {verdict.problem}"
            )
        self.stdout.write(
            f"audit chain intact: {verdict.events} events, {len(checkpoints)} checkpoint(s) agree"
        )
