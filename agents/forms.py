"""The agent page's forms. They check the shape of the input; the services check the rules
(a webhook URL's scheme and address, a stop reason) and their errors go back onto the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from agents.models import ApiToken, WebhookEndpoint, WebhookEvent


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        required=False,
        help_text="What uses it, e.g. “production worker”, to recognise it later.",
    )


class WebhookForm(forms.Form):
    # Not a URLField: the service says exactly why a URL is refused (scheme, private address).
    url = forms.CharField(label="URL", max_length=WebhookEndpoint._meta.get_field("url").max_length)
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    enabled = forms.BooleanField(required=False, help_text="Send events to this URL.")

    @classmethod
    def for_endpoint(cls, endpoint: WebhookEndpoint | None) -> WebhookForm:
        if endpoint is None:
            return cls(initial={"events": list(WebhookEvent.values), "enabled": True})
        initial = {"url": endpoint.url, "events": endpoint.events, "enabled": endpoint.enabled}
        return cls(initial=initial)


class AutomationForm(forms.Form):
    """Stop or resume auto-acceptance of the agent's outputs; the reason goes to the audit trail."""

    stop = forms.TypedChoiceField(
        choices=[("1", "stop"), ("0", "resume")],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
    )
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why automation is stopped or resumed."},
    )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError onto the form: by field where it names one."""
    messages: dict[str, Any] = error.message_dict if hasattr(error, "error_dict") else {}
    if not messages:
        form.add_error(None, error.messages)
        return
    for name, errors in messages.items():
        form.add_error(name if name in form.fields else None, errors)
