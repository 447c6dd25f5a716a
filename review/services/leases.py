"""Leases: timed claims on items. Never two holders; an expired lease is free at the next claim."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from functools import cache, partial
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accountability import db
from accountability.api import WorkflowError
from accountability.audit import Actor, audit_append, audit_event, audit_head_lock
from accountability.models import AuditEvent
from review import events
from review.models import URGENT_WINDOW_MIN, Item, Lease, Queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CLAIM_ATTEMPTS = 5
# A gap longer than this with no sign of the reviewer does not count as active review time.
ACTIVITY_GAP_SECONDS = 60


def lease_claim_next(
    *,
    queue: Queue,
    reviewer: User,
    now: dt.datetime | None = None,
    token: uuid.UUID | None = None,
) -> Lease | None:
    """Lease the most urgent free item of queue to reviewer, or return None if nothing waits.

    A reviewer who already holds an open lease in this queue gets that one back, so repeated
    claims never hoard items (a lead's reassignment works the same way: it opens the lease for
    the reviewer). On PostgreSQL, SKIP LOCKED lets concurrent reviewers pass each other's
    candidate rows; on SQLite the IMMEDIATE transaction serialises claims. On both, the
    conditional UPDATE is what makes a claim win, and the partial unique index on open leases
    refuses a second holder even if that logic were wrong. Only items waiting for review are
    handed out: escalated ones are for leads (lease_claim_escalated).

    token: the new lease's token, for a caller that names the lease before it exists (the
    claim API reads the leased item in the claim's last round trip: db.reads_at_commit).
    """
    now = now or timezone.now()
    token = token or uuid.uuid4()
    if connection.vendor == "postgresql":
        return _claim_postgresql(_queue_by_id(queue.pk), reviewer, now, token)[1]
    return _claim_sqlite(queue, reviewer, now, token)


def lease_claim_next_in(
    *,
    slug: str,
    reviewer: User,
    now: dt.datetime | None = None,
    token: uuid.UUID | None = None,
) -> tuple[Queue | None, Lease | None]:
    """lease_claim_next in the queue with this slug, if the reviewer works in it (reviews or
    leads it; a superuser: any): the queue (None if there is no such queue for them) and the
    lease. On PostgreSQL the queue is read in the claim's own round trip."""
    now = now or timezone.now()
    token = token or uuid.uuid4()
    if connection.vendor == "postgresql":
        return _claim_postgresql(_queue_by_slug(slug, reviewer), reviewer, now, token)
    queue = Queue.objects.visible_one(reviewer, slug)
    return queue, _claim_sqlite(queue, reviewer, now, token) if queue else None


def _claim_sqlite(queue: Queue, reviewer: User, now: dt.datetime, token: uuid.UUID) -> Lease | None:
    held = _held_lease_id(queue, reviewer, now)
    if held is not None:
        return Lease.objects.get(pk=held)
    for _ in range(CLAIM_ATTEMPTS):
        try:
            with db.atomic_ended_by_last_write():
                item_id = _next_claimable(queue, reviewer, now)
                if item_id is None:
                    return None
                lease = _take(item_id=item_id, queue=queue, reviewer=reviewer, now=now, token=token)
                if lease is not None:
                    return lease
        except IntegrityError:
            continue  # someone else opened a lease on that item first; try the next one
    return None


def _held_sql(queue: str) -> str:
    """The reviewer's open lease on a waiting item of the queue (an SQL expression)."""
    return f"""
SELECT l.id FROM {Lease._meta.db_table} l JOIN {Item._meta.db_table} i ON i.id = l.item_id
 WHERE l.reviewer_id = %(reviewer)s AND i.queue_id = {queue} AND i.status = %(status)s
   AND l.ended_at IS NULL AND l.expires_at > %(now)s
 ORDER BY l.id LIMIT 1
"""  # noqa: S608 (table names only)


# Asked on every claim and nearly always answered "none".
_HELD_SQL = _held_sql("%(queue)s")


def _held_lease_id(queue: Queue, reviewer: User, now: dt.datetime) -> int | None:
    """The reviewer's open lease on a waiting item of queue, if any."""
    rows = db.values(
        _HELD_SQL,
        {"reviewer": reviewer.pk, "queue": queue.pk, "status": Item.Status.PENDING, "now": now},
    )
    return rows[0][0] if rows else None


def _next_claimable(queue: Queue, reviewer: User, now: dt.datetime) -> int | None:
    """The free item to claim next (SQLite; PostgreSQL: _TAKE_NEXT): the riskiest of those
    about to breach their SLA, else the riskiest of all (ties: earliest due).

    That is ORDER BY (due within the urgent window) DESC, priority DESC, due_at, id; but as one
    query the CASE defeats the claim-order index and sorts every waiting item of the queue. So
    urgent items are looked for first, then all, both along item_claim_order.
    """
    # An item waiting for its blind second review never goes back to its first reviewer.
    free = Item.objects.filter(queue=queue).claimable(now).exclude(first_reviewer=reviewer)
    for candidates in (free.urgent(queue, now), free):
        item_id = candidates.in_claim_order().values_list("id", flat=True).first()
        if item_id is not None:
            return item_id
    return None


# The next item, picked and taken in one statement (sent with the transaction's BEGIN and the
# held-lease check: one round trip where these were four): the urgent head if any, else the
# riskiest free item. COALESCE evaluates its second subquery only when the first finds none;
# nothing is taken while the reviewer holds a lease in the queue.
#
# The urgent head without walking the whole queue: along item_claim_order (priority DESC,
# due_at), "due soon" is no prefix of the key, and a plain ORDER BY ... LIMIT 1 reads every
# waiting entry of the higher priorities first (70 ms at 1,000,000 waiting when none is urgent,
# which is the normal state of a queue). Instead: skip from one distinct priority to the next
# (a recursive CTE, one index probe each), and within each read only its urgent head (a second
# probe). min(due_at) on item_pending_due skips all of it when nothing is urgent. SKIP LOCKED
# lets concurrent reviewers pass each other's candidates; the row lock makes the take safe.
# Free: waiting, not held, and not waiting for its blind second review by this reviewer.
_PENDING = f"'{Item.Status.PENDING}'"  # a literal: see _GENERIC_PLAN
#
# The claim is one round trip (a pipeline) of statements that cannot wait for each other's
# answers: the queue's row, then the take, then the lease on what it took. What a later one
# needs from an earlier one travels in settings local to the transaction (NULL when unset): the
# queue's id, the new lease's expiry and the end of the urgent window (set by the queue's
# statement), the item taken (set by the take).
_SETTINGS = {
    "queue": ("accountability.claim_queue", "bigint"),
    "expires": ("accountability.claim_expires", "timestamptz"),
    "urgent_before": ("accountability.claim_urgent_before", "timestamptz"),
    "claimed": ("accountability.claim_item", "bigint"),
}
_QUEUE, _EXPIRES, _URGENT_BEFORE, _CLAIMED = (
    f"NULLIF(current_setting('{name}', true), '')::{kind}" for name, kind in _SETTINGS.values()
)
# Cleared first: a claim inside a caller's transaction must not find the one before it.
_FORGET_SETTINGS = (
    "SELECT " + ", ".join(f"set_config('{name}', '', true)" for name, _ in _SETTINGS.values()),
    [],
)
# A claim in a transaction of its own also sets how that transaction plans and commits, with
# the same statement (in a caller's transaction, the plan is set around the take alone: see
# _GENERIC_PLAN). It commits without waiting for its WAL to reach the disk (synchronous_commit
# off for that transaction only): the wait was ~0.5 ms of every claim. A crash of PostgreSQL
# can then lose the claims of its last moments (3 x wal_writer_delay), whose items simply wait
# again. Nothing that rests on a claim can outlive it: a synchronous commit flushes the WAL up
# to itself, so the decision under a lease, or an audit checkpoint that counted the claim's
# event (chain.checkpoint_make), makes the claim durable first.
_SET_UP_A_CLAIM_OF_ITS_OWN = (
    _FORGET_SETTINGS[0]
    + ", set_config('synchronous_commit', 'off', true)"
    + ", set_config('plan_cache_mode', 'force_generic_plan', true)",
    [],
)
_CLAIMED_SETTING = _SETTINGS["claimed"][0]
_HELD_CLAIM = _held_sql(_QUEUE)
_FREE = f"""queue_id = {_QUEUE} AND status = {_PENDING}
       AND (leased_until IS NULL OR leased_until <= %(now)s)
       AND (first_reviewer_id IS NULL OR first_reviewer_id <> %(reviewer)s)"""
_TAKE_NEXT = f"""
UPDATE {Item._meta.db_table}
   SET lease_holder_id = %(reviewer)s, leased_until = {_EXPIRES}, updated_at = %(now)s
 WHERE id = COALESCE(
   (WITH RECURSIVE levels(priority) AS (
        (SELECT priority FROM {Item._meta.db_table}
          WHERE queue_id = {_QUEUE} AND status = {_PENDING} ORDER BY priority DESC LIMIT 1)
      UNION ALL
        SELECT (SELECT i.priority FROM {Item._meta.db_table} i
                 WHERE i.queue_id = {_QUEUE} AND i.status = {_PENDING}
                   AND i.priority < levels.priority
                 ORDER BY i.priority DESC LIMIT 1)
          FROM levels WHERE levels.priority IS NOT NULL
    )
    SELECT head.id FROM levels CROSS JOIN LATERAL (
        SELECT id FROM {Item._meta.db_table}
         WHERE {_FREE} AND priority = levels.priority AND due_at <= {_URGENT_BEFORE}
         ORDER BY due_at, id LIMIT 1
           FOR UPDATE SKIP LOCKED
    ) head
    WHERE (SELECT min(due_at) FROM {Item._meta.db_table}
            WHERE queue_id = {_QUEUE} AND status = {_PENDING}) <= {_URGENT_BEFORE}
    LIMIT 1),
   (SELECT id FROM {Item._meta.db_table} WHERE {_FREE}
     ORDER BY priority DESC, due_at, id LIMIT 1
       FOR UPDATE SKIP LOCKED))
   AND NOT EXISTS ({_HELD_CLAIM})
RETURNING id, set_config('{_CLAIMED_SETTING}', id::text, true)
"""  # noqa: S608 (table names only)


# The take runs on a generic plan, planned once per connection: planning it took 0.8 ms of
# PostgreSQL's CPU per claim, more than running it. Generic plans cannot use a partial index
# whose predicate hides behind a parameter, hence the status as a literal; and "anything
# urgent?" asks min(due_at), which an index answers whatever the parameters, where an EXISTS on
# an unknown date range was planned as a sequential scan (EXPLAIN ANALYZE, both checked).
# A claim of its own plans its whole transaction so (_SET_UP_A_CLAIM_OF_ITS_OWN: two statements
# fewer); the rest of it finds rows by key or by the settings, which no plan can know anyway.
_GENERIC_PLAN = ("SET LOCAL plan_cache_mode = force_generic_plan", [])
_PLAN_AS_USUAL = ("SET LOCAL plan_cache_mode TO DEFAULT", [])


def _queue_by_id(queue_id: int) -> db.Statement:
    return _queue_statement("id = %(queue)s", {"queue": queue_id})


def _queue_by_slug(slug: str, reviewer: User) -> db.Statement:
    """The queue with this slug if the reviewer works in it (visible_one's condition)."""
    where = "slug = %(slug)s"
    if not reviewer.is_superuser:
        where += " AND " + Queue.objects.works_in_sql(Queue._meta.db_table, "%(reviewer)s")
    return _queue_statement(where, {"slug": slug, "reviewer": reviewer.pk})


def _queue_statement(where: str, params: dict) -> db.Statement:
    """The queue's row, and the claim's settings from it (see _SETTINGS): the lease lasts
    lease_minutes; the urgent window is urgent_window (20% of the SLA, at least
    URGENT_WINDOW_MIN). The claim adds the parameter `now`."""
    return _queue_sql(where), {**params, "urgent_min": URGENT_WINDOW_MIN}


@cache
def _queue_sql(where: str) -> str:
    """Built once per condition (three in all): every claim sends it."""
    names = {key: name for key, (name, _) in _SETTINGS.items()}
    return f"""
SELECT {db.columns(Queue)},
       set_config('{names["queue"]}', id::text, true),
       set_config('{names["expires"]}',
                  (%(now)s + lease_minutes * interval '1 minute')::text, true),
       set_config('{names["urgent_before"]}',
                  (%(now)s + GREATEST(sla_minutes * interval '12 seconds', %(urgent_min)s))::text,
                  true)
  FROM {Queue._meta.db_table} WHERE {where}
"""  # noqa: S608 (table and column names only)


def _claim_postgresql(
    queue_statement: db.Statement, reviewer: User, now: dt.datetime, token: uuid.UUID
) -> tuple[Queue | None, Lease | None]:
    # Nested in a caller's transaction, the claim must not change how that one plans or commits.
    own_transaction = not connection.in_atomic_block
    for _ in range(CLAIM_ATTEMPTS):
        try:
            with db.atomic_ended_by_last_write():
                return _claim_in_one_round_trip(
                    own_transaction, queue_statement, reviewer, now, token
                )
        except IntegrityError:
            continue  # someone else opened a lease on that item first; try the next one
    return None, None


def _claim_in_one_round_trip(
    own_transaction: bool,
    queue_statement: db.Statement,
    reviewer: User,
    now: dt.datetime,
    token: uuid.UUID,
) -> tuple[Queue | None, Lease | None]:
    """The queue, the reviewer's open lease in it (which comes back as it is: nothing is taken
    then), the take, and the lease on what it took with the audit head's lock (which act only
    if something was taken), in one round trip; the audit event follows with the COMMIT."""
    params = {
        "status": Item.Status.PENDING,
        "reviewer": reviewer.pk,
        "now": now,
        "expired": Lease.End.EXPIRED,
        "token": token,
    }
    queue_sql, queue_params = queue_statement
    if own_transaction:
        set_up, plan_take, plan_after = _SET_UP_A_CLAIM_OF_ITS_OWN, [], []
    else:
        set_up, plan_take, plan_after = _FORGET_SETTINGS, [_GENERIC_PLAN], [_PLAN_AS_USUAL]
    results = db.batch(
        [
            set_up,
            (queue_sql, {**queue_params, "now": now}),
            (_HELD_CLAIM, params),
            *plan_take,
            (_TAKE_NEXT, params),
            *plan_after,
            (_END_STALE_CLAIMED, params),
            (_OPEN_CLAIMED_LEASE, params),
            audit_head_lock(only_if=f"{_CLAIMED} IS NOT NULL"),
        ]
    )
    queues, held, taken = results[1], results[2], results[2 + len(plan_take) + 1]
    stale_rows, opened, head = results[-3:]
    queue = db.instances_of(Queue, [row[:-3] for row in queues])[0] if queues else None
    if held:
        return queue, Lease.objects.get(pk=held[0][0])
    if not taken:
        return queue, None
    (lease_id, expires_at), (item_id, _) = opened[0], taken[0]
    lease = Lease(
        pk=lease_id,
        item_id=item_id,
        reviewer=reviewer,
        claimed_at=now,
        expires_at=expires_at,
        token=token,
    )
    db.mark_stored(lease)
    expired = _expired_events(item_id, stale_rows)
    return queue, _opened(lease, queue, reviewer, expired, head, status=Item.Status.PENDING)


_END_STALE_CLAIMED = f"""
UPDATE {Lease._meta.db_table} SET ended_at = %(now)s, "end" = %(expired)s
 WHERE item_id = {_CLAIMED} AND ended_at IS NULL
RETURNING token, reviewer_id, expires_at
"""  # noqa: S608 (table names only)
_OPEN_CLAIMED_LEASE = f"""
INSERT INTO {Lease._meta.db_table}
       (item_id, reviewer_id, token, claimed_at, expires_at, "end", release_reason, active_seconds)
SELECT {_CLAIMED}, %(reviewer)s, %(token)s, %(now)s, {_EXPIRES}, '', '', 0
 WHERE {_CLAIMED} IS NOT NULL
RETURNING id, expires_at
"""  # noqa: S608 (table names only)


def lease_claim_escalated(*, item: Item, lead: User, now: dt.datetime | None = None) -> Lease:
    """Lease one escalated item to a lead of its queue, to decide it in the workspace.

    The lead's own open lease on it comes back as is. Raises WorkflowError when another lead
    holds it or it is no longer escalated; PermissionDenied for someone who does not lead
    the queue (views answer 404 before it comes to that).
    """
    now = now or timezone.now()
    if not Queue.objects.led_by(lead).filter(pk=item.queue_id).exists():
        raise PermissionDenied("Only the queue's leads handle its escalations.")
    held = Lease.objects.filter(
        item=item, reviewer=lead, ended_at__isnull=True, expires_at__gt=now
    ).first()
    if held is not None and item.status == Item.Status.ESCALATED:
        return held
    try:
        with transaction.atomic():
            lease = _take(
                item_id=item.pk,
                queue=item.queue,
                reviewer=lead,
                now=now,
                status=Item.Status.ESCALATED,
            )
    except IntegrityError:
        lease = None
    if lease is None:
        raise WorkflowError(
            "Another lead is handling this item, or it is no longer escalated.", code="taken"
        )
    return lease


def _take(
    *,
    item_id: int,
    queue: Queue,
    reviewer: User,
    now: dt.datetime,
    status: str = Item.Status.PENDING,
    token: uuid.UUID | None = None,
) -> Lease | None:
    """Lease item_id to reviewer if it is still free in status; None if someone was faster.

    Leases the item ran out on are recorded as expired first. Must run inside a transaction,
    and is its last write (the audit event may carry the COMMIT).
    """
    expires_at = now + dt.timedelta(minutes=queue.lease_minutes)
    lease = Lease(
        item_id=item_id,
        reviewer=reviewer,
        claimed_at=now,
        expires_at=expires_at,
        token=token or uuid.uuid4(),
    )
    if connection.vendor == "postgresql":
        expired, head = _take_postgresql(lease, status=status)
    else:
        expired, head = _take_orm(lease, status=status), None
    if expired is None:
        return None
    return _opened(lease, queue, reviewer, expired, head, status=status)


def _opened(
    lease: Lease,
    queue: Queue,
    reviewer: User,
    expired: list[AuditEvent],
    head: list[tuple] | None,
    *,
    status: str,
) -> Lease:
    """Audit a lease just opened (after the events of the leases it ended), its transaction's
    last write; head: the audit head's rows if the caller locked it in its batch."""
    transaction.on_commit(partial(events.queue_changed, queue_id=queue.pk, slug=queue.slug))
    claimed = audit_event(
        obj=Item(pk=lease.item_id),  # the audit needs only its identity; spare a query
        action="review.item.claimed",
        actor=Actor.user(reviewer),
        data={
            "lease": str(lease.token),
            "expires_at": lease.expires_at.isoformat(),
            "status": status,
        },
    )
    # The audit chain's head is locked until commit: locked last, after every row lock.
    audit_append([*expired, claimed], head=head, last=True)
    return lease


_EXPIRY = Actor.system("lease-expiry")


def _take_orm(lease: Lease, *, status: str) -> list[AuditEvent] | None:
    won = (
        Item.objects.filter(pk=lease.item_id)
        .claimable(lease.claimed_at, status=status)
        .update(
            lease_holder=lease.reviewer, leased_until=lease.expires_at, updated_at=lease.claimed_at
        )
    )
    if won != 1:
        return None
    expired = [
        _end(stale, end=Lease.End.EXPIRED, now=lease.claimed_at, actor=_EXPIRY)
        for stale in Lease.objects.filter(item_id=lease.item_id, ended_at__isnull=True)
    ]
    lease.save(force_insert=True)
    return expired


# The same three writes as _take_orm (see _take_postgresql).
_WON = f"""EXISTS (SELECT 1 FROM {Item._meta.db_table} WHERE id = %(item)s
           AND lease_holder_id = %(reviewer)s AND leased_until = %(expires)s)"""
_TAKE_ITEM = f"""
UPDATE {Item._meta.db_table}
   SET lease_holder_id = %(reviewer)s, leased_until = %(expires)s, updated_at = %(now)s
 WHERE id = %(item)s AND status = %(status)s AND (leased_until IS NULL OR leased_until <= %(now)s)
"""
_END_STALE = f"""
UPDATE {Lease._meta.db_table} SET ended_at = %(now)s, "end" = %(expired)s
 WHERE item_id = %(item)s AND ended_at IS NULL AND {_WON}
RETURNING token, reviewer_id, expires_at
"""
_OPEN_LEASE = f"""
INSERT INTO {Lease._meta.db_table}
       (item_id, reviewer_id, token, claimed_at, expires_at, "end", release_reason, active_seconds)
SELECT %(item)s, %(reviewer)s, %(token)s, %(now)s, %(expires)s, '', '', 0 WHERE {_WON}
RETURNING id
"""


def _take_postgresql(lease: Lease, *, status: str) -> tuple[list[AuditEvent] | None, list[tuple]]:
    """The writes of _take_orm and the audit head's lock in one round trip (a pipeline): take
    the item if still free, end the leases it ran out on, open the new lease. The last two act
    only if the first won, which they see from the item row itself (same transaction,
    statements in order). Returns the expired leases' events (None if the take lost) and the
    locked head for audit_append."""
    params = {
        "item": lease.item_id,
        "reviewer": lease.reviewer_id,
        "expires": lease.expires_at,
        "now": lease.claimed_at,
        "status": status,
        "expired": Lease.End.EXPIRED,
        "token": lease.token,
    }
    _, stale_rows, opened, head = db.batch(
        [(_TAKE_ITEM, params), (_END_STALE, params), (_OPEN_LEASE, params), audit_head_lock()]
    )
    if not opened:
        return None, head
    lease.pk = opened[0][0]
    db.mark_stored(lease)
    return _expired_events(lease.item_id, stale_rows), head


def _expired_events(item_id: int, stale_rows: list[tuple]) -> list[AuditEvent]:
    """The audit events of the leases a take ended as run out (their token, reviewer_id and
    expires_at)."""
    return [
        _ended_event(
            item_id=item_id,
            token=token,
            reviewer_id=reviewer_id,
            expires_at=expires_at,
            end=Lease.End.EXPIRED,
            actor=_EXPIRY,
        )
        for token, reviewer_id, expires_at in stale_rows
    ]


def _end(lease: Lease, *, end: str, now: dt.datetime, actor: Actor, reason: str = "") -> AuditEvent:
    """End the lease; return its audit event for the caller to append once its writes are done."""
    lease.ended_at, lease.end, lease.release_reason = now, end, reason
    lease.save(update_fields=["ended_at", "end", "release_reason"])
    return _ended_event(
        item_id=lease.item_id,
        token=lease.token,
        reviewer_id=lease.reviewer_id,
        expires_at=lease.expires_at,
        end=end,
        actor=actor,
        reason=reason,
    )


def _ended_event(
    *,
    item_id: int,
    token: uuid.UUID,
    reviewer_id: int,
    expires_at: dt.datetime,
    end: str,
    actor: Actor,
    reason: str = "",
) -> AuditEvent:
    return audit_event(
        obj=Item(pk=item_id),
        action=f"review.lease.{end}",
        actor=actor,
        data={
            "lease": str(token),
            "reviewer": reviewer_id,
            "reason": reason,
            "expired_at": expires_at.isoformat(),
        },
    )


def lease_for_write(
    *, item_id: int, reviewer: User, lease_token: uuid.UUID | str, now: dt.datetime
) -> Lease:
    """The open lease the caller must hold to write to item_id, locked for this transaction,
    with its item and the item's queue.

    Must run inside a transaction. Raises WorkflowError with a sentence the reviewer can act on.
    """
    lease, _ = lease_and_rows_for_write(
        item_id=item_id, reviewer=reviewer, lease_token=lease_token, now=now
    )
    return lease


def lease_and_rows_for_write(
    *,
    item_id: int,
    reviewer: User,
    lease_token: uuid.UUID | str,
    now: dt.datetime,
    also: Sequence[db.Statement] = (),
    visible_to: User | None = None,
) -> tuple[Lease, list[list[tuple]]]:
    """lease_for_write, and the rows of the statements `also` read in the same round trip
    (the ORM's lease, item and queue were three, and a decision reads more).

    visible_to: a person the item must be visible to (in a queue they review or lead), checked
    in the same round trip and before the lease; Item.DoesNotExist if it is not.
    """
    try:
        token = uuid.UUID(str(lease_token))
    except ValueError as exc:
        raise ValidationError({"lease": ["is not a lease token"]}) from exc
    token_value = Lease._meta.get_field("token").get_db_prep_value(token, connection)
    visibility = [Queue.objects.holds_item_statement(visible_to, item_id)] if visible_to else []
    results = db.batch(
        [
            *visibility,
            db.select_statement(
                Lease, "token = %s AND item_id = %s", [token_value, item_id], lock=True
            ),
            db.select_statement(Item, "id = %s", [item_id]),
            db.select_statement(Queue, f"id = ({_QUEUE_OF_ITEM})", [item_id]),
            *also,
        ]
    )
    if visibility and not results.pop(0):
        raise Item.DoesNotExist(f"No item {item_id} in the queues of {visible_to}.")
    lease_rows, item_rows, queue_rows, *extra = results
    lease = db.instances_of(Lease, lease_rows)[0] if lease_rows else None
    if lease is None or lease.reviewer_id != reviewer.pk:
        raise WorkflowError(
            "You do not hold a lease on this item. Claim it first.", code="no_lease"
        )
    if lease.ended_at is not None:
        if lease.end == Lease.End.DECIDED:
            raise WorkflowError(
                "You already decided this item; nothing more was recorded.", code="already_decided"
            )
        raise WorkflowError(
            f"Your lease on this item ended ({lease.end}) at {lease.ended_at:%H:%M:%S} UTC; "
            "nothing was recorded. Claim the item again to continue.",
            code="lease_lost",
        )
    if lease.expires_at <= now:
        raise WorkflowError(
            f"Your lease on this item expired at {lease.expires_at:%H:%M:%S} UTC and it may now be "
            "with someone else; nothing was recorded. Claim the item again to continue.",
            code="lease_expired",
        )
    [item], [queue] = db.instances_of(Item, item_rows), db.instances_of(Queue, queue_rows)
    item.queue, lease.item = queue, item
    return lease, extra


_QUEUE_OF_ITEM = f"SELECT queue_id FROM {Item._meta.db_table} WHERE id = %s"  # noqa: S608


def lease_release(
    *, item_id: int, reviewer: User, lease_token: uuid.UUID | str, reason: str
) -> Item:
    """Give an item back to the queue unreviewed. The reason is required and audited."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": ["say why you are releasing this item"]})
    now = timezone.now()
    with transaction.atomic():
        lease = lease_for_write(
            item_id=item_id, reviewer=reviewer, lease_token=lease_token, now=now
        )
        released = _end(
            lease,
            end=Lease.End.RELEASED,
            now=now,
            actor=Actor.user(reviewer),
            reason=reason.strip(),
        )
        Item.objects.filter(pk=item_id, lease_holder=reviewer).update(
            lease_holder=None, leased_until=None, updated_at=now
        )
        audit_append([released])
        queue = lease.item.queue
        transaction.on_commit(partial(events.queue_changed, queue_id=queue.pk, slug=queue.slug))
        return Item.objects.get(pk=item_id)


def leases_close_expired(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Record leases that ran out as expired and free their items. Returns how many it closed.

    Housekeeping for the audit trail and the "who is reviewing" view; claiming never waits for
    it, because an expired lease is already free to the next claim.
    """
    now = now or timezone.now()
    closed = 0
    with transaction.atomic():
        stale = (
            Lease.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("item")
            .filter(ended_at__isnull=True, expires_at__lte=now)[:limit]
        )
        expired = []
        for lease in stale:
            expired.append(_end(lease, end=Lease.End.EXPIRED, now=now, actor=_EXPIRY))
            Item.objects.filter(
                pk=lease.item_id, lease_holder_id=lease.reviewer_id, leased_until__lte=now
            ).update(lease_holder=None, leased_until=None, updated_at=now)
            closed += 1
        audit_append(expired)
    return closed


def record_activity(lease: Lease, *, now: dt.datetime, reported_seconds: float | None) -> float:
    """Credit active review time to lease since it was last heard from; return the credit.

    The page reports how many seconds it was visible with the reviewer's input no older than
    ACTIVITY_GAP_SECONDS; the server credits at most the wall time since the last report, so a
    page cannot claim more than happened. Without a report (an API client), the server credits
    the wall time, capped at ACTIVITY_GAP_SECONDS. The caller saves the lease.
    """
    elapsed = max(0.0, (now - (lease.last_seen_at or lease.claimed_at)).total_seconds())
    if reported_seconds is None:
        credit = min(elapsed, ACTIVITY_GAP_SECONDS)
    else:
        credit = min(elapsed, max(0.0, reported_seconds))
    lease.active_seconds += credit
    lease.last_seen_at = now
    return credit


def lease_heartbeat(
    *, item_id: int, reviewer: User, lease_token: uuid.UUID | str, active_seconds: float | None
) -> Lease:
    """The review page is still open: credit active time and, if the reviewer was active,
    extend the lease by the queue's lease length from now. Raises WorkflowError if lost."""
    now = timezone.now()
    with transaction.atomic():
        lease = lease_for_write(
            item_id=item_id, reviewer=reviewer, lease_token=lease_token, now=now
        )
        credit = record_activity(lease, now=now, reported_seconds=active_seconds)
        fields = ["active_seconds", "last_seen_at"]
        if credit > 0:
            lease.expires_at = now + dt.timedelta(minutes=lease.item.queue.lease_minutes)
            fields.append("expires_at")
            Item.objects.filter(pk=item_id, lease_holder=reviewer).update(
                leased_until=lease.expires_at, updated_at=now
            )
        lease.save(update_fields=fields)
    return lease
