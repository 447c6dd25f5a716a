from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from accountability import demo
from accountability.models import AuditEvent
from accountability.simulation import report
from agents.models import Agent, ApiToken
from review.assessment import normalise
from review.models import (
    Document,
    FieldLabel,
    Item,
    ItemDocument,
    Queue,
    QueuePolicyVersion,
    Reason,
    Review,
)

pytestmark = pytest.mark.django_db

ITEMS = 20  # per queue: enough for every status and reason, small enough to stay fast
# The simulated history is tested on its own (test_history_...); elsewhere it would only slow.
NO_HISTORY = ("--history-weeks", "0")


@pytest.fixture(autouse=True)
def small_pages(settings):
    settings.DOCUMENT_RENDER_DPI = 36  # the demo's PDFs render quicker; nothing here looks at them


@pytest.fixture
def seed(django_capture_on_commit_callbacks) -> Callable[..., tuple[str, str]]:
    def run(*args: str) -> tuple[str, str]:
        out, err = StringIO(), StringIO()
        # The test's transaction never commits: run what the command's commit would set off,
        # processing its files and routing the items that wait for them.
        if "--history-weeks" not in args:
            args = (*NO_HISTORY, *args)
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_demo", "--items", str(ITEMS), *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    return run


def generated() -> dict[str, demo.DemoItem]:
    """What the command sent, with the truth and the mistakes behind each item."""
    return {
        item.external_id: item
        for agent in demo.AGENTS
        for item in demo.generate(agent, count=ITEMS, seed=demo.DEFAULT_SEED)
    }


def test_seed_creates_queues_agents_and_people_who_can_log_in(seed, client):
    out, _ = seed()

    assert set(Queue.objects.values_list("slug", flat=True)) == {
        "claims-intake",
        "invoice-extraction",
        "medical-coding",
    }
    assert Agent.objects.count() == 3
    for agent in Agent.objects.all():
        assert list(agent.queues.values_list("slug", flat=True)) == [
            next(spec.queue for spec in demo.AGENTS if spec.slug == agent.slug)
        ]
        assert ApiToken.objects.filter(agent=agent).count() == 1
    assert out.count("acc_") == 3  # each new agent's token, printed once
    for username in ("admin", "lead1", "reviewer1", "reviewer2", "reviewer3"):
        assert client.login(username=username, password=demo.DEMO_PASSWORD), username
    assert get_user_model().objects.get(username="admin").is_superuser
    assert Queue.objects.get(slug="medical-coding").leads.get().username == "lead1"
    assert "http://127.0.0.1:8000/" in out
    assert demo.DEMO_PASSWORD in out


def test_seed_fills_every_status_with_several_kinds_of_doubt(seed):
    seed()

    statuses = Counter(Item.objects.values_list("status", flat=True))
    assert Item.objects.count() == 3 * ITEMS
    for status in ("pending_review", "auto_accepted", "approved"):
        assert statuses[status] > 0, statuses
    codes = set(Reason.objects.values_list("code", flat=True))
    assert {"low_confidence", "evidence_not_found", "invalid_value", "missing_field"} <= codes
    # Some history, and plenty left for people to review.
    assert 0 < Review.objects.count() < statuses["pending_review"] + Review.objects.count()
    assert FieldLabel.objects.filter(verdict="corrected").exists()


def test_evidence_quotes_are_in_their_documents_unless_flagged(seed):
    seed()

    flagged = set(
        Reason.objects.filter(code="evidence_not_found").values_list("item_id", "field_name")
    )
    texts = {
        (doc.item_id, doc.key): doc.document.text
        for doc in ItemDocument.objects.select_related("document")
    }
    checked = 0
    for item in Item.objects.prefetch_related("fields"):
        for field in item.fields.all():
            if (item.pk, field.name) in flagged:
                continue
            for evidence in field.evidence:
                if "quote" not in evidence:
                    continue  # a page+bbox on a scan: see test_scans_...
                text = texts[(item.pk, evidence["document"])]
                assert normalise(evidence["quote"]) in normalise(text), (item, field)
                if "start" in evidence:
                    assert text[evidence["start"] : evidence["end"]] == evidence["quote"]
                checked += 1
    assert checked > 200
    assert flagged  # and some invented evidence was caught


def test_second_run_does_no_harm(seed):
    seed()
    User = get_user_model()

    def counts() -> dict[str, int]:
        return {
            "items": Item.objects.count(),
            "agents": Agent.objects.count(),
            "tokens": ApiToken.objects.count(),
            "users": User.objects.count(),
            "reviews": Review.objects.count(),
            "audit": AuditEvent.objects.count(),
            "documents": Document.objects.count(),
        }

    before = counts()
    out, err = seed()

    assert counts() == before
    assert "acc_" not in out
    assert f"{ITEMS} sent ({ITEMS} replayed)" in out
    assert err == ""


def test_another_seed_conflicts_instead_of_overwriting(seed):
    seed()
    items = Item.objects.count()

    _, err = seed("--seed", "7")

    assert Item.objects.count() == items
    assert "already exist with other content" in err


def test_seeded_mistakes_are_mostly_caught(seed):
    seed()
    truth = generated()

    with_mistakes = [item for item in Item.objects.all() if truth[item.external_id].mistakes]
    caught = [item for item in with_mistakes if item.status != Item.Status.AUTO_ACCEPTED]
    assert len(with_mistakes) >= 5
    assert len(caught) / len(with_mistakes) >= 0.6


def test_history_corrects_exactly_the_seeded_mistakes(seed):
    seed()
    truth = generated()

    labels = FieldLabel.objects.select_related("field__item")
    assert labels.exists()
    for label in labels:
        item = truth[label.field.item.external_id]
        assert label.final_value == item.truth[label.field.name]
        assert (label.verdict == "corrected") == (label.field.name in item.mistakes)
    for review in Review.objects.filter(decision="reject").select_related("item"):
        assert truth[review.item.external_id].reject[0] == review.reason


def test_pdf_sources_are_processed_and_their_items_routed(seed):
    seed()
    sent = [item.file for item in generated().values() if item.file]

    pdfs = Document.objects.filter(content_type="application/pdf")
    assert {file.upload for file in sent} == {True, False}  # uploaded first, and inline
    assert pdfs.count() == sum(file.filename.endswith(".pdf") for file in sent)
    for document in pdfs:
        assert document.status == Document.Status.READY
        assert document.page_count == document.pages.count() > 0
        assert document.text and not document.flags
    items = Item.objects.filter(item_documents__document__in=pdfs)
    assert items.count() == pdfs.count()
    assert not items.filter(status=Item.Status.ASSESSING).exists()
    assert items.filter(status=Item.Status.PENDING).exists()
    assert not Item.objects.filter(status=Item.Status.ASSESSING).exists()


def test_scans_have_no_text_so_their_quotes_are_doubted_and_a_box_points_at_a_line(seed):
    seed()

    scans = Document.objects.filter(content_type="image/jpeg")
    assert scans.exists()
    for scan in scans:
        assert (scan.status, scan.flags, scan.text, scan.page_count) == (
            Document.Status.READY,
            ["no_text_layer"],
            "",
            1,
        )
        item = Item.objects.get(item_documents__document=scan)
        assert item.status == Item.Status.PENDING
        quoted = {f.name for f in item.fields.all() if any("quote" in e for e in f.evidence)}
        doubted = set(item.reasons.filter(code="evidence_not_found").values_list("field_name"))
        assert {(name,) for name in quoted} == doubted
        (boxed,) = [f for f in item.fields.all() if any("bbox" in e for e in f.evidence)]
        assert boxed.evidence[0]["page"] == 1


def test_items_do_not_depend_on_how_many_are_made():
    agent = demo.AGENTS[0]
    few = demo.generate(agent, count=3, seed=1)
    more = demo.generate(agent, count=6, seed=1)

    assert [item.payload for item in few] == [item.payload for item in more[:3]]
    assert few[0].payload != demo.generate(agent, count=1, seed=2)[0].payload


def test_history_of_eight_weeks_tells_a_story_and_keeps_the_chain(seed):
    """Weeks of simulated operation before today: reviews spread over them, automation rising
    as the lead tunes thresholds, every event on the audit chain; a second run adds nothing."""
    out, _ = seed("--history-weeks", "8", "--history-items-per-day", "8")
    now = timezone.now()
    history = Item.objects.filter(external_id__regex=r"-1\d{5}$")  # from HISTORY_FIRST_INDEX

    first = history.order_by("created_at").first().created_at
    assert now - first >= dt.timedelta(weeks=8)
    decided = Review.objects.filter(is_override=False).values_list("decided_at", flat=True)
    assert max(decided) - min(decided) >= dt.timedelta(weeks=8)
    assert history.count() > 350
    assert Item.objects.count() == history.count() + 3 * ITEMS  # and today's items as before
    start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = report.week_rows(
        queues=list(Queue.objects.all()), start=start, weeks=8, is_wrong=lambda *_: False
    )
    automation = [row.automation_rate for row in rows]
    assert automation[-1] > automation[0]
    assert sum(automation[-2:]) / 2 > sum(automation[:2]) / 2 + 0.1
    tuned = QueuePolicyVersion.objects.filter(reason__startswith="Weekly review")
    assert tuned.count() >= 3
    assert all(first < version.created_at < now for version in tuned)
    assert "History: " in out and "auto %" in out  # the weekly table is printed
    verified = StringIO()
    call_command("verify_audit", stdout=verified)
    assert "intact" in verified.getvalue()

    before = (Item.objects.count(), Review.objects.count(), AuditEvent.objects.count())
    out, err = seed("--history-weeks", "8", "--history-items-per-day", "8")
    assert (Item.objects.count(), Review.objects.count(), AuditEvent.objects.count()) == before
    assert "the demo queues have items already" in out and err == ""
