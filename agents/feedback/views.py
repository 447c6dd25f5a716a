"""The feedback page: filters as a GET form, a count, and a download button per format."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agents.feedback import export, selectors
from agents.feedback.api import NOT_ALLOWED
from agents.feedback.forms import FeedbackFilterForm

FORMAT_NOTES = {
    "jsonl": "one record per item: fields, verdicts, reasons, documents",
    "csv": "one row per field, for spreadsheets",
    "supervised": "input text and corrected output, approved and auto-accepted items",
    "preference": "corrected against agent output, items with a correction",
}


@login_required
@require_GET
def feedback_page(request: HttpRequest) -> HttpResponse:
    """Submitting with a format downloads; without one, shows how many items match."""
    scope = selectors.feedback_scope(request.user)
    if scope is None:
        raise PermissionDenied(NOT_ALLOWED)
    form = FeedbackFilterForm(request.GET or None, scope=scope)
    wanted = request.GET.get("format", "")
    format_error = "" if not wanted or wanted in export.FORMATS else "choose one of the buttons"
    matching = None
    if form.is_bound and form.is_valid() and not format_error:
        filters = form.filters()
        items = selectors.feedback_items(scope, filters)
        if wanted:
            return export.download(
                request,
                principal=request.user,
                items=items,
                fmt=export.FORMATS[wanted],
                filters=filters,
            )
        matching = items.count()
    context = {
        "form": form,
        "matching": matching,
        "format_error": format_error,
        "formats": [(name, FORMAT_NOTES[name]) for name in export.FORMATS],
    }
    refused = form.is_bound and (form.errors or format_error)
    return render(request, "agents/feedback.html", context, status=400 if refused else 200)
