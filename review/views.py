"""Pages for people. Thin: parse, call a selector or service, render."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accountability.api import WorkflowError
from accountability.audit import Actor
from accountability.nul import nul_errors
from review import selectors, services
from review.forms import (
    LeadActions,
    field_errors,
    override_errors,
    read_decision,
    read_override_fields,
)
from review.models import DocumentPage, Item, Lease, Queue
from review.services import trace as trace_services
from review.workspace import build_workspace

User = get_user_model()


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    template = "review/home.html" + ("#queue-table" if request.htmx else "")
    return render(request, template, {"summaries": selectors.queue_overview(request.user)})


@login_required
@require_POST
def queue_start(request: HttpRequest, slug: str) -> HttpResponse:
    queue, lease = services.lease_claim_next_in(slug=slug, reviewer=request.user)
    if queue is None:
        raise Http404
    if lease is None:
        messages.info(request, f"Nothing is waiting in {queue.name}.")
        return redirect("review:home")
    return redirect("review:workspace", item_id=lease.item_id)


def _open_lease(request: HttpRequest, item: Item) -> Lease | None:
    return Lease.objects.filter(item=item, reviewer=request.user, ended_at__isnull=True).first()


@login_required
@require_GET
def workspace(request: HttpRequest, item_id: int) -> HttpResponse:
    items = selectors.item_with_details(selectors.items_visible_to_person(request.user))
    item = get_object_or_404(items, pk=item_id)
    lease = _open_lease(request, item)
    # Escalated items are leased only to leads (lease_claim_escalated), who decide them here.
    if lease is None or item.status not in {Item.Status.PENDING, Item.Status.ESCALATED}:
        messages.info(request, "You do not hold this item; here is its record.")
        return redirect("review:item", item_id=item.pk)
    return render(request, "review/workspace.html", {"ws": build_workspace(item, lease)})


@login_required
@require_POST
def workspace_submit(request: HttpRequest, item_id: int) -> HttpResponse:
    """Approve, reject, escalate or skip; then straight to the next item of the same queue."""
    items = selectors.items_visible_to_person(request.user).select_related("queue")
    item = get_object_or_404(items.prefetch_related("fields"), pk=item_id)
    form = read_decision(request.POST, item, list(item.fields.all()))
    if form.errors:
        return _redisplay(request, item, form.errors, form.raw)
    try:
        if form.action == "skip":
            services.lease_release(
                item_id=item.pk, reviewer=request.user, lease_token=form.lease, reason=form.reason
            )
        else:
            services.item_decide(
                item_id=item.pk,
                reviewer=request.user,
                lease_token=form.lease,
                decision=form.action,
                fields=form.fields,
                reason=form.reason,
                comment=form.comment,
                active_seconds=form.active_seconds,
            )
    except ValidationError as invalid:
        return _redisplay(request, item, field_errors(form, invalid.message_dict), form.raw)
    except WorkflowError as refused:
        return _redisplay(request, item, {"lease": [refused.message]}, form.raw, lease_lost=True)
    done = {"skip": "Skipped", "approve": "Approved", "reject": "Rejected", "escalate": "Escalated"}
    messages.success(request, f"{done[form.action]} item #{item.pk}.")
    if item.status == Item.Status.ESCALATED:  # as it was before: a lead's, back to their list
        return _go(request, reverse("review:queue-escalations", args=[item.queue.slug]))
    return _next_item(request, item.queue, stop=form.stop_after)


def _next_item(request: HttpRequest, queue: Queue, *, stop: bool) -> HttpResponse:
    lease = None if stop else services.lease_claim_next(queue=queue, reviewer=request.user)
    if lease is None:
        if not stop:
            messages.info(request, f"Nothing more is waiting in {queue.name}.")
        return _go(request, reverse("review:home"))
    if not request.htmx:
        return redirect("review:workspace", item_id=lease.item_id)
    item = selectors.item_with_details(Item.objects.filter(pk=lease.item_id)).get()
    response = render(
        request, "review/workspace.html#workspace", {"ws": build_workspace(item, lease)}
    )
    response["HX-Push-Url"] = reverse("review:workspace", args=[item.pk])
    return response


def _go(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _redisplay(
    request: HttpRequest, item: Item, errors: dict, submitted: dict, *, lease_lost: bool = False
) -> HttpResponse:
    """The same item again, with what was typed and each error next to its cause. Nothing saved."""
    item = selectors.item_with_details(Item.objects.filter(pk=item.pk)).get()
    lease = None if lease_lost else _open_lease(request, item)
    context = {"ws": build_workspace(item, lease, errors=errors, submitted=submitted)}
    template = "review/workspace.html" + ("#workspace" if request.htmx else "")
    # 422 so scripts and tests can tell a refusal; htmx is configured to swap it in.
    return render(request, template, context, status=409 if lease_lost else 422)


@login_required
@require_POST
def workspace_heartbeat(request: HttpRequest, item_id: int) -> JsonResponse:
    get_object_or_404(selectors.items_visible_to_person(request.user), pk=item_id)
    try:
        active = float(request.POST.get("active_seconds", ""))
    except ValueError:
        active = None
    try:
        lease = services.lease_heartbeat(
            item_id=item_id,
            reviewer=request.user,
            lease_token=request.POST.get("lease", ""),
            active_seconds=active,
        )
    except (WorkflowError, ValidationError) as refused:
        message = refused.message if isinstance(refused, WorkflowError) else "No valid lease."
        return JsonResponse({"detail": message}, status=409)
    return JsonResponse({"expires_at": lease.expires_at.isoformat()})


@login_required
@require_GET
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_page(request, item_id)


def _item_page(
    request: HttpRequest,
    item_id: int,
    *,
    action: str = "",
    errors: dict[str, list[str]] | None = None,
    submitted: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The item's record; for its queue's leads with the lead actions, and their errors."""
    items = selectors.item_with_details(selectors.items_visible_to_person(request.user))
    item = get_object_or_404(items, pk=item_id)
    reviews = list(item.reviews.all())
    labels = selectors.labels_by_review(reviews)
    is_lead = selectors.items_led_by(request.user).filter(pk=item.pk).exists()
    context = {
        "ws": build_workspace(item, None),
        "reviews": [(r, labels.get(r.pk, [])) for r in reviews],
        "can_trace": selectors.items_traceable_by(request.user).filter(pk=item.pk).exists(),
        "rework_outcome": selectors.rework_outcome(item),
        "lead": LeadActions(item, action, errors or {}, submitted or {}) if is_lead else None,
    }
    return render(request, "review/item.html", context, status=status)


@login_required
@require_GET
def queue_escalations(request: HttpRequest, slug: str) -> HttpResponse:
    """A queue's escalated items, for its leads; everyone else gets 404."""
    queue = get_object_or_404(Queue.objects.led_by(request.user), slug=slug)
    escalations = selectors.queue_escalations(queue)
    return render(request, "review/escalations.html", {"queue": queue, "escalations": escalations})


@login_required
@require_POST
def escalation_claim(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(
        selectors.items_led_by(request.user).select_related("queue"), pk=item_id
    )
    try:
        services.lease_claim_escalated(item=item, lead=request.user)
    except WorkflowError as refused:
        messages.error(request, refused.message)
        return redirect("review:queue-escalations", slug=item.queue.slug)
    return redirect("review:workspace", item_id=item.pk)


@login_required
@require_POST
def item_lead_action(request: HttpRequest, item_id: int, action: str) -> HttpResponse:
    """Reassign, send back or override, from the item page; errors go next to their input."""
    item = get_object_or_404(
        selectors.items_led_by(request.user).select_related("queue"), pk=item_id
    )
    post, reason = request.POST, request.POST.get("reason", "")
    fields: list[services.FieldVerdictIn] = []
    try:
        if refused := nul_errors(post):  # keyed by input: reason, value-<field>
            raise ValidationError(refused)
        if action == "reassign":
            to = User.objects.filter(pk=_int(post.get("to_reviewer"))).first()
            services.item_reassign(item=item, to_reviewer=to, lead=request.user, reason=reason)
            done = f"Reassigned item #{item.pk} to {to.get_username()}."
        elif action == "send-back":
            services.item_send_back(item=item, lead=request.user, reason=reason)
            done = f"Sent item #{item.pk} back for rework."
        else:
            fields = read_override_fields(post, list(item.fields.all()), reason)
            services.item_override(
                item=item,
                lead=request.user,
                decision=post.get("decision", ""),
                fields=fields,
                reason=reason,
            )
            done = f"Overrode the decision on item #{item.pk}."
    except ValidationError as invalid:
        errors = override_errors(invalid.message_dict, fields)
        return _item_page(
            request, item.pk, action=action, errors=errors, submitted=post.dict(), status=422
        )
    except WorkflowError as refused:
        errors = {"form": [refused.message]}
        return _item_page(
            request, item.pk, action=action, errors=errors, submitted=post.dict(), status=409
        )
    messages.success(request, done)
    return redirect("review:item", item_id=item.pk)


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@login_required
@require_GET
def item_trace(request: HttpRequest, item_id: int) -> HttpResponse:
    """The decision trace, for leads and auditors: timeline, output against decision, chain."""
    items = selectors.item_with_details(selectors.items_traceable_by(request.user))
    item = get_object_or_404(items, pk=item_id)
    return render(request, "review/trace.html", {"trace": trace_services.item_trace(item)})


@login_required
@require_GET
def item_trace_json(request: HttpRequest, item_id: int) -> JsonResponse:
    items = selectors.item_with_details(selectors.items_traceable_by(request.user))
    item = get_object_or_404(items, pk=item_id)
    data = trace_services.item_trace_export(item=item, actor=Actor.user(request.user))
    response = JsonResponse(data, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="item-{item.pk}-trace.json"'
    return response


# A document's own HTML may carry anything (the sanitiser is the first wall, this the second):
# nothing may load or run, only its inline styles and data: images. Framed by our pages only.
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'"
)


@login_required
@require_GET
def document_page(request: HttpRequest, document_id: int, number: int) -> HttpResponse:
    """One page image, for people who may see an item that uses the document."""
    documents = selectors.documents_visible_to_person(request.user)
    page = get_object_or_404(
        DocumentPage.objects.filter(document__in=documents), document_id=document_id, number=number
    )
    if not page.image:
        raise Http404("This page has no image.")
    content_type = mimetypes.guess_type(page.image.name)[0] or "image/png"
    # Read whole (a page is a few hundred kilobytes): under ASGI a FileResponse's sync file
    # would be iterated through a thread hop per chunk.
    with page.image.open("rb") as image:
        response = HttpResponse(image.read(), content_type=content_type)
    # A document's pages never change once processed (content is stored once per sha256).
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_GET
@xframe_options_sameorigin
def document_html(request: HttpRequest, document_id: int) -> HttpResponse:
    """A document's sanitised HTML, for the workspace's sandboxed iframe."""
    document = get_object_or_404(
        selectors.documents_visible_to_person(request.user).exclude(html=""), pk=document_id
    )
    response = HttpResponse(document.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = DOCUMENT_CSP
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, max-age=86400"
    return response
