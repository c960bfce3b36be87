"""Mirrored QBO reports and the stored verdict of the money tie-out.

Decision: a report run is a ``ReportSnapshot`` that keeps QBO's JSON exactly as returned
(every piece, when a long range was split) and its rows flattened into ``ReportRow`` so
they can be filtered, compared and charted with the ORM. Snapshots are never updated: a
new run is a new snapshot, so a difference can be traced to the report it came from.
``MoneyCheck`` stores each tie-out verdict, so ``syncstatus``, ``/healthz`` and the admin
read it without calling QBO.
"""

from __future__ import annotations

from django.db import models


class ReportSnapshot(models.Model):
    class Basis(models.TextChoices):
        ACCRUAL = "Accrual"
        CASH = "Cash"

    realm_id = models.CharField(max_length=32)
    report_name = models.CharField(max_length=64, help_text="QBO report name, e.g. TrialBalance")
    basis = models.CharField(max_length=8, choices=Basis.choices)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(help_text="Last day of the period, or the as-of date")
    taken_at = models.DateTimeField(auto_now_add=True)
    currency = models.CharField(max_length=8, blank=True)
    columns = models.JSONField(default=list, help_text="[{key, title, type}] of the report")
    raw_data = models.JSONField(help_text="QBO's answers exactly as returned (one per range)")
    pieces = models.PositiveSmallIntegerField(default=1, help_text="Requests the range took")

    class Meta:
        indexes = [models.Index(fields=["realm_id", "report_name", "basis", "end_date"])]
        get_latest_by = "taken_at"

    def __str__(self) -> str:
        period = f"{self.start_date} to {self.end_date}" if self.start_date else f"{self.end_date}"
        return f"{self.report_name} ({self.basis}) {period} @ {self.realm_id}"


class ReportRow(models.Model):
    """One amount of one report line: (section path, entity, column) -> amount."""

    class RowType(models.TextChoices):
        DATA = "data"
        SUMMARY = "summary"

    class EntityKind(models.TextChoices):
        ACCOUNT = "account"
        CUSTOMER = "customer"
        VENDOR = "vendor"
        TRANSACTION = "transaction"
        NONE = ""

    snapshot = models.ForeignKey(ReportSnapshot, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField(help_text="Order of the line in the report")
    section_path = models.CharField(max_length=500, blank=True, help_text="Sections, '/'-joined")
    group = models.CharField(max_length=64, blank=True, help_text="QBO's row group, if any")
    row_type = models.CharField(max_length=8, choices=RowType.choices)
    entity_kind = models.CharField(max_length=12, choices=EntityKind.choices, blank=True)
    qb_id = models.CharField("QBO Id", max_length=64, blank=True, db_index=True)
    name = models.CharField(max_length=500, blank=True)
    column_key = models.CharField(max_length=64)
    column_title = models.CharField(max_length=128, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    cells = models.JSONField(default=list, help_text="The line's ColData: [{value, id?}]")

    class Meta:
        ordering = ["snapshot", "position", "column_key"]

    def __str__(self) -> str:
        return f"{self.section_path}/{self.name} [{self.column_key}] {self.amount}"


class MoneyCheck(models.Model):
    """The verdict of one ``verifysync --money`` run for one realm."""

    realm_id = models.CharField(max_length=32, db_index=True)
    as_of = models.DateField()
    checked_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    summary = models.CharField(max_length=500)
    checks = models.JSONField(
        default=list, help_text="[{name, ok, compared, differences: [{label, qbo, local, ...}]}]"
    )

    class Meta:
        get_latest_by = "checked_at"

    def __str__(self) -> str:
        return f"{'OK' if self.ok else 'MISMATCH'} realm {self.realm_id} as of {self.as_of}"
