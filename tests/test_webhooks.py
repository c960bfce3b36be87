"""Signed webhooks mark realms due within the request; anything unsigned changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from quickbooks_sync.models import Company, Customer, WebhookDelivery
from quickbooks_sync.webhooks import parse_notifications, rejections, signature_for

pytestmark = pytest.mark.django_db
VERIFIER = "webhook-verifier-token-value"
URL = "/quickbooks/webhooks/"


@pytest.fixture(autouse=True)
def _verifier(settings):
    settings.QB_WEBHOOK_VERIFIER_TOKEN = VERIFIER
    rejections.reset()
    yield
    rejections.reset()


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
    delivery = WebhookDelivery.objects.get()  # the first rejection is kept as a sample
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


# --- abuse: rejected requests cost a counter, malformed ones a 4xx ----------------------------


def test_a_flood_of_unsigned_posts_stores_one_sample_and_logs_one_warning(
    client, companies, caplog
):
    caplog.set_level("WARNING", logger="quickbooks_sync.webhooks")
    for _ in range(300):
        assert post(client, [cloud_event("111")], signature=False).status_code == 401
    assert WebhookDelivery.objects.count() == 1
    assert rejections.total == 300
    assert len([r for r in caplog.records if "rejected" in r.getMessage()]) == 1
    assert due_realms() == set()


def test_rejections_are_sampled_once_a_minute_with_their_count(client, companies):
    now = [1000.0]
    rejections.clock = lambda: now[0]
    try:
        for _ in range(5):
            post(client, [cloud_event("111")], signature="bad")
        now[0] += 61
        post(client, [cloud_event("111")], signature="bad")
    finally:
        rejections.clock = __import__("time").monotonic
    samples = list(WebhookDelivery.objects.order_by("pk").values_list("rejected_count", "error"))
    assert samples == [(1, "bad signature"), (5, "bad signature")]


@pytest.mark.parametrize(
    ("length", "status"),
    [("abc", 400), ("-5", 400), ("1e3", 400), ("99999999999", 413), ("9" * 5000, 413)],
)
def test_malformed_content_length_is_a_4xx_never_a_500(client, companies, length, status):
    body = json.dumps([cloud_event("111")]).encode()
    response = client.generic(
        "POST",
        URL,
        body,
        content_type="application/json",
        headers={"intuit-signature": signature_for(body, VERIFIER)},
        CONTENT_LENGTH=length,
    )
    assert response.status_code == status
    assert due_realms() == set()
    assert WebhookDelivery.objects.count() <= 1


def test_deeply_nested_signed_body_is_a_400(client, companies):
    depth = 200_000
    body = b"[" * depth + b"]" * depth
    assert post(client, None, raw=body).status_code == 400
    assert WebhookDelivery.objects.get().error.startswith("unparsable")


def test_eight_thousand_merges_take_a_bounded_number_of_queries(
    client, companies, django_assert_max_num_queries
):
    now = timezone.now()
    Customer.objects.bulk_create(
        Customer(realm_id="111", qb_id=str(i), sync_token="0", qb_updated_at=now, raw_data={})
        for i in range(1, 8001)
    )
    events = [  # the fields the view reads, so 8,000 fit under the 1 MB limit
        {
            "type": "qbo.customer.merged.v1",
            "intuitaccountid": "111",
            "intuitentityid": str(100000 + i),
            "data": {"deletedid": str(i)},
        }
        for i in range(1, 8001)
    ]
    body = json.dumps(events, separators=(",", ":")).encode()
    with django_assert_max_num_queries(80):
        assert post(client, None, raw=body).status_code == 200
    assert Customer.objects.filter(merged_into_qb_id="").count() == 0
    assert Customer.objects.get(qb_id="42").merged_into_qb_id == "100042"
