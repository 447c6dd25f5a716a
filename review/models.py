"""Queues, the items agents send, their fields and reasons for doubt, leases and reviews."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accountability import db


class FieldType(models.TextChoices):
    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"


URGENT_WINDOW_MIN = dt.timedelta(minutes=15)


class QueueQuerySet(models.QuerySet["Queue"]):
    def visible_to(self, user: settings.AUTH_USER_MODEL) -> QueueQuerySet:
        """Queues a person works in: as reviewer or lead; staff admins see all."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self.all()
        # EXISTS rather than joins and DISTINCT: no sort of every column of the joined rows on
        # each request, and the queryset stays usable where DISTINCT is not (aggregates).
        as_reviewer = self.model.reviewers.through.objects.filter(queue=OuterRef("pk"), user=user)
        as_lead = self.model.leads.through.objects.filter(queue=OuterRef("pk"), user=user)
        return self.filter(Exists(as_reviewer) | Exists(as_lead))

    # The hot paths ask about one queue or one item (every claim, every decision). Building
    # visible_to's two EXISTS with the ORM took 1.2 ms there, four times the plain query.
    def visible_one(self, user: settings.AUTH_USER_MODEL, slug: str) -> Queue | None:
        """The queue with this slug if visible_to(user) holds it, else None."""
        if not user.is_authenticated or user.is_superuser:
            return self.visible_to(user).filter(slug=slug).first()
        table = self.model._meta.db_table
        where = f"slug = %s AND {self.works_in_sql(table)}"
        return db.first(self.model, where, [slug, user.pk, user.pk])

    def holds_item(self, user: settings.AUTH_USER_MODEL, item_id: int) -> bool:
        """Whether the item is in a queue visible_to(user)."""
        if not user.is_authenticated:
            return False
        return bool(db.values(*self.holds_item_statement(user, item_id)))

    def holds_item_statement(self, user: settings.AUTH_USER_MODEL, item_id: int) -> db.Statement:
        """holds_item as a statement (a row if it holds), for a caller's batch; a person's."""
        if user.is_superuser:
            return f"SELECT 1 FROM {Item._meta.db_table} WHERE id = %s", [item_id]  # noqa: S608
        sql = f"""SELECT 1 FROM {Item._meta.db_table} i JOIN {self.model._meta.db_table} q
                   ON q.id = i.queue_id WHERE i.id = %s AND {self.works_in_sql("q")}"""  # noqa: S608
        return sql, [item_id, user.pk, user.pk]

    def works_in_sql(self, queue: str, person: str = "%s") -> str:
        """SQL: the person reviews or leads the queue (the table or alias named `queue`);
        person: the placeholder of their id (positional: the id goes in twice)."""
        reviewers = self.model.reviewers.through._meta.db_table
        leads = self.model.leads.through._meta.db_table
        return f"""(EXISTS (SELECT 1 FROM {reviewers} r
                             WHERE r.queue_id = {queue}.id AND r.user_id = {person})
                 OR EXISTS (SELECT 1 FROM {leads} l
                             WHERE l.queue_id = {queue}.id AND l.user_id = {person}))"""

    def led_by(self, user: settings.AUTH_USER_MODEL) -> QueueQuerySet:
        """Queues whose escalations and lead actions a person may handle; superusers: all."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(leads=user)


class Queue(models.Model):
    """Where items wait for people, and the routing policy that decides which items do.

    field_schema is a list of {name, type, required, threshold, enum, pattern}; see
    review.schema for its validation. A field without its own threshold uses default_threshold.
    """

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    field_schema = models.JSONField(default=list, blank=True)
    default_threshold = models.FloatField(default=0.85)
    qa_sample_rate = models.FloatField(
        default=0.02, help_text="Share of auto-accept candidates sent to QA."
    )
    # Adaptive QA sampling: when set, a daily job moves qa_sample_rate to what keeps the weekly
    # escaped-error interval within ± this (0.005 = ±0.5 points); empty: the rate stays fixed.
    qa_adaptive_width = models.FloatField(null=True, blank=True)
    alternative_margin = models.FloatField(
        default=0.10,
        help_text="An alternative this close to the chosen value's confidence raises doubt.",
    )
    sla_minutes = models.PositiveIntegerField(default=240)
    lease_minutes = models.PositiveIntegerField(default=10)
    blind_review = models.BooleanField(
        default=False, help_text="Hide agent confidences from reviewers."
    )
    double_review_rate = models.FloatField(
        default=0.0,
        help_text="Share of human-reviewed items reviewed again, blind, by another reviewer.",
    )
    target_error_rate = models.FloatField(
        default=0.01,
        help_text="Highest acceptable share of auto-accepted items with any wrong value (whole "
        "items, not fields); the threshold advice aims for it.",
    )
    # Bumped by every change of the routing policy; items record the version they were routed by.
    policy_version = models.PositiveIntegerField(default=1)
    # The stop switch: while set, nothing in this queue is auto-accepted.
    automation_stopped_at = models.DateTimeField(null=True, blank=True)
    automation_stop_reason = models.TextField(blank=True)
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="review_queues"
    )
    leads = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="led_queues")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = QueueQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_threshold__gte=0, default_threshold__lte=1),
                name="queue_threshold_0_1",
            ),
            models.CheckConstraint(
                condition=Q(qa_sample_rate__gte=0, qa_sample_rate__lte=1), name="queue_qa_rate_0_1"
            ),
            models.CheckConstraint(condition=Q(lease_minutes__gte=1), name="queue_lease_min_1"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def urgent_window(self) -> dt.timedelta:
        """How long before its due time an item jumps the claim order: 20% of the SLA, at least
        URGENT_WINDOW_MIN, so that short SLAs still leave someone time to do the work."""
        return max(dt.timedelta(minutes=self.sla_minutes * 0.2), URGENT_WINDOW_MIN)

    def field_spec(self, name: str) -> dict | None:
        # Asked for every field of every item at ingest (a 500-item batch: 24,000 times), so the
        # specs are indexed by name once per schema, and again if the schema is replaced.
        schema, by_name = self.__dict__.get("_specs_by_name", (None, {}))
        if schema is not self.field_schema:
            by_name = {spec.get("name"): spec for spec in reversed(self.field_schema)}
            self.__dict__["_specs_by_name"] = (self.field_schema, by_name)
        return by_name.get(name)

    def threshold_for(self, name: str) -> float:
        spec = self.field_spec(name) or {}
        threshold = spec.get("threshold")
        return self.default_threshold if threshold is None else float(threshold)


class QueuePolicyVersion(models.Model):
    """One version of a queue's routing policy: what it was, who set it, when and why."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="policy_versions")
    version = models.PositiveIntegerField()
    policy = models.JSONField()  # thresholds, sample rate, margins, SLA, lease, schema
    reason = models.TextField()
    changed_by = models.CharField(max_length=200)  # an actor label, kept if the user goes
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["queue", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "version"], name="policy_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.queue_id} policy v{self.version}"


class Document(models.Model):
    """Source data an agent worked from. Identical content is stored once (sha256).

    Plain text lives in `text`. Files (PDF, images, HTML, e-mail) keep their original bytes in
    `file` (through Django's storage API) and are processed by a Celery task into `pages`
    (rendered images with the text layer and a box per character) and, for HTML and e-mail,
    sanitised `html`. `text` then holds the whole document's text, pages joined by form feeds,
    so that quotes are located the same way in every kind of document.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        PROCESSING = "processing", "Being processed"
        READY = "ready", "Ready"
        FAILED = "failed", "Processing failed"

    sha256 = models.CharField(max_length=64, unique=True)
    content_type = models.CharField(max_length=100)  # sniffed from the content, never trusted
    text = models.TextField(blank=True)
    size_bytes = models.PositiveIntegerField()
    file = models.FileField(upload_to="documents/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255, blank=True)  # as the agent named it
    status = models.CharField(max_length=12, choices=Status, default=Status.READY)
    # Why processing failed (kept across retries), and conditions a reviewer must be told about:
    # "encrypted", "corrupt", "no_text_layer", "truncated" (more pages than the limit).
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    flags = models.JSONField(default=list, blank=True)
    page_count = models.PositiveIntegerField(default=0)
    html = models.TextField(blank=True)  # sanitised (nh3), for text/html and message/rfc822
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The agents that sent this content: only they may refer to it by id in an item.
    agents = models.ManyToManyField("agents.Agent", blank=True, related_name="documents")

    def __str__(self) -> str:
        return f"{self.content_type} {self.sha256[:12]}"


class DocumentPage(models.Model):
    """One rendered page of a PDF or image: what the viewer shows and evidence boxes sit on."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField()  # from 1
    image = models.FileField(upload_to="pages/%Y/%m/")
    width = models.PositiveIntegerField()  # of the image, in pixels
    height = models.PositiveIntegerField()
    # Where this page's text starts in Document.text, and one box per character of it as a flat
    # list [x0, y0, x1, y1, ...] in ten-thousandths of the page's width and height (top-left
    # origin). Empty for an image without a text layer.
    text_offset = models.PositiveIntegerField(default=0)
    text_length = models.PositiveIntegerField(default=0)
    char_boxes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="page_unique_number")
        ]

    def __str__(self) -> str:
        return f"page {self.number} of document {self.document_id}"


class ItemQuerySet(models.QuerySet["Item"]):
    def waiting(self) -> ItemQuerySet:
        return self.filter(status=Item.Status.PENDING)

    def claimable(
        self, now: timezone.datetime | None = None, *, status: str | None = None
    ) -> ItemQuerySet:
        """Items in status (default: waiting for review) nobody holds: never leased, or whose
        lease ran out (no sweeper needed). Leads claim escalated items the same way."""
        now = now or timezone.now()
        return self.filter(status=status or Item.Status.PENDING).filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now)
        )

    def urgent(self, queue: Queue, now: timezone.datetime) -> ItemQuerySet:
        """Items about to breach their SLA: due within the queue's urgent window (or overdue)."""
        return self.filter(due_at__lte=now + queue.urgent_window)

    def in_claim_order(self) -> ItemQuerySet:
        """By risk, then due time. Claim-next looks at urgent items first (leases.py)."""
        return self.order_by("-priority", "due_at", "id")


class Item(models.Model):
    """One agent output under review."""

    class Status(models.TextChoices):
        ASSESSING = "assessing", "Waiting for its documents to be processed"
        PENDING = "pending_review", "Waiting for review"
        AUTO_ACCEPTED = "auto_accepted", "Auto-accepted"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        ESCALATED = "escalated", "Escalated to a lead"

    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="items")
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="items")
    agent_version = models.CharField(max_length=80, blank=True)
    external_id = models.CharField(max_length=200)  # the agent's own id: the idempotency key
    payload_sha256 = models.CharField(max_length=64)  # to tell a retry from a conflicting reuse
    policy_version = models.PositiveIntegerField(null=True, blank=True)  # the queue's, at routing
    status = models.CharField(max_length=16, choices=Status)
    is_qa_sample = models.BooleanField(default=False)
    priority = models.IntegerField(default=0, help_text="Risk score: higher is reviewed first.")
    due_at = models.DateTimeField()
    confidence = models.FloatField(null=True, blank=True)
    rationale = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Denormalised from the active Lease so that claim-next is one indexed query.
    # Not indexed: then a claim changes no indexed column, and PostgreSQL updates the row in
    # place (HOT, with the table's free space: migration 0014) instead of adding an entry to
    # each of the item's indexes, at the head of the claim order where every claim reads.
    lease_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    leased_until = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Set once by the SLA job when the item was still waiting at due_at (it is then escalated).
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    # Set while the item waits for a blind second review: never handed back to its first reviewer.
    first_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # While a lead has sent the item back: the review being reworked. The rework's outcome is
    # the item's next review (see selectors.rework_outcome); the first review stays as it was.
    rework_of = models.ForeignKey(
        "review.Review", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "external_id"], name="item_unique_agent_external_id"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=1),
                name="item_confidence_0_1",
            ),
        ]
        indexes = [
            models.Index(
                "queue",
                models.F("priority").desc(),
                "due_at",
                "id",
                condition=Q(status="pending_review"),
                name="item_claim_order",
            ),
            # Is anything in the queue urgent? (claim-next: leases.py)
            models.Index(
                "queue", "due_at", condition=Q(status="pending_review"), name="item_pending_due"
            ),
            models.Index(
                fields=["queue", "status", "created_at"], name="item_queue_status_created"
            ),
            # The dashboards' day-by-day counts: arrivals by day, decisions by day.
            models.Index(fields=["created_at"], name="item_created"),
            models.Index(fields=["decided_at"], name="item_decided"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.agent_id}/{self.external_id}"

    @property
    def is_decided(self) -> bool:
        return self.status in {
            self.Status.APPROVED,
            self.Status.REJECTED,
            self.Status.AUTO_ACCEPTED,
        }


class ItemDocument(models.Model):
    """A document as one item refers to it, under the key its evidence uses."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="item_documents")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["item", "key"], name="item_document_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} of item {self.item_id}"


class Verdict(models.TextChoices):
    CORRECT = "correct", "Correct"
    CORRECTED = "corrected", "Corrected"
    UNDETERMINABLE = "undeterminable", "Not determinable from the source"


class CorrectionReason(models.TextChoices):
    """Why a value was corrected: countable, unlike free-text notes."""

    WRONG_VALUE = "wrong_value", "Wrong value"
    MISREAD = "misread", "Misread characters"
    WRONG_PLACE = "wrong_place", "Wrong place in the source"
    NOT_IN_SOURCE = "not_in_source", "Not in the source (invented)"
    FORMATTING = "formatting", "Formatting only"
    OTHER = "other", "Other (say what)"


class RejectReason(models.TextChoices):
    WRONG_DOCUMENT = "wrong_document", "Wrong or unrelated document"
    ILLEGIBLE = "illegible", "Source illegible or incomplete"
    DUPLICATE = "duplicate", "Duplicate submission"
    OUT_OF_SCOPE = "out_of_scope", "Out of scope for this queue"
    OTHER = "other", "Other (say what)"


class EscalateReason(models.TextChoices):
    POLICY_QUESTION = "policy_question", "Policy or rule question"
    SUSPECTED_FRAUD = "suspected_fraud", "Suspected fraud"
    NEEDS_SPECIALIST = "needs_specialist", "Needs a specialist"
    OTHER = "other", "Other (say what)"


class SkipReason(models.TextChoices):
    CONFLICT_OF_INTEREST = "conflict_of_interest", "Conflict of interest"
    NEEDS_SPECIALIST = "needs_specialist", "Needs a specialist"
    NO_TIME = "no_time", "Out of time, leaving it for someone else"
    OTHER = "other", "Other (say what)"


class ItemField(models.Model):
    """One value in an item, with the agent's confidence and evidence, and its final verdict."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    value = models.JSONField(null=True)
    confidence = models.FloatField(null=True, blank=True)
    # The agent's confidence mapped through its calibrator (agents.calibration), at routing.
    calibrated_confidence = models.FloatField(null=True, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    alternatives = models.JSONField(default=list, blank=True)
    rationale = models.TextField(blank=True)
    final_value = models.JSONField(null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["item", "name"], name="item_field_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value!r}"


class Reason(models.Model):
    """One structured cause of doubt: why an item is in front of a person."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reasons")
    code = models.CharField(max_length=40)
    field_name = models.CharField(max_length=100, blank=True)  # blank: about the whole item
    message = models.TextField()
    blocking = models.BooleanField(help_text="Blocks auto-acceptance.")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.code}({self.field_name or '-'})"


class Lease(models.Model):
    """A timed claim on an item. The token must accompany every write the holder makes."""

    class End(models.TextChoices):
        DECIDED = "decided"
        RELEASED = "released"
        EXPIRED = "expired"
        REASSIGNED = "reassigned"  # a lead gave the item to someone else

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="leases")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leases"
    )
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    claimed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end = models.CharField(max_length=10, choices=End, blank=True)
    release_reason = models.TextField(blank=True)
    # Active review time so far, and when the holder was last heard from (see services.activity).
    active_seconds = models.FloatField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The database itself refuses a second open lease on one item.
            models.UniqueConstraint(
                fields=["item"], condition=Q(ended_at__isnull=True), name="lease_one_open_per_item"
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(ended_at__isnull=True), name="lease_open_expiry"
            ),
            # "Does this reviewer hold a lease already?" (every claim): without it, PostgreSQL
            # read every lease the reviewer ever had (1.5 ms at 20,000, growing with history).
            models.Index(
                fields=["reviewer"],
                condition=Q(ended_at__isnull=True),
                name="lease_open_by_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"lease {self.token} on item {self.item_id}"


class Review(models.Model):
    """One reviewer's pass over an item, ending in a decision."""

    class Decision(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"
        ESCALATE = "escalate"

    # Indexed with the decision time (review_item_latest), not alone.
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="reviews", db_index=False)
    # None only for a lead's override, which needs no lease: the item was already decided.
    lease = models.OneToOneField(
        Lease, null=True, blank=True, on_delete=models.PROTECT, related_name="review"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=10, choices=Decision)
    reason = models.CharField(max_length=60, blank=True)
    comment = models.TextField(blank=True)
    started_at = models.DateTimeField()
    decided_at = models.DateTimeField()
    active_seconds = models.FloatField(null=True, blank=True)
    # A lead replaced an earlier outcome (a review or an auto-acceptance) with this one.
    is_override = models.BooleanField(default=False)
    # A blind second review points at the first; agreement is {field: agreed?} plus "decision".
    second_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="second_review"
    )
    agreement = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["decided_at"]
        indexes = [
            models.Index(fields=["decided_at"], name="review_decided"),
            # An item's reviews, latest first (every reviewer answer shows the latest). With
            # item_id alone, a prepared statement's generic plan walked review_decided backwards
            # through every review ever made (4 ms at 27,000 reviews, growing with history).
            models.Index(fields=["item", "decided_at", "id"], name="review_item_latest"),
            # Overrides are rare; "was this item overridden?" (dashboards) must not scan the rest.
            models.Index(fields=["item"], condition=Q(is_override=True), name="review_overrides"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} of item {self.item_id} by {self.reviewer_id}"

    @property
    def reason_label(self) -> str:
        """The reason code in words, for people; the code itself if it is not a known one."""
        choices = {self.Decision.REJECT: RejectReason, self.Decision.ESCALATE: EscalateReason}
        labels = dict(choices[self.decision].choices) if self.decision in choices else {}
        return labels.get(self.reason, self.reason)


class FieldLabel(models.Model):
    """The verdict on one field in one review: the labeled feedback agents learn from."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="labels")
    field = models.ForeignKey(ItemField, on_delete=models.CASCADE, related_name="labels")
    verdict = models.CharField(max_length=16, choices=Verdict)
    original_value = models.JSONField(null=True)
    final_value = models.JSONField(null=True)
    correction_reason = models.CharField(max_length=20, choices=CorrectionReason, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "field"], name="label_unique_per_review")
        ]

    def __str__(self) -> str:
        return f"{self.verdict} on field {self.field_id}"


# --- Daily rollups for the dashboards ------------------------------------------------------
# Complete days only (in settings.REPORT_TIME_ZONE); today is always computed live from the
# items themselves. review/dashboard/rollups.py says how each number is computed.


class RollupDay(models.Model):
    """A day whose rollup rows are stored, and when they were computed."""

    day = models.DateField(unique=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"rollup {self.day}"


class DailyStats(models.Model):
    """One day's workload and quality measures for one queue, agent and agent version."""

    day = models.DateField()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    agent_version = models.CharField(max_length=80, blank=True)
    # By arrival day.
    arrivals = models.PositiveIntegerField(default=0)
    auto_accepted = models.PositiveIntegerField(default=0)
    qa_sampled = models.PositiveIntegerField(default=0)
    # By decision day.
    first_reviews = models.PositiveIntegerField(default=0)  # items a person reviewed first
    reviews = models.PositiveIntegerField(default=0)  # every pass: second reviews, overrides too
    approved = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    overrides = models.PositiveIntegerField(default=0)
    qa_decided = models.PositiveIntegerField(default=0)
    qa_wrong = models.PositiveIntegerField(default=0)
    finished = models.PositiveIntegerField(default=0)  # items a person brought to approved/rejected
    finished_in_sla = models.PositiveIntegerField(default=0)
    timed_reviews = models.PositiveIntegerField(default=0)  # reviews with a measured active time
    active_seconds = models.FloatField(default=0)
    active_histogram = models.JSONField(default=list)  # counts per ACTIVE_TIME_BUCKETS
    # At the end of the day.
    backlog = models.PositiveIntegerField(default=0)
    oldest_waiting_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "queue", "agent", "agent_version"], name="daily_stats_unique"
            )
        ]
        indexes = [models.Index(fields=["day", "queue"], name="daily_stats_day_queue")]

    def __str__(self) -> str:
        return f"{self.day} {self.queue_id}/{self.agent_id}/{self.agent_version}"


class DailyFieldStats(models.Model):
    """Labels on one field from first reviews decided that day."""

    day = models.DateField()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    agent_version = models.CharField(max_length=80, blank=True)
    field_name = models.CharField(max_length=100)
    labeled = models.PositiveIntegerField(default=0)
    corrected = models.PositiveIntegerField(default=0)
    undeterminable = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "queue"], name="daily_field_day_queue")]

    def __str__(self) -> str:
        return f"{self.day} {self.field_name}"


class DailyReviewerStats(models.Model):
    """One reviewer's work in one queue on one day."""

    day = models.DateField()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reviews = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    timed_reviews = models.PositiveIntegerField(default=0)
    active_seconds = models.FloatField(default=0)
    active_histogram = models.JSONField(default=list)
    fields_labeled = models.PositiveIntegerField(default=0)
    fields_corrected = models.PositiveIntegerField(default=0)
    # Double reviews this reviewer took part in (either side), decided that day.
    fields_compared = models.PositiveIntegerField(default=0)
    fields_agreed = models.PositiveIntegerField(default=0)
    decisions_compared = models.PositiveIntegerField(default=0)
    decisions_agreed = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "reviewer"], name="daily_reviewer_day")]

    def __str__(self) -> str:
        return f"{self.day} reviewer {self.reviewer_id}"
