"""Signed webhooks mark realms due within the request; anything unsigned changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from quickbooks_sync.models import Company, Customer, WebhookDelivery
from quickbooks_sync.webhooks import parse_notifications, signature_for

pytestmark = pytest.mark.django_db
VERIFIER = "webhook-verifier-token-value"
URL = "/quickbooks/webhooks/"


@pytest.fixture(autouse=True)
def _verifier(settings):
    settings.QB_WEBHOOK_VERIFIER_TOKEN = VERIFIER


@pytest.fixture
def companies():
    later = timezone.now() + timedelta(hours=1)
    return [
        Company.objects.create(realm_id=r, next_sync_due_at=later) for r in ("111", "222", "333")
    ]


def cloud_event(realm, entity="invoice", op="updated", entity_id="7", data=None):
    event = {
        "specversion": "1.0",
        "id": f"ev-{realm}-{entity_id}-{op}",
        "source": "intuit.x",
        "type": f"qbo.{entity}.{op}.v1",
        "datacontenttype": "application/json",
        "time": "2026-09-10T21:31:25.179851517Z",
        "intuitentityid": entity_id,
        "intuitaccountid": realm,
    }
    if data is not None:
        event["data"] = data
    return event


def post(client, payload, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {}
    if signature is not False:
        headers["intuit-signature"] = signature or signature_for(body, VERIFIER)
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def due_realms():
    return set(
        Company.objects.filter(next_sync_due_at__lte=timezone.now()).values_list(
            "realm_id", flat=True
        )
    )


def test_valid_cloudevents_mark_every_realm_in_the_post_due(client, companies):
    response = post(client, [cloud_event("111"), cloud_event("222", "customer", "created")])
    assert response.status_code == 200
    assert due_realms() == {"111", "222"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.valid_signature
    assert (delivery.format, delivery.realms, delivery.entities, delivery.event_count) == (
        "cloudevents",
        ["111", "222"],
        ["Customer", "Invoice"],
        2,
    )


@pytest.mark.parametrize("signature", [False, "bm90LXRoZS1yaWdodC1zaWduYXR1cmU="])
def test_missing_or_bad_signature_is_401_and_changes_nothing(client, companies, signature):
    response = post(client, [cloud_event("111")], signature=signature)
    assert response.status_code == 401
    assert due_realms() == set()
    delivery = WebhookDelivery.objects.get()
    assert not delivery.valid_signature
    assert delivery.realms == []
    assert VERIFIER not in repr(delivery.__dict__)


def test_one_changed_byte_breaks_the_signature(client, companies):
    body = json.dumps([cloud_event("111")]).encode()
    signature = signature_for(body, VERIFIER)
    tampered = body.replace(b"111", b"222")
    assert post(client, None, signature=signature, raw=tampered).status_code == 401
    assert due_realms() == set()


def test_unset_verifier_rejects_everything(client, companies, settings):
    settings.QB_WEBHOOK_VERIFIER_TOKEN = ""
    assert post(client, [cloud_event("111")], signature="x").status_code == 401


def test_legacy_payload_is_still_accepted(client, companies):
    payload = {
        "eventNotifications": [
            {
                "realmId": "333",
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": "Customer",
                            "id": "1234",
                            "operation": "Update",
                            "lastUpdated": "2025-09-08T20:52:31.657Z",
                        }
                    ]
                },
            }
        ]
    }
    assert post(client, payload).status_code == 200
    assert due_realms() == {"333"}
    assert WebhookDelivery.objects.get().format == "legacy"


def test_duplicates_and_unknown_realms_are_harmless(client, companies):
    events = [cloud_event("111"), cloud_event("111"), cloud_event("999")]
    for _ in range(3):
        assert post(client, events).status_code == 200
    assert due_realms() == {"111"}
    assert not Company.objects.filter(realm_id="999").exists()


def test_merge_records_the_survivor_on_the_absorbed_customer(client, companies):
    Customer.objects.create(
        realm_id="111", qb_id="27", sync_token="0", qb_updated_at=timezone.now(), raw_data={}
    )
    post(client, [cloud_event("111", "customer", "merged", "31", {"deletedid": "27"})])
    assert Customer.objects.get(qb_id="27").merged_into_qb_id == "31"


def test_signed_but_unparsable_body_is_recorded_and_acknowledged(client, companies):
    assert post(client, None, raw=b"not json").status_code == 200
    assert WebhookDelivery.objects.get().error.startswith("unparsable")
    assert due_realms() == set()


def test_parse_reads_prefixed_entity_ids():
    _, notes = parse_notifications(
        json.dumps([cloud_event("1", entity_id="abc-Customer-123")]).encode()
    )
    assert notes[0].entity_id == "123"


def test_oversized_body_is_refused(client, companies):
    body = b"[" + b" " * 1_100_000 + b"]"
    assert post(client, None, raw=body).status_code == 413
