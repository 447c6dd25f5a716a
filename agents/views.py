"""The agents list and an agent's page. Thin: find the agent the person may act on, call a
service, render. The page itself is shaped in agents/page.py.

Owners and staff change things; leads of the agent's queues see everything and may pull the stop
switch; anyone else gets 404, for the page and every POST. A new token or webhook secret is shown
once, in the response to the POST that made it: never redirected to, never stored in the session.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from accountability.api import WorkflowError
from accountability.audit import Actor
from agents import page, selectors, services
from agents.forms import AutomationForm, TokenCreateForm, WebhookForm, add_service_errors
from agents.models import Agent, WebhookDelivery
from agents.webhooks import selectors as webhook_selectors
from agents.webhooks import services as webhook_services
from review.services import automation_resume, automation_stop

DELIVERIES_SHOWN = 50


@dataclass(frozen=True)
class Revealed:
    """A secret shown this once: a new API token or webhook secret."""

    kind: str  # "token" | "webhook"
    value: str
    title: str


@login_required
@require_GET
def agent_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    agents = [(a, selectors.agent_access(user, a)) for a in selectors.agents_listed_for(user)]
    return render(request, "agents/list.html", {"agents": agents})


@login_required
@require_GET
def agent_detail(request: HttpRequest, agent_id: int) -> HttpResponse:
    return _page(request, _visible(request, agent_id))


@login_required
@require_GET
def agent_calibration(request: HttpRequest, agent_id: int) -> HttpResponse:
    """The calibration section, which the page fetches once it is shown: the report reads
    every label of the agent (about a second for 40,000), the rest of the page need not wait."""
    agent = _visible(request, agent_id)
    calibrations = page.calibration(agent)
    context = {
        "agent": agent,
        "calibrations": calibrations,
        "calibration_charts": page.calibration_chart_data(calibrations),
    }
    return render(request, "agents/detail.html#calibration", context)


def _visible(request: HttpRequest, agent_id: int) -> Agent:
    agents = selectors.agents_visible_to(request.user).select_related("owner")
    return get_object_or_404(agents, pk=agent_id)


def _managed(request: HttpRequest, agent_id: int) -> Agent:
    """The owner's or staff's; a lead or anyone else gets 404, as for an agent they cannot see."""
    agent = _visible(request, agent_id)
    if not selectors.agent_access(request.user, agent).manage:
        raise Http404("Only the agent's owner and staff change its settings.")
    return agent


def _page(
    request: HttpRequest,
    agent: Agent,
    *,
    status: int = 200,
    revealed: Revealed | None = None,
    **forms: object,
) -> HttpResponse:
    access = selectors.agent_access(request.user, agent)
    now = timezone.now()
    board = page.activity(agent, now=now)
    endpoint = webhook_selectors.webhook_endpoint_for(agent)
    context = {
        "agent": agent,
        "access": access,
        "now": now,
        "board": board,
        "corrections_chart": page.chart_data(board),
        "chart_fields": page.CHART_FIELDS,
        "weeks": page.WEEKS,
        "tokens": selectors.agent_tokens(agent),
        "endpoint": endpoint,
        "deliveries": webhook_selectors.webhook_deliveries_for(agent)[:DELIVERIES_SHOWN],
        "deliveries_shown": DELIVERIES_SHOWN,
        "revealed": revealed,
        "token_form": forms.get("token_form") or TokenCreateForm(),
        "webhook_form": forms.get("webhook_form") or WebhookForm.for_endpoint(endpoint),
        "automation_form": forms.get("automation_form") or AutomationForm(),
    }
    response = render(request, "agents/detail.html", context, status=status)
    if revealed is not None:
        # The secret must not outlive this response: not in a cache, not in back/forward.
        add_never_cache_headers(response)
    return response


def _back(agent: Agent, anchor: str) -> HttpResponse:
    return redirect(f"{reverse('agents:detail', args=[agent.pk])}#{anchor}")


@login_required
@require_POST
def token_create(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = _managed(request, agent_id)
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _page(request, agent, token_form=form, status=422)
    token, raw = services.agent_token_create(
        agent=agent,
        name=form.cleaned_data["name"],
        created_by=request.user,
        actor=Actor.user(request.user),
    )
    title = f"New token “{token.name}”" if token.name else "New token"
    return _page(request, agent, revealed=Revealed("token", raw, title), status=201)


@login_required
@require_POST
def token_revoke(request: HttpRequest, agent_id: int, token_id: int) -> HttpResponse:
    agent = _managed(request, agent_id)
    token = get_object_or_404(agent.tokens.all(), pk=token_id)
    services.token_revoke(token=token, actor=Actor.user(request.user))
    messages.success(request, f"Revoked token {token.prefix}…: requests with it now get 401.")
    return _back(agent, "tokens")


@login_required
@require_POST
def webhook_save(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = _managed(request, agent_id)
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            _, secret = webhook_services.webhook_endpoint_save(
                agent=agent, actor=Actor.user(request.user), **form.cleaned_data
            )
        except ValidationError as invalid:
            add_service_errors(form, invalid)
    if form.errors:
        return _page(request, agent, webhook_form=form, status=422)
    if secret is not None:
        revealed = Revealed("webhook", secret, "Webhook signing secret")
        return _page(request, agent, revealed=revealed, status=201)
    messages.success(request, "Webhook settings saved.")
    return _back(agent, "webhook")


@login_required
@require_POST
def webhook_secret_rotate(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = _managed(request, agent_id)
    try:
        _, secret = webhook_services.webhook_secret_rotate(
            agent=agent, actor=Actor.user(request.user)
        )
    except WorkflowError as refused:
        messages.error(request, refused.message)
        return _back(agent, "webhook")
    return _page(request, agent, revealed=Revealed("webhook", secret, "New webhook secret"))


@login_required
@require_POST
def delivery_redeliver(request: HttpRequest, agent_id: int, delivery_id: int) -> HttpResponse:
    agent = _managed(request, agent_id)
    deliveries = WebhookDelivery.objects.filter(endpoint__agent=agent)
    delivery = get_object_or_404(deliveries, pk=delivery_id)
    try:
        webhook_services.webhook_delivery_redeliver(
            delivery=delivery, actor=Actor.user(request.user)
        )
    except WorkflowError as refused:
        messages.error(request, refused.message)
    else:
        event, item_id = delivery.event_type, delivery.item_id
        messages.success(request, f"Sending {event} of item #{item_id} again.")
    return _back(agent, "deliveries")


@login_required
@require_POST
def automation_switch(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = _visible(request, agent_id)
    if not selectors.agent_access(request.user, agent).switch:
        raise Http404("Only the agent's owner, staff and its queues' leads pull the switch.")
    form = AutomationForm(request.POST)
    if form.is_valid():
        stop, reason = form.cleaned_data["stop"], form.cleaned_data["reason"]
        switch = automation_stop if stop else automation_resume
        try:
            switch(target=agent, actor=Actor.user(request.user), reason=reason)
        except ValidationError as invalid:
            add_service_errors(form, invalid)
    if form.errors:
        return _page(request, agent, automation_form=form, status=422)
    done = "Stopped" if stop else "Resumed"
    messages.success(request, f"{done} automation for {agent.name}.")
    return _back(agent, "automation")
