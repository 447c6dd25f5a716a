"""The feedback filters, read the same way by the API and the page (errors named by parameter)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core import signing

from agents.feedback.selectors import DECIDED, Filters, Position, Scope
from review.models import Item, Verdict

ISO_HELP = "not an ISO 8601 date-time, e.g. 2026-03-01T00:00:00Z"
LIMIT_DEFAULT, LIMIT_MAX = 100, 1000
CURSOR_SALT = "agents.feedback.cursor"


class FeedbackFilterForm(forms.Form):
    queue = forms.ModelChoiceField(
        queryset=None,
        to_field_name="slug",
        required=False,
        empty_label="Any queue",
        error_messages={"invalid_choice": "no queue you may read feedback from has this slug"},
    )
    agent = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Any agent",
        error_messages={"invalid_choice": "no agent you may read feedback of has this id"},
    )
    agent_version = forms.CharField(max_length=80, required=False)
    since = forms.DateTimeField(
        required=False, error_messages={"invalid": ISO_HELP}, help_text="decided at or after"
    )
    until = forms.DateTimeField(
        required=False, error_messages={"invalid": ISO_HELP}, help_text="decided before"
    )
    verdict = forms.ChoiceField(
        choices=[("", "Any"), *Verdict.choices],
        required=False,
        help_text="items with at least one field of this verdict",
    )
    decision = forms.ChoiceField(
        choices=[("", "Any"), *((s, Item.Status(s).label) for s in DECIDED)], required=False
    )

    def __init__(self, data: Any = None, *, scope: Scope) -> None:
        super().__init__(data)
        self.fields["queue"].queryset = scope.queues.order_by("name")
        self.fields["agent"].queryset = scope.agents.order_by("slug")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until <= since:
            self.add_error("until", "must be later than since")
        return cleaned

    def filters(self) -> Filters:
        """Only after is_valid()."""
        data = self.cleaned_data
        return Filters(
            queue=data["queue"],
            agent=data["agent"],
            agent_version=data["agent_version"],
            since=data["since"],
            until=data["until"],
            verdict=data["verdict"],
            decision=data["decision"],
        )


class FeedbackPageForm(FeedbackFilterForm):
    limit = forms.IntegerField(required=False, min_value=1, max_value=LIMIT_MAX)
    cursor = forms.CharField(required=False)

    def clean_limit(self) -> int:
        return self.cleaned_data["limit"] or LIMIT_DEFAULT

    def clean_cursor(self) -> Position | None:
        text = self.cleaned_data["cursor"]
        return cursor_decode(text) if text else None


class FeedbackExportForm(FeedbackFilterForm):
    format = forms.ChoiceField(choices=[])

    def __init__(self, data: Any = None, *, scope: Scope, formats: list[str]) -> None:
        super().__init__(data, scope=scope)
        self.fields["format"].choices = [(name, name) for name in formats]


def cursor_encode(position: Position) -> str:
    """Opaque and signed: a client can keep it, not forge or edit it."""
    return signing.dumps([position.decided_at.isoformat(), position.id], salt=CURSOR_SALT)


def cursor_decode(text: str) -> Position:
    try:
        moment, pk = signing.loads(text, salt=CURSOR_SALT)
        return Position(dt.datetime.fromisoformat(moment), int(pk))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise forms.ValidationError("is not a cursor this API gave out; start without one") from exc
