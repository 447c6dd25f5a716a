"""Pages for people. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from review import selectors


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "review/home.html", {"queues": selectors.queue_overview(request.user)})
