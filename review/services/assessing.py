"""Assessing items that waited for their files to be processed."""

from __future__ import annotations

import random
from functools import partial

from django.db import transaction

from accountability.audit import Actor, audit_log
from review import events
from review.assessment import FieldSubmission, Submission, assess, automation_stopped, route
from review.models import Document, Item, Reason
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
    submission = Submission(
        fields=[
            FieldSubmission(f.name, f.value, f.confidence, f.evidence, f.alternatives, f.rationale)
            for f in item.fields.all()
        ],
        documents={key: doc.text for key, doc in files.items()},
        confidence=item.confidence,
        unreadable=unreadable_documents(files),
    )
    stopped = automation_stopped(item.queue, item.agent)
    routing = route(item.queue, submission, assess(item.queue, submission), rng, stopped=stopped)
    with transaction.atomic():
        moved = Item.objects.filter(pk=item.pk, status=Item.Status.ASSESSING).update(
            status=routing.status,
            policy_version=item.queue.policy_version,
            is_qa_sample=routing.is_qa_sample,
            priority=routing.priority,
            decided_at=item.created_at if routing.status == Item.Status.AUTO_ACCEPTED else None,
        )
        if not moved:
            return False
        Reason.objects.bulk_create(Reason(**r.row(item.pk)) for r in routing.reasons)
        audit_log(
            obj=item,
            action="review.item.assessed",
            actor=Actor.system("document-processing"),
            data={
                "status": routing.status,
                "priority": routing.priority,
                "reasons": [{"code": r.code, "field": r.field_name} for r in routing.reasons],
            },
        )
        queue = item.queue
        transaction.on_commit(partial(events.queue_changed, queue_id=queue.pk, slug=queue.slug))
    return True
