"""Assessing items that waited for their files to be processed."""

from __future__ import annotations

import random
from functools import partial

from django.db import transaction
from django.utils import timezone

from accountability.audit import Actor, audit_log
from agents.calibration.selectors import calibration_for
from agents.webhooks.outbox import webhook_enqueue_outcome
from review import events
from review.assessment import FieldSubmission, Submission, assess, automation_stopped, route
from review.models import Document, Item, ItemField, Reason
from review.services.files import WAITING_DOCUMENT, unreadable_documents


def items_assess_waiting(*, document: Document, rng: random.Random | None = None) -> int:
    """Assess and route every item that waited for `document` and now has all its files read.

    Called when a document's processing ends (ready or failed). Safe to call twice: an item
    leaves ASSESSING exactly once, guarded by a conditional update. Returns how many it routed.
    """
    waiting = (
        Item.objects.filter(status=Item.Status.ASSESSING, item_documents__document=document)
        .select_related("queue", "agent")
        .prefetch_related("fields", "item_documents__document")
        .distinct()
    )
    return sum(_assess(item, rng) for item in waiting)


def _assess(item: Item, rng: random.Random | None) -> bool:
    links = list(item.item_documents.all())
    files = {link.key: link.document for link in links}
    if any(doc.status in WAITING_DOCUMENT for doc in files.values()):
        return False  # another of its files is still being processed
    fields = list(item.fields.all())
    # The latest calibrators now, which may be newer than those applied at ingest.
    calibrated = calibration_for(item.agent_id).calibrate_fields(item.agent_version, fields)
    for f in fields:
        f.calibrated_confidence = c.value if (c := calibrated.get(f.name)) else None
    submission = Submission(
        fields=[
            FieldSubmission(f.name, f.value, f.confidence, f.evidence, f.alternatives, f.rationale)
            for f in fields
        ],
        documents={key: doc.text for key, doc in files.items()},
        confidence=item.confidence,
        unreadable=unreadable_documents(files),
        calibrated={name: c.value for name, c in calibrated.items()},
    )
    stopped = automation_stopped(item.queue, item.agent)
    routing = route(item.queue, submission, assess(item.queue, submission), rng, stopped=stopped)
    # Accepted now, once its files are read: a feed tailing by decision time must see it after
    # everything decided before this moment.
    now = timezone.now()
    with transaction.atomic():
        moved = Item.objects.filter(pk=item.pk, status=Item.Status.ASSESSING).update(
            status=routing.status,
            policy_version=item.queue.policy_version,
            is_qa_sample=routing.is_qa_sample,
            priority=routing.priority,
            decided_at=now if routing.status == Item.Status.AUTO_ACCEPTED else None,
        )
        if not moved:
            return False
        Reason.objects.bulk_create(Reason(**r.row(item.pk)) for r in routing.reasons)
        if calibrated:
            ItemField.objects.bulk_update(fields, ["calibrated_confidence"])
        webhook_enqueue_outcome(item, status=routing.status, decided_at=now)
        audit_log(
            obj=item,
            action="review.item.assessed",
            actor=Actor.system("document-processing"),
            data={
                "status": routing.status,
                "priority": routing.priority,
                "reasons": [{"code": r.code, "field": r.field_name} for r in routing.reasons],
                "calibrated": {
                    name: {"confidence": c.value, "calibrator": c.calibrator_id}
                    for name, c in calibrated.items()
                },
            },
        )
        queue = item.queue
        transaction.on_commit(partial(events.queue_changed, queue_id=queue.pk, slug=queue.slug))
    return True
