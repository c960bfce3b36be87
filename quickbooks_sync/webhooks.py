"""Inbound QBO webhooks: verify, record, mark realms due. Never sync inside the request.

Decision: a notification is a hint to fetch, not data: it carries Ids only, may repeat
and may arrive out of order. So the view checks Intuit's signature (base64
HMAC-SHA256 of the raw body under the verifier token, compared in constant time) before
parsing anything, stores an audit row (never the signature or the secret), marks the
realms due so the next worker poll syncs them through CDC, and answers 200 well within
Intuit's 3-second deadline. Marking due is idempotent, so duplicates are harmless.
Both payload forms are read: CloudEvents (a JSON array, the current format) and the
legacy ``eventNotifications`` object.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from quickbooks_sync.models import Customer, WebhookDelivery
from quickbooks_sync.registry import ENTITIES
from quickbooks_sync.sync.scheduler import companies_mark_due

logger = logging.getLogger("quickbooks_sync.webhooks")

MAX_BODY_BYTES = 1_000_000
SIGNATURE_HEADER = "intuit-signature"


@dataclass(frozen=True)
class Notification:
    realm_id: str
    entity: str
    entity_id: str
    operation: str  # created, updated, deleted, merged, voided, emailed (lowercase)
    deleted_id: str = ""  # merges: the absorbed record


def signature_for(body: bytes, verifier_token: str) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(body: bytes, header: str | None, verifier_token: str) -> bool:
    if not header or not verifier_token:
        return False
    return hmac.compare_digest(
        signature_for(body, verifier_token).encode(), header.strip().encode()
    )


# Legacy operation names, in the CloudEvents vocabulary.
_LEGACY_OPERATIONS = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "merge": "merged",
    "void": "voided",
    "emailed": "emailed",
}


def _entity_name(raw: str) -> str:
    for name in ENTITIES:
        if name.lower() == raw.lower():
            return name
    return raw[:1].upper() + raw[1:]


def parse_notifications(body: bytes) -> tuple[str, list[Notification]]:
    """Return (format, notifications); raise ValueError on a body of neither form."""
    data = json.loads(body)
    found: list[Notification] = []
    if isinstance(data, list):
        for event in data:
            if not isinstance(event, dict):
                continue
            parts = str(event.get("type", "")).split(".")  # qbo.invoice.deleted.v1
            if len(parts) < 3 or not event.get("intuitaccountid"):
                continue
            extra = event.get("data") if isinstance(event.get("data"), dict) else {}
            found.append(
                Notification(
                    realm_id=str(event["intuitaccountid"]),
                    entity=_entity_name(parts[1]),
                    entity_id=str(event.get("intuitentityid", "")).rsplit("-", 1)[-1],
                    operation=parts[2].lower(),
                    deleted_id=str(extra.get("deletedid") or extra.get("deletedId") or ""),
                )
            )
        return "cloudevents", found
    if isinstance(data, dict) and isinstance(data.get("eventNotifications"), list):
        for note in data["eventNotifications"]:
            realm = str((note or {}).get("realmId", ""))
            entities = ((note or {}).get("dataChangeEvent") or {}).get("entities") or []
            for entity in entities:
                if realm and isinstance(entity, dict):
                    found.append(
                        Notification(
                            realm_id=realm,
                            entity=_entity_name(str(entity.get("name", ""))),
                            entity_id=str(entity.get("id", "")),
                            operation=_LEGACY_OPERATIONS.get(
                                str(entity.get("operation", "")).lower(), "updated"
                            ),
                            deleted_id=str(entity.get("deletedId") or ""),
                        )
                    )
        return "legacy", found
    raise ValueError("neither a CloudEvents array nor an eventNotifications object")


def _record_merges(notes: list[Notification]) -> None:
    for note in notes:
        if note.entity == "Customer" and note.operation == "merged" and note.deleted_id:
            Customer.objects.filter(realm_id=note.realm_id, qb_id=note.deleted_id).update(
                merged_into_qb_id=note.entity_id
            )


@csrf_exempt
@require_POST
def webhook_view(request: HttpRequest) -> HttpResponse:
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY_BYTES:
        WebhookDelivery.objects.create(body_bytes=length, error="body too large")
        return HttpResponse(status=413)
    body = request.body
    delivery = WebhookDelivery(body_bytes=len(body))
    if not settings.QB_WEBHOOK_VERIFIER_TOKEN:
        logger.error("webhook rejected: QB_WEBHOOK_VERIFIER_TOKEN is not set")
        delivery.error = "QB_WEBHOOK_VERIFIER_TOKEN is not set"
        delivery.save()
        return HttpResponse(status=401)
    header = request.headers.get(SIGNATURE_HEADER)
    if not signature_is_valid(body, header, settings.QB_WEBHOOK_VERIFIER_TOKEN):
        delivery.error = "missing signature" if not header else "bad signature"
        delivery.save()
        logger.warning("webhook rejected: %s", delivery.error)
        return HttpResponse(status=401)
    delivery.valid_signature = True
    try:
        delivery.format, notes = parse_notifications(body)
    except ValueError as exc:  # includes JSONDecodeError
        # Signed by Intuit but unreadable: record it; answering 200 keeps Intuit from
        # holding back later events, and the regular schedule still syncs everything.
        delivery.error = f"unparsable: {str(exc)[:200]}"
        delivery.save()
        logger.error("signed webhook could not be parsed: %s", delivery.error)
        return HttpResponse(status=200)
    delivery.realms = sorted({n.realm_id for n in notes})
    delivery.entities = sorted({n.entity for n in notes})
    delivery.event_count = len(notes)
    delivery.save()
    _record_merges(notes)
    due = companies_mark_due(realm_ids=delivery.realms)
    logger.info(
        "webhook: %d events for %d realms (%d connected marked due)",
        len(notes),
        len(delivery.realms),
        due,
        extra={"event": "webhook"},
    )
    return HttpResponse(status=200)
