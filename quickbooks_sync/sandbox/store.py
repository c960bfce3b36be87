"""SandboxState: the in-memory QBO companies plus the knobs tests turn.

Why one object and one lock: the HTTP server, the test that drives it and the client under
test all share the state, so every read/write of entities happens under ``self.lock``
(re-entrant). Slow things (latency, injected delays) are slept *outside* it.

Entity semantics follow API-NOTES §4 and §9: Id/SyncToken strings, SyncToken +1 and
LastUpdatedTime = clock now on every write, name lists (``catalog.NAME_LISTS``) cannot be
deleted (only made inactive), transactions are hard-deleted (they then exist only as CDC
``Deleted`` stubs) and the voidable ones voided (zeroed, still queryable). Deleting or
voiding a Payment (BillPayment) gives the invoices (bills) it paid their Balance back, an
update of each, as QBO does. Writing an invoice does not cascade to its customer's
Balance; only seeding computes Balance (a documented simplification).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime
from itertools import chain

from . import data
from .catalog import CATALOG, ENTITIES, entity_name, new_record
from .clock import SandboxClock, company_date
from .config import ID_ORDERS, LEDGER_COUNTS, TIE_ORDERS, SandboxConfig
from .entities import (
    READ_ONLY,
    SYSTEM_FIELDS,
    QBOError,
    check_name,
    drop_nulls,
    int_id,
    lines_total,
    new_customer,
    new_invoice,
    number_lines,
)
from .evaluate import Ordering
from .faults import FaultInjector, FaultRule, Throttle
from .ledger import LedgerPlan
from .oauth import TokenStore
from .surface import FOREIGN, SurfacePlan, company_facts, exchange_rate
from .table import EntityTable, stamp
from .webhooks import WebhookEmitter

API_KINDS = ("query", "cdc", "read", "companyinfo", "write", "batch", "other")
# Whose Balance a payment-like transaction pays down (through its lines' LinkedTxn).
PAYS = {"Payment": "Invoice", "BillPayment": "Bill"}
SALES_FORMS = frozenset({"Invoice", "SalesReceipt", "CreditMemo", "RefundReceipt"})


class Realm:
    def __init__(self, realm_id: str, index: int, epoch: int) -> None:
        self.id = realm_id
        self.tables = {e: EntityTable(e, CATALOG[e].keyless) for e in ENTITIES}
        self.next_doc = 1001
        start = epoch - data.SPAN
        name = f"Sandbox Company_US_{index + 1}"
        for entity, obj in company_facts(name, epoch, start):
            self.tables[entity].insert(obj, start, epoch - 30 * data.DAY)

    @property
    def company_info(self) -> dict:
        return self.tables["CompanyInfo"].get(1).obj()


class SandboxState:
    def __init__(self, cfg: SandboxConfig | None = None, clock: SandboxClock | None = None):
        self.cfg = cfg or SandboxConfig()
        self.clock = clock or SandboxClock()
        self.lock = threading.RLock()
        self.tokens = TokenStore(self.cfg, self.clock)
        self.faults = FaultInjector()
        self.throttle = Throttle(self.cfg.rate_limit_per_minute, self.cfg.max_in_flight)
        self.throttle_enabled = self.cfg.throttle
        self.latency = (self.cfg.latency, self.cfg.latency_jitter)
        self.ordering = Ordering(self.cfg.tie_order, self.cfg.id_order)
        self.realms: dict[str, Realm] = {}
        self.webhooks = WebhookEmitter()
        self.report_skew = 0.0  # added to the first figure of every report (reports.py)
        self.reset_stats()
        for realm_id in self.cfg.realms:
            self.add_realm(realm_id)
            self.seed(
                realm_id,
                self.cfg.customers,
                self.cfg.invoices,
                self.cfg.seed,
                **self.cfg.ledger_counts(),
            )

    # -- realms and seeding -------------------------------------------------------------
    def add_realm(self, realm_id: str) -> None:
        with self.lock:
            if realm_id not in self.realms:
                self.realms[realm_id] = Realm(realm_id, len(self.realms), int(self.clock.time()))

    def realm(self, realm_id: str) -> Realm:
        try:
            return self.realms[str(realm_id)]
        except KeyError:
            raise KeyError(f"unknown realm {realm_id!r}") from None

    def table(self, realm_id: str, entity: str) -> EntityTable:
        return self.realm(realm_id).tables[entity_name(entity)]

    def seed(
        self,
        realm_id: str,
        customers: int,
        invoices: int,
        seed: int | None = None,
        **ledger: int,
    ) -> dict:
        """Add generated records (Ids continue after existing ones). Deterministic per seed.

        ``ledger`` takes the ``SandboxConfig.ledger_counts()`` names (default 0); payments
        and deposits follow the paid invoices of this batch whatever the counts.
        """
        unknown = set(ledger) - set(LEDGER_COUNTS)
        if unknown:
            raise ValueError(f"unknown seed counts {sorted(unknown)}; known: {LEDGER_COUNTS}")
        with self.lock:
            realm = self.realm(realm_id)
            tabs = realm.tables
            seed = self.cfg.seed if seed is None else seed
            ctab, itab = tabs["Customer"], tabs["Invoice"]
            existing = []
            taken = set()
            for row in ctab.rows.values():
                o = row.obj()
                taken.add(o.get("DisplayName"))
                if row.active:
                    cur = o.get("CurrencyRef", {}).get("value", "USD")
                    email = o.get("PrimaryEmailAddr", {}).get("Address")
                    existing.append((o["Id"], o.get("DisplayName", ""), cur, email))
            rng = data.FastRandom(f"{seed}:{realm_id}:{ctab.next_id}:{itab.next_id}")
            anchor = int(self.clock.time())
            plan = data.SeedPlan(
                rng,
                anchor,
                customers,
                invoices,
                ctab.next_id,
                itab.next_id,
                realm.next_doc,
                taken,
                existing,
                first_pid=tabs["Payment"].next_id,
            )
            n_inv = itab.bulk_insert(plan.invoices())
            realm.next_doc += n_inv
            n_cust = ctab.bulk_insert(plan.customers())
            _adjust_balances(ctab, plan.existing_delta)
            made = {"customers": n_cust, "invoices": n_inv}
            made.update(self._seed_ledger(realm, plan, anchor, seed, ledger, n_inv))
            return made

    def _seed_ledger(
        self, realm: Realm, plan, anchor: int, seed, counts: dict, n_inv: int = 0
    ) -> dict:
        tabs = realm.tables
        rng = data.FastRandom(
            f"{seed}:{realm.id}:ledger:" + ":".join(str(tabs[e].next_id) for e in ENTITIES)
        )
        lp = LedgerPlan(rng, anchor, {e: tabs[e].next_id for e in ENTITIES}, counts)
        first = not tabs["Account"].rows and not tabs["Account"].deleted
        made = {
            "accounts": tabs["Account"].bulk_insert(lp.accounts(first)),
            "items": tabs["Item"].bulk_insert(lp.items(first)),
        }
        lp.customers = (
            [
                (str(r.id), o.get("DisplayName", ""), o.get("CurrencyRef", {}).get("value", "USD"))
                for r in tabs["Customer"].rows.values()
                if r.active and (o := r.obj())
            ]
            if any(counts.get(k) for k in ("sales_receipts", "credit_memos", "refund_receipts"))
            else []
        )
        profiles = lp.vendors_plan()
        lp.payees += [
            (str(r.id), r.obj().get("DisplayName", ""))
            for r in tabs["Vendor"].rows.values()
            if r.active
        ]
        lp.vendor_currency.update(
            {
                str(r.id): r.obj().get("CurrencyRef", {}).get("value", "USD")
                for r in tabs["Vendor"].rows.values()
                if r.active
            }
        )
        if not lp.customers and counts.get("estimates"):
            lp.customers = [
                (str(r.id), o.get("DisplayName", ""), o.get("CurrencyRef", {}).get("value", "USD"))
                for r in tabs["Customer"].rows.values()
                if r.active and (o := r.obj())
            ]
        sp = SurfacePlan(lp, first)
        by_entity: dict[str, list] = defaultdict(list)
        for entity, obj, ct, lut in chain(
            sp.name_lists(),
            lp.payments_and_deposits(plan.paid),
            lp.customer_sales(),
            lp.bills_and_payments(),
            lp.journal_entries_and_transfers(),
            sp.card_payments_and_time(),
        ):
            by_entity[entity].append((obj, ct, lut))
        made["vendors"] = tabs["Vendor"].bulk_insert(lp.vendors(profiles))
        # Parties of earlier batches: their Balance takes this batch's open bills and credits.
        new_vendors = {str(p["Id"]) for p in profiles}
        vendor_changes = {v: b for v, b in lp.vendor_balance.items() if v not in new_vendors}
        for vid, delta in lp.vendor_delta.items():
            vendor_changes[vid] = vendor_changes.get(vid, 0.0) + delta
        _adjust_balances(tabs["Vendor"], vendor_changes)
        _adjust_balances(tabs["Customer"], lp.customer_delta)
        recent = tabs["Invoice"].ids[
            len(tabs["Invoice"].ids) - min(n_inv, 4 * counts.get("estimates", 0)) :
        ]
        invoices = [tabs["Invoice"].rows[i].obj() for i in recent]
        bills = [obj for obj, _, _ in by_entity.get("Bill", [])]
        linked: list[tuple[str, dict]] = []
        for entity, obj, ct, lut in chain(sp.estimates(invoices), sp.purchase_orders(bills)):
            if ct is None:
                linked.append((entity, obj))  # an existing document that now links back
            else:
                by_entity[entity].append((obj, ct, lut))
        for entity, rows in by_entity.items():
            made[entity] = tabs[entity].bulk_insert(rows)
        for entity, obj in linked:
            tabs[entity].rewrite(obj)
        if first:
            day = company_date(anchor)
            self._add_rates(realm, day, anchor)
        return made

    def _add_rates(self, realm: Realm, day, at: int) -> list:
        """The day's rate of every foreign currency (QBO keeps one for every day)."""
        tab = realm.tables["ExchangeRate"]
        have = {
            (o["SourceCurrencyCode"], o["AsOfDate"]) for o in (r.obj() for r in tab.rows.values())
        }
        new = [
            exchange_rate(code, rate, day, tab.next_id + i, at)
            for i, (code, _, rate, _) in enumerate(
                c for c in FOREIGN if (c[0], day.isoformat()) not in have
            )
        ]
        tab.bulk_insert(new)
        return new

    def exchange_rates(self, realm_id: str, day) -> None:
        """Make sure the rates of ``day`` exist (QBO answers any date it is asked)."""
        with self.lock:
            self._add_rates(self.realm(realm_id), day, self._now())

    # -- entity operations --------------------------------------------------------------
    def _now(self) -> int:
        return int(self.clock.time())

    def get(self, realm_id: str, entity: str, id_) -> dict | None:
        with self.lock:
            row = self.table(realm_id, entity).get(int_id(id_))
            return row.obj() if row else None

    def create(self, realm_id: str, entity: str, fields: dict) -> dict:
        entity = entity_name(entity)
        with self.lock:
            realm = self.realm(realm_id)
            tab = realm.tables[entity]
            now = self._now()
            fields = {k: v for k, v in fields.items() if k not in SYSTEM_FIELDS}
            if entity == "Customer":
                obj = new_customer(realm.tables["Customer"], fields)
            elif entity == "Invoice":
                obj = new_invoice(realm, fields, now)
            else:
                obj = new_record(entity, fields, now, self._names(tab, entity))
            stamp(obj, tab.allocate_id(), 0, now, now)
            created = tab.insert(obj, now, now).obj()
        self.webhooks.emit(realm_id, entity, created["Id"], "created")
        return created

    def _names(self, tab: EntityTable, entity: str) -> set:
        key = CATALOG[entity].name_field
        return {r.obj().get(key) for r in tab.rows.values()} if key else set()

    def update(
        self, realm_id: str, entity: str, id_, fields: dict, sync_token=None, sparse: bool = True
    ) -> dict:
        """Sparse merge by default; ``sparse=False`` replaces writable fields (QBO full update).

        With ``sync_token`` given, a stale value raises QBOError 5010 like QBO.
        """
        entity = entity_name(entity)
        with self.lock:
            realm = self.realm(realm_id)
            tab = realm.tables[entity]
            row = self._row(tab, id_)
            if sync_token is not None and str(sync_token) != str(row.sync):
                raise QBOError(
                    "5010",
                    "Stale Object Error",
                    f"Stale Object Error : You and {entity} were working on this at "
                    f"the same time. {entity} finished before you did, so your work "
                    f"was not saved.",
                    "SyncToken",
                )
            old = row.obj()
            fields = {k: v for k, v in fields.items() if k not in SYSTEM_FIELDS}
            if entity == "Customer" and fields.get("DisplayName") not in (
                None,
                old.get("DisplayName"),
            ):
                check_name(realm.tables["Customer"], fields["DisplayName"], row.id)
            if sparse:
                obj = dict(old)
            else:
                obj = {k: old[k] for k in SYSTEM_FIELDS | READ_ONLY if k in old}
            obj.update(fields)
            if entity == "Customer" and obj.get("DisplayName"):
                obj["FullyQualifiedName"] = obj["DisplayName"]
            if "Line" in fields and entity in SALES_FORMS:
                obj["Line"] = number_lines(fields["Line"] or [])
                if "TotalAmt" not in fields:
                    obj["TotalAmt"] = lines_total(obj["Line"])
            saved = self._save(tab, drop_nulls(obj), row, self._now())
        self.webhooks.emit(realm_id, entity, saved["Id"], "updated")
        return saved

    def _row(self, tab: EntityTable, id_):
        row = tab.get(int_id(id_))
        if row is None:
            raise QBOError(
                "610",
                "Object Not Found",
                f"Object Not Found : Something you're trying to use has been made "
                f"inactive or deleted. {tab.name} Id={id_}",
            )
        return row

    def _save(self, tab: EntityTable, obj: dict, row, at: int) -> dict:
        stamp(obj, row.id, row.sync + 1, row.ct, at)
        tab.replace(obj, at)
        return obj

    def deactivate(self, realm_id: str, entity: str, id_) -> dict:
        return self.update(realm_id, entity, id_, {"Active": False})

    def activate(self, realm_id: str, entity: str, id_) -> dict:
        return self.update(realm_id, entity, id_, {"Active": True})

    def delete(self, realm_id: str, entity: str, id_, sync_token=None) -> dict:
        """Hard delete (transactions). Name lists raise like QBO: make them inactive."""
        entity = entity_name(entity)
        if not CATALOG[entity].can_delete:
            fix = "; set Active to false instead" if CATALOG[entity].name_list else ""
            raise QBOError(
                "6000",
                "A business validation error has occurred",
                f"{entity} records cannot be deleted{fix}",
            )
        with self.lock:
            tab = self.table(realm_id, entity)
            row = self._row(tab, id_)
            if sync_token is not None and str(sync_token) != str(row.sync):
                raise QBOError("5010", "Stale Object Error", "Stale Object Error", "SyncToken")
            now = self._now()
            self._unapply(realm_id, entity, row.obj(), now)
            tab.remove(row.id, now)
        self.webhooks.emit(realm_id, entity, row.id, "deleted")
        return {"domain": "QBO", "status": "Deleted", "Id": str(row.id)}

    def void(self, realm_id: str, entity: str, id_, sync_token=None) -> dict:
        """Zero the amounts, Balance 0, PrivateNote "Voided"; the record stays queryable."""
        entity = entity_name(entity)
        if not CATALOG[entity].voidable:
            raise QBOError(
                "6000", "A business validation error has occurred", f"{entity} cannot be voided"
            )
        with self.lock:
            tab = self.table(realm_id, entity)
            row = self._row(tab, id_)
            if sync_token is not None and str(sync_token) != str(row.sync):
                raise QBOError("5010", "Stale Object Error", "Stale Object Error", "SyncToken")
            obj = row.obj()
            now = self._now()
            self._unapply(realm_id, entity, obj, now)
            for line in obj.get("Line", []):
                line["Amount"] = 0
                detail = line.get("SalesItemLineDetail")
                if detail is not None:
                    detail["Qty"] = 0
                    detail.pop("UnitPrice", None)
            obj.update(TotalAmt=0, PrivateNote="Voided")
            if "Balance" in obj or entity == "Invoice":
                obj["Balance"] = 0
            if entity == "Invoice":
                obj["TxnTaxDetail"] = {"TotalTax": 0}
            saved = self._save(tab, obj, row, now)
        self.webhooks.emit(realm_id, entity, saved["Id"], "voided")
        return saved

    def _unapply(self, realm_id: str, entity: str, obj: dict, now: int) -> None:
        """A payment that goes away (delete, void) gives what it paid its Balance back."""
        target = PAYS.get(entity)
        if target is None:
            return
        tab = self.table(realm_id, target)
        for line in obj.get("Line", []):
            for link in line.get("LinkedTxn", []):
                paid = tab.get(int_id(link.get("TxnId"))) if link.get("TxnType") == target else None
                if paid is None:
                    continue
                doc = paid.obj()
                doc["Balance"] = round(doc.get("Balance", 0) + float(line.get("Amount", 0)), 2)
                doc["LinkedTxn"] = [
                    t for t in doc.get("LinkedTxn", []) if t.get("TxnId") != obj["Id"]
                ]
                if "HomeBalance" in doc:
                    doc["HomeBalance"] = round(doc["Balance"] * doc.get("ExchangeRate", 1), 2)
                self._save(tab, doc, paid, now)

    def merge_customers(self, realm_id: str, absorbed_id, survivor_id) -> dict:
        """Absorb one customer into another.

        Choice (the notes leave it unverified): the absorbed customer disappears like a hard
        delete (gone from queries and reads, a ``Deleted`` stub in CDC); its invoices are
        re-pointed to the survivor (each an update) and the survivor takes over its Balance
        (an update). Returns the survivor.
        """
        with self.lock:
            realm = self.realm(realm_id)
            ctab, itab = realm.tables["Customer"], realm.tables["Invoice"]
            absorbed = self._row(ctab, absorbed_id)
            survivor = self._row(ctab, survivor_id)
            if absorbed.id == survivor.id:
                raise QBOError(
                    "6000",
                    "A business validation error has occurred",
                    "Cannot merge a customer into itself",
                )
            now = self._now()
            sobj, aobj = survivor.obj(), absorbed.obj()
            needle = f'"CustomerRef":{{"value":"{absorbed.id}"'
            for row in [r for r in itab.rows.values() if needle in r.json]:
                inv = row.obj()
                inv["CustomerRef"] = {"value": str(survivor.id), "name": sobj["DisplayName"]}
                self._save(itab, inv, row, now)
            for key in ("Balance", "BalanceWithJobs"):
                sobj[key] = round(sobj.get(key, 0) + aobj.get(key, 0), 2)
            ctab.remove(absorbed.id, now)
            saved = self._save(ctab, sobj, survivor, now)
        self.webhooks.emit(
            realm_id, "Customer", saved["Id"], "merged", {"deletedid": str(absorbed.id)}
        )
        return saved

    def bulk_touch(self, realm_id: str, entity: str, ids, at: datetime | None = None) -> int:
        """Update many records so they share ONE LastUpdatedTime (a QBO bulk edit)."""
        with self.lock:
            tab = self.table(realm_id, entity)
            when = int(at.timestamp()) if at is not None else self._now()
            rows = [self._row(tab, i) for i in ids]
            for row in rows:
                self._save(tab, row.obj(), row, when)
        for row in rows:
            self.webhooks.emit(realm_id, tab.name, row.id, "updated")
        return len(rows)

    def records(self, realm_id: str, entity: str) -> dict[str, dict]:
        """Id -> object; a keyless entity (ExchangeRate) is keyed ``<currency>:<date>``."""
        with self.lock:
            tab = self.table(realm_id, entity)
            if tab.keyless:
                return {
                    f"{o['SourceCurrencyCode']}:{o['AsOfDate']}": o
                    for o in (r.obj() for r in tab.rows.values())
                }
            return {str(r.id): r.obj() for r in tab.rows.values()}

    def deleted_ids(self, realm_id: str, entity: str) -> set[str]:
        with self.lock:
            return {str(i) for i in self.table(realm_id, entity).deleted}

    def truth(self, realm_id: str, entity: str) -> dict:
        """Compact truth without json parsing: Id -> SyncToken/Active/LastUpdatedTime."""
        from .clock import fmt_qbo

        with self.lock:
            tab = self.table(realm_id, entity)
            recs = {
                str(r.id): {
                    "SyncToken": str(r.sync),
                    "Active": r.active,
                    "LastUpdatedTime": fmt_qbo(r.lut),
                }
                for r in tab.rows.values()
            }
            return {"records": recs, "deleted": [str(i) for i in sorted(tab.deleted)]}

    # -- OAuth, faults, stats, latency ----------------------------------------------------
    def issue_authorization_code(self, realm_id: str) -> str:
        self.realm(realm_id)
        return self.tokens.issue_code(str(realm_id))

    def inject_fault(
        self,
        kind: str,
        count: int = 1,
        realm_id: str | None = None,
        path_contains: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        status: int | None = None,
    ) -> None:
        self.faults.add(
            FaultRule(str(kind), int(count), realm_id, path_contains, retry_after, delay, status)
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def count_api(self, realm_id: str, kind: str) -> None:
        with self.lock:
            per = self._api.setdefault(realm_id, dict.fromkeys((*API_KINDS, "total"), 0))
            per[kind] += 1
            per["total"] += 1

    def count_token(self, grant_type: str) -> None:
        with self.lock:
            self._token[grant_type] = self._token.get(grant_type, 0) + 1

    def stats(self) -> dict:
        with self.lock:
            return {
                "api_requests": {r: dict(v) for r, v in self._api.items()},
                "token_requests": dict(self._token),
                "max_in_flight": dict(self.throttle.max_seen),
                "traffic": self.throttle.traffic(),
            }

    def reset_stats(self) -> None:
        with self.lock:
            self._api: dict[str, dict[str, int]] = {}
            self._token = {"authorization_code": 0, "refresh_token": 0}
            self.throttle.reset_stats()

    def set_latency(self, seconds: float, jitter: float = 0.0) -> None:
        self.latency = (float(seconds), float(jitter))

    def set_ordering(self, tie_order: str | None = None, id_order: str | None = None) -> None:
        """Switch the undocumented orderings at run time (see ``SandboxConfig``)."""
        ties, ids = tie_order or self.ordering.ties, id_order or self.ordering.ids
        if ties not in TIE_ORDERS or ids not in ID_ORDERS:
            raise ValueError(
                f"tie_order must be one of {TIE_ORDERS} and id_order one of {ID_ORDERS}"
            )
        self.ordering = Ordering(ties, ids)

    def set_throttle(self, enabled: bool) -> None:
        self.throttle_enabled = bool(enabled)
        self.throttle.reset_windows()


def _adjust_balances(tab, changes: dict[str, float]) -> None:
    """Add each party's change to its stored Balance (seeding: same version and time)."""
    for party, delta in changes.items():
        row = tab.get(int(party))
        if row is None or not round(delta, 2):
            continue
        obj = row.obj()
        for key in ("Balance", "BalanceWithJobs"):
            if key in obj:
                obj[key] = round(obj[key] + delta, 2)
        tab.rewrite(obj)
