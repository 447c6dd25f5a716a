from django.contrib import admin

from accountability.admin import ReadOnlyAdmin
from agents.models import Agent, ApiToken


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "owner", "team", "active"]
    list_filter = ["active", "team"]
    search_fields = ["slug", "name"]
    filter_horizontal = ["queues"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are created by `manage.py createagent/createtoken` (shown once) and never edited."""

    list_display = ["prefix", "agent", "user", "name", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]
