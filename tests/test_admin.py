"""The admin: pages render, synced data is read-only, tokens never appear, queries stay flat."""

from __future__ import annotations

import html
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from quickbooks_sync.models import Company, Customer, Invoice, SyncState, Token, WebhookDelivery
from quickbooks_sync.selectors import invoice_list

pytestmark = pytest.mark.django_db

REALM, OTHER = "4620816365", "9341453172"
TODAY = timezone.localdate()


def customer(qb_id, name, *, realm=REALM, balance="0", active=True, deleted=False, email=""):
    return Customer.objects.create(
        realm_id=realm,
        qb_id=qb_id,
        sync_token="0",
        qb_updated_at=timezone.now(),
        raw_data={"Id": qb_id, "DisplayName": name, "Notes": "<script>alert(1)</script>"},
        display_name=name,
        email=email,
        balance=Decimal(balance),
        active=active,
        deleted_at=timezone.now() if deleted else None,
    )


def invoice(qb_id, customer_qb_id, *, realm=REALM, balance="10", due=None, **extra):
    return Invoice.objects.create(
        realm_id=realm,
        qb_id=qb_id,
        sync_token="0",
        qb_updated_at=timezone.now(),
        raw_data={
            "Id": qb_id,
            "DocNumber": f"INV-{qb_id}",
            "CustomerRef": {"value": customer_qb_id},
        },
        doc_number=f"INV-{qb_id}",
        customer_qb_id=customer_qb_id,
        txn_date=TODAY - timedelta(days=40),
        due_date=due or TODAY + timedelta(days=10),
        total_amt=Decimal("100"),
        balance=Decimal(balance),
        **extra,
    )


@pytest.fixture
def books():
    acme = customer("1", "Acme Ltd", balance="30", email="ap@acme.example")
    customer("2", "Bolt Inc", balance="0", active=False)
    customer("3", "Gone Co", deleted=True)
    customer("1", "Acme in the other company", realm=OTHER)
    invoice("10", "1")  # open
    invoice("11", "1", due=TODAY - timedelta(days=1))  # overdue
    invoice("12", "1", balance="0")  # paid
    invoice("13", "1", balance="0", voided=True)  # voided
    invoice("14", "1", deleted_at=timezone.now())  # deleted
    invoice("15", "2", balance="0")
    invoice("20", "1", realm=OTHER)
    return acme


def changelist(model, **params):
    url = reverse(f"admin:quickbooks_sync_{model}_changelist")
    return url, params


def listed(admin_client, model, **params) -> set[str]:
    url, query = changelist(model, **params)
    response = admin_client.get(url, query)
    assert response.status_code == 200
    return {str(obj.pk) for obj in response.context["cl"].result_list}


def test_invoice_status_is_computed_in_sql(books):
    statuses = dict(invoice_list().filter(realm_id=REALM).values_list("qb_id", "status"))
    assert statuses == {
        "10": "open",
        "11": "overdue",
        "12": "paid",
        "13": "voided",
        "14": "deleted",
        "15": "paid",
    }


def test_every_admin_page_renders_for_a_superuser(admin_client, books, make_token):
    make_token(realm_id=REALM)
    SyncState.objects.create(realm_id=REALM, object_type="Invoice", status="failure")
    Company.objects.create(realm_id=REALM, name="Acme Books")
    WebhookDelivery.objects.create(valid_signature=True, realms=[REALM], entities=["Invoice"])
    for model, obj in (
        ("customer", books),
        ("invoice", Invoice.objects.first()),
        ("syncstate", SyncState.objects.first()),
        ("token", Token.objects.first()),
        ("company", Company.objects.first()),
        ("webhookdelivery", WebhookDelivery.objects.first()),
    ):
        assert (
            admin_client.get(reverse(f"admin:quickbooks_sync_{model}_changelist")).status_code
            == 200
        )
        change = reverse(f"admin:quickbooks_sync_{model}_change", args=[obj.pk])
        assert admin_client.get(change).status_code == 200, model
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert 'id="qbo-health"' in index and 'data-health="failing"' in index
    assert "Acme Books" in index


def test_token_values_never_reach_the_admin(admin_client, make_token):
    token = make_token(
        realm_id=REALM, access="access-PLAINTEXT-1f9c2e7a", refresh="refresh-PLAINTEXT-8b3d4c11"
    )
    token.refresh_token_expires_at = timezone.now() + timedelta(days=3)
    token.save()
    pages = [
        reverse("admin:quickbooks_sync_token_changelist"),
        reverse("admin:quickbooks_sync_token_change", args=[token.pk]),
        reverse("admin:quickbooks_sync_token_history", args=[token.pk]),
        reverse("admin:index"),
    ]
    for url in pages:
        text = admin_client.get(url).content.decode()
        for secret in ("PLAINTEXT", token.access_token_encrypted, token.refresh_token_encrypted):
            assert secret not in text, url
    change = admin_client.get(pages[1]).content.decode()
    assert "refresh token expires in 2 days" in change  # health, not the token
    assert REALM in change


def test_synced_records_are_read_only(admin_client, books):
    change = reverse("admin:quickbooks_sync_customer_change", args=[books.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="display_name"' not in page and "Acme Ltd" in page
    response = admin_client.post(change, {"display_name": "Hacked"})
    assert response.status_code == 403
    assert Customer.objects.get(pk=books.pk).display_name == "Acme Ltd"
    assert admin_client.get(reverse("admin:quickbooks_sync_invoice_add")).status_code == 403


def test_raw_json_is_pretty_printed_and_escaped(admin_client, books):
    page = admin_client.get(
        reverse("admin:quickbooks_sync_customer_change", args=[books.pk])
    ).content.decode()
    assert '<pre class="qbo-raw-json">' in page
    assert html.escape('  "DisplayName": "Acme Ltd"', quote=True) in page
    assert "<script>alert(1)</script>" not in page


def test_customer_search_and_filters(admin_client, books):
    by_pk = {c.display_name: str(c.pk) for c in Customer.objects.all()}
    assert listed(admin_client, "customer", q="acme") == {
        by_pk["Acme Ltd"],
        by_pk["Acme in the other company"],
    }
    assert listed(admin_client, "customer", q="ap@acme") == {by_pk["Acme Ltd"]}
    assert listed(admin_client, "customer", q="2") == {by_pk["Bolt Inc"]}  # exact QBO Id
    assert listed(admin_client, "customer", has_balance="yes") == {by_pk["Acme Ltd"]}
    assert listed(admin_client, "customer", deleted="yes") == {by_pk["Gone Co"]}
    assert listed(admin_client, "customer", active__exact="0") == {by_pk["Bolt Inc"]}
    assert listed(admin_client, "customer", realm_id=OTHER) == {by_pk["Acme in the other company"]}


def test_customer_links_to_its_invoices_in_its_own_realm(admin_client, books):
    page = admin_client.get(reverse("admin:quickbooks_sync_customer_changelist")).content.decode()
    link = f"?customer_qb_id=1&amp;realm_id={REALM}"
    assert f'{link}">5 invoices</a>' in page  # as listed, the deleted one included
    assert f'{link}&amp;status=unpaid">2 unpaid</a>' in page
    response = admin_client.get(
        reverse("admin:quickbooks_sync_invoice_changelist"),
        {"customer_qb_id": "1", "realm_id": REALM},
    )
    assert {i.qb_id for i in response.context["cl"].result_list} == {"10", "11", "12", "13", "14"}
    assert "Invoices of Acme Ltd" in response.content.decode()
    unpaid = admin_client.get(
        reverse("admin:quickbooks_sync_invoice_changelist"),
        {"customer_qb_id": "1", "realm_id": REALM, "status": "unpaid"},
    )
    assert {i.qb_id for i in unpaid.context["cl"].result_list} == {"10", "11"}


@pytest.mark.parametrize(
    ("status", "expected"),
    [("overdue", {"11"}), ("open", {"10", "20"}), ("voided", {"13"}), ("deleted", {"14"})],
)
def test_invoice_status_filter(admin_client, books, status, expected):
    response = admin_client.get(
        reverse("admin:quickbooks_sync_invoice_changelist"), {"status": status}
    )
    assert {i.qb_id for i in response.context["cl"].result_list} == expected


def test_invoice_search_by_number_customer_name_and_qbo_id(admin_client, books):
    url = reverse("admin:quickbooks_sync_invoice_changelist")

    def ids(q):
        return {i.qb_id for i in admin_client.get(url, {"q": q}).context["cl"].result_list}

    assert ids("INV-11") == {"11"}
    assert ids("bolt") == {"15"}
    assert ids("other company") == {"20"}  # the name of the customer in that realm
    assert ids("13") == {"13"}


def test_invoice_customer_is_linked_without_a_query_per_row(
    admin_client, books, django_assert_max_num_queries
):
    for n in range(100, 160):
        invoice(str(n), "2")
    url = reverse("admin:quickbooks_sync_invoice_changelist")
    with django_assert_max_num_queries(12):
        page = admin_client.get(url).content.decode()
    bolt = Customer.objects.get(realm_id=REALM, qb_id="2")
    assert reverse("admin:quickbooks_sync_customer_change", args=[bolt.pk]) in page
    assert 'qbo-badge--error">overdue' in page


def test_customer_list_queries_do_not_grow_with_rows(
    admin_client, books, django_assert_max_num_queries
):
    for n in range(100, 160):
        customer(str(n), f"Customer {n}")
    with django_assert_max_num_queries(12):
        admin_client.get(reverse("admin:quickbooks_sync_customer_changelist"))


def test_sync_now_action_marks_the_realm_due(admin_client, books):
    SyncState.objects.create(realm_id=REALM, object_type="Customer", status="success")
    SyncState.objects.create(realm_id=REALM, object_type="Invoice", status="failure")
    before = timezone.now()
    response = admin_client.post(
        reverse("admin:quickbooks_sync_syncstate_changelist"),
        {
            "action": "sync_now",
            "_selected_action": list(SyncState.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert f"Marked due: {REALM}" in response.content.decode()
    assert Company.objects.get(realm_id=REALM).next_sync_due_at >= before


def test_sync_state_list_shows_health_age_and_live_records(admin_client, books):
    SyncState.objects.create(
        realm_id=REALM,
        object_type="Customer",
        status="success",
        last_sync_success=timezone.now() - timedelta(minutes=3),
    )
    response = admin_client.get(reverse("admin:quickbooks_sync_syncstate_changelist"))
    row = response.context["cl"].result_list[0]
    assert row.live_records == 2  # Acme and Bolt; Gone Co is deleted, the other realm differs
    page = response.content.decode()
    assert "3 min ago" in page and 'qbo-badge--ok">healthy' in page


def test_staff_without_company_permission_cannot_sync_now(client, django_user_model, books):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_syncstate", "change_syncstate"])
    )
    client.force_login(user)
    SyncState.objects.create(realm_id=REALM, object_type="Customer")
    page = client.get(reverse("admin:quickbooks_sync_syncstate_changelist")).content.decode()
    assert "sync_now" not in page


def test_health_panel_needs_view_syncstate(client, django_user_model, books):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("clerk2", password="pw-clerk-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client.force_login(user)
    SyncState.objects.create(realm_id=REALM, object_type="Customer", error_message="secret-ish")
    page = client.get(reverse("admin:index")).content.decode()
    assert "qbo-health" not in page and REALM not in page
    user.user_permissions.add(Permission.objects.get(codename="view_syncstate"))
    user = django_user_model.objects.get(pk=user.pk)  # drop the permission cache
    client.force_login(user)
    assert "qbo-health" in client.get(reverse("admin:index")).content.decode()
