"""Inbound QBO webhooks: verify, record, mark realms due. Never sync inside the request.

Decision: a notification is a hint to fetch, not data: it carries Ids only, may repeat
and may arrive out of order. So the view checks Intuit's signature (base64
HMAC-SHA256 of the raw body under the verifier token, compared in constant time) before
parsing anything, stores an audit row of each signed delivery (never the signature or
the secret; rejected requests are only counted and sampled, see ``RejectionSampler``),
answers any malformed request with a 4xx, marks the
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
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from quickbooks_sync.models import Customer, WebhookDelivery
from quickbooks_sync.registry import ENTITIES
from quickbooks_sync.sync.scheduler import companies_mark_due

logger = logging.getLogger("quickbooks_sync.webhooks")

MAX_BODY_BYTES = 1_000_000
MAX_STORED_LENGTH = 2**31 - 1  # body_bytes is a 32-bit column on PostgreSQL
MERGE_BATCH = 500
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


def _record_merges(notes: list[Notification]) -> int:
    """Store each absorbed customer's survivor in a bounded number of queries.

    A bulk merge can bring thousands of events in one POST and Intuit waits 3 s: one
    UPDATE per event took 9.9 s for 8,000. Rows are read per realm in chunks and written
    with ``bulk_update`` (one statement per batch)."""
    survivors: dict[str, dict[str, str]] = {}
    for note in notes:
        if note.entity == "Customer" and note.operation == "merged" and note.deleted_id:
            survivors.setdefault(note.realm_id, {})[note.deleted_id] = note.entity_id
    changed = 0
    for realm_id, by_absorbed in survivors.items():
        absorbed = list(by_absorbed)
        for start in range(0, len(absorbed), MERGE_BATCH):
            rows = list(
                Customer.objects.filter(
                    realm_id=realm_id, qb_id__in=absorbed[start : start + MERGE_BATCH]
                ).only("pk", "qb_id", "merged_into_qb_id")
            )
            for row in rows:
                row.merged_into_qb_id = by_absorbed[row.qb_id]
            Customer.objects.bulk_update(rows, ["merged_into_qb_id"], batch_size=MERGE_BATCH)
            changed += len(rows)
    return changed


class RejectionSampler:
    """Rejected POSTs are counted, and at most one per ``every`` seconds is stored.

    Decision: anyone can POST to the endpoint, so a rejection must cost us no more than
    a counter: one audit row (and one warning) per minute per process stands for all the
    rejections since the previous one (``WebhookDelivery.rejected_count``), so a flood
    of unsigned requests cannot grow the table or the logs."""

    def __init__(self, *, every: float = 60.0, clock=time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self._pending = 0
            self._last_sample: float | None = None

    def rejected(self, *, error: str, body_bytes: int) -> None:
        with self._lock:
            self.total += 1
            self._pending += 1
            now = self.clock()
            if self._last_sample is not None and now - self._last_sample < self.every:
                return
            self._last_sample, count, self._pending = now, self._pending, 0
        WebhookDelivery.objects.create(
            error=error[:255], body_bytes=min(body_bytes, MAX_STORED_LENGTH), rejected_count=count
        )
        logger.warning("webhook rejected: %s (%d rejected since the last sample)", error, count)


rejections = RejectionSampler()


def _content_length(request: HttpRequest) -> int | None:
    """The declared body length; None when it is not a plain non-negative integer.

    Parsed by hand: ``int()`` accepts signs, spaces and underscores and refuses over
    4,300 digits with a ValueError; anything longer than 18 digits is simply too large."""
    raw = (request.META.get("CONTENT_LENGTH") or "0").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    if len(raw) > 18:
        return MAX_BODY_BYTES + 1
    return int(raw)


@csrf_exempt
@require_POST
def webhook_view(request: HttpRequest) -> HttpResponse:
    length = _content_length(request)
    if length is None:
        rejections.rejected(error="unreadable Content-Length", body_bytes=0)
        return HttpResponseBadRequest("Content-Length must be a whole number of bytes.")
    if length > MAX_BODY_BYTES:
        rejections.rejected(error="body too large", body_bytes=length)
        return HttpResponse(status=413)
    try:
        body = request.body
    except (RequestDataTooBig, OSError, UnreadablePostError):
        rejections.rejected(error="body could not be read", body_bytes=length)
        return HttpResponseBadRequest("The body could not be read.")
    if not settings.QB_WEBHOOK_VERIFIER_TOKEN:
        logger.error("webhook rejected: QB_WEBHOOK_VERIFIER_TOKEN is not set")
        rejections.rejected(error="QB_WEBHOOK_VERIFIER_TOKEN is not set", body_bytes=len(body))
        return HttpResponse(status=401)
    header = request.headers.get(SIGNATURE_HEADER)
    if not signature_is_valid(body, header, settings.QB_WEBHOOK_VERIFIER_TOKEN):
        error = "missing signature" if not header else "bad signature"
        rejections.rejected(error=error, body_bytes=len(body))
        return HttpResponse(status=401)
    delivery = WebhookDelivery(body_bytes=len(body), valid_signature=True)
    try:
        delivery.format, notes = parse_notifications(body)
    except RecursionError:
        # Signed, yet nested deeper than any notification: refuse it rather than crash.
        delivery.error = "unparsable: JSON nested too deeply"
        delivery.save()
        logger.error("signed webhook refused: %s", delivery.error)
        return HttpResponseBadRequest("The body is nested too deeply.")
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
