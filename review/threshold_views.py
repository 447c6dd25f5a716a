"""The threshold forecast page of a queue, for its leads: advice, projection, apply.

Thin: parse, call review.services.thresholds, render. Anyone but the queue's leads (and
superusers) gets 404, as for escalations.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accountability.audit import Actor
from review.models import Queue
from review.services import thresholds as service


def _led_queue(request: HttpRequest, slug: str) -> Queue:
    return get_object_or_404(Queue.objects.led_by(request.user), slug=slug)


def _page(
    request: HttpRequest,
    queue: Queue,
    *,
    errors: dict | None = None,
    submitted: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    history = service.queue_history(queue)
    advice = service.queue_advice(history)
    submitted = submitted or {}
    values = {
        name: submitted.get(f"threshold-{name}", value)
        for name, value in service.thresholds_of(queue).items()
    }
    context = {
        "queue": queue,
        "advice": advice,
        "projection": advice.current,
        "rows": [
            {
                "advice": f,
                "value": values[f.name],
                "errors": (errors or {}).get(f"threshold-{f.name}"),
            }
            for f in advice.fields
        ],
        "errors": errors or {},
        "submitted": submitted,
        "target_percent": submitted.get("target_error_rate", f"{queue.target_error_rate * 100:g}"),
        "advice_target_percent": f"{advice.target * 100:g}",
        "advice_found": any(f.advised is not None for f in advice.fields),
        "advised_upper": service.percent(
            advice.advised.error_interval[1] if advice.advised.error_interval else None
        ),
        "comparison": [("current", advice.current), ("advised", advice.advised)],
        "curve_rows": [
            {
                "threshold": service.threshold_text(point["threshold"]),
                "automation": service.percent(point["automation_rate"]),
                "error": service.percent(point["error_rate"]),
                "high": service.percent(point["error_high"]),
                "labeled_items": point["labeled_items"],
            }
            for point in advice.curve
        ],
        "advice_reason": (
            f"Threshold advice for a target escaped-error rate of {advice.target:.1%}"
        ),
    }
    return render(request, "review/thresholds.html", context, status=status)


@login_required
@require_GET
def queue_thresholds(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, _led_queue(request, slug))


@login_required
@require_GET
def queue_thresholds_projection(request: HttpRequest, slug: str) -> HttpResponse:
    """The projection for the thresholds on the sliders: a fragment for htmx."""
    queue = _led_queue(request, slug)
    try:
        thresholds = service.parse_thresholds(queue, request.GET)
    except ValidationError as invalid:
        context = {"queue": queue, "projection_errors": invalid.message_dict}
        return render(request, "review/thresholds.html#projection", context, status=422)
    projection = service.project(service.queue_history(queue), thresholds)
    return render(
        request, "review/thresholds.html#projection", {"queue": queue, "projection": projection}
    )


@login_required
@require_POST
def queue_thresholds_apply(request: HttpRequest, slug: str) -> HttpResponse:
    """A new policy version with the thresholds posted (the advice, or the lead's own)."""
    queue = _led_queue(request, slug)
    post = request.POST
    try:
        form = service.read_thresholds_form(queue, post)
        queue = service.queue_thresholds_apply(
            queue=queue,
            thresholds=form.thresholds,
            target_error_rate=form.target_error_rate,
            actor=Actor.user(request.user),
            reason=form.reason,
        )
    except ValidationError as invalid:
        queue.refresh_from_db()
        return _page(request, queue, errors=invalid.message_dict, submitted=post.dict(), status=422)
    messages.success(
        request, f"Thresholds applied: {queue.name} is now at policy v{queue.policy_version}."
    )
    return redirect("review:queue-thresholds", slug=queue.slug)


@login_required
@require_GET
def queue_thresholds_csv(request: HttpRequest, slug: str, table: str) -> HttpResponse:
    """The page's tables as CSV: advice, projection (current and advised) or curve."""
    queue = _led_queue(request, slug)
    if table not in TABLES:
        raise Http404("no such table")
    advice = service.queue_advice(service.queue_history(queue))
    rows = TABLES[table](advice)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="thresholds-{table}-{queue.slug}.csv"'
    return response


def _advice_rows(advice: service.Advice) -> list[list[object]]:
    header = [
        "field",
        "current_threshold",
        "advised_threshold",
        "labels",
        "labels_at_or_above_advice",
        "wrong_at_or_above_advice",
        "error_upper_95",
        "target_error_rate",
        "note",
    ]
    return [header] + [
        [f.name, f.current, f.advised, f.labels, f.above, f.wrong, f.upper, advice.target, f.note]
        for f in advice.fields
    ]


def _projection_rows(advice: service.Advice) -> list[list[object]]:
    header = [
        "thresholds",
        "items",
        "weeks",
        "automation_rate",
        "human_items_per_week",
        "fte",
        "labeled_items_auto_accepted",
        "labeled_wrong",
        "escaped_error_rate",
        "escaped_error_low_95",
        "escaped_error_high_95",
        "expected_error_rate_calibrated",
    ]
    rows: list[list[object]] = [header]
    for label, p in (("current", advice.current), ("advised", advice.advised)):
        low, high = p.error_interval or (None, None)
        rows.append(
            [
                label,
                p.items,
                p.weeks,
                p.automation_rate,
                p.human_items_per_week,
                p.fte,
                p.labeled_items,
                p.labeled_wrong,
                p.error_rate,
                low,
                high,
                p.expected_error_rate,
            ]
        )
    return rows


def _curve_rows(advice: service.Advice) -> list[list[object]]:
    keys = ["threshold", "automation_rate", "error_rate", "error_high", "labeled_items"]
    return [keys] + [[point[k] for k in keys] for point in advice.curve]


TABLES = {"advice": _advice_rows, "projection": _projection_rows, "curve": _curve_rows}
