"""Every ledger entity is browsable: list (by date, amount, counterparty), detail with its
lines and linked transactions inline, read-only."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from quickbooks_sync.registry import ENTITIES
from tests.test_e2e import REALM, bootstrap

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_entity_lists_and_shows_its_children(sandbox, admin_client):
    bootstrap(sandbox)
    call_command("runsync", "--once", "--no-progress")
    for spec in ENTITIES.values():
        opts = spec.model._meta
        listing = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, spec.name
        row = spec.model.objects.filter(realm_id=REALM).first()
        page = admin_client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        )
        assert page.status_code == 200, spec.name
        for child in spec.children:
            assert child.model._meta.verbose_name in page.content.decode().lower(), spec.name
    payment = ENTITIES["Payment"].model.objects.filter(realm_id=REALM).first()
    page = admin_client.get(reverse("admin:quickbooks_sync_payment_change", args=[payment.pk]))
    link = payment.linked_txns.get()
    assert f">{link.txn_id}<" in page.content.decode()  # what the payment paid
    dated = admin_client.get(reverse("admin:quickbooks_sync_bill_changelist") + "?q=B-")
    assert dated.status_code == 200
