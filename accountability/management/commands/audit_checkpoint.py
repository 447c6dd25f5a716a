"""manage.py audit_checkpoint: record the chain's length and head outside the database."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from accountability.chain import checkpoint_make, checkpoint_store


class Command(BaseCommand):
    help = "Write a signed checkpoint (count, head hash, time) to a file or the file storage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", help="A file path; default: the file storage.")

    def handle(self, *args: object, output: str | None, **opts: object) -> None:
        checkpoint = checkpoint_make()
        if output:
            Path(output).write_text(json.dumps(checkpoint, indent=2))
            where = output
        else:
            where = checkpoint_store(checkpoint)
        self.stdout.write(f"checkpoint of {checkpoint['count']} events written to {where}")
