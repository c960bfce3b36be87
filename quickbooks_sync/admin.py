"""Admin: browse synced data read-only (QBO is the source of truth); tokens never shown."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from quickbooks_sync.models import Customer, Invoice, SyncState, Token


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SyncedRecordAdmin(ReadOnlyAdmin):
    exclude = ("raw_data",)
    readonly_fields = ("raw_json",)

    @admin.display(description="Raw QBO JSON")
    def raw_json(self, obj) -> str:
        return format_html(
            '<pre style="white-space:pre-wrap;max-width:100%">{}</pre>',
            json.dumps(obj.raw_data, indent=2, sort_keys=True, ensure_ascii=False),
        )

    @admin.display(boolean=True, description="deleted in QBO")
    def is_deleted(self, obj) -> bool:
        return obj.deleted_at is not None


@admin.register(Customer)
class CustomerAdmin(SyncedRecordAdmin):
    list_display = (
        "display_name",
        "email",
        "balance",
        "active",
        "qb_updated_at",
        "realm_id",
        "is_deleted",
    )
    list_filter = ("active", "realm_id", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("display_name", "email", "=qb_id")


@admin.register(Invoice)
class InvoiceAdmin(SyncedRecordAdmin):
    list_display = (
        "doc_number",
        "customer_qb_id",
        "txn_date",
        "due_date",
        "total_amt",
        "balance",
        "realm_id",
        "is_deleted",
    )
    list_filter = ("realm_id", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("doc_number", "=qb_id", "=customer_qb_id")
    date_hierarchy = "txn_date"


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = (
        "realm_id",
        "object_type",
        "status",
        "cursor",
        "last_sync_success",
        "records_synced",
        "records_skipped",
        "error_message",
    )
    list_filter = ("status", "realm_id", "object_type")
    readonly_fields = (
        "realm_id",
        "object_type",
        "status",
        "last_sync_attempt",
        "last_sync_success",
        "error_message",
        "records_synced",
        "records_skipped",
    )
    fields = (
        "realm_id",
        "object_type",
        "status",
        "cursor",
        "last_sync_attempt",
        "last_sync_success",
        "records_synced",
        "records_skipped",
        "error_message",
    )


@admin.register(Token)
class TokenAdmin(ReadOnlyAdmin):
    """Only the realm and expiry instants; the encrypted columns are never rendered."""

    list_display = (
        "realm_id",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "refresh_token_hard_expires_at",
        "needs_reauth",
    )
    fields = (
        "realm_id",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "refresh_token_hard_expires_at",
        "needs_reauth",
        "reauth_reason",
        "last_refreshed_at",
    )
    readonly_fields = fields
