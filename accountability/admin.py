from django.contrib import admin

from accountability.models import AuditEvent, AuditHead, Session


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that must not be edited by hand: the audit trail, reviews, labels."""

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_label", "action", "target_type", "target_id"]
    list_filter = ["action", "actor_type"]
    search_fields = ["target_id", "actor_label", "request_id"]


@admin.register(AuditHead)
class AuditHeadAdmin(ReadOnlyAdmin):
    list_display = ["seq", "hash"]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """Who is signed in until when; deleting a session signs that person out."""

    list_display = ["user", "expire_date"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "expire_date"]  # never the signed session data
    readonly_fields = fields

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
