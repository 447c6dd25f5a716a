"""Every write that matters. Views, API, tasks and commands call these; nothing else writes."""

from review.services.assessing import items_assess_waiting
from review.services.automation import automation_resume, automation_stop
from review.services.decisions import FieldVerdictIn, item_decide
from review.services.ingest import IngestOutcome, IngestResult, items_ingest
from review.services.lead import item_override, item_reassign, item_send_back
from review.services.leases import (
    lease_claim_escalated,
    lease_claim_next,
    lease_claim_next_in,
    lease_heartbeat,
    lease_release,
    leases_close_expired,
)
from review.services.queues import queue_apply
from review.services.sla import items_flag_breached

__all__ = [
    "automation_resume",
    "automation_stop",
    "FieldVerdictIn",
    "IngestOutcome",
    "IngestResult",
    "item_decide",
    "item_override",
    "item_reassign",
    "item_send_back",
    "items_assess_waiting",
    "items_flag_breached",
    "items_ingest",
    "lease_claim_escalated",
    "lease_claim_next",
    "lease_claim_next_in",
    "lease_heartbeat",
    "lease_release",
    "leases_close_expired",
    "queue_apply",
]
