"""Deterministic seed data: realistic customers and invoices in QBO's JSON shape.

Why deterministic: a failing sync test must be replayable, so everything derives from
``random.Random(f"{seed}:{realm}")``. Timestamps are offsets back from an *anchor* (the
sandbox clock when seeding), so content is identical for a given seed and anchor; freeze the
clock to get byte-identical data.

Why the odd timestamp layout: sync bugs live at cursor boundaries. LastUpdatedTimes are
spread over the past two years, ~5% fall inside the CDC 30-day window, and deliberate bulk
edit clusters make many records share one second (3-50 records; and, once the realm is big
enough, clusters of 1,500+ that no 1,000-row page can hold).
"""

from __future__ import annotations

import bisect
import random
from datetime import timedelta

from .clock import company_date, fmt_qbo

DAY = 86400
SPAN = 730 * DAY

# fmt: off
FIRST = (
    "Ada", "Alan", "Amira", "Ben", "Carla", "Chen", "Dana", "Diego", "Elena", "Femi", "Grace",
    "Hana", "Ivan", "Jade", "Jonas", "Kai", "Lena", "Luis", "Maya", "Mei", "Nadia", "Noah",
    "Omar", "Priya", "Quinn", "Rosa", "Sam", "Sofia", "Tariq", "Uma", "Vera", "Wes", "Ximena",
    "Yusuf", "Zoe", "Aiden", "Bianca", "Caleb", "Dmitri", "Esme"
)
LAST = (
    "Ng", "Smith", "Garcia", "O'Brien", "Patel", "Kim", "Müller", "Rossi", "Dubois", "Nowak",
    "Silva", "Tanaka", "Okafor", "Cohen", "Jensen", "Larsen", "Novak", "Costa", "Brennan",
    "Ito", "Haddad", "Kowalski", "Nguyen", "Fischer", "D'Angelo", "Walsh", "Moreau", "Santos",
    "Berg", "Lindqvist", "Abara", "Petrov", "Reyes", "Shah", "Young", "Zhou", "Adams", "Baker",
    "Clarke"
)
ADJ = (
    "Acme", "Blue", "Bright", "Cedar", "Copper", "Delta", "Eagle", "Evergreen", "Golden",
    "Granite", "Harbor", "Iron", "Juniper", "Keystone", "Lakeside", "Maple", "Northern", "Oak",
    "Pacific", "Pioneer", "Quarry", "Redwood", "Silver", "Summit", "Tidal", "Urban", "Valley",
    "Willow", "Summit", "Zenith"
)
NOUN = (
    "Plumbing", "Bakery", "Design", "Logistics", "Dental", "Landscaping", "Electric",
    "Consulting", "Roofing", "Catering", "Fitness", "Studio", "Motors", "Pharmacy", "Analytics",
    "Books", "Coffee", "Builders", "Cleaning", "Media"
)
# fmt: on
SUFFIX = ("LLC", "Inc.", "& Co.", "Ltd", "Group", "Partners", "Supply", "Services")
STREETS = ("Pine St", "Main St", "Oak Ave", "Market St", "2nd Ave", "Elm Dr", "Bay Rd", "Hill Ct")
CITIES = (
    ("Oakland", "CA", "946"),
    ("San Jose", "CA", "951"),
    ("Portland", "OR", "972"),
    ("Seattle", "WA", "981"),
    ("Austin", "TX", "787"),
    ("Denver", "CO", "802"),
    ("Boston", "MA", "021"),
    ("Chicago", "IL", "606"),
)
CURRENCIES = (
    ("USD", "United States Dollar", 1.0, 0.85),
    ("CAD", "Canadian Dollar", 0.73, 0.06),
    ("GBP", "British Pound Sterling", 1.27, 0.05),
    ("EUR", "Euro", 1.08, 0.04),
)
ITEMS = (
    ("1", "Services", 75.0),
    ("2", "Hours", 95.0),
    ("3", "Design", 120.0),
    ("4", "Installation", 50.0),
    ("5", "Maintenance", 65.0),
    ("6", "Rocks", 12.5),
    ("7", "Labor", 75.0),
    ("8", "Pest Control", 35.0),
    ("9", "Sprinkler Pipes", 4.0),
    ("10", "Gardening", 25.0),
)
TERMS = (("1", "Due on receipt", 0), ("2", "Net 15", 15), ("3", "Net 30", 30), ("4", "Net 60", 60))
SALES_ACCOUNT = {"value": "79", "name": "Sales of Product Income"}


class FastRandom(random.Random):
    """``random()``-based randint/randrange/choice: ~3x faster than the stdlib's exact ones.

    Seeding 100k invoices makes ~2M such calls; the tiny bias does not matter for fake data
    and the output stays fully deterministic per seed.
    """

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


def currency_ref(code: str) -> dict:
    for c, name, _, _ in CURRENCIES:
        if c == code:
            return {"value": c, "name": name}
    return {"value": code}


def plan_times(rng: random.Random, anchor: int, n: int):
    """CreateTime/LastUpdatedTime/SyncToken for ``n`` records in Id (= creation) order."""
    cts = sorted(anchor - rng.randint(3600, SPAN) for _ in range(n))
    luts, syncs = [], []
    for ct in cts:
        if rng.random() < 0.4:
            lut, sync = ct, 0
        else:
            lut, sync = ct + int((anchor - 60 - ct) * rng.random() ** 2), rng.randint(1, 5)
        if rng.random() < 0.05:
            lut = max(ct, anchor - rng.randint(60, 29 * DAY))
            sync = max(sync, 1) if lut > ct else sync
        luts.append(lut)
        syncs.append(sync)
    clusters = [(rng.randint(3, 50), 3600) for _ in range(n // 60)]
    if n >= 4000:
        big = 1 + (n >= 40000) + (n >= 80000)
        clusters += [(rng.randint(1500, 2200), 35 * DAY) for _ in range(big)]
    big_taken: set[int] = set()
    for size, min_age in clusters:  # big ones last so overlaps cannot shrink them
        t = anchor - rng.randint(min_age, SPAN - DAY)
        eligible = bisect.bisect_right(cts, t)
        pool = rng.sample(range(eligible), min(size + len(big_taken), eligible))
        members = [i for i in pool if i not in big_taken][:size]
        if min_age > 3600:
            big_taken.update(members)
        for i in members:
            luts[i] = t
            syncs[i] += 1 if t > cts[i] else 0
    return cts, luts, syncs


class SeedPlan:
    """Generates one batch: call ``invoices()`` to exhaustion, then ``customers()``.

    Invoices come first because a customer's Balance is the sum of its open invoices.
    Inactive customers only get paid invoices (QBO refuses to deactivate a customer with an
    open balance).
    """

    def __init__(
        self,
        rng,
        anchor,
        n_customers,
        n_invoices,
        first_cid,
        first_iid,
        first_doc,
        taken_names: set[str],
        existing: list[tuple[str, str, str, str]],
        first_pid: int = 1,
    ):
        self.rng, self.anchor = rng, anchor
        # Every (partly) paid invoice gets a real Payment: Id first_pid + index in ``paid``.
        self.first_pid = first_pid
        self.paid: list[dict] = []
        self.first_iid, self.first_doc, self.n_invoices = first_iid, first_doc, n_invoices
        self.first_cid = first_cid
        self.profiles = [self._profile(taken_names) for _ in range(n_customers)]
        # (id, DisplayName, currency, email, active) - new customers, else existing ones.
        self.targets = [
            (str(first_cid + i), p["DisplayName"], p["cur"], p.get("email"), p["active"])
            for i, p in enumerate(self.profiles)
        ] or [(*e, True) for e in existing]
        self.balances = [0.0] * len(self.profiles)
        self.existing_delta: dict[str, float] = {}
        # Customer times first, so an invoice only goes to a customer that already existed.
        self.cust_times = plan_times(rng, anchor, n_customers)
        self.today = company_date(anchor)

    def _profile(self, taken: set[str]) -> dict:
        rng = self.rng
        given, family = rng.choice(FIRST), rng.choice(LAST)
        company = None
        if rng.random() < 0.6:
            company = f"{rng.choice(ADJ)} {rng.choice(NOUN)} {rng.choice(SUFFIX)}"
        display = company or f"{given} {family}"
        base, k = display, 2
        while display in taken:
            display, k = f"{base} {k}", k + 1
        taken.add(display)
        r, cum, cur = rng.random(), 0.0, "USD"
        for code, _, _, weight in CURRENCIES:
            cum += weight
            if r < cum:
                cur = code
                break
        p = {
            "given": given,
            "family": family,
            "company": company,
            "DisplayName": display,
            "cur": cur,
            "active": rng.random() >= 0.1,
            "taxable": rng.random() < 0.3,
        }
        slug = "".join(ch for ch in display.lower() if ch.isalnum())[:20]
        if rng.random() < 0.95:
            p["email"] = f"{given.lower().replace(chr(39), '')}@{slug}.example"
        if rng.random() < 0.9:
            p["phone"] = f"(555) {rng.randint(100, 999):03d}-{rng.randint(0, 9999):04d}"
        city, st, zip3 = rng.choice(CITIES)
        p["addr"] = {
            "Line1": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
            "City": city,
            "CountrySubDivisionCode": st,
            "PostalCode": f"{zip3}{rng.randint(0, 99):02d}",
        }
        p["delivery"] = rng.choice(("Print", "Email", "None"))
        return p

    def invoices(self):
        """Yield ``(invoice dict, ct, lut)`` in Id order."""
        rng, n, nt = self.rng, self.n_invoices, len(self.targets)
        if n and not nt:
            raise ValueError("cannot seed invoices into a realm without customers")
        cts, luts, syncs = plan_times(rng, self.anchor, n)
        for i in range(n):
            if self.profiles:
                ti = rng.randrange(max(1, bisect.bisect_right(self.cust_times[0], cts[i])))
            else:
                ti = rng.randrange(nt)
            cid, cname, cur, email, active = self.targets[ti]
            ct, lut = cts[i], luts[i]
            txn = company_date(ct) - timedelta(days=rng.randint(0, 3))
            term = rng.choice(TERMS)
            due = txn + timedelta(days=term[2])
            lines, total = [], 0.0
            for ln in range(1, rng.randint(1, 4) + 1):
                item = rng.choice(ITEMS)
                qty = rng.randint(1, 12)
                amount = round(item[2] * qty, 2)
                total += amount
                lines.append(
                    {
                        "Id": str(ln),
                        "LineNum": ln,
                        "Description": f"{item[1]} ({qty})",
                        "Amount": amount,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": item[0], "name": item[1]},
                            "UnitPrice": item[2],
                            "Qty": qty,
                            "ItemAccountRef": SALES_ACCOUNT,
                            "TaxCodeRef": {"value": "NON"},
                        },
                    }
                )
            total = round(total, 2)
            lines.append(
                {"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
            )
            r = rng.random()
            open_ = due >= self.today
            if not active or r < (0.25 if open_ else 0.75):
                balance = 0.0
            elif r < (0.35 if open_ else 0.85):
                balance = round(total * rng.choice((0.25, 0.5, 0.75)), 2)
            else:
                balance = total
            iid = self.first_iid + i
            links = []
            if balance < total:
                pid = self.first_pid + len(self.paid)
                links = [{"TxnId": str(pid), "TxnType": "Payment"}]
                self.paid.append(
                    {
                        "Id": pid,
                        "invoice": str(iid),
                        "customer": {"value": cid, "name": cname},
                        "cur": cur,
                        "amount": round(total - balance, 2),
                        "ct": ct,
                        "lut": lut,
                        "txn": txn,
                    }
                )
            inv = {
                "AllowIPNPayment": False,
                "AllowOnlinePayment": False,
                "CustomField": [
                    {
                        "DefinitionId": "1",
                        "Name": "PO #",
                        "Type": "StringType",
                        **(
                            {"StringValue": f"PO-{rng.randint(1000, 99999)}"}
                            if rng.random() < 0.3
                            else {}
                        ),
                    }
                ],
                "DocNumber": str(self.first_doc + i),
                "TxnDate": txn.isoformat(),
                "DueDate": due.isoformat(),
                "CurrencyRef": currency_ref(cur),
                "LinkedTxn": links,
                "Line": lines,
                "TxnTaxDetail": {"TotalTax": 0},
                "CustomerRef": {"value": cid, "name": cname},
                "SalesTermRef": {"value": term[0], "name": term[1]},
                "TotalAmt": total,
                "Balance": balance,
                "ApplyTaxAfterDiscount": False,
                "PrintStatus": "NotSet",
                "EmailStatus": rng.choice(("EmailSent", "NotSet", "NeedToSend")),
            }
            if email:
                inv["BillEmail"] = {"Address": email}
            if cur != "USD":
                rate = next(c[2] for c in CURRENCIES if c[0] == cur)
                inv["ExchangeRate"] = rate
                inv["HomeTotalAmt"] = round(total * rate, 2)
                inv["HomeBalance"] = round(balance * rate, 2)
            if rng.random() < 0.2:
                inv["CustomerMemo"] = {"value": "Thank you for your business!"}
            if self.profiles:
                self.balances[ti] += balance
            elif balance:  # an existing customer: its stored Balance grows (store.seed)
                self.existing_delta[cid] = self.existing_delta.get(cid, 0.0) + balance
            yield _stamped(inv, iid, syncs[i], ct, lut), ct, lut

    def customers(self):
        """Yield ``(customer dict, ct, lut)`` in Id order."""
        cts, luts, syncs = self.cust_times
        for i, p in enumerate(self.profiles):
            bal = round(self.balances[i], 2)
            c = {
                "Taxable": p["taxable"],
                "Job": False,
                "BillWithParent": False,
                "Balance": bal,
                "BalanceWithJobs": bal,
                "CurrencyRef": currency_ref(p["cur"]),
                "PreferredDeliveryMethod": p["delivery"],
                "IsProject": False,
                "GivenName": p["given"],
                "FamilyName": p["family"],
                "FullyQualifiedName": p["DisplayName"],
                "DisplayName": p["DisplayName"],
                "PrintOnCheckName": p["company"] or p["DisplayName"],
                "Active": p["active"],
                "BillAddr": {"Id": str(1000 + self.first_cid + i), **p["addr"]},
            }
            if p["company"]:
                c["CompanyName"] = p["company"]
            if "email" in p:
                c["PrimaryEmailAddr"] = {"Address": p["email"]}
            if "phone" in p:
                c["PrimaryPhone"] = {"FreeFormNumber": p["phone"]}
            ct, lut = cts[i], luts[i]
            yield _stamped(c, self.first_cid + i, syncs[i], ct, lut), ct, lut


def _stamped(obj: dict, id_: int, sync: int, ct: int, lut: int) -> dict:
    head = {
        "domain": "QBO",
        "sparse": False,
        "Id": str(id_),
        "SyncToken": str(sync),
        "MetaData": {"CreateTime": fmt_qbo(ct), "LastUpdatedTime": fmt_qbo(lut)},
    }
    head.update(obj)
    return head


def company_info(index: int, epoch: int) -> dict:
    addr = {
        "Id": "1",
        "Line1": "123 Sierra Way",
        "City": "San Pablo",
        "CountrySubDivisionCode": "CA",
        "Country": "USA",
        "PostalCode": "87999",
    }
    name = f"Sandbox Company_US_{index + 1}"
    return _stamped(
        {
            "CompanyName": name,
            "LegalName": name,
            "CompanyAddr": addr,
            "CustomerCommunicationAddr": addr,
            "LegalAddr": addr,
            "CompanyStartDate": company_date(epoch - SPAN).isoformat(),
            "FiscalYearStartMonth": "January",
            "Country": "US",
            "Email": {"Address": "noreply@quickbooks.example"},
            "SupportedLanguages": "en",
            "NameValue": [
                {"Name": "NeoEnabled", "Value": "true"},
                {"Name": "IndustryType", "Value": "Landscaping Services"},
                {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            ],
        },
        1,
        5,
        epoch - SPAN,
        epoch - 30 * DAY,
    )
