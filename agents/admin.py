from django.contrib import admin

from accountability.admin import ReadOnlyAdmin
from agents.calibration.models import Calibrator
from agents.models import Agent, ApiToken, WebhookAttempt, WebhookDelivery, WebhookEndpoint


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


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """Owners set webhooks on the agent page or through the API (validated, audited)."""

    list_display = ["agent", "url", "enabled", "disabled_reason", "updated_at"]
    exclude = ["secret", "previous_secret"]


for model, columns in [
    (WebhookDelivery, ["webhook_id", "endpoint", "event_type", "item", "status", "created_at"]),
    (WebhookAttempt, ["delivery", "attempted_at", "status_code", "latency_ms", "error"]),
    (Calibrator, ["agent", "agent_version", "field_name", "version", "method", "fitted_at"]),
]:
    admin.site.register(
        model, type(f"{model.__name__}Admin", (ReadOnlyAdmin,), {"list_display": columns})
    )
