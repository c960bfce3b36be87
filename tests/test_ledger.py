"""Every registered entity, end to end against the sandbox: backfill, CDC update, delete or
deactivate, void where QBO voids, reconcile, ``verifysync --ids``; and its children."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from quickbooks_sync.models import Invoice, InvoiceLine, Payment, PaymentLinkedTxn, SyncState
from quickbooks_sync.registry import COMPANY, ENTITIES, NAME_LIST, TRANSACTION
from quickbooks_sync.sync import writer
from tests.test_e2e import REALM, _small_pages, assert_equal_to_truth, bootstrap, local, truth  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
SPECS = [s for s in ENTITIES.values() if s.key is None]  # ExchangeRate: test_surface
IDS = [s.name for s in SPECS]
NO_CDC_DUE = {"hours": 25}  # past QB_RECONCILE_NO_CDC_HOURS (24)


def sync(*args):
    call_command("runsync", "--once", "--no-progress", *args)


def first_id(server, name: str) -> str:
    return min(server.state.records(REALM, name), key=int)


def edit(spec) -> dict:
    if spec.kind == COMPANY:
        return {"CompanyName": "Renamed"} if spec.name == "CompanyInfo" else {"OtherPrefs": {}}
    if spec.kind != TRANSACTION:
        names = ("Customer", "Vendor", "Employee", "TaxAgency")
        key = "DisplayName" if spec.name in names else "Name"
        return {key: f"Renamed {spec.name}"}
    return {"PrivateNote": f"edited {spec.name}"}


def due(spec, server) -> None:
    """Move QBO's clock past the schedule of an entity CDC does not serve."""
    if not spec.cdc and spec.kind != COMPANY:
        server.state.clock.advance(**NO_CDC_DUE)


def proven_by(spec) -> str:
    return "cdc" if spec.cdc else "reconcile"


@pytest.fixture
def one(sandbox, settings, request):
    """Sync only the entity under test (QB_ENTITIES), backfilled, clock moved on."""
    spec = request.param
    settings.QB_ENTITIES = (spec.name,)
    settings.QB_COMPANY_FACTS_MINUTES = 0  # company facts re-read every cycle here
    bootstrap(sandbox)
    sync()
    sandbox.state.clock.advance(seconds=60)
    return spec, sandbox


def assert_same(spec, server):
    assert local(spec.model) == truth(server, spec.name), spec.name


@pytest.mark.parametrize("one", SPECS, ids=IDS, indirect=True)
def test_backfill_cdc_update_and_children(one):
    spec, server = one
    assert_same(spec, server)
    qb_id = first_id(server, spec.name)
    row = spec.model.objects.get(realm_id=REALM, qb_id=qb_id)
    raw = server.state.records(REALM, spec.name)[qb_id]
    assert row.raw_data == raw
    for child in spec.children:
        assert getattr(row, child.related_name).count() == len(child.rows(raw))
    updated = server.state.update(REALM, spec.name, qb_id, edit(spec))
    due(spec, server)
    sync()
    row.refresh_from_db()
    assert row.sync_token == updated["SyncToken"] and row.raw_data == updated
    state = SyncState.objects.get(realm_id=REALM, object_type=spec.name)
    assert state.deletes_verified_by == proven_by(spec)
    call_command("verifysync", "--ids")


GONE = [s for s in SPECS if s.kind in (NAME_LIST, TRANSACTION)]  # QBO removes these


@pytest.mark.parametrize("one", GONE, ids=[s.name for s in GONE], indirect=True)
def test_delete_or_deactivate_is_captured_and_children_kept(one):
    spec, server = one
    qb_id = first_id(server, spec.name)
    row = spec.model.objects.get(realm_id=REALM, qb_id=qb_id)
    kept = {c.related_name: getattr(row, c.related_name).count() for c in spec.children}
    if spec.has_active:
        server.state.deactivate(REALM, spec.name, qb_id)
        due(spec, server)
        sync()
        row.refresh_from_db()
        assert (row.active, row.deleted_at) == (False, None)
    else:
        server.state.delete(REALM, spec.name, qb_id)
        due(spec, server)
        sync()
        row.refresh_from_db()
        assert row.deleted_at is not None
        assert {n: getattr(row, n).count() for n in kept} == kept  # last children kept
    assert_same(spec, server)
    call_command("verifysync", "--ids")


VOIDABLE = [s for s in SPECS if s.voidable]


@pytest.mark.parametrize("one", VOIDABLE, ids=[s.name for s in VOIDABLE], indirect=True)
def test_void_is_flagged_not_deleted(one):
    spec, server = one
    qb_id = first_id(server, spec.name)
    server.state.void(REALM, spec.name, qb_id)
    sync()
    row = spec.model.objects.get(realm_id=REALM, qb_id=qb_id)
    assert (row.voided, row.deleted_at, row.total_amt) == (True, None, 0)


TXNS = [s for s in SPECS if s.hard_deleted]


@pytest.mark.parametrize("one", TXNS, ids=[s.name for s in TXNS], indirect=True)
def test_reconcile_after_cdc_window_finds_deletes(one):
    spec, server = one
    qb_id = first_id(server, spec.name)
    server.state.delete(REALM, spec.name, qb_id)
    server.state.clock.advance(seconds=31 * 86400)
    sync()
    assert SyncState.objects.get(realm_id=REALM, object_type=spec.name).deletes_verified_by == (
        "reconcile"
    )
    assert spec.model.objects.deleted().filter(qb_id=qb_id).exists()
    assert_same(spec, server)


def test_whole_ledger_idle_cycle_is_one_cdc_request_and_verifies(sandbox):
    bootstrap(sandbox)
    sync()
    assert_equal_to_truth(sandbox)
    sandbox.state.reset_stats()
    sandbox.state.clock.advance(seconds=60)
    sync()
    # One CDC request: company facts were read by the first cycle and are not due again
    # for QB_COMPANY_FACTS_MINUTES.
    assert sandbox.state.stats()["api_requests"][REALM]["total"] == 1
    call_command("verifysync", "--ids")


def test_orm_navigation_lines_links_and_payment_application(sandbox):
    bootstrap(sandbox)
    sync()
    payment = Payment.objects.live().filter(realm_id=REALM).first()
    link = payment.linked_txns.get()
    assert link.txn_type == "Invoice" and link.amount == payment.total_amt
    invoice = Invoice.objects.get(realm_id=REALM, qb_id=link.txn_id)
    assert invoice.balance == invoice.total_amt - sum(
        PaymentLinkedTxn.objects.filter(txn_type="Invoice", txn_id=invoice.qb_id).values_list(
            "amount", flat=True
        )
    )
    lines = list(invoice.lines.all())
    assert [ln.position for ln in lines] == list(range(len(lines)))
    assert lines[-1].detail_type == "SubTotalLineDetail" and lines[-1].line_id == ""
    assert InvoiceLine.objects.filter(item_qb_id=lines[0].item_qb_id).exists()
    # A payment deleted in QBO gives the invoice its balance back (an invoice update).
    sandbox.state.clock.advance(seconds=60)
    sandbox.state.delete(REALM, "Payment", payment.qb_id)
    sync()
    invoice.refresh_from_db()
    assert invoice.balance == invoice.total_amt - sum(
        PaymentLinkedTxn.objects.filter(
            txn_type="Invoice", txn_id=invoice.qb_id, parent__deleted_at__isnull=True
        ).values_list("amount", flat=True)
    )
    assert_equal_to_truth(sandbox)


def test_changed_lines_replace_the_old_ones(sandbox):
    bootstrap(sandbox)
    sync()
    sandbox.state.clock.advance(seconds=60)
    line = {
        "Amount": 42.0,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "3"}, "Qty": 1, "UnitPrice": 42},
    }
    sandbox.state.update(REALM, "Invoice", "1", {"Line": [line]})
    sync()
    lines = list(Invoice.objects.get(realm_id=REALM, qb_id="1").lines.all())
    assert [(ln.detail_type, ln.amount, ln.item_qb_id) for ln in lines] == [
        ("SalesItemLineDetail", 42, "3"),
        ("SubTotalLineDetail", 42, ""),
    ]


def _page(spec, raw):
    prepared, _ = writer.prepare_page(spec, REALM, [raw])
    state, _ = SyncState.objects.get_or_create(realm_id=REALM, object_type=spec.name)
    return prepared, state


def test_an_older_version_leaves_the_newer_children_alone(sandbox):
    spec = ENTITIES["Invoice"]
    raw = sandbox.state.records(REALM, "Invoice")["1"]
    newer = dict(raw, SyncToken=str(int(raw["SyncToken"]) + 1), Line=raw["Line"][-1:])
    prepared, state = _page(spec, newer)
    writer.write_page(spec, REALM, prepared, state=state, cursor=None)
    prepared, state = _page(spec, raw)  # the older version, with more lines
    outcome = writer.write_page(spec, REALM, prepared, state=state, cursor=None)
    assert outcome.unchanged == 1
    assert Invoice.objects.get(qb_id="1").lines.count() == 1


def test_a_failed_child_write_rolls_back_the_parent_and_cursor(sandbox, monkeypatch):
    spec = ENTITIES["Invoice"]
    prepared, state = _page(spec, sandbox.state.records(REALM, "Invoice")["1"])

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "replace_children", boom)
    with pytest.raises(RuntimeError):
        writer.write_page(spec, REALM, prepared, state=state, cursor=prepared[0].updated_at)
    assert not Invoice.objects.exists()
    state.refresh_from_db()
    assert state.cursor == ""


PAGED = [s for s in SPECS if s.kind != COMPANY]  # company facts are one read, not pages


@pytest.mark.parametrize("spec", PAGED, ids=[s.name for s in PAGED])
def test_a_crash_between_pages_then_faults_end_whole(sandbox, settings, monkeypatch, spec):
    """Per entity: the process dies after its first page is committed (the cursor covers
    only stored rows), then the next run meets a 500, a 429 and a reset connection and
    still ends equal to QBO, children included."""
    from quickbooks_sync.sync import engine
    from quickbooks_sync.timeutil import parse_qbo_datetime

    settings.QB_ENTITIES = (spec.name,)
    records = len(truth(sandbox, spec.name))
    assert records >= 2, f"the sandbox should hold at least two {spec.name} records"
    settings.QB_MAX_RESULTS = max(1, records // 3)  # a few pages each
    settings.QB_FETCH_CONCURRENCY = 1
    bootstrap(sandbox)
    real_write = engine.write_page
    written = []

    def crash_after_first_page(*args, **kwargs):
        if written:
            raise RuntimeError("killed")
        written.append(True)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(engine, "write_page", crash_after_first_page)
    with pytest.raises(RuntimeError, match="killed"):
        sync()
    monkeypatch.setattr(engine, "write_page", real_write)
    stored = spec.model.objects.filter(realm_id=REALM)
    assert 0 < stored.count() < len(truth(sandbox, spec.name)), "the crash came mid-read"
    cursor = SyncState.objects.get(realm_id=REALM, object_type=spec.name).cursor
    if cursor:  # never past a row that is not stored
        newest = max(stored.values_list("qb_updated_at", flat=True))
        assert parse_qbo_datetime(cursor) <= newest

    for kind in ("500", "429", "reset"):
        sandbox.state.inject_fault(kind, count=1, path_contains="query")
    sync()
    assert_same(spec, sandbox)
    records = sandbox.state.records(REALM, spec.name)
    for row in stored.all():
        for child in spec.children:
            assert getattr(row, child.related_name).count() == len(child.rows(records[row.qb_id]))
    call_command("verifysync", "--ids")
