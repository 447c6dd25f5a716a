from django.contrib import admin

from accountability.admin import ReadOnlyAdmin
from review.models import (
    DailyFieldStats,
    DailyReviewerStats,
    DailyStats,
    Document,
    DocumentPage,
    FieldLabel,
    Item,
    ItemDocument,
    ItemField,
    Lease,
    Queue,
    QueuePolicyVersion,
    Reason,
    Review,
    RollupDay,
)


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    """Prefer `manage.py applyqueues`: policy then lives in version control, and is audited."""

    list_display = [
        "slug",
        "name",
        "default_threshold",
        "qa_sample_rate",
        "sla_minutes",
        "lease_minutes",
    ]
    filter_horizontal = ["reviewers", "leads"]


class ItemFieldInline(admin.TabularInline):
    model = ItemField
    extra = 0
    can_delete = False
    readonly_fields = [
        "name",
        "value",
        "confidence",
        "evidence",
        "alternatives",
        "final_value",
        "verdict",
    ]
    fields = readonly_fields

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


class ReasonInline(admin.TabularInline):
    model = Reason
    extra = 0
    can_delete = False
    readonly_fields = ["code", "field_name", "message", "blocking"]
    fields = readonly_fields

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "queue",
        "agent",
        "external_id",
        "status",
        "priority",
        "due_at",
        "lease_holder",
    ]
    list_filter = ["status", "queue", "agent", "is_qa_sample"]
    search_fields = ["external_id"]
    inlines = [ItemFieldInline, ReasonInline]
    list_select_related = ["queue", "agent", "lease_holder"]


for model, columns in [
    (Document, ["sha256", "content_type", "status", "page_count", "size_bytes", "created_at"]),
    (DocumentPage, ["document", "number", "width", "height"]),
    (ItemDocument, ["item", "key", "document"]),
    (Lease, ["item", "reviewer", "claimed_at", "expires_at", "ended_at", "end"]),
    (Review, ["item", "reviewer", "decision", "reason", "decided_at", "active_seconds"]),
    (ItemField, ["item", "name", "confidence", "verdict"]),
    (QueuePolicyVersion, ["queue", "version", "changed_by", "reason", "created_at"]),
    (Reason, ["item", "code", "field_name", "blocking"]),
    (FieldLabel, ["review", "field", "verdict"]),
    # Dashboard rollups: recomputed from the items, never edited.
    (RollupDay, ["day", "computed_at"]),
    (DailyStats, ["day", "queue", "agent", "agent_version", "arrivals", "auto_accepted"]),
    (DailyFieldStats, ["day", "queue", "agent", "field_name", "labeled", "corrected"]),
    (DailyReviewerStats, ["day", "queue", "reviewer", "reviews", "active_seconds"]),
]:
    admin.site.register(
        model, type(f"{model.__name__}Admin", (ReadOnlyAdmin,), {"list_display": columns})
    )
