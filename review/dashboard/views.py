"""Dashboard pages for leads: thin; pages.py shapes the numbers, csv.py writes the tables."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from review.dashboard import csv_tables, pages
from review.dashboard.metrics import reviewer_totals, weekly_reviewer
from review.dashboard.rollups import day_bounds, days_read, local_today, report_zone
from review.dashboard.staffing import queue_staffing
from review.models import Queue

User = get_user_model()


def _led_queues(request: HttpRequest) -> QuerySet[Queue]:
    led = Queue.objects.led_by(request.user)
    if not led.exists():
        raise PermissionDenied("Dashboards are for the leads of a queue.")
    return led


def _filters(request: HttpRequest, led: QuerySet[Queue]) -> pages.DashboardFilters:
    # The inputs show the range in effect, the default one included.
    today, data = local_today(), request.GET.copy()
    if not data.get("end"):
        data["end"] = today.isoformat()
    if not data.get("start"):
        try:
            end = dt.date.fromisoformat(data["end"])
            start = end - dt.timedelta(days=pages.DEFAULT_DAYS - 1)
        except (ValueError, OverflowError):  # the form reports the bad end date
            start = today - dt.timedelta(days=pages.DEFAULT_DAYS - 1)
        data["start"] = start.isoformat()
    return pages.DashboardFilters(data, queues=led, today=today)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    led = _led_queues(request)
    form = _filters(request, led)
    if not form.is_valid():
        return render(request, "review/dashboard.html", {"form": form}, status=400)
    scope, now = pages.scope_from(form, led), timezone.now()
    if request.htmx and request.GET.get("partial") == "tiles":
        rows = pages.history(scope, now=now, detail=False)
        tiles = pages.tiles(scope, rows, now=now)
        return render(request, "review/dashboard.html#tiles", {"tiles": tiles, "scope": scope})
    rows = pages.history(scope, now=now, detail=True)
    board = pages.dashboard(scope, rows, now=now)
    if table := request.GET.get("csv"):
        return csv_tables.response(board, table)
    context = {
        "form": form,
        "scope": scope,
        "board": board,
        "tiles": pages.tiles(scope, rows, now=now),
        "charts": pages.chart_data(board),
    }
    return render(request, "review/dashboard.html", context)


@login_required
@require_GET
def drill_down(request: HttpRequest) -> HttpResponse:
    led = _led_queues(request)
    form = _filters(request, led)
    metric = request.GET.get("metric", "")
    if not form.is_valid() or metric not in pages.DRILL_METRICS:
        errors = dict(form.errors) if not form.is_valid() else {}
        if metric not in pages.DRILL_METRICS:
            errors["metric"] = [f"Choose one of: {', '.join(pages.DRILL_METRICS)}."]
        return render(request, "review/dashboard_items.html", {"errors": errors}, status=400)
    scope = pages.scope_from(form, led)
    start, end = day_bounds(scope.start)[0], day_bounds(scope.end)[1]
    items = pages.drill_items(scope, metric, start, end)
    page = Paginator(items, 100).get_page(request.GET.get("page"))
    context = {
        "scope": scope,
        "metric": metric,
        "metric_words": pages.DRILL_METRICS[metric],
        "page": page,
        "back": f"?{scope.query()}",
    }
    return render(request, "review/dashboard_items.html", context)


@login_required
@require_GET
def reviewer(request: HttpRequest, user_id: int) -> HttpResponse:
    led = _led_queues(request)
    their_people = Q(review_queues__in=led) | Q(reviews__item__queue__in=led)
    person = get_object_or_404(User.objects.filter(their_people).distinct(), pk=user_id)
    form = _filters(request, led)
    if not form.is_valid():
        raise Http404("bad filters")
    scope = pages.scope_from(form, led)
    rows = days_read(scope.days, queue_ids=scope.queue_ids).values()
    team = [r for d in rows for r in d.reviewers if scope.keep_queue(r)]
    own = [r for r in team if r.reviewer_id == person.pk]
    context = {
        "person": person,
        "scope": scope,
        "form": form,
        "total": reviewer_totals(own),
        "team": reviewer_totals(team),
        "team_size": len({r.reviewer_id for r in team}),
        "weeks": weekly_reviewer(own),
    }
    if request.GET.get("csv") == "weeks":
        return csv_tables.reviewer_weeks_response(person, context["weeks"])
    return render(request, "review/dashboard_reviewer.html", context)


@login_required
@require_GET
def staffing(request: HttpRequest) -> HttpResponse:
    led = _led_queues(request)
    slug = request.GET.get("queue")
    queue = get_object_or_404(led, slug=slug) if slug else led.order_by("name").first()
    now = timezone.now().astimezone(report_zone())
    monday = now.date() - dt.timedelta(days=now.weekday())
    plan = queue_staffing(queue, until=day_bounds(monday)[0])
    if request.GET.get("csv") == "staffing":
        return csv_tables.staffing_response(plan)
    return render(
        request, "review/dashboard_staffing.html", {"plan": plan, "queues": led.order_by("name")}
    )
