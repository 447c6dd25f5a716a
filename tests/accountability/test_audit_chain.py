"""The audit trail is a hash chain: tampering behind the application's back is detected."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from accountability.chain import chain_verify
from accountability.models import AuditEvent, AuditHead
from agents.payload import parse_item
from review import services
from review.services import FieldVerdictIn
from tests.conftest import postgres_only, run_concurrently, tamper
from tests.factories import (
    AgentFactory,
    QueueFactory,
    UserFactory,
    ingest,
    item_payload,
    reject_held,
)

pytestmark = pytest.mark.django_db


def _history(agent, queue, reviewer) -> None:  # noqa: ANN001
    for n in range(3):
        ingest(agent, external_id=f"h{n}")
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    services.item_decide(
        item_id=lease.item_id,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="approve",
        fields=[
            FieldVerdictIn(n, "correct")
            for n in ("policy_number", "loss_date", "amount", "claim_type")
        ],
    )


def _verify() -> str:
    out = StringIO()
    call_command("verify_audit", "--no-stored", stdout=out)
    return out.getvalue()


def test_the_chain_of_real_work_verifies(agent, queue, reviewer):
    _history(agent, queue, reviewer)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(
        later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:], strict=False)
    )
    assert "audit chain intact" in _verify()


def test_an_altered_event_is_found(agent, queue, reviewer):
    _history(agent, queue, reviewer)
    target = AuditEvent.objects.get(action="review.decision.recorded")
    tamper(
        "UPDATE accountability_auditevent SET actor_label = %s WHERE id = %s",
        ["mallory", target.pk],
    )
    with pytest.raises(CommandError, match=f"event {target.seq} was altered"):
        _verify()


def test_a_deleted_event_is_found(agent, queue, reviewer):
    _history(agent, queue, reviewer)
    tamper("DELETE FROM accountability_auditevent WHERE seq = 2")
    with pytest.raises(CommandError, match="event 2 is missing"):
        _verify()


def test_reordered_events_are_found(agent, queue, reviewer):
    _history(agent, queue, reviewer)
    tamper("UPDATE accountability_auditevent SET seq = seq + 1000 WHERE seq IN (2, 3)")
    tamper("UPDATE accountability_auditevent SET seq = 2 WHERE seq = 1003")
    tamper("UPDATE accountability_auditevent SET seq = 3 WHERE seq = 1002")
    assert not chain_verify().ok
    with pytest.raises(CommandError, match="does not link"):
        _verify()


def test_cutting_off_the_newest_events_is_found_by_a_checkpoint(agent, queue, reviewer, tmp_path):
    _history(agent, queue, reviewer)
    checkpoint = tmp_path / "checkpoint.json"
    call_command("audit_checkpoint", "--output", str(checkpoint), stdout=StringIO())
    last = AuditHead.objects.get().seq
    # A careful intruder also rewinds the head, so the chain alone looks whole.
    previous = AuditEvent.objects.get(seq=last - 1)
    tamper("DELETE FROM accountability_auditevent WHERE seq = %s", [last])
    tamper("UPDATE accountability_audithead SET seq = %s, hash = %s", [last - 1, previous.hash])
    assert "audit chain intact" in _verify()
    with pytest.raises(CommandError, match="the newest were removed"):
        call_command(
            "verify_audit", "--no-stored", "--checkpoint", str(checkpoint), stdout=StringIO()
        )


def test_a_forged_checkpoint_is_refused(agent, queue, reviewer, tmp_path):
    _history(agent, queue, reviewer)
    checkpoint = tmp_path / "checkpoint.json"
    call_command("audit_checkpoint", "--output", str(checkpoint), stdout=StringIO())
    checkpoint.write_text(checkpoint.read_text().replace('"count": ', '"count": 1'))
    with pytest.raises(CommandError, match="signature does not match"):
        call_command(
            "verify_audit", "--no-stored", "--checkpoint", str(checkpoint), stdout=StringIO()
        )


def test_checkpoints_in_the_file_storage_are_used_by_default(agent, queue, reviewer):
    _history(agent, queue, reviewer)
    call_command("audit_checkpoint", stdout=StringIO())
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "1 checkpoint(s) agree" in out.getvalue()


@postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE accountability_auditevent SET actor_label = 'mallory'",
        "DELETE FROM accountability_auditevent",
        "TRUNCATE accountability_auditevent",
    ],
)
def test_postgresql_refuses_to_change_the_trail(agent, sql):
    ingest(agent)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL accountability.allow_audit_truncate = 'off'")
        cursor.execute(sql)
    assert AuditEvent.objects.exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    reviewers = [UserFactory(username=f"r{n}") for n in range(4)]
    queue = QueueFactory(slug="claims", reviewers=reviewers)
    agents = [AgentFactory(queues=[queue]) for _ in range(4)]

    def ingest_many(agent, reviewer) -> None:  # noqa: ANN001
        for n in range(15):
            payload = item_payload(external_id=f"{agent.slug}-{n}")
            payload["fields"][0]["confidence"] = 0.4
            services.items_ingest(agent=agent, payloads=[parse_item(payload)[0]])
            lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
            if lease:
                reject_held(lease, reviewer, "concurrency test")

    errors = run_concurrently(ingest_many, list(zip(agents, reviewers, strict=True)), timeout=120)
    assert errors == []
    verdict = chain_verify()
    assert verdict.ok, verdict.problem
    assert verdict.events == AuditEvent.objects.count() > 4 * 15 * 2


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_waits_for_an_event_being_written_and_counts_it():
    # Claims commit without waiting for the disk; a checkpoint must only count what is
    # durable, so it takes the head's lock and commits synchronously (which flushes them).
    import threading

    from accountability.audit import Actor, audit_log
    from accountability.chain import checkpoint_make

    queue = QueueFactory(slug="checkpoint")
    audit_log(obj=queue, action="queue.created", actor=Actor.system())
    writing, release = threading.Event(), threading.Event()
    taken: list[dict] = []

    def write_slowly() -> None:
        with transaction.atomic():
            audit_log(obj=queue, action="queue.updated", actor=Actor.system())
            writing.set()
            release.wait(timeout=30)

    def checkpoint() -> None:
        writing.wait(timeout=30)
        taken.append(checkpoint_make())

    writer = threading.Thread(target=run_concurrently, args=(write_slowly, [()]))
    reader = threading.Thread(target=run_concurrently, args=(checkpoint, [()]))
    writer.start()
    reader.start()
    try:
        writing.wait(timeout=30)
        reader.join(timeout=0.5)
        assert taken == []  # still waiting for the event being written
    finally:
        release.set()
    writer.join(timeout=30)
    reader.join(timeout=30)
    assert taken[0]["count"] == AuditEvent.objects.count() == 2
    assert taken[0]["head_hash"] == AuditEvent.objects.order_by("seq").last().hash
