"""Signed CloudEvents notifications from the sandbox, as Intuit sends them.

Why: the product reacts to webhooks by marking realms due; end-to-end tests and the
multi-worker benchmark need a QBO that actually calls back. When a URL is configured,
every change (create, update, void, delete, merge) becomes a CloudEvent
(``qbo.<entity>.<operation>.v1``, ``intuitaccountid`` = realm, ``intuitentityid`` = Id;
merges carry ``data.deletedid``); events are batched for ``delay`` seconds, as Intuit
batches them, and POSTed as one JSON array signed with ``intuit-signature`` =
base64(HMAC-SHA256(verifier token, body)). Sending happens on a background thread, never
under the state lock. Stdlib only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime


def sign(body: bytes, verifier_token: str) -> str:
    return base64.b64encode(
        hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    ).decode()


class WebhookEmitter:
    def __init__(self) -> None:
        self.url: str | None = None
        self.verifier_token = "sandbox-webhook-verifier-token"  # noqa: S105 - a fake credential
        self.delay = 0.2
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def configure(
        self, url: str | None, verifier_token: str | None = None, delay: float | None = None
    ) -> None:
        self.url = url or None
        if verifier_token:
            self.verifier_token = verifier_token
        if delay is not None:
            self.delay = max(0.0, float(delay))
        with self._lock:
            if self.url and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhooks", daemon=True
                )
                self._thread.start()

    def emit(
        self, realm_id: str, entity: str, entity_id: str, operation: str, data: dict | None = None
    ) -> None:
        if not self.url:
            return
        event = {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "intuit.sandbox",
            "type": f"qbo.{entity.lower()}.{operation}.v1",
            "datacontenttype": "application/json",
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "intuitentityid": str(entity_id),
            "intuitaccountid": str(realm_id),
        }
        if data:
            event["data"] = data
        self._queue.put(event)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + self.delay
            while (left := deadline - time.monotonic()) > 0:
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            self._post(batch)

    def _post(self, batch: list[dict]) -> None:
        url = self.url
        if not url:
            return
        body = json.dumps(batch, separators=(",", ":")).encode()
        request = urllib.request.Request(  # noqa: S310 - a URL the test or operator configured
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "intuit-signature": sign(body, self.verifier_token),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
                ok = 200 <= response.status < 300
        except OSError:
            ok = False
        if ok:
            self.sent += 1
        else:
            self.failed += 1
