"""Demo content for manage.py seed_demo: people, queues, agents, and agent outputs to review.

Every output is built from templates with its own random.Random, seeded by (seed, queue, index),
so the same item always gets the same payload: a rerun replays instead of conflicting, and a
larger --items only adds items. The generator knows the truth behind each document, so the seeded
review history corrects exactly the mistakes it made the agents commit. A share of the outputs
send their document as a PDF or a scan of the same content (see delivery() and demo_documents).
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accountability.demo_documents import (
    ClaimForm,
    InvoiceForm,
    claim_form_pdf,
    invoice_pdf,
    scan,
)
from review.assessment import normalise
from review.services import FieldVerdictIn

DEMO_PASSWORD = "demo-pass-2026"
DEFAULT_SEED = 2026
# Documents are dated from a fixed day, not today, so a rerun next month builds the very same
# payloads (and replays them) instead of conflicting with the first run.
ANCHOR = dt.date(2026, 11, 2)
# Share of the waiting items the seeded reviewers decide, so the queues have some history but
# plenty is left for people trying the demo.
DECIDED_SHARE = 0.4
# Before today's items, seed_demo simulates this many weeks of operation (accountability.
# simulation): agents sending, the demo reviewers deciding on their shifts, the lead tuning
# thresholds each Monday, so the dashboards have weeks of history. Their external ids count
# from HISTORY_FIRST_INDEX, clear of today's items (claim-000001...).
HISTORY_WEEKS = 8
HISTORY_ITEMS_PER_DAY = 50
HISTORY_FIRST_INDEX = 100_001


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    is_superuser: bool = False


USERS = [
    DemoUser("admin", "Ada", "Admin", is_superuser=True),
    DemoUser("lead1", "Leila", "Haddad"),
    DemoUser("reviewer1", "Ravi", "Patel"),
    DemoUser("reviewer2", "Rosa", "Moreau"),
    DemoUser("reviewer3", "Rui", "Silva"),
]

ICD10 = r"[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?"

QUEUES: list[dict[str, Any]] = [
    {
        "slug": "claims-intake",
        "name": "Insurance claim intake",
        "description": "First notice of loss forms, checked before a claim file is opened.",
        "default_threshold": 0.85,
        "qa_sample_rate": 0.05,
        "alternative_margin": 0.10,
        "sla_minutes": 240,
        "lease_minutes": 10,
        "fields": [
            {"name": "policy_number", "label": "Policy number", "type": "string",
             "required": True, "threshold": 0.92, "pattern": r"POL-\d{7}"},
            {"name": "loss_date", "label": "Date of loss", "type": "date", "required": True,
             "threshold": 0.90},
            {"name": "amount", "label": "Amount claimed", "type": "number", "required": True,
             "threshold": 0.92},
            {"name": "claim_type", "label": "Claim type", "type": "string", "required": True,
             "enum": ["auto", "home", "health", "travel"]},
            {"name": "claimant_name", "label": "Claimant", "type": "string", "required": True},
        ],
        "reviewers": ["reviewer1", "reviewer2"],
        "leads": ["lead1"],
    },
    {
        "slug": "invoice-extraction",
        "name": "Invoice extraction",
        "description": "Supplier invoices read for accounts payable before payment is scheduled.",
        "default_threshold": 0.85,
        "qa_sample_rate": 0.03,
        "alternative_margin": 0.10,
        "sla_minutes": 1440,
        "lease_minutes": 10,
        "fields": [
            {"name": "supplier_name", "label": "Supplier", "type": "string", "required": True},
            {"name": "invoice_number", "label": "Invoice number", "type": "string",
             "required": True, "threshold": 0.90},
            {"name": "invoice_date", "label": "Invoice date", "type": "date", "required": True},
            {"name": "due_date", "label": "Due date", "type": "date"},
            {"name": "total_amount", "label": "Total due", "type": "number", "required": True,
             "threshold": 0.93},
            {"name": "currency", "label": "Currency", "type": "string", "required": True,
             "enum": ["EUR", "USD", "GBP"]},
            {"name": "vat_number", "label": "Supplier VAT number", "type": "string",
             "pattern": r"[A-Z]{2}[0-9A-Z]{8,12}"},
        ],
        "reviewers": ["reviewer2", "reviewer3"],
        "leads": ["lead1"],
    },
    {
        "slug": "medical-coding",
        "name": "Medical record coding",
        "description": "Discharge summaries coded (ICD-10-CM, CPT) before a health claim is paid.",
        "default_threshold": 0.88,
        "qa_sample_rate": 0.10,
        "alternative_margin": 0.10,
        "sla_minutes": 480,
        "lease_minutes": 15,
        "fields": [
            {"name": "patient_id", "label": "Patient MRN", "type": "string", "required": True,
             "pattern": r"MRN-\d{8}"},
            {"name": "encounter_date", "label": "Admission date", "type": "date",
             "required": True},
            {"name": "primary_icd10", "label": "Principal diagnosis", "type": "string",
             "required": True, "threshold": 0.93, "pattern": ICD10},
            {"name": "secondary_icd10", "label": "Secondary diagnosis", "type": "string",
             "pattern": ICD10},
            {"name": "procedure_cpt", "label": "Procedure (CPT)", "type": "string",
             "pattern": r"\d{5}"},
            {"name": "discharge_disposition", "label": "Discharge disposition", "type": "string",
             "required": True,
             "enum": ["home", "home_health", "skilled_nursing", "inpatient_rehab",
                      "against_medical_advice", "transfer_acute"]},
        ],
        "reviewers": ["reviewer1", "reviewer3"],
        "leads": ["lead1"],
    },
]  # fmt: skip


@dataclass(frozen=True)
class DemoAgent:
    slug: str
    name: str
    owner: str
    team: str
    queue: str
    id_prefix: str  # external ids look like claim-000123
    versions: tuple[str, ...]
    models: tuple[str, ...]
    review_seconds: float  # typical active time a reviewer spends on one of its items


AGENTS = [
    DemoAgent("fnol-extractor", "FNOL extractor", "lead1", "Claims Automation", "claims-intake",
              "claim", ("2.3.0", "2.4.1"), ("llm-large-2026-08", "llm-small-2026-10"), 45),
    DemoAgent("invoice-reader", "Invoice reader", "admin", "Finance Operations",
              "invoice-extraction", "invoice", ("1.8.2",), ("llm-small-2026-10",), 35),
    DemoAgent("clinical-coder", "Clinical coding assistant", "lead1", "Health Claims Coding",
              "medical-coding", "medrec", ("0.9.4", "1.0.0"), ("llm-large-2026-08",), 85),
]  # fmt: skip


# --- What a document says ----------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What the document really says about one field: the truth the agent should extract."""

    name: str
    value: Any  # the right value; None when the document has none
    quote: str | None  # the text that says so
    decoy: tuple[Any, str] | None = None  # a wrong value the document also shows, with its text
    invalid: tuple[str, ...] = ()  # off-list values an agent might give for an enum field
    ambiguous_date: bool = False  # written all in digits, so day and month can be swapped


@dataclass
class Draft:
    key: str
    text: str
    sources: list[Source]
    reject: tuple[str, str] | None = None  # (reason, comment) when a careful reviewer rejects it
    form: ClaimForm | InvoiceForm | None = None  # the same content, for laying out as a PDF


class _Lines:
    """Builds a document line by line; add() returns the line as an agent would quote it."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str = "") -> str:
        self.lines.append(line)
        return line.strip()

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


FIRST_NAMES = {
    "F": ("Maria", "Sophie", "Emma", "Olivia", "Ana", "Fatima", "Chloe", "Priya", "Hannah",
          "Aoife", "Ingrid", "Giulia", "Zofia", "Grace", "Amelia"),
    "M": ("Jan", "Liam", "Noah", "Lucas", "Mateo", "Yusuf", "Daniel", "Arjun", "Thomas", "Sean",
          "Lars", "Marco", "Piotr", "Oliver", "Kwame", "Bram"),
}  # fmt: skip
LAST_NAMES = (
    "Jansen", "de Vries", "Murphy", "O'Brien", "Schmidt", "Kowalski", "Rossi", "Garcia",
    "Dubois", "Smith", "Patel", "Okafor", "Nguyen", "Andersson", "Bakker", "Kelly", "Walsh",
    "Fischer", "Moreau", "Brown", "Novak", "Silva", "Visser", "Byrne", "Ahmed", "Lindqvist",
)  # fmt: skip


def _name(rng: random.Random, sex: str = "") -> str:
    return f"{rng.choice(FIRST_NAMES[sex or rng.choice('FM')])} {rng.choice(LAST_NAMES)}"


def _money(amount: float) -> str:
    return f"{amount:,.2f}"


def _days(rng: random.Random, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(days=rng.randint(low, high))


# --- Claims: first notice of loss forms --------------------------------------------------------

# country -> (currency, phone format, [(city, postcode prefix, postcode suffix format)], streets)
CLAIM_PLACES = {
    "NL": ("EUR", "+31 6 {:04d} {:04d}", [("Utrecht", "3512"), ("Amsterdam", "1016"),
           ("Rotterdam", "3011"), ("Groningen", "9711")],
           ("Kerkstraat", "Molenlaan", "Dorpsweg", "Prinsengracht")),
    "IE": ("EUR", "+353 87 {:03d} {:04d}", [("Dublin 4", "D04"), ("Cork", "T12"),
           ("Galway", "H91")], ("Main Street", "Church Road", "Strand Road")),
    "GB": ("GBP", "+44 7700 9{:02d}{:03d}", [("Leeds", "LS6"), ("Bristol", "BS8"),
           ("Manchester", "M20"), ("Norwich", "NR2")],
           ("High Street", "Station Road", "Victoria Road", "Mill Lane")),
}  # fmt: skip

# kind -> (invalid values an agent might give, [(type line, story)], [(cost line, low, high)])
ClaimKind = tuple[tuple[str, ...], list[tuple[str, str]], list[tuple[str, int, int]]]
CLAIM_KINDS: dict[str, ClaimKind] = {
    "auto": (
        ("motor", "vehicle", "Auto"),
        [("Motor vehicle - collision", "Rear-ended while stationary at traffic lights on {road}. "
          "Rear bumper and tailgate damaged; the car is still drivable. Other driver: {other}, "
          "registration {plate}."),
         ("Motor vehicle - collision", "A reversing van hit the front left wing in the car park "
          "of {place}. Headlamp and wing mirror broken. Other driver: {other}, registration "
          "{plate}."),
         ("Motor vehicle - single vehicle", "Lost control on a wet roundabout on {road} and hit "
          "the kerb; front suspension and an alloy wheel damaged.")],
        [("Bodywork repair (garage estimate)", 900, 3800), ("Replacement car hire", 120, 600),
         ("Recovery and towing", 90, 260)],
    ),
    "home": (
        ("property", "household", "Home"),
        [("Home - escape of water", "A burst pipe under the kitchen sink flooded the kitchen and "
          "hallway overnight; laminate flooring and two base cabinets need replacing."),
         ("Home - storm damage", "During the storm of {storm} roof tiles came loose and rain "
          "came into the back bedroom; ceiling and carpet are stained."),
         ("Home - burglary", "The rear door was forced while we were away; a laptop, a camera "
          "and jewellery were taken. Police reference {police}.")],
        [("Repair works (contractor quote)", 600, 7500), ("Damaged contents", 150, 2500),
         ("Emergency call-out", 80, 300)],
    ),
    "health": (
        ("medical", "hospital", "Health"),
        [("Health - emergency treatment", "Slipped on ice and fell on the right wrist; treated at "
          "the emergency department of {hospital} and put in a cast."),
         ("Health - outpatient care", "MRI scan and six physiotherapy sessions after a knee "
          "injury playing football.")],
        [("Emergency department treatment", 250, 1800), ("Imaging (X-ray / MRI)", 120, 900),
         ("Physiotherapy sessions", 180, 600)],
    ),
    "travel": (
        ("trip_cancellation", "baggage", "Travel"),
        [("Travel - trip cancellation", "Trip to {city} cancelled two days before departure "
          "because my travel companion was admitted to hospital."),
         ("Travel - lost baggage", "Checked suitcase did not arrive on flight {flight} to "
          "{city}; bought clothing and toiletries while waiting for it.")],
        [("Non-refundable flights", 180, 1400), ("Hotel booking", 200, 1500),
         ("Essential purchases", 60, 400)],
    ),
}  # fmt: skip


def _address(rng: random.Random, country: str, street: str, city: str, postcode: str) -> str:
    """A street address written the way the country writes it."""
    number, letters = rng.randint(1, 180), "".join(rng.choices("ABDEFGHJLNPRSTUWXY", k=2))
    if country == "NL":
        return f"{street} {number}, {postcode} {letters} {city}"
    if country == "IE":
        return f"{number} {street}, {city}, {postcode} {letters[0]}{rng.randint(100, 999)}"
    return f"{number} {street}, {city} {postcode} {rng.randint(1, 9)}{letters}"


def claim_document(rng: random.Random, index: int, anchor: dt.date = ANCHOR) -> Draft:
    country = rng.choice(list(CLAIM_PLACES))
    currency, phone_format, cities, streets = CLAIM_PLACES[country]
    city, postcode = rng.choice(cities)
    kind = rng.choice(list(CLAIM_KINDS))
    invalid, stories, costs = CLAIM_KINDS[kind]
    type_line, story = rng.choice(stories)
    claimant, other = _name(rng), _name(rng)
    policy = f"POL-{rng.randint(0, 9_999_999):07d}"
    loss = anchor - _days(rng, 3, 120)
    reported = loss + _days(rng, 1, 14)
    story = story.format(
        road=f"{rng.choice(streets)}, {city}",
        other=other,
        place=f"{city} Retail Park",
        plate=f"{rng.choice('GHKLNPRS')}{rng.randint(10, 99)}-{rng.choice(('BJ', 'DT', 'FZ'))}",
        storm=f"{loss:%d/%m/%Y}",
        police=f"PR-{rng.randint(100000, 999999)}",
        hospital=f"{city} General Hospital",
        city=rng.choice(("Lisbon", "Rome", "Kraków", "Oslo")),
        flight=f"{rng.choice(('KL', 'EI', 'BA', 'FR'))}{rng.randint(100, 1999)}",
    )
    lines = [(label, round(rng.uniform(low, high), 2)) for label, low, high in costs]
    lines = rng.sample(lines, rng.randint(2, 3))
    total = round(sum(amount for _, amount in lines), 2)
    reporter = rng.random() < 0.35
    duplicate = rng.random() < 0.04
    first = f"FNOL-2026-{max(index - rng.randint(1, 30), 1):05d}"  # what a duplicate repeats

    # Drawn in the order the text below used to draw them, so every item keeps its content.
    channel = rng.choice(("web", "phone"))
    address = _address(rng, country, rng.choice(streets), city, postcode)
    phone = phone_format.format(rng.randint(0, 99), rng.randint(0, 999))
    reported_by, relation = "", ""
    if reporter:
        relation = rng.choice(("spouse", "son", "daughter", "broker, Kelly & Partners"))
        reported_by = _name(rng)
    form = ClaimForm(
        reference=f"FNOL-2026-{index:05d}",
        reported=f"{reported:%d/%m/%Y}",
        channel=channel,
        claimant=claimant,
        address=address,
        phone=phone,
        policy=policy,
        claim_type=type_line,
        loss_date=f"{loss:%d/%m/%Y}",
        description=story,
        currency=currency,
        costs=tuple(lines),
        total=total,
        duplicate_of=first if duplicate else None,
        reported_by=f"{reported_by} ({relation})" if reporter else None,
    )

    doc = _Lines()
    doc.add("NORTHSEA MUTUAL INSURANCE")
    doc.add("First Notice of Loss (FNOL)")
    if duplicate:
        doc.add(f"*** DUPLICATE NOTIFICATION - this loss was already reported as {first} ***")
    doc.add("=" * 60)
    doc.add(f"Claim reference:  {form.reference}")
    doc.add(f"Date reported:    {form.reported}    Channel: {channel}")
    doc.add()
    doc.add("POLICYHOLDER / CLAIMANT")
    name_q = doc.add(f"  Name:           {claimant}")
    doc.add(f"  Address:        {address}")
    doc.add(f"  Phone:          {phone}")
    policy_q = doc.add(f"  Policy number:  {policy}")
    doc.add()
    doc.add("LOSS")
    type_q = doc.add(f"  Type of claim:  {type_line}")
    loss_q = doc.add(f"  Date of loss:   {form.loss_date}")
    doc.add(f"  Description:    {story}")
    doc.add()
    doc.add("COSTS CLAIMED")
    cost_quotes = [doc.add(f"  {label:<38}{currency} {amount:>10,.2f}") for label, amount in lines]
    total_q = doc.add(f"  {'Total claimed':<38}{currency} {total:>10,.2f}")
    doc.add()
    decoy_name: tuple[Any, str] | None = None
    if form.reported_by:
        decoy_name = (reported_by, doc.add(f"Reported by: {form.reported_by}"))
    elif "Other driver" in story:
        decoy_name = (other, f"Other driver: {other}")
    doc.add("I declare that the information above is true and complete.")
    doc.add(f"Signed: {claimant}    Date: {form.reported}")

    largest = max(range(len(lines)), key=lambda i: lines[i][1])
    return Draft(
        "fnol_form",
        doc.text(),
        [
            Source("policy_number", policy, policy_q),
            Source(
                "loss_date",
                loss.isoformat(),
                loss_q,
                decoy=(reported.isoformat(), f"Date reported:    {reported:%d/%m/%Y}"),
                ambiguous_date=True,
            ),
            Source("amount", total, total_q, decoy=(lines[largest][1], cost_quotes[largest])),
            Source("claim_type", kind, type_q, invalid=invalid),
            Source("claimant_name", claimant, name_q, decoy=decoy_name),
        ],
        reject=("duplicate", f"Same loss already notified as {first}.") if duplicate else None,
        form=form,
    )


# --- Invoices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Supplier:
    name: str
    address: str
    vat: str | None  # None: a US supplier shows a tax id (EIN) instead
    ein: str | None
    currency: str
    symbol: str  # "" when totals carry the currency code
    date_format: str
    tax: tuple[str, float]
    number: str  # invoice number format, filled with one random number
    catalogue: str


SUPPLIERS = (
    Supplier("Van Dijk Kantoorartikelen B.V.", "Industrieweg 42, 2712 LB Zoetermeer, Netherlands",
             "NL812334966B01", None, "EUR", "", "%d-%m-%Y", ("BTW 21%", 21), "INV-2026-{:05d}",
             "office"),
    Supplier("Brandt IT-Services GmbH", "Hafenstrasse 7, 20457 Hamburg, Germany", "DE284711035",
             None, "EUR", "€", "%d.%m.%Y", ("USt. 19%", 19), "RE-{:06d}", "it"),
    Supplier("Nettoyage Lumière SARL", "12 rue des Lilas, 69003 Lyon, France", "FR40812345678",
             None, "EUR", "", "%d/%m/%Y", ("TVA 20%", 20), "F2026-{:04d}", "cleaning"),
    Supplier("Liffey Catering Ltd", "Unit 4, Grand Canal Quay, Dublin D02 X576, Ireland",
             "IE6388047VH", None, "EUR", "€", "%d %B %Y", ("VAT 13.5%", 13.5), "LC{:05d}",
             "catering"),
    Supplier("Harrington & Cole LLP", "18 Park Row, Leeds LS1 5JA, United Kingdom", "GB294117305",
             None, "GBP", "£", "%d/%m/%Y", ("VAT 20%", 20), "HC/{:05d}", "legal"),
    Supplier("Swift Couriers (UK) Ltd", "Unit 9, Trafford Park, Manchester M17 1SN, United Kingdom",
             "GB861230558", None, "GBP", "", "%d %B %Y", ("VAT 20%", 20), "SC-{:06d}", "courier"),
    Supplier("Cascade Cloud Systems Inc.", "500 Pine Street, Suite 1200, Seattle, WA 98101, USA",
             None, "91-1834567", "USD", "", "%m/%d/%Y", ("Sales tax 10.25%", 10.25),
             "CCS-{:06d}", "it"),
    Supplier("Hudson Legal Translations LLC", "88 Broad Street, New York, NY 10004, USA", None,
             "13-4096251", "USD", "$", "%B %d, %Y", ("Sales tax 8.875%", 8.875), "HLT-2026-{:04d}",
             "translation"),
)  # fmt: skip

# catalogue -> [(description, unit price low, high, quantity low, high)]
CATALOGUES = {
    "office": [
        ("Copy paper A4 80 g, box of 5 reams", 21, 29, 2, 20),
        ("Toner cartridge HP 59A", 85, 140, 1, 6),
        ("Ergonomic office chair", 180, 420, 1, 4),
        ("Whiteboard markers, pack of 12", 8, 15, 2, 10),
    ],
    "it": [
        ("Managed service, monthly fee", 900, 2600, 1, 1),
        ("On-site support (hours)", 85, 140, 2, 24),
        ("Laptop Latitude 7450", 1150, 1650, 1, 5),
        ("Office suite licence (month)", 33, 36, 10, 120),
    ],
    "cleaning": [
        ("Office cleaning, monthly contract", 1400, 3200, 1, 1),
        ("Window cleaning", 180, 450, 1, 2),
        ("Carpet deep clean (m2)", 3, 6, 80, 400),
    ],
    "catering": [
        ("Working lunch, per person", 14, 22, 8, 60),
        ("Coffee and pastries, per person", 5, 9, 10, 80),
        ("Room hire", 150, 400, 1, 1),
    ],
    "legal": [
        ("Professional fees, claim review (hours)", 180, 320, 2, 30),
        ("Disbursements, court fees", 100, 600, 1, 1),
        ("Counsel's opinion", 900, 2500, 1, 1),
    ],
    "courier": [
        ("Same-day courier London-Manchester", 95, 160, 1, 8),
        ("Next-day document delivery", 9, 16, 5, 60),
        ("Fuel surcharge", 12, 40, 1, 1),
    ],
    "translation": [
        ("Certified translation (per page)", 28, 45, 4, 60),
        ("Rush fee", 75, 150, 1, 1),
        ("Notarisation", 40, 90, 1, 2),
    ],
}

BUYER = "Northsea Mutual Insurance N.V."
BUYER_ADDRESS = "Accounts Payable, Stationsplein 1, 3511 ED Utrecht, Netherlands"
BUYER_VAT = "NL004512877B01"
CURRENCY_SLIPS = {"EUR": ("€", "EURO", "Euro"), "GBP": ("£", "UKP", "Sterling"),
                  "USD": ("$", "US$", "Dollar")}  # fmt: skip


def invoice_document(rng: random.Random, index: int, anchor: dt.date = ANCHOR) -> Draft:
    supplier = rng.choice(SUPPLIERS)
    number = supplier.number.format(rng.randint(1, 99_999))
    po = f"PO-{rng.randint(40000, 49999)}"
    issued = anchor - _days(rng, 1, 60)
    delivered = issued - _days(rng, 1, 10) if rng.random() < 0.5 else None
    due = issued + dt.timedelta(days=rng.choice((14, 30, 30, 45, 60)))
    catalogue = CATALOGUES[supplier.catalogue]
    rows = []
    for description, low, high, qty_low, qty_high in rng.sample(catalogue, rng.randint(1, 3)):
        quantity, unit = rng.randint(qty_low, qty_high), round(rng.uniform(low, high), 2)
        rows.append((description, quantity, unit, round(quantity * unit, 2)))
    subtotal = round(sum(row[3] for row in rows), 2)
    tax = round(subtotal * supplier.tax[1] / 100, 2)
    total = round(subtotal + tax, 2)
    pro_forma = rng.random() < 0.04

    def amount(value: float) -> str:
        return f"{supplier.symbol}{_money(value)}" if supplier.symbol else _money(value)

    def day(value: dt.date) -> str:
        return value.strftime(supplier.date_format)

    code = "" if supplier.symbol else f"{supplier.currency} "
    form = InvoiceForm(
        supplier=supplier.name,
        supplier_address=supplier.address,
        tax_id=f"VAT no.: {supplier.vat}" if supplier.vat else f"EIN: {supplier.ein}",
        title="PRO FORMA INVOICE - not a tax invoice, do not pay" if pro_forma else "INVOICE",
        number=number,
        issued=day(issued),
        delivered=day(delivered) if delivered else None,
        due=day(due),
        order=po,
        buyer=BUYER,
        buyer_address=BUYER_ADDRESS,
        buyer_vat=BUYER_VAT,
        rows=tuple(rows),
        subtotal=amount(subtotal),
        tax_label=supplier.tax[0],
        tax=amount(tax),
        total=code + amount(total),
    )

    doc = _Lines()
    supplier_q = doc.add(supplier.name)
    doc.add(supplier.address)
    vat_q = doc.add(f"VAT no.: {supplier.vat}") if supplier.vat else None
    ein_q = doc.add(f"EIN: {supplier.ein}") if supplier.ein else None
    doc.add()
    doc.add(form.title)
    doc.add()
    number_q = doc.add(f"Invoice number:  {number}")
    issued_q = doc.add(f"Invoice date:    {form.issued}")
    delivered_q = doc.add(f"Delivery date:   {form.delivered}") if delivered else None
    due_q = doc.add(f"Due date:        {form.due}")
    po_q = doc.add(f"Your order:      {po}")
    doc.add()
    doc.add("Bill to:")
    buyer_q = doc.add(f"  {BUYER}")
    doc.add(f"  {BUYER_ADDRESS}")
    buyer_vat_q = doc.add(f"  VAT no.: {BUYER_VAT}")
    doc.add()
    doc.add(f"{'Description':<42}{'Qty':>5}{'Unit price':>14}{'Amount':>14}")
    for description, quantity, unit, line_total in rows:
        doc.add(f"{description:<42}{quantity:>5}{_money(unit):>14}{_money(line_total):>14}")
    doc.add()
    subtotal_q = doc.add(f"{'Subtotal':>61}{form.subtotal:>14}")
    doc.add(f"{form.tax_label:>61}{form.tax:>14}")
    total_q = doc.add(f"{'Total due':>61}{form.total:>14}")
    doc.add()
    doc.add("Please pay by bank transfer and quote the invoice number.")

    ambiguous = supplier.date_format[:2] in ("%d", "%m") and "%B" not in supplier.date_format
    wrong_vat = (supplier.ein, ein_q) if supplier.ein else (BUYER_VAT, buyer_vat_q)
    return Draft(
        "invoice",
        doc.text(),
        [
            Source("supplier_name", supplier.name, supplier_q, decoy=(BUYER, buyer_q)),
            Source("invoice_number", number, number_q, decoy=(po, po_q)),
            Source(
                "invoice_date",
                issued.isoformat(),
                issued_q,
                decoy=(delivered.isoformat(), delivered_q) if delivered else None,
                ambiguous_date=ambiguous,
            ),
            Source(
                "due_date",
                due.isoformat(),
                due_q,
                decoy=(issued.isoformat(), issued_q),
                ambiguous_date=ambiguous,
            ),
            Source("total_amount", total, total_q, decoy=(subtotal, subtotal_q)),
            Source(
                "currency", supplier.currency, total_q, invalid=CURRENCY_SLIPS[supplier.currency]
            ),
            Source("vat_number", supplier.vat, vat_q, decoy=wrong_vat),
        ],
        reject=("not_an_invoice", "Pro forma invoice; wait for the final tax invoice.")
        if pro_forma
        else None,
        form=form,
    )


# --- Medical records: discharge summaries ------------------------------------------------------


@dataclass(frozen=True)
class Case:
    code: str
    diagnosis: str
    near_miss: str  # the code a coder might pick instead (wrong side, wrong subtype)
    department: str
    ages: tuple[int, int]
    complaint: str
    story: str
    course: str
    procedure: tuple[str, str]  # (CPT, description)
    stay: tuple[int, int]


CASES = (
    Case("S52.501A", "Unspecified fracture of the lower end of right radius, initial encounter",
         "S52.502A", "Orthopedic Surgery", (45, 90), "Right wrist pain and deformity after a fall.",
         "slipped on ice and fell on an outstretched right hand. X-ray showed a displaced distal "
         "radius fracture",
         "Closed reduction under hematoma block with good alignment on post-reduction films. "
         "Sugar-tong splint applied; neurovascularly intact.",
         ("25605", "Closed treatment of distal radial fracture with manipulation"), (1, 2)),
    Case("I21.4", "Non-ST elevation (NSTEMI) myocardial infarction", "I21.9", "Cardiology",
         (48, 88), "Substernal chest pressure for three hours.",
         "presented with chest pressure radiating to the left arm. Troponin I peaked at 4.2 ng/mL; "
         "ECG showed ST depression in V4-V6",
         "Coronary angiography showed a 90% mid-LAD stenosis treated with one drug-eluting stent. "
         "Started on dual antiplatelet therapy and a high-intensity statin.",
         ("92928", "Percutaneous transcatheter placement of intracoronary stent, single vessel"),
         (2, 5)),
    Case("J18.9", "Pneumonia, unspecified organism", "J15.9", "Internal Medicine", (30, 92),
         "Productive cough and fever for three days.",
         "had three days of productive cough, fever to 39.1 C and right lower lobe consolidation "
         "on chest X-ray",
         "Treated with IV ceftriaxone and azithromycin, switched to oral amoxicillin-clavulanate "
         "on day 3. Afebrile for 48 hours before discharge.",
         ("99223", "Initial hospital care, high complexity"), (2, 6)),
    Case("K80.00", "Calculus of gallbladder with acute cholecystitis without obstruction",
         "K81.0", "General Surgery", (25, 80), "Right upper quadrant pain and vomiting.",
         "had right upper quadrant pain after fatty meals for a week; positive Murphy sign, and "
         "ultrasound showed gallstones with gallbladder wall thickening",
         "Laparoscopic cholecystectomy on hospital day 2 without complications. Tolerating a "
         "regular diet at discharge.",
         ("47562", "Laparoscopic cholecystectomy"), (2, 4)),
    Case("M17.11", "Unilateral primary osteoarthritis, right knee", "M17.12", "Orthopedic Surgery",
         (55, 85), "Elective admission for right knee replacement.",
         "has end-stage right knee osteoarthritis with pain at rest despite injections and "
         "physiotherapy",
         "Right total knee arthroplasty under spinal anesthesia. Mobilised with physiotherapy on "
         "day 1; DVT prophylaxis with enoxaparin.",
         ("27447", "Total knee arthroplasty"), (2, 4)),
    Case("K35.80", "Unspecified acute appendicitis", "K35.89", "General Surgery", (18, 70),
         "Periumbilical pain migrating to the right lower quadrant.",
         "had 24 hours of abdominal pain moving to the right lower quadrant, with rebound "
         "tenderness and a WBC of 15.8; CT confirmed acute appendicitis",
         "Laparoscopic appendectomy the same evening; uneventful recovery.",
         ("44970", "Laparoscopic appendectomy"), (1, 3)),
    Case("J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation", "J44.0",
         "Pulmonology", (55, 90), "Worsening shortness of breath.",
         "with known COPD had increasing dyspnea and sputum for four days; SpO2 86% on room air",
         "Nebulised bronchodilators, prednisone 40 mg for five days and doxycycline. Weaned to "
         "room air by day 3.",
         ("99223", "Initial hospital care, high complexity"), (3, 6)),
    Case("I48.91", "Unspecified atrial fibrillation", "I48.0", "Cardiology", (50, 90),
         "Palpitations and lightheadedness.",
         "presented with palpitations; ECG showed atrial fibrillation with a rate of 138",
         "Rate controlled with metoprolol; elective cardioversion restored sinus rhythm. "
         "Anticoagulation with apixaban started.",
         ("92960", "Cardioversion, elective, external"), (1, 3)),
)  # fmt: skip

COMORBIDITIES = (
    ("I10", "Essential (primary) hypertension"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("E78.5", "Hyperlipidemia, unspecified"),
    ("F17.210", "Nicotine dependence, cigarettes, uncomplicated"),
    ("E66.9", "Obesity, unspecified"),
    ("N18.30", "Chronic kidney disease, stage 3 unspecified"),
    ("J45.909", "Unspecified asthma, uncomplicated"),
)
DISPOSITIONS = (
    ("home", "Discharged home in stable condition.", ("discharged_home", "Home")),
    ("home_health", "Discharged home with home health nursing visits.", ("HHA", "home health")),
    ("skilled_nursing", "Transferred to Maple Grove skilled nursing facility for rehabilitation.",
     ("SNF", "nursing_home")),
    ("inpatient_rehab", "Discharged to the inpatient rehabilitation unit.", ("rehab", "IRF")),
    ("against_medical_advice", "Patient left against medical advice after counselling.",
     ("AMA", "left_ama")),
)  # fmt: skip
ATTENDINGS = ("Samuel Okafor", "Emily Chen", "Rafael Ortiz", "Hannah Whitfield", "Grace Mensah")


def medical_document(rng: random.Random, index: int, anchor: dt.date = ANCHOR) -> Draft:
    case = rng.choice(CASES)
    comorbid = rng.sample(COMORBIDITIES, rng.choice((0, 1, 1, 2, 2, 3)))
    sex = rng.choice("FM")
    first, last = _name(rng, sex).split(" ", 1)
    age = rng.randint(*case.ages)
    mrn = f"MRN-{rng.randint(0, 99_999_999):08d}"
    account = f"ACC-{rng.randint(10_000_000, 99_999_999)}"
    admitted = anchor - _days(rng, 2, 60)
    discharged = admitted + _days(rng, *case.stay)
    operated = admitted + _days(rng, 0, (discharged - admitted).days)
    disposition, disposition_text, disposition_slips = rng.choice(DISPOSITIONS)
    attending = rng.choice(ATTENDINGS)
    draft = rng.random() < 0.04
    history = (
        " with a history of " + " and ".join(text.lower() for _, text in comorbid)
        if comorbid
        else ""
    )

    doc = _Lines()
    doc.add("ST. AGNES REGIONAL MEDICAL CENTER")
    doc.add(f"Department of {case.department}")
    doc.add("DISCHARGE SUMMARY")
    if draft:
        doc.add("DRAFT - NOT YET SIGNED BY THE ATTENDING PHYSICIAN")
    doc.add()
    doc.add(f"Patient: {last.upper()}, {first}")
    mrn_q = doc.add(f"MRN: {mrn}")
    born = dt.date(anchor.year - age, rng.randint(1, 12), rng.randint(1, 28))
    doc.add(f"DOB: {born:%m/%d/%Y}   Sex: {sex}")
    account_q = doc.add(f"Account: {account}")
    admitted_q = doc.add(f"Admission date: {admitted:%m/%d/%Y}")
    discharged_q = doc.add(f"Discharge date: {discharged:%m/%d/%Y}")
    doc.add(f"Attending: {attending}, MD")
    doc.add()
    doc.add("CHIEF COMPLAINT")
    doc.add(case.complaint)
    doc.add()
    doc.add("HISTORY OF PRESENT ILLNESS")
    patient = "woman" if sex == "F" else "man"
    doc.add(f"{age}-year-old {patient}{history} who {case.story}.")
    doc.add()
    doc.add("HOSPITAL COURSE")
    doc.add(case.course)
    doc.add()
    doc.add("PROCEDURES")
    cpt, procedure = case.procedure
    procedure_q = doc.add(f"{operated:%m/%d/%Y}  {procedure} (CPT {cpt})")
    discharge_code_q = doc.add(
        f"{discharged:%m/%d/%Y}  Hospital discharge day management (CPT 99238)"
    )
    doc.add()
    doc.add("DIAGNOSES")
    primary_q = doc.add(f"Principal: {case.diagnosis} ({case.code})")
    secondary_quotes = [doc.add(f"Secondary: {text} ({code})") for code, text in comorbid]
    doc.add()
    doc.add("DISPOSITION")
    disposition_q = doc.add(disposition_text)
    doc.add()
    if not draft:
        doc.add(f"Electronically signed by {attending}, MD on {discharged:%m/%d/%Y} 16:42")

    secondary = comorbid[0][0] if comorbid else None
    return Draft(
        "discharge_summary",
        doc.text(),
        [
            Source("patient_id", mrn, mrn_q, decoy=(account, account_q)),
            Source(
                "encounter_date",
                admitted.isoformat(),
                admitted_q,
                decoy=(discharged.isoformat(), discharged_q),
                ambiguous_date=True,
            ),
            Source(
                "primary_icd10",
                case.code,
                primary_q,
                decoy=(secondary, secondary_quotes[0]) if comorbid else (case.near_miss, primary_q),
            ),
            Source(
                "secondary_icd10",
                secondary,
                secondary_quotes[0] if comorbid else None,
                decoy=(case.code, primary_q) if comorbid else None,
            ),
            Source("procedure_cpt", cpt, procedure_q, decoy=("99238", discharge_code_q)),
            Source("discharge_disposition", disposition, disposition_q, invalid=disposition_slips),
        ],
        reject=("unsigned_draft", "Draft summary, not signed; code the signed version.")
        if draft
        else None,
    )


# Each takes (rng, index) and optionally the day the document is dated back from (the
# simulated history dates its documents before the day they arrive).
DOCUMENTS: dict[str, Callable[..., Draft]] = {
    "claims-intake": claim_document,
    "invoice-extraction": invoice_document,
    "medical-coding": medical_document,
}


# --- How an agent reads a document, mistakes included -------------------------------------------

# Characters OCR and vision models confuse, and digit slips in amounts.
LOOKALIKES = {"0": "O", "O": "0", "1": "l", "l": "1", "I": "1", "5": "S", "S": "5", "8": "B",
              "B": "8"}  # fmt: skip
DIGIT_SLIPS = {"3": "8", "8": "3", "1": "7", "7": "1", "5": "6", "6": "5"}
# How often each kind of mistake is made, relative to the others, where it can happen at all.
MISTAKE_WEIGHTS = {
    "misread": 3.0,
    "wrong_value": 3.0,
    "date_swap": 6.0,  # only possible when the day is 12 or less, so weighted up
    "invalid_enum": 2.5,
    "invented_evidence": 1.5,
    "missed": 1.0,
    "close_alternative": 1.5,
}
# The reason code a reviewer picks for each kind of mistake.
CORRECTION_REASONS = {
    "misread": "misread",
    "wrong_value": "wrong_value",
    "date_swap": "formatting",
    "invalid_enum": "wrong_value",
    "invented_evidence": "not_in_source",
    "missed": "wrong_value",
    "close_alternative": "wrong_value",
}
COMMENTS = {
    "misread": "{label}: misread characters ({wrong} instead of {right}).",
    "wrong_value": "{label}: took the wrong value from the document ({wrong}).",
    "date_swap": "{label}: day and month swapped.",
    "invalid_enum": "{label}: {wrong} is not an allowed value.",
    "invented_evidence": "{label}: the quoted evidence is not in the document.",
    "missed": "{label}: left empty, but the document has it.",
    "close_alternative": "{label}: the agent's second choice was the right one.",
}
LOW_CONFIDENCE_NOTES = (
    "Part of the value is handwritten.",
    "Scan is skewed and faint in this area.",
    "Two candidate values in the document.",
    "Value inferred from context.",
)


@dataclass(frozen=True)
class DemoFile:
    """A source sent as a file: inline as base64, or uploaded first and referred to by id."""

    key: str
    filename: str
    data: bytes
    upload: bool


@dataclass
class DemoItem:
    """One agent output as sent, with the truth behind it and the mistakes in it.

    An item whose source is a file to upload first carries it inline in `payload`; seed_demo
    uploads `file` and sends its id instead.
    """

    agent: DemoAgent
    external_id: str
    payload: dict[str, Any]
    truth: dict[str, Any]
    mistakes: dict[str, str] = field(default_factory=dict)  # field -> kind of mistake
    reject: tuple[str, str] | None = None
    file: DemoFile | None = None


def generate(agent: DemoAgent, *, count: int, seed: int) -> list[DemoItem]:
    """The first count outputs of agent; item n is the same whatever count is."""
    specs = {spec["name"]: spec for spec in queue_spec(agent.queue)["fields"]}
    return [
        _item(agent, specs, index, random.Random(f"{seed}/{agent.queue}/{index}"))
        for index in range(1, count + 1)
    ]


def queue_spec(slug: str) -> dict[str, Any]:
    return next(spec for spec in QUEUES if spec["slug"] == slug)


def _item(agent: DemoAgent, specs: dict[str, dict], index: int, rng: random.Random) -> DemoItem:
    draft = DOCUMENTS[agent.queue](rng, index)
    # A bad scan makes every field harder: mistakes cluster in a few documents, as in real life.
    quality = rng.uniform(0.45, 0.75) if rng.random() < 0.15 else rng.uniform(0.85, 0.99)
    error_rate = 0.04 if quality > 0.8 else 0.18
    item = DemoItem(agent, f"{agent.id_prefix}-{index:06d}", {}, {}, reject=draft.reject)
    fields = []
    for source in draft.sources:
        kinds = _possible_mistakes(source, specs[source.name])
        kind = _weighted(rng, kinds) if kinds and rng.random() < error_rate else ""
        fields.append(_read(rng, source, kind, specs[source.name], draft, quality))
        item.truth[source.name] = source.value
        if fields[-1]["value"] != source.value:
            item.mistakes[source.name] = kind
    if draft.reject:
        # The agent notices something odd about the document and says it is unsure.
        fields[0]["confidence"] = round(rng.uniform(0.5, 0.8), 3)
    item.payload = {
        "queue": agent.queue,
        "external_id": item.external_id,
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
            "scan_quality": round(quality, 2),
        },
    }
    if (way := delivery(agent.queue, index)) != "text":
        _send_as_file(item, draft, way)
    return item


def delivery(queue: str, index: int) -> str:
    """How output `index` sends its source: as text, or as a file ("inline", "upload", "scan").

    A share of each queue, so that the demo shows PDFs and scans beside text and exercises both
    ways of sending a file.
    """
    if queue == "claims-intake" and index % 4 == 0:
        return "upload" if index % 8 == 0 else "inline"
    if queue == "invoice-extraction" and index % 3 == 0:
        return "upload" if index % 6 == 0 else "inline"
    if queue == "medical-coding" and index % 10 == 7:
        return "scan"
    return "text"


def _send_as_file(item: DemoItem, draft: Draft, way: str) -> None:
    """Send the source as a PDF (or a scanned page) of the same content instead of text.

    Quotes stay as they were: the file says what the text says, and an invented quote is in
    neither. Character spans go, since they count characters of the text version.
    """
    fields = item.payload["fields"]
    for entry in fields:
        entry["evidence"] = [
            {name: value for name, value in evidence.items() if name not in ("start", "end")}
            for evidence in entry["evidence"]
        ]
    if way == "scan":
        page = scan(draft.text.splitlines())
        data, filename = page.data, f"{item.external_id}-scan.jpg"
        _point_at_line(fields, draft, page.boxes)
    elif isinstance(draft.form, ClaimForm):
        data, filename = claim_form_pdf(draft.form), f"{item.external_id}.pdf"
    elif isinstance(draft.form, InvoiceForm):
        data, filename = invoice_pdf(draft.form), f"{item.external_id}.pdf"
    else:
        raise ValueError(f"{item.external_id}: no form to lay out as a PDF")
    item.file = DemoFile(draft.key, filename, data, upload=way == "upload")
    encoded = base64.b64encode(data).decode()
    item.payload["documents"] = [
        {"key": draft.key, "filename": filename, "content_base64": encoded}
    ]


def _point_at_line(
    fields: list[dict[str, Any]], draft: Draft, boxes: list[list[float] | None]
) -> None:
    """On a scan there is no text to quote from, so a vision agent points at the line it read:
    the first field that quotes a whole line gets a page+bbox instead, right or wrong as the
    quote was."""
    lines = [normalise(line) for line in draft.text.splitlines()]
    for entry in fields:
        for evidence in entry["evidence"]:
            quote = normalise(evidence["quote"])
            if quote in lines and (box := boxes[lines.index(quote)]):
                entry["evidence"] = [{"document": draft.key, "page": 1, "bbox": box}]
                return


def _possible_mistakes(source: Source, spec: dict) -> dict[str, float]:
    """The kinds of mistake that can happen on this field, with their weights."""
    right = source.value
    decoy = source.decoy if source.decoy and source.decoy[0] != right else None
    kinds = ["wrong_value"] if decoy else []
    if right is not None:
        misreadable = _lookalike(right, spec) is not None
        kinds.append("missed")
        if decoy or misreadable:
            kinds.append("invented_evidence")  # it needs a wrong value to invent a quote for
        if misreadable:
            kinds.append("misread")
        if decoy:
            kinds.append("close_alternative")
        if source.ambiguous_date and _swapped(right) is not None:
            kinds.append("date_swap")
        if source.invalid:
            kinds.append("invalid_enum")
    return {kind: MISTAKE_WEIGHTS[kind] for kind in kinds}


def _read(
    rng: random.Random, source: Source, kind: str, spec: dict, draft: Draft, quality: float
) -> dict[str, Any]:
    """The agent's output for one field: right, or wrong in the way kind says."""
    value, quote, alternatives = source.value, source.quote, []
    decoy = source.decoy if source.decoy and source.decoy[0] != source.value else None
    confidence = _overconfidence(rng)
    if kind == "misread":
        value = _lookalike(source.value, spec, rng)
        if isinstance(value, str) and quote and rng.random() < 0.5:
            quote = quote.replace(source.value, value)  # it quotes what it thinks it read
    elif kind == "wrong_value" and decoy:
        value, quote = decoy
    elif kind == "date_swap":
        value = _swapped(source.value)
    elif kind == "invalid_enum":
        value = rng.choice(source.invalid)
    elif kind == "invented_evidence":
        value = decoy[0] if decoy else _lookalike(source.value, spec, rng)
        quote = f"{spec.get('label', source.name)}: {_shown(value)}"
        if normalise(quote) in normalise(draft.text):  # then it is not invented after all
            quote = f"{quote} (page 2)"
    elif kind == "missed":
        value, quote, confidence = None, None, rng.uniform(0.3, 0.9)
    elif kind == "close_alternative" and decoy:
        value, quote = decoy
        confidence = rng.uniform(0.6, 0.9)
        alternatives = [{"value": source.value, "confidence": confidence - rng.uniform(0.01, 0.08)}]
    else:
        confidence = _confidence(rng, quality)
        if decoy and rng.random() < 0.05:
            alternatives = [{"value": decoy[0], "confidence": confidence - rng.uniform(0.02, 0.3)}]
    entry: dict[str, Any] = {
        "name": source.name,
        "value": value,
        "confidence": round(confidence, 3),
        "evidence": _evidence(rng, draft, quote),
    }
    if alternatives:
        entry["alternatives"] = [
            {"value": a["value"], "confidence": round(max(a["confidence"], 0.01), 3)}
            for a in alternatives
        ]
    if confidence < 0.8:
        entry["rationale"] = rng.choice(LOW_CONFIDENCE_NOTES)
    return entry


def _overconfidence(rng: random.Random) -> float:
    """A wrong answer's confidence: often as high as a right one's, which is the whole problem."""
    return rng.uniform(0.9, 0.99) if rng.random() < 0.45 else rng.uniform(0.65, 0.9)


def _confidence(rng: random.Random, quality: float) -> float:
    """A right answer's confidence: mostly 0.9-0.99, with a tail that grows on bad scans."""
    if rng.random() < (0.06 if quality > 0.8 else 0.3):
        return rng.uniform(0.55, 0.9)
    return max(0.9, 0.995 - rng.expovariate(45))


def _evidence(rng: random.Random, draft: Draft, quote: str | None) -> list[dict[str, Any]]:
    if not quote:
        return []
    start = draft.text.find(quote)
    if start >= 0 and rng.random() < 0.6:
        return [{"document": draft.key, "quote": quote, "start": start, "end": start + len(quote)}]
    if rng.random() < 0.4:
        quote = " ".join(quote.split())  # agents often collapse the layout's spacing
    return [{"document": draft.key, "quote": quote}]


def _lookalike(value: Any, spec: dict, rng: random.Random | None = None) -> Any:
    """value with one character misread, or None if nothing in it can be misread."""
    if spec["type"] == "number" and isinstance(value, float):
        text = f"{value:.2f}"
        spots = [i for i, c in enumerate(text) if c in DIGIT_SLIPS]
        if not spots:
            return None
        at = rng.choice(spots) if rng else spots[0]
        return float(text[:at] + DIGIT_SLIPS[text[at]] + text[at + 1 :])
    if spec["type"] != "string" or not isinstance(value, str):
        return None
    spots = [i for i, c in enumerate(value) if c in LOOKALIKES]
    if not spots:
        return None
    at = rng.choice(spots) if rng else spots[0]
    return value[:at] + LOOKALIKES[value[at]] + value[at + 1 :]


def _swapped(iso: str) -> str | None:
    day = dt.date.fromisoformat(iso)
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month).isoformat()


def _shown(value: Any) -> str:
    return _money(value) if isinstance(value, float) else str(value)


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    kinds = sorted(weights)
    return rng.choices(kinds, weights=[weights[k] for k in kinds])[0]


# --- How a careful reviewer decides ------------------------------------------------------------


@dataclass(frozen=True)
class ReviewPlan:
    decision: str
    fields: list[FieldVerdictIn]
    reason: str
    comment: str
    active_seconds: float


def review_plan(item: DemoItem, rng: random.Random) -> ReviewPlan:
    """What a reviewer who reads the document carefully decides: the truth, field by field."""
    seconds = item.agent.review_seconds * rng.lognormvariate(0, 0.35)
    if item.reject:
        reason, comment = item.reject
        return ReviewPlan("reject", [], reason, comment, round(seconds, 1))
    specs = queue_spec(item.agent.queue)["fields"]
    labels = {spec["name"]: spec.get("label", spec["name"]) for spec in specs}
    verdicts, notes = [], []
    for entry in item.payload["fields"]:
        name, given, right = entry["name"], entry["value"], item.truth[entry["name"]]
        if given == right:
            verdicts.append(FieldVerdictIn(name, "correct"))
            continue
        reason = CORRECTION_REASONS.get(item.mistakes.get(name, ""), "wrong_value")
        verdicts.append(FieldVerdictIn(name, "corrected", right, correction_reason=reason))
        seconds += rng.uniform(10, 30)  # finding and typing the right value takes time
        template = COMMENTS.get(item.mistakes.get(name, ""), "{label}: corrected.")
        notes.append(template.format(label=labels[name], wrong=given, right=right))
    comment = " ".join(notes) if notes and rng.random() < 0.6 else ""
    return ReviewPlan("approve", verdicts, "", comment, round(seconds, 1))
