"""Daily rollups: each day's measures, computed from the items, reviews and labels themselves.

A day runs from local midnight to local midnight in settings.REPORT_TIME_ZONE. Each number is
counted on the day its event happened:

- arrivals, auto_accepted, qa_sampled: items by the day they arrived (created_at). An item
  auto-accepted after its files were read still counts on its arrival day.
- first_reviews: a person's first pass over an item (not a blind second review, not a lead's
  override, not a lead deciding an escalation or a rework after a send-back), by the day it
  was decided; reviews counts every pass. approved/rejected/escalated
  count the decisions of those first passes.
- qa_decided / qa_wrong: QA samples whose first review was decided that day; wrong when the
  reviewer rejected the output or corrected a field or found it not determinable.
- finished / finished_in_sla: items a person brought to approved or rejected that day, and of
  those, the ones decided by their due time. Items whose outcome a lead overrode are left out:
  the override is a correction, not the answer the SLA is about.
- active_seconds / timed_reviews / active_histogram: active review time of every pass decided that
  day that measured one (a lead's override measures none).
- backlog / oldest_waiting_since: at the end of the day, the items a person still had to decide
  (arrived, routed to people, not yet finished), and the arrival time of the oldest of them.
  An item sent back for rework counts as waiting from its arrival until its new decision.
- fields: labels of first reviews decided that day, per field.
- reviewers: every pass per reviewer, and the double reviews they took part in on either side.

Past days are stored (RollupDay + rows) once over; today is computed on every read. Nothing
depends on the storing job having run: a past day with no stored rollup is computed and stored
when it is first read.
"""

from __future__ import annotations

import datetime as dt
import operator
import zoneinfo
from collections import defaultdict, namedtuple
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

import orjson
from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, TextField
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from accountability.db import among
from review.models import (
    DailyFieldStats,
    DailyReviewerStats,
    DailyStats,
    FieldLabel,
    Item,
    Review,
    RollupDay,
    Verdict,
)

# Upper edges, in seconds, of the active-time histogram's buckets; the last bucket is open.
ACTIVE_TIME_BUCKETS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1800, 3600)
WAITING = ~Q(status__in=[Item.Status.AUTO_ACCEPTED, Item.Status.ASSESSING])


def follow_up() -> Exists:
    """A review of an item someone had reviewed before (a lead deciding an escalation, a
    rework after a send-back): not a first review."""
    return Exists(Review.objects.filter(item=OuterRef("item"), id__lt=OuterRef("id")))


def routed_to_people() -> Q:
    """Items that waited for a person: still waiting, or reviewed other than by an override
    (an auto-accepted item a lead overrode later never waited)."""
    reviewed = Review.objects.filter(item=OuterRef("pk"), is_override=False)
    return Q(status__in=[Item.Status.PENDING, Item.Status.ESCALATED]) | Exists(reviewed)


def overridden() -> Exists:
    return Exists(Review.objects.filter(item=OuterRef("pk"), is_override=True))


def report_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.REPORT_TIME_ZONE)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local day as aware datetimes; 23 or 25 hours long on DST days."""
    zone = report_zone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start, end


def local_today(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(report_zone()).date()


def histogram(seconds: Iterable[float]) -> list[int]:
    counts = [0] * (len(ACTIVE_TIME_BUCKETS) + 1)
    for value in seconds:
        counts[_bucket(value)] += 1
    return counts


def _bucket(seconds: float) -> int:
    for index, edge in enumerate(ACTIVE_TIME_BUCKETS):
        if seconds <= edge:
            return index
    return len(ACTIVE_TIME_BUCKETS)


def add_histograms(a: list[int], b: list[int]) -> list[int]:
    if not b:
        return a
    if not a:
        return list(b)
    return list(map(operator.add, a, b))


def percentile(counts: list[int], share: float) -> float | None:
    """The share-th percentile of a histogram, interpolated inside its bucket (bucket-accurate)."""
    total = sum(counts)
    if not total:
        return None
    rank, seen = share * total, 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            low = ACTIVE_TIME_BUCKETS[index - 1] if index else 0.0
            if index == len(ACTIVE_TIME_BUCKETS):
                return float(low)  # open bucket: at least this long
            high = ACTIVE_TIME_BUCKETS[index]
            return low + (high - low) * max(0.0, rank - seen) / count
        seen += count
    return float(ACTIVE_TIME_BUCKETS[-1])


@dataclass
class DayRows:
    day: dt.date
    stats: list[DailyStats] = field(default_factory=list)
    fields: list[DailyFieldStats] = field(default_factory=list)
    reviewers: list[DailyReviewerStats] = field(default_factory=list)


Key = tuple[int, int, str]  # queue, agent, agent version


def day_compute(
    day: dt.date, *, queue_ids: Iterable[int] | None = None, detail: bool = True
) -> DayRows:
    """Every measure of one day, from the source tables (unsaved rows); only these queues' if
    given; without `detail`, no field or reviewer rows."""
    start, end = day_bounds(day)
    items = Item.objects.all() if queue_ids is None else Item.objects.filter(queue__in=queue_ids)
    reviews_of = Review.objects.all()
    if queue_ids is not None:
        reviews_of = reviews_of.filter(item__queue__in=queue_ids)
    stats: dict[Key, DailyStats] = {}

    def row(key: Key) -> DailyStats:
        if key not in stats:
            stats[key] = DailyStats(day=day, queue_id=key[0], agent_id=key[1], agent_version=key[2])
        return stats[key]

    _arrivals(items, start, end, row)
    reviews = _reviews_decided(reviews_of, start, end)
    _review_counts(reviews, row)
    _qa_outcomes(reviews, row)
    _finished(items, start, end, row)
    _backlog(items, end, row)
    if not detail:
        return DayRows(day=day, stats=list(stats.values()))
    labels = _labels_of(reviews)
    return DayRows(
        day=day,
        stats=list(stats.values()),
        fields=_field_rows(day, reviews, labels),
        reviewers=_reviewer_rows(day, reviews, labels),
    )


def _arrivals(items, start: dt.datetime, end: dt.datetime, row) -> None:  # noqa: ANN001
    arrived = (
        items.filter(created_at__gte=start, created_at__lt=end)
        .values("queue_id", "agent_id", "agent_version")
        .annotate(
            n=Count("id"),
            auto=Count("id", filter=Q(status=Item.Status.AUTO_ACCEPTED)),
            qa=Count("id", filter=Q(is_qa_sample=True)),
        )
        .order_by()
    )
    for r in arrived:
        stats = row((r["queue_id"], r["agent_id"], r["agent_version"]))
        stats.arrivals, stats.auto_accepted, stats.qa_sampled = r["n"], r["auto"], r["qa"]


class _Pass(NamedTuple):  # a NamedTuple: thousands are built per dashboard request
    id: int
    key: Key
    reviewer_id: int
    decision: str
    first: bool  # a first review: neither a second review nor an override
    override: bool
    qa_sample: bool
    active_seconds: float | None
    second_of_id: int | None
    agreement: dict


def _json_as_text(name: str) -> Cast:
    """A JSON column read as its text, for orjson: Django's converter (json.loads per value,
    through the compiler's machinery) was a tenth of a dashboard request, some 6,400 values.
    For the rollups' own JSON (counts, agreement flags): no integer past 64 bits."""
    return Cast(name, output_field=TextField())


def _reviews_decided(reviews, start: dt.datetime, end: dt.datetime) -> list[_Pass]:  # noqa: ANN001
    rows = (
        reviews.filter(decided_at__gte=start, decided_at__lt=end)
        .annotate(
            seconds=Coalesce("active_seconds", "lease__active_seconds"),
            follow_up=follow_up(),
            agreement_text=_json_as_text("agreement"),
        )
        .values_list(
            "id",
            "item__queue_id",
            "item__agent_id",
            "item__agent_version",
            "reviewer_id",
            "decision",
            "is_override",
            "second_of_id",
            "item__is_qa_sample",
            "seconds",
            "agreement_text",
            "follow_up",
        )
        .order_by()
    )
    return [
        _Pass(
            id=r[0],
            key=(r[1], r[2], r[3]),
            reviewer_id=r[4],
            decision=r[5],
            first=not r[6] and r[7] is None and not r[11],
            override=r[6],
            qa_sample=r[8],
            # An override measures no time; neither does a pass that was never open.
            active_seconds=None if r[6] else r[9],
            second_of_id=r[7],
            agreement=orjson.loads(r[10]) if r[10] else {},
        )
        for r in rows
    ]


def _review_counts(reviews: list[_Pass], row) -> None:  # noqa: ANN001
    seconds: dict[Key, list[float]] = defaultdict(list)
    for p in reviews:
        stats = row(p.key)
        stats.reviews += 1
        stats.overrides += p.second_of_id is None and not p.first
        if p.first:
            stats.first_reviews += 1
            stats.approved += p.decision == Review.Decision.APPROVE
            stats.rejected += p.decision == Review.Decision.REJECT
            stats.escalated += p.decision == Review.Decision.ESCALATE
        if p.active_seconds is not None:
            stats.timed_reviews += 1
            stats.active_seconds += p.active_seconds
            seconds[p.key].append(p.active_seconds)
    for key, values in seconds.items():
        row(key).active_histogram = histogram(values)


def _qa_outcomes(reviews: list[_Pass], row) -> None:  # noqa: ANN001
    qa = [p for p in reviews if p.first and p.qa_sample]
    if not qa:
        return
    not_right = set(
        FieldLabel.objects.filter(
            review_id__in=[p.id for p in qa],
            verdict__in=[Verdict.CORRECTED, Verdict.UNDETERMINABLE],
        ).values_list("review_id", flat=True)
    )
    for p in qa:
        stats = row(p.key)
        stats.qa_decided += 1
        stats.qa_wrong += p.decision == Review.Decision.REJECT or p.id in not_right


def _finished(items, start: dt.datetime, end: dt.datetime, row) -> None:  # noqa: ANN001
    finished = (
        items.filter(
            decided_at__gte=start,
            decided_at__lt=end,
            status__in=[Item.Status.APPROVED, Item.Status.REJECTED],
        )
        .exclude(overridden())
        .values("queue_id", "agent_id", "agent_version")
        .annotate(n=Count("id"), in_sla=Count("id", filter=Q(decided_at__lte=F("due_at"))))
        .order_by()
    )
    for r in finished:
        stats = row((r["queue_id"], r["agent_id"], r["agent_version"]))
        stats.finished, stats.finished_in_sla = r["n"], r["in_sla"]


def _backlog(items, end: dt.datetime, row) -> None:  # noqa: ANN001
    """Items waiting for a person at `end`: arrived before it, not finished before it."""
    waiting = (
        items.filter(WAITING, created_at__lt=end)
        .filter(Q(decided_at__isnull=True) | Q(decided_at__gte=end))
        .filter(routed_to_people())
        .values("queue_id", "agent_id", "agent_version")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    for r in waiting:
        stats = row((r["queue_id"], r["agent_id"], r["agent_version"]))
        stats.backlog, stats.oldest_waiting_since = r["n"], r["oldest"]


class _Label(NamedTuple):
    review_id: int
    field_name: str
    verdict: str


# Ids per query: well under SQLite's limit on parameters in one statement.
_IDS_PER_QUERY = 10_000


def _labels_of(reviews: list[_Pass]) -> list[_Label]:
    """The field labels of these reviews, read by review id. (Joining labels to the day's
    reviews in SQL let PostgreSQL choose to scan every label ever stored: 60 ms at 1,000,000
    items, growing with history. So did the list of ids alone, for a day of some 2,700
    reviews: 47 ms. Their range as well, which a day's reviews mostly fill, lets it read just
    that stretch of the review_id index: 14 ms.)"""
    ids = [p.id for p in reviews]
    labels: list[_Label] = []
    for at in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[at : at + _IDS_PER_QUERY]
        rows = FieldLabel.objects.filter(
            among(chunk, "review_id"), review_id__gte=min(chunk), review_id__lte=max(chunk)
        )
        labels += map(_Label._make, rows.values_list("review_id", "field__name", "verdict"))
    return labels


def _field_rows(day: dt.date, reviews: list[_Pass], labels: list[_Label]) -> list[DailyFieldStats]:
    """Per field, the labels of the day's passes other than overrides and second reviews."""
    counted = {p.id: p.key for p in reviews if not p.override and p.second_of_id is None}
    rows: dict[tuple[Key, str], DailyFieldStats] = {}
    for label in labels:
        key = counted.get(label.review_id)
        if key is None:
            continue
        if (key, label.field_name) not in rows:
            rows[key, label.field_name] = DailyFieldStats(
                day=day,
                queue_id=key[0],
                agent_id=key[1],
                agent_version=key[2],
                field_name=label.field_name,
                labeled=0,
                corrected=0,
                undeterminable=0,
            )
        stats = rows[key, label.field_name]
        stats.labeled += 1
        stats.corrected += label.verdict == Verdict.CORRECTED
        stats.undeterminable += label.verdict == Verdict.UNDETERMINABLE
    return list(rows.values())


def _reviewer_rows(
    day: dt.date, reviews: list[_Pass], labels: list[_Label]
) -> list[DailyReviewerStats]:
    rows: dict[tuple[int, int], DailyReviewerStats] = {}
    seconds: dict[tuple[int, int], list[float]] = defaultdict(list)

    def row(queue_id: int, reviewer_id: int) -> DailyReviewerStats:
        key = (queue_id, reviewer_id)
        if key not in rows:
            rows[key] = DailyReviewerStats(day=day, queue_id=queue_id, reviewer_id=reviewer_id)
        return rows[key]

    for p in reviews:
        stats = row(p.key[0], p.reviewer_id)
        stats.reviews += 1
        stats.rejected += p.decision == Review.Decision.REJECT
        stats.escalated += p.decision == Review.Decision.ESCALATE
        if p.active_seconds is not None:
            stats.timed_reviews += 1
            stats.active_seconds += p.active_seconds
            seconds[(p.key[0], p.reviewer_id)].append(p.active_seconds)
    for key, values in seconds.items():
        rows[key].active_histogram = histogram(values)
    _label_counts(reviews, labels, row)
    _agreement_counts(reviews, row)
    return list(rows.values())


def _label_counts(reviews: list[_Pass], labels: list[_Label], row) -> None:  # noqa: ANN001
    by_id = {p.id: p for p in reviews}
    for label in labels:
        p = by_id[label.review_id]
        stats = row(p.key[0], p.reviewer_id)
        stats.fields_labeled += 1
        stats.fields_corrected += label.verdict == Verdict.CORRECTED


def _agreement_counts(reviews: list[_Pass], row) -> None:  # noqa: ANN001
    seconds = [p for p in reviews if p.second_of_id is not None]
    if not seconds:
        return
    first_reviewer = dict(
        Review.objects.filter(id__in=[p.second_of_id for p in seconds]).values_list(
            "id", "reviewer_id"
        )
    )
    for p in seconds:
        fields = {k: v for k, v in p.agreement.items() if k != "decision"}
        for reviewer_id in {p.reviewer_id, first_reviewer.get(p.second_of_id)} - {None}:
            stats = row(p.key[0], reviewer_id)
            stats.fields_compared += len(fields)
            stats.fields_agreed += sum(1 for agreed in fields.values() if agreed)
            if "decision" in p.agreement:
                stats.decisions_compared += 1
                stats.decisions_agreed += bool(p.agreement["decision"])


def day_store(day: dt.date, *, now: dt.datetime | None = None) -> DayRows:
    """Compute one complete day and replace its stored rows, all at once."""
    rows = day_compute(day)
    with transaction.atomic():
        DailyStats.objects.filter(day=day).delete()
        DailyFieldStats.objects.filter(day=day).delete()
        DailyReviewerStats.objects.filter(day=day).delete()
        DailyStats.objects.bulk_create(rows.stats, batch_size=1000)
        DailyFieldStats.objects.bulk_create(rows.fields, batch_size=1000)
        DailyReviewerStats.objects.bulk_create(rows.reviewers, batch_size=1000)
        RollupDay.objects.update_or_create(day=day, defaults={"computed_at": now or timezone.now()})
    return rows


def rollups_store_recent(*, now: dt.datetime | None = None) -> int:
    """The periodic job: store yesterday (again, for commits that landed after midnight)."""
    yesterday = local_today(now) - dt.timedelta(days=1)
    day_store(yesterday, now=now)
    return 1


def rollups_rebuild(*, since: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Store every complete day from `since` (default: the first arrival) up to yesterday."""
    first = Item.objects.aggregate(first=Min("created_at"))["first"]
    if first is None:
        return 0
    day = since or first.astimezone(report_zone()).date()
    today, stored = local_today(now), 0
    while day < today:
        day_store(day, now=now)
        day, stored = day + dt.timedelta(days=1), stored + 1
    return stored


@cache
def _json_columns(model: type[models.Model]) -> list[int]:
    """Where the model's JSON columns are among its row type's fields."""
    fields = model._meta.concrete_fields
    return [at for at, f in enumerate(fields) if isinstance(f, models.JSONField)]


@cache
def _row_type(model: type[models.Model]) -> type:
    return namedtuple(  # noqa: PYI024 - built from the model's fields at run time
        f"{model.__name__}Row", [f.attname for f in model._meta.concrete_fields]
    )


def days_read(
    days: Iterable[dt.date],
    *,
    queue_ids: Iterable[int],
    now: dt.datetime | None = None,
    detail: bool = True,
) -> dict[dt.date, DayRows]:
    """Rows of these queues for each day: stored rows for past days (computed and stored first
    if missing), today's live; without `detail`, only the DailyStats rows."""
    queue_ids, days = list(queue_ids), sorted(set(days))
    today = local_today(now)
    past = [d for d in days if d < today]
    stored = set(RollupDay.objects.filter(day__in=past).values_list("day", flat=True))
    for day in past:
        if day not in stored:
            day_store(day, now=now)
    by_day = {day: DayRows(day=day) for day in days}
    kinds = [(DailyStats, "stats")]
    if detail:
        kinds += [(DailyFieldStats, "fields"), (DailyReviewerStats, "reviewers")]
    for model, attr in kinds if past else []:
        stored_rows = model.objects.filter(
            day__gte=past[0], day__lte=past[-1], queue_id__in=queue_ids
        )
        row_type, json_at = _row_type(model), _json_columns(model)
        fields = row_type._fields
        texts = {f"{fields[at]}_text": _json_as_text(fields[at]) for at in json_at}
        names = [f"{name}_text" if at in json_at else name for at, name in enumerate(fields)]
        # Read-only tuples, not model instances: a quarter of the cost for thousands of rows.
        for values in stored_rows.annotate(**texts).values_list(*names):
            values = list(values)
            for at in json_at:
                values[at] = orjson.loads(values[at]) if values[at] is not None else None
            r = row_type(*values)
            if r.day in by_day:
                getattr(by_day[r.day], attr).append(r)
    if today in by_day:
        by_day[today] = day_compute(today, queue_ids=queue_ids, detail=detail)
    return by_day
