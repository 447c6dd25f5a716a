"""The stop switch: halt auto-acceptance for a queue or an agent at once, and resume it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accountability.audit import Actor, audit_log
from agents.models import Agent
from review.models import Queue


def automation_stop(*, target: Queue | Agent, actor: Actor, reason: str) -> None:
    """From now on every output of this queue or agent goes to a person. Audited; needs a reason."""
    _switch(target=target, actor=actor, reason=reason, stop=True)


def automation_resume(*, target: Queue | Agent, actor: Actor, reason: str) -> None:
    _switch(target=target, actor=actor, reason=reason, stop=False)


def _switch(*, target: Queue | Agent, actor: Actor, reason: str, stop: bool) -> None:
    if not reason.strip():
        raise ValidationError({"reason": ["say why automation is stopped or resumed"]})
    with transaction.atomic():
        model = type(target)
        locked = model.objects.select_for_update().get(pk=target.pk)
        before = locked.automation_stopped_at is not None
        locked.automation_stopped_at = timezone.now() if stop else None
        locked.automation_stop_reason = reason.strip() if stop else ""
        locked.save(update_fields=["automation_stopped_at", "automation_stop_reason"])
        audit_log(
            obj=locked,
            action="review.automation.stopped" if stop else "review.automation.resumed",
            actor=actor,
            data={"reason": reason.strip(), "stopped_before": before, "stopped_after": stop},
        )
    target.automation_stopped_at = locked.automation_stopped_at
    target.automation_stop_reason = locked.automation_stop_reason
