"""The ingest payload as OpenAPI documents it.

agents.payload parses requests (DRF validation is too slow for the ingest budget: see there);
tests/agents/test_payload.py keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

ZERO_TO_ONE = {
    "min_value": "must be between 0 and 1",
    "max_value": "must be between 0 and 1",
    "invalid": "must be a number between 0 and 1",
}
INLINE_CONTENT_TYPES = ["text/plain"]


class AnyJSONField(serializers.JSONField):
    """A field's value: any JSON, null included, but the key must be present."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)


class DocumentInSerializer(serializers.Serializer):
    """Give exactly one of text, content_base64 or document_id."""

    key = serializers.CharField(max_length=100, help_text="What evidence calls this document.")
    text = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="Inline plain text."
    )
    content_type = serializers.ChoiceField(
        choices=INLINE_CONTENT_TYPES, default="text/plain", help_text="With text only."
    )
    content_base64 = serializers.CharField(
        required=False,
        help_text="A small file inline (up to INLINE_DOCUMENT_MAX_BYTES); its type is sniffed.",
    )
    filename = serializers.CharField(required=False, max_length=255)
    document_id = serializers.IntegerField(
        required=False, min_value=1, help_text="A document this agent uploaded before."
    )


class EvidenceInSerializer(serializers.Serializer):
    document = serializers.CharField(max_length=100)
    quote = serializers.CharField(required=False, allow_blank=False, trim_whitespace=False)
    start = serializers.IntegerField(required=False, min_value=0)
    end = serializers.IntegerField(required=False, min_value=0)
    page = serializers.IntegerField(required=False, min_value=1)
    bbox = serializers.ListField(
        child=serializers.FloatField(),
        min_length=4,
        max_length=4,
        required=False,
        help_text=(
            "Where on `page` (default 1) the evidence is: [x0, y0, x1, y1] as fractions 0..1 of "
            "the page's width and height, origin at the top-left corner (not PDF points). "
            "Drawn as given when the quote or span cannot be placed in the document's text "
            "(scans without a text layer); otherwise the text's own position is shown."
        ),
    )


class AlternativeInSerializer(serializers.Serializer):
    value = AnyJSONField()
    confidence = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=1, error_messages=ZERO_TO_ONE
    )


class FieldInSerializer(serializers.Serializer):
    name = serializers.RegexField(
        r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$",
        error_messages={"invalid": "must be an identifier such as policy_number"},
    )
    value = AnyJSONField()
    confidence = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=1, error_messages=ZERO_TO_ONE
    )
    evidence = EvidenceInSerializer(many=True, required=False, max_length=50)
    alternatives = AlternativeInSerializer(many=True, required=False, max_length=20)
    rationale = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class ItemInSerializer(serializers.Serializer):
    queue = serializers.SlugField(max_length=80)
    external_id = serializers.CharField(max_length=200)
    agent_version = serializers.CharField(
        max_length=80, required=False, allow_blank=True, default=""
    )
    documents = DocumentInSerializer(many=True, required=False, max_length=20)
    fields = FieldInSerializer(many=True, min_length=1, max_length=200)
    confidence = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=1, error_messages=ZERO_TO_ONE
    )
    rationale = serializers.CharField(
        required=False, allow_blank=True, max_length=20_000, default=""
    )
    metadata = serializers.DictField(required=False, default=dict)


class ReasonOutSerializer(serializers.Serializer):
    code = serializers.CharField()
    field = serializers.CharField(source="field_name", allow_blank=True)
    message = serializers.CharField()
    blocking = serializers.BooleanField()
