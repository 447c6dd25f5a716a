"""Writing the audit trail. Only services call these, inside the transaction they record."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from accountability import db
from accountability.db import as_stored_json, json_bytes_sorted
from accountability.middleware import current_request_id
from accountability.models import GENESIS_HASH, AuditEvent, AuditHead


@dataclass(frozen=True)
class Actor:
    """Who did something: a person, an agent (through its token) or the system itself."""

    type: str
    id: int | None
    label: str

    @classmethod
    def user(cls, user: Any) -> Actor:
        return cls(AuditEvent.ActorType.USER, user.pk, user.get_username())

    @classmethod
    def agent(cls, agent: Any) -> Actor:
        return cls(AuditEvent.ActorType.AGENT, agent.pk, f"agent:{agent.slug}")

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(AuditEvent.ActorType.SYSTEM, None, label)


def audit_event(
    *, obj: models.Model, action: str, actor: Actor, data: dict | None = None
) -> AuditEvent:
    """Build one audit event, unsaved: audit_log saves it; batch writers insert many at once."""
    return db.new(
        AuditEvent,
        action=action,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        target_type=obj._meta.label_lower,
        target_id=str(obj.pk),
        # As the database will give it back (keys as strings, tuples as lists), so the hash
        # computed now is the hash verification computes later.
        data=as_stored_json(data or {}),
        request_id=current_request_id(),
    )


def audit_log(
    *, obj: models.Model, action: str, actor: Actor, data: dict | None = None
) -> AuditEvent:
    event = audit_event(obj=obj, action=action, actor=actor, data=data)
    audit_append([event])
    return event


def audit_append(
    events: Sequence[AuditEvent], *, head: list[tuple] | None = None, last: bool = False
) -> None:
    """Link events onto the chain and store them, in the caller's transaction.

    The head row stays locked until that transaction ends, so appends from concurrent
    transactions are serialised in commit order. head: the rows of audit_head_lock() when
    the caller ran it in its own batch of writes (a round trip fewer), else it is locked here.
    last: the transaction writes nothing after these events (see db.insert).
    """
    if not events:
        return
    # savepoint=False: no extra round trips inside the caller's transaction (services always
    # have one); alone, this still makes the append atomic.
    with transaction.atomic(savepoint=False):
        seq, previous = head[0] if head else _lock_head()
        now = timezone.now()
        for event in events:
            seq += 1
            event.seq, event.prev_hash, event.created_at = seq, previous, now
            event.hash = previous = event_hash(event)
        # The head moves in the events' own round trip: the lock on it is held for one less.
        move_head = (f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE id = 1", [seq, previous])
        db.insert(db.instances(list(events)), then=[move_head], last=last)


_HEAD = AuditHead._meta.db_table


def audit_head_lock(only_if: str = "") -> db.Statement:
    """The statement that reads the newest link and locks it until the transaction ends: for a
    writer's db.batch, whose rows it then hands to audit_append. Put it last: every other row
    lock of the transaction is taken before the one all writers wait for.

    only_if: an SQL condition; when it is false the head is neither read nor locked (a write
    earlier in the batch did nothing, so there is nothing to append)."""
    where = f"id = 1 AND ({only_if})" if only_if else "id = 1"
    if connection.features.has_select_for_update:
        return f"SELECT seq, hash FROM {_HEAD} WHERE {where} FOR UPDATE", []  # noqa: S608
    return f"SELECT seq, hash FROM {_HEAD} WHERE {where}", []  # noqa: S608


def _lock_head() -> tuple[int, str]:
    """The newest link, locked until the transaction ends (plain SQL: every write comes here)."""
    with connection.cursor() as cursor:
        cursor.execute(*audit_head_lock())
        row = cursor.fetchone()
        if row is None:  # a fresh database (the migration creates it; a test flush removes it)
            cursor.execute(f"INSERT INTO {_HEAD} (id, seq, hash) VALUES (1, 0, %s)", [GENESIS_HASH])
            return 0, GENESIS_HASH
        return row[0], row[1]


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over everything an event says, and the hash of the event before it."""
    content = {
        "seq": event.seq,
        "prev": event.prev_hash,
        "at": event.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "action": event.action,
        "actor": [event.actor_type, event.actor_id, event.actor_label],
        "target": [event.target_type, event.target_id],
        "data": event.data,
        "request_id": event.request_id,
    }
    return hashlib.sha256(json_bytes_sorted(content)).hexdigest()


__all__ = [
    "GENESIS_HASH",
    "Actor",
    "audit_append",
    "audit_event",
    "audit_head_lock",
    "audit_log",
    "event_hash",
]
