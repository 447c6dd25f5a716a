"""The dashboard pages: who may see them, what the filters do, CSV, drill-down, staffing."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from review.models import Item
from tests.dashboard_helpers import decide_at
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_queue(db):
    return QueueFactory(slug="invoices", name="Invoices")


@pytest.fixture
def history(agent, queue, reviewer, other_queue):
    """Today: three arrivals in the lead's queue (one auto-accepted, one reviewed), and one in a
    queue the lead does not lead."""
    ingest(agent, external_id="auto", confidence=0.99)
    reviewed = ingest(agent, external_id="reviewed")
    ingest(agent, external_id="waiting")
    decide_at(queue, reviewer, reviewed, when=timezone.now(), seconds=42, corrected="claim_type")
    outsider = AgentFactory(slug="invoice-bot", queues=[other_queue])
    ingest(outsider, queue="invoices", external_id="elsewhere")
    return reviewed


def test_a_reviewer_who_leads_nothing_is_refused(client, reviewer):
    client.force_login(reviewer)
    assert client.get(reverse("review:dashboard")).status_code == 403
    assert client.get(reverse("review:dashboard-staffing")).status_code == 403


def test_anonymous_people_are_sent_to_sign_in(client):
    response = client.get(reverse("review:dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_lead_sees_only_the_queues_they_lead(client, lead, history):
    client.force_login(lead)
    response = client.get(reverse("review:dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="tile-arrivals">3<' in body  # not the 4th, in a queue they do not lead
    assert "Invoices" not in body
    assert 'data-testid="tile-automation">33.3 %<' in body


def test_a_queue_the_lead_does_not_lead_is_a_form_error(client, lead, history, other_queue):
    client.force_login(lead)
    response = client.get(reverse("review:dashboard"), {"queue": "invoices"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_reversed_date_range_is_an_error_next_to_the_input(client, lead):
    client.force_login(lead)
    response = client.get(reverse("review:dashboard"), {"start": "2026-03-10", "end": "2026-03-01"})
    assert response.status_code == 400
    assert (
        'id="id_start-error">The start must be on or before the end.' in response.content.decode()
    )
    bad = client.get(reverse("review:dashboard"), {"end": "yesterday"})
    assert bad.status_code == 400 and "Enter a valid date." in bad.content.decode()


@pytest.mark.parametrize("url", ["review:dashboard", "review:dashboard-items"])
def test_a_day_out_of_the_reportable_years_is_an_error_next_to_the_input(client, lead, url):
    client.force_login(lead)
    # 0001-01-01 less the default 56 days is before the first day Python knows: it was a 500.
    response = client.get(reverse(url), {"end": "0001-01-01", "metric": "arrivals"})
    assert response.status_code == 400
    assert "Choose a day from 1970-01-01 on." in response.content.decode()
    late = client.get(reverse(url), {"start": "9999-12-01", "end": "9999-12-31"})
    assert late.status_code == 400 and "Choose a day up to 9998-12-31." in late.content.decode()


def test_tiles_come_alone_for_live_updates(client, lead, history):
    client.force_login(lead)
    response = client.get(
        reverse("review:dashboard"), {"partial": "tiles"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="tiles"') and "<html" not in body


def test_every_table_downloads_as_csv(client, lead, history):
    client.force_login(lead)
    today = timezone.localdate().isoformat()
    for table in ("weekly", "daily", "queues", "versions", "fields", "reviewers"):
        response = client.get(reverse("review:dashboard"), {"csv": table})
        assert response.status_code == 200, table
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert len(rows) >= 2, table
    daily = list(csv.DictReader(io.StringIO(
        client.get(reverse("review:dashboard"), {"csv": "daily"}).content.decode()
    )))  # fmt: skip
    [last] = [r for r in daily if r["start"] == today]
    assert (last["arrivals"], last["auto_accepted"], last["first_reviews"]) == ("3", "1", "1")
    fields = list(csv.DictReader(io.StringIO(
        client.get(reverse("review:dashboard"), {"csv": "fields"}).content.decode()
    )))  # fmt: skip
    assert fields[0]["field"] == "claim_type" and fields[0]["corrected"] == "1"
    assert client.get(reverse("review:dashboard"), {"csv": "nope"}).status_code == 404


def test_a_drill_down_lists_the_items_behind_a_point(client, lead, history):
    client.force_login(lead)
    today = timezone.localdate().isoformat()
    url = reverse("review:dashboard-items")
    arrivals = client.get(url, {"metric": "arrivals", "start": today, "end": today})
    body = arrivals.content.decode()
    assert "3 items that arrived" in body and "elsewhere" not in body
    reviewed = client.get(url, {"metric": "reviewed", "start": today, "end": today})
    assert f'data-item="{history.pk}"' in reviewed.content.decode()
    assert "1 item that had their first review" in reviewed.content.decode()
    waiting = client.get(url, {"metric": "backlog", "start": today, "end": today})
    assert "waiting" in waiting.content.decode() and "1 item that" in waiting.content.decode()
    assert client.get(url, {"metric": "secret"}).status_code == 400


def test_the_coaching_view_covers_people_of_the_leads_queues_only(client, lead, history, reviewer):
    client.force_login(lead)
    response = client.get(reverse("review:dashboard-reviewer", args=[reviewer.pk]))
    assert response.status_code == 200
    assert 'data-testid="reviewer-reviews">1<' in response.content.decode()
    weeks = client.get(
        reverse("review:dashboard-reviewer", args=[reviewer.pk]), {"csv": "weeks"}
    ).content.decode()
    [header, this_week] = list(csv.reader(io.StringIO(weeks)))
    assert header[:2] == ["week_of", "reviews"] and this_week[1] == "1"
    stranger = UserFactory(username="stranger")
    assert client.get(reverse("review:dashboard-reviewer", args=[stranger.pk])).status_code == 404


def test_staffing_states_its_model_and_downloads(client, lead, history, other_queue):
    client.force_login(lead)
    page = client.get(reverse("review:dashboard-staffing"))
    assert page.status_code == 200 and "Erlang C" in page.content.decode()
    assert (
        client.get(reverse("review:dashboard-staffing"), {"queue": "invoices"}).status_code == 404
    )
    rows = list(csv.reader(io.StringIO(
        client.get(reverse("review:dashboard-staffing"), {"csv": "staffing"}).content.decode()
    )))  # fmt: skip
    assert rows[0][:2] == ["weekday", "shift"] and len(rows) == 1 + 7 * 3


def test_the_tiles_compare_fte_with_eight_weeks_earlier(
    client, lead, agent, queue, reviewer, settings
):
    settings.FTE_PRODUCTIVE_HOURS_PER_WEEK = 30
    item = ingest(agent, external_id="old")
    long_ago = timezone.now() - dt.timedelta(weeks=8)
    Item.objects.filter(pk=item.pk).update(created_at=long_ago)
    decide_at(queue, reviewer, item, when=long_ago, seconds=3 * 3600)  # 3 h of 30: 0.1 FTE
    client.force_login(lead)
    body = client.get(reverse("review:dashboard")).content.decode()
    assert "8 weeks earlier: 0.1" in body


def test_the_top_bar_offers_leads_their_pages_and_reviewers_only_theirs(client, lead, reviewer):
    client.force_login(lead)
    nav = client.get(reverse("review:home")).content.decode()
    assert 'href="/dashboard/"' in nav and 'href="/feedback/"' in nav
    client.force_login(reviewer)
    nav = client.get(reverse("review:home")).content.decode()
    assert 'href="/dashboard/"' not in nav and 'href="/feedback/"' not in nav
