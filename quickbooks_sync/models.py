"""The local copy of QuickBooks data, and the bookkeeping that keeps it honest.

Decision (after dj-stripe): every synced row keeps the full QBO JSON in ``raw_data``;
only what people filter or sort on is promoted to a column. Rows are unique per
(``realm_id``, ``qb_id``) and are never hard-deleted here: ``deleted_at`` records that QBO
no longer has them, so audits still find the last version.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

from quickbooks_sync import crypto


class Company(models.Model):
    """A connected QBO company (realm) and the scheduling state of its sync.

    Workers claim due companies with a lease (``lease_owner``/``lease_expires_at``):
    on PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``, so no realm is synced by two
    workers at once. A dead worker's lease is taken over at once when ``lease_liveness``
    proves it dead (``sync.presence``), else when it runs out.
    """

    class Status(models.TextChoices):
        CONNECTED = "connected"
        NEEDS_REAUTH = "needs_reauth", "needs re-authorisation"
        DISCONNECTED = "disconnected"

    realm_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=255, blank=True, help_text="CompanyInfo.CompanyName")
    environment = models.CharField(max_length=16, default="sandbox")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    next_sync_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_sync_started_at = models.DateTimeField(null=True, blank=True)
    last_sync_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_liveness = models.CharField(
        max_length=600,
        blank=True,
        help_text="How to prove the lease holder alive (sync.presence); empty: by expiry only",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        # Connecting replaces a realm's tokens and disconnecting revokes them at Intuit:
        # neither is implied by being staff, nor by editing a company's sync schedule.
        permissions = [
            ("connect_company", "Can connect a QuickBooks company (OAuth consent)"),
            ("disconnect_company", "Can disconnect a QuickBooks company (revoke its tokens)"),
        ]

    def __str__(self) -> str:
        return self.name or f"Realm {self.realm_id}"


class WebhookDelivery(models.Model):
    """Audit of one inbound webhook POST: stored before it is acted on, never the secret."""

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    valid_signature = models.BooleanField(default=False)
    format = models.CharField(max_length=16, blank=True, help_text="cloudevents or legacy")
    realms = models.JSONField(default=list)
    entities = models.JSONField(default=list)
    event_count = models.PositiveIntegerField(default=0)
    body_bytes = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=255, blank=True)
    rejected_count = models.PositiveIntegerField(
        default=0,
        help_text="Rejected requests this sample stands for (at most one sample a minute).",
    )

    class Meta:
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        verdict = "valid" if self.valid_signature else "rejected"
        return f"webhook {self.received_at:%Y-%m-%d %H:%M:%S} ({verdict})"


class Token(models.Model):
    """OAuth tokens for one realm (QBO company), encrypted at rest.

    The plaintext never sits in a model field: ``access_token``/``refresh_token`` are
    properties that decrypt on read, so ``repr()``, the admin and fixtures only ever see
    ciphertext.
    """

    realm_id = models.CharField(max_length=32, unique=True)
    access_token_encrypted = models.TextField(editable=False)
    refresh_token_encrypted = models.TextField(editable=False)
    access_token_expires_at = models.DateTimeField()
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_hard_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Intuit's 5-year cap: the company must reconnect then."
    )
    needs_reauth = models.BooleanField(
        default=False, help_text="Set when Intuit refused the refresh token (invalid_grant)."
    )
    reauth_reason = models.CharField(max_length=255, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "OAuth token"

    def __str__(self) -> str:
        return f"Token for realm {self.realm_id}"

    def __repr__(self) -> str:
        return f"<Token realm_id={self.realm_id!r} expires={self.access_token_expires_at}>"

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value)

    def is_expired(self, margin_seconds: float = 0) -> bool:
        return self.access_token_expires_at - timedelta(seconds=margin_seconds) <= timezone.now()


class SyncedRecordQuerySet(models.QuerySet):
    def live(self) -> SyncedRecordQuerySet:
        """Rows that still exist in QBO (the everyday case)."""
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> SyncedRecordQuerySet:
        return self.filter(deleted_at__isnull=False)

    def for_realm(self, realm_id: str) -> SyncedRecordQuerySet:
        return self.filter(realm_id=realm_id)


class SyncedRecord(models.Model):
    """Columns every synced QBO entity has. Field extraction lives in ``registry``."""

    realm_id = models.CharField(max_length=32)
    qb_id = models.CharField("QBO Id", max_length=64)
    sync_token = models.CharField(max_length=32)
    qb_updated_at = models.DateTimeField(
        "last changed in QuickBooks", help_text="MetaData.LastUpdatedTime."
    )
    raw_data = models.JSONField(help_text="The object exactly as QBO returned it.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When QBO stopped having this record; null while it exists.",
    )

    objects = SyncedRecordQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Customer(SyncedRecord):
    display_name = models.CharField("customer", max_length=500, blank=True, db_index=True)
    email = models.CharField(max_length=254, blank=True)
    balance = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(
        max_length=3, blank=True, help_text="CurrencyRef: ISO code of the customer's currency."
    )
    active = models.BooleanField(default=True)
    merged_into_qb_id = models.CharField(
        "merged into (QBO Id)",
        max_length=64,
        blank=True,
        help_text="Set when QBO reports this customer was merged into another (webhook Merge).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["realm_id", "qb_id"], name="customer_realm_qb_id")
        ]
        indexes = [models.Index(fields=["realm_id", "qb_updated_at"])]

    def __str__(self) -> str:
        return self.display_name or f"Customer {self.qb_id}"


class Invoice(SyncedRecord):
    doc_number = models.CharField("invoice no.", max_length=64, blank=True, db_index=True)
    customer_qb_id = models.CharField(max_length=64, blank=True, db_index=True)
    txn_date = models.DateField("date", null=True, blank=True)
    due_date = models.DateField("due date", null=True, blank=True)
    total_amt = models.DecimalField("total", max_digits=18, decimal_places=2, null=True, blank=True)
    balance = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(
        max_length=3, blank=True, help_text="CurrencyRef: ISO code the amounts are in."
    )
    exchange_rate = models.DecimalField(
        max_digits=24,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Home-currency units per unit of the invoice's currency (multi-currency).",
    )
    home_total_amt = models.DecimalField(
        "total (home currency)", max_digits=18, decimal_places=2, null=True, blank=True
    )
    home_balance = models.DecimalField(
        "balance (home currency)", max_digits=18, decimal_places=2, null=True, blank=True
    )
    custom_fields = models.JSONField(
        default=dict, blank=True, help_text="CustomField[] as {Name: value}, for filtering."
    )
    voided = models.BooleanField(
        default=False, help_text="Voided in QBO: the invoice still exists with amounts zeroed."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["realm_id", "qb_id"], name="invoice_realm_qb_id")
        ]
        indexes = [models.Index(fields=["realm_id", "qb_updated_at"])]

    def __str__(self) -> str:
        return f"Invoice {self.doc_number or self.qb_id}"


class SyncState(models.Model):
    """Where the sync of one entity in one realm stands.

    ``cursor`` is the MetaData.LastUpdatedTime (ISO-8601, UTC) up to which every record
    is stored; it is saved in the same transaction as the rows it covers.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        IN_PROGRESS = "in_progress"
        SUCCESS = "success"
        FAILURE = "failure"

    realm_id = models.CharField(max_length=32)
    object_type = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    cursor = models.CharField(max_length=64, blank=True)
    last_sync_attempt = models.DateTimeField(null=True, blank=True)
    last_sync_success = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    records_synced = models.PositiveBigIntegerField(
        default=0, help_text="Records written by the last run."
    )
    records_skipped = models.PositiveBigIntegerField(
        default=0, help_text="Malformed records skipped, in total (see the log for Ids)."
    )
    deletes_verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="QBO time up to which deletions are known to be applied locally.",
    )
    deletes_verified_by = models.CharField(
        max_length=16,
        blank=True,
        choices=[("cdc", "change data capture"), ("reconcile", "full reconcile")],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["realm_id", "object_type"], name="syncstate_realm_type")
        ]
        verbose_name = "sync state"

    def __str__(self) -> str:
        return f"{self.object_type} @ {self.realm_id}: {self.status}"


# The rest of the ledger lives in its own module; imported here so Django registers it.
from quickbooks_sync.detail_models import *  # noqa: E402, F403
from quickbooks_sync.ledger_models import *  # noqa: E402, F403
from quickbooks_sync.list_models import *  # noqa: E402, F403

# Reports and the money tie-out live in their own module; imported so Django registers them.
from quickbooks_sync.money.models import MoneyCheck, ReportRow, ReportSnapshot  # noqa: E402, F401
