"""What simulated agents send: the demo's documents, read by a synthetic agent model.

The demo's document generators (accountability.demo.DOCUMENTS) write each source and know the
truth behind every field, with the wrong values the same document also shows (decoys). The
agent model decides which fields it gets right and how sure it says it is; this module turns
that into an ingest payload, evidence included: a right value quotes its line, a value taken
from the wrong line quotes that line, and a misread value quotes the line it misread (which
the evidence checks may then catch, as they would in production).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from accountability import demo
from accountability.simulation.agents import AgentModel, FieldTruth, Guess


@dataclass(frozen=True)
class Lane:
    """One agent sending its outputs to one queue, and how it reads them."""

    agent: demo.DemoAgent  # content: queue, id prefix, versions, models, typical review time
    model: AgentModel
    weight: float = 1.0  # its share of the day's volume, relative to the other lanes


@dataclass(frozen=True)
class SimItem:
    external_id: str
    payload: dict[str, Any]
    truth: dict[str, Any]  # field -> right value
    guesses: dict[str, Guess]  # field -> what the agent sent, and whether it was right
    reject: tuple[str, str] | None  # (reason, comment) when a careful reviewer rejects it

    @property
    def wrong(self) -> bool:
        """Accepting this output as sent would be a mistake."""
        return self.reject is not None or any(not g.correct for g in self.guesses.values())


def make_item(
    lane: Lane, *, queue: str, external_id: str, index: int, day: dt.date, seed: int
) -> SimItem:
    """Output `index` of the lane's agent to `queue`, its document dated back from `day`."""
    agent = lane.agent
    rng = random.Random(f"{seed}/{agent.queue}/{index}/simulated")
    draft = demo.DOCUMENTS[agent.queue](rng, index, anchor=day)
    specs = {spec["name"]: spec for spec in demo.queue_spec(agent.queue)["fields"]}
    sources = {source.name: source for source in draft.sources}
    guesses = {guess.name: guess for guess in lane.model.read(truths(draft, specs), rng)}
    fields = [_field(rng, guesses[name], sources[name], draft) for name in sources]
    if draft.reject:
        # The agent notices something odd about the document and says it is unsure.
        fields[0]["confidence"] = round(rng.uniform(0.5, 0.8), 3)
    payload = {
        "queue": queue,
        "external_id": external_id,
        "agent_version": rng.choice(agent.versions),
        "documents": [{"key": draft.key, "content_type": "text/plain", "text": draft.text}],
        "fields": fields,
        "confidence": min(f["confidence"] for f in fields),
        "rationale": f"Extracted {len(fields)} fields from the {draft.key.replace('_', ' ')}.",
        "metadata": {
            "trace_id": f"{rng.getrandbits(64):016x}",
            "model": rng.choice(agent.models),
            "cost_usd": round(rng.uniform(0.002, 0.03), 4),
            "latency_ms": rng.randint(800, 9000),
        },
    }
    truth = {source.name: source.value for source in draft.sources}
    return SimItem(external_id, payload, truth, guesses, draft.reject)


def truths(draft: demo.Draft, specs: dict[str, dict]) -> list[FieldTruth]:
    return [
        FieldTruth(
            name=source.name,
            type=specs[source.name].get("type", "string"),
            value=source.value,
            choices=tuple(specs[source.name].get("enum") or ()),
            decoy=source.decoy[0] if source.decoy else None,
        )
        for source in draft.sources
    ]


def _field(rng: random.Random, guess: Guess, source: demo.Source, draft: demo.Draft) -> dict:
    quote = source.quote
    if guess.mistake == "wrong_place" and source.decoy:
        quote = source.decoy[1]
    if guess.value is None:
        quote = None  # nothing found, nothing quoted
    entry: dict[str, Any] = {
        "name": guess.name,
        "value": guess.value,
        "confidence": guess.confidence,
        "evidence": _evidence(rng, draft, quote),
    }
    if guess.confidence < 0.8:
        entry["rationale"] = rng.choice(demo.LOW_CONFIDENCE_NOTES)
    return entry


def _evidence(rng: random.Random, draft: demo.Draft, quote: str | None) -> list[dict[str, Any]]:
    if not quote:
        return []
    start = draft.text.find(quote)
    if start >= 0 and rng.random() < 0.6:
        return [{"document": draft.key, "quote": quote, "start": start, "end": start + len(quote)}]
    return [{"document": draft.key, "quote": quote}]
