"""Checking the audit trail's hash chain, and checkpoints of it kept outside the database."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accountability.audit import event_hash
from accountability.models import GENESIS_HASH, AuditEvent, AuditHead

CHECKPOINT_DIR = "audit/checkpoints"
_SALT = "accountability.audit.checkpoint"


@dataclass(frozen=True)
class Verdict:
    events: int  # how many events were checked
    problem: str = ""  # empty when the chain holds

    @property
    def ok(self) -> bool:
        return not self.problem


def chain_verify(*, checkpoints: list[dict] | None = None) -> Verdict:
    """Walk every event in order; report the first broken link, or a checkpoint contradicted."""
    expected, previous = 1, GENESIS_HASH
    marks = {checkpoint["count"]: checkpoint for checkpoint in checkpoints or []}
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected:
            return Verdict(
                expected - 1, f"event {expected} is missing: the next one is {event.seq}"
            )
        if event.prev_hash != previous:
            return Verdict(
                expected - 1, f"event {event.seq} does not link to event {event.seq - 1}"
            )
        if event_hash(event) != event.hash:
            return Verdict(
                expected - 1, f"event {event.seq} was altered: its content does not match its hash"
            )
        mark = marks.get(event.seq)
        if mark and mark["head_hash"] != event.hash:
            return Verdict(
                expected, f"event {event.seq} differs from the checkpoint of {mark['created_at']}"
            )
        previous, expected = event.hash, expected + 1
    count = expected - 1
    for mark in marks.values():
        if mark["count"] > count:
            return Verdict(
                count,
                f"the checkpoint of {mark['created_at']} saw {mark['count']} events; only {count} "
                "remain: the newest were removed",
            )
    head = AuditHead.objects.filter(pk=1).first()
    if count and (head is None or (head.seq, head.hash) != (count, previous)):
        return Verdict(count, f"the chain ends at event {count} but its head says otherwise")
    return Verdict(count)


def checkpoint_make() -> dict:
    """A signed record of the chain's length and newest hash, to keep outside the database.

    The head is read under its lock, in a transaction that commits synchronously: that waits
    for an event being written, and flushes the WAL up to the head it read, so a checkpoint
    never counts an event that a crash could still take back (claims commit without waiting
    for the disk: review.services.leases).
    """
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
    content = {
        "count": head.seq if head else 0,
        "head_hash": head.hash if head else GENESIS_HASH,
        "created_at": timezone.now().isoformat(),
    }
    return {**content, "signature": signing.Signer(salt=_SALT).signature(_canonical(content))}


def checkpoint_store(checkpoint: dict) -> str:
    """Write it through the default storage (configure one outside the database's machine)."""
    name = f"{CHECKPOINT_DIR}/{checkpoint['created_at'].replace(':', '')}.json"
    return default_storage.save(name, ContentFile(json.dumps(checkpoint, indent=2).encode()))


def checkpoint_read(raw: str) -> dict:
    """Parse and check a checkpoint's signature; ValueError with a sentence if it fails."""
    try:
        checkpoint = json.loads(raw)
        content = {key: checkpoint[key] for key in ("count", "head_hash", "created_at")}
        expected = signing.Signer(salt=_SALT).signature(_canonical(content))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a checkpoint ({exc})") from exc
    if not signing.constant_time_compare(expected, checkpoint.get("signature", "")):
        raise ValueError("its signature does not match: altered, or from another installation")
    return checkpoint


def stored_checkpoints() -> list[tuple[str, str]]:
    """(name, text) of every checkpoint in the default storage."""
    if not default_storage.exists(CHECKPOINT_DIR):
        return []
    _, files = default_storage.listdir(CHECKPOINT_DIR)
    found = []
    for name in sorted(files):
        with default_storage.open(f"{CHECKPOINT_DIR}/{name}") as handle:
            found.append((name, handle.read().decode()))
    return found


def _canonical(content: dict) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class CheckedEvent:
    event: AuditEvent
    intact: bool  # its content matches its hash and it links to the event before it
    problem: str = ""


def events_check(events: list[AuditEvent]) -> list[CheckedEvent]:
    """Check each of these events against its hash and its predecessor, in two queries at most."""
    before = {e.seq: e.hash for e in AuditEvent.objects.filter(seq__in=[e.seq - 1 for e in events])}
    checked = []
    for event in events:
        previous = GENESIS_HASH if event.seq == 1 else before.get(event.seq - 1)
        if event_hash(event) != event.hash:
            checked.append(CheckedEvent(event, False, "altered: content and hash differ"))
        elif previous != event.prev_hash:
            checked.append(CheckedEvent(event, False, "does not link to the event before it"))
        else:
            checked.append(CheckedEvent(event, True))
    return checked
