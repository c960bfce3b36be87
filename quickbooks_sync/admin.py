"""The admin accountants and operators work in.

Decisions:
- Synced records are read-only: QBO is the source of truth and the next sync would undo
  any local edit. Every record page shows the raw QBO JSON it was built from.
- Lists are built from ``selectors`` querysets that annotate what a row shows (invoice
  status, customer name, counts), so a page of 100 rows is a handful of queries.
- Tokens are never rendered, not even encrypted: only realm, expiry instants and health.
- Colours come from the admin's CSS variables (``static/quickbooks_sync/admin.css``), so
  light mode, dark mode and narrow screens all work.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from quickbooks_sync import admin_filters as filters
from quickbooks_sync import selectors, services
from quickbooks_sync.display import format_age, format_money
from quickbooks_sync.models import (
    Company,
    Customer,
    Invoice,
    ReportSnapshot,
    SyncState,
    Token,
    WebhookDelivery,
)
from quickbooks_sync.qbo.errors import QBOError

admin.site.site_header = "QuickBooks sync"
admin.site.site_title = "QuickBooks sync"
admin.site.index_title = "Synced data and sync health"
# The model sidebar took 280 px from every list: at 1280 px the invoice list lost its
# Balance column off-screen. The breadcrumbs and the index reach every model.
admin.site.enable_nav_sidebar = False
# The index adds a per-realm health panel above the app list (templatetags/qbo_admin.py).
admin.site.index_template = "admin/quickbooks_sync/index.html"

BADGE_LEVELS = {
    "healthy": "ok",
    "success": "ok",
    "paid": "ok",
    "connected": "ok",
    "open": "info",
    "in_progress": "info",
    "pending": "info",
    "stale": "warning",
    "warning": "warning",
    "never": "warning",
    "overdue": "error",
    "failing": "error",
    "failure": "error",
    "error": "error",
    "needs_reauth": "error",
    "voided": "void",
}

# The index shows business data and the sync's machinery as two sections, so accountants
# find customers and invoices without reading past tokens and webhook deliveries.
ACCOUNTING_MODELS = ("Customer", "Invoice")


def _grouped_app_list(request, app_label=None):
    apps = admin.AdminSite.get_app_list(admin.site, request, app_label)
    grouped = []
    for app in apps:
        if app["app_label"] != "quickbooks_sync":
            grouped.append(app)
            continue
        data = [m for m in app["models"] if m["object_name"] in ACCOUNTING_MODELS]
        ops = [m for m in app["models"] if m["object_name"] not in ACCOUNTING_MODELS]
        if data:
            grouped.append({**app, "name": "Accounting data (from QuickBooks)", "models": data})
        if ops:
            grouped.append({**app, "name": "Sync operations", "models": ops})
    # Accounting data first, then sync operations, then Django's own users and groups.
    order = {"Accounting data (from QuickBooks)": 0, "Sync operations": 1}
    return sorted(grouped, key=lambda a: order.get(a["name"], 2))


admin.site.get_app_list = _grouped_app_list


def several_companies() -> bool:
    """Show the realm only when it tells rows apart: most installs sync one company."""
    return Company.objects.count() > 1


def money(amount, currency: str):
    return format_html('<span class="qbo-money">{}</span>', format_money(amount, currency))


def badge(text: str, *, level: str | None = None):
    """A coloured label; ``level`` (ok/info/warning/error/muted) defaults from the text."""
    level = level or BADGE_LEVELS.get(text, "muted")
    return format_html('<span class="qbo-badge qbo-badge--{}">{}</span>', level, text)


def invoices_url(*, realm_id: str, customer_qb_id: str, **extra: str) -> str:
    query = {"customer_qb_id": customer_qb_id, "realm_id": realm_id, **extra}
    return f"{reverse('admin:quickbooks_sync_invoice_changelist')}?{urlencode(query)}"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StyledAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ("quickbooks_sync/admin.css",)}


class SyncedRecordAdmin(ReadOnlyAdmin, StyledAdmin):
    show_full_result_count = False  # one COUNT(*) fewer per page on big tables

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if several_companies() else tuple(f for f in shown if f != "realm_id")

    def get_list_filter(self, request):
        shown = super().get_list_filter(request)
        if several_companies():
            return shown
        return tuple(f for f in shown if f is not filters.RealmFilter)

    metadata = (
        "realm_id",
        "qb_id",
        "sync_token",
        "qb_updated_at",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    @admin.display(description="Raw QBO JSON")
    def raw_json(self, obj) -> str:
        text = json.dumps(obj.raw_data, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre class="qbo-raw-json">{}</pre>', text)

    @admin.display(boolean=True, description="deleted", ordering="deleted_at")
    def is_deleted(self, obj) -> bool:
        return obj.deleted_at is not None

    def sync_fieldsets(self):
        return (
            ("In QuickBooks", {"fields": self.metadata}),
            ("Raw QBO JSON", {"fields": ("raw_json",), "classes": ("qbo-raw",)}),
        )


@admin.register(Customer)
class CustomerAdmin(SyncedRecordAdmin):
    list_display = (
        "display_name",
        "balance_amount",
        "invoices",
        "email",
        "active",
        "qb_updated_at",
        "realm_id",
        "is_deleted",
    )
    list_filter = (
        "active",
        filters.HasBalanceFilter,
        filters.DeletedFilter,
        filters.RealmFilter,
    )
    search_fields = ("display_name", "email", "=qb_id")
    search_help_text = "Name or email (part of it), or the exact QBO Id."
    ordering = ("display_name",)
    readonly_fields = ("invoices", "balance_amount", "raw_json")

    def get_queryset(self, request):
        return selectors.customer_list()

    def get_fieldsets(self, request, obj=None):
        main = (
            "display_name",
            "email",
            "balance_amount",
            "active",
            "merged_into_qb_id",
            "invoices",
        )
        return ((None, {"fields": main}), *self.sync_fieldsets())

    @admin.display(description="balance", ordering="balance")
    def balance_amount(self, obj):
        return money(obj.balance, obj.currency)

    @admin.display(description="invoices", ordering="unpaid_invoice_count")
    def invoices(self, obj):
        if not obj.invoice_count:
            return "none"
        all_link = format_html(
            '<a class="qbo-nowrap" href="{}">{} invoice{}</a>',
            invoices_url(realm_id=obj.realm_id, customer_qb_id=obj.qb_id),
            obj.invoice_count,
            "" if obj.invoice_count == 1 else "s",
        )
        if not obj.unpaid_invoice_count:
            return all_link
        unpaid = format_html(
            '<a class="qbo-nowrap" href="{}">{} unpaid</a>',
            invoices_url(realm_id=obj.realm_id, customer_qb_id=obj.qb_id, status="unpaid"),
            obj.unpaid_invoice_count,
        )
        return format_html("{} · {}", all_link, unpaid)


@admin.register(Invoice)
class InvoiceAdmin(SyncedRecordAdmin):
    list_display = (
        "number",
        "status_badge",
        "customer",
        "date",
        "due",
        "total",
        "balance_amount",
        "realm_id",
    )
    list_display_links = ("number",)
    list_filter = (
        filters.InvoiceStatusFilter,
        filters.RealmFilter,
        filters.InvoiceCustomerFilter,
    )
    search_fields = ("doc_number", "customer_name", "=qb_id")
    search_help_text = "Invoice number or customer name (part of it), or the exact QBO Id."
    date_hierarchy = "txn_date"
    ordering = ("-txn_date", "-pk")
    readonly_fields = (
        "customer",
        "status_badge",
        "total",
        "balance_amount",
        "voided_text",
        "raw_json",
    )

    def get_queryset(self, request):
        return selectors.invoice_list()

    def get_fieldsets(self, request, obj=None):
        main = (
            "doc_number",
            "customer",
            "status_badge",
            "txn_date",
            "due_date",
            "total",
            "balance_amount",
            "voided_text",
        )
        return ((None, {"fields": main}), *self.sync_fieldsets())

    def changelist_view(self, request, extra_context=None):
        """Title the list after the customer when it was opened from one."""
        extra_context = extra_context or {}
        qb_id = request.GET.get("customer_qb_id")
        if qb_id:
            customer = Customer.objects.filter(
                qb_id=qb_id, realm_id=request.GET.get("realm_id", "")
            ).first()
            extra_context.setdefault("title", f"Invoices of {customer or f'customer {qb_id}'}")
        return super().changelist_view(request, extra_context)

    @admin.display(description="invoice no.", ordering="doc_number")
    def number(self, obj) -> str:
        return obj.doc_number or f"(Id {obj.qb_id})"

    @admin.display(description="date", ordering="txn_date")
    def date(self, obj):
        return obj.txn_date

    @admin.display(description="due date", ordering="due_date")
    def due(self, obj):
        return obj.due_date

    @admin.display(description="total", ordering="total_amt")
    def total(self, obj):
        return money(obj.total_amt, obj.currency)

    @admin.display(description="balance", ordering="balance")
    def balance_amount(self, obj):
        return money(obj.balance, obj.currency)

    @admin.display(description="voided")
    def voided_text(self, obj):
        if not obj.voided:
            return "No"
        return format_html(
            "{} Voided in QuickBooks: the invoice is kept, its amounts are zero.",
            badge("voided"),
        )

    @admin.display(description="customer", ordering="customer_name")
    def customer(self, obj):
        if obj.customer_pk is None:
            return f"QBO Id {obj.customer_qb_id}" if obj.customer_qb_id else "-"
        url = reverse("admin:quickbooks_sync_customer_change", args=[obj.customer_pk])
        return format_html('<a href="{}">{}</a>', url, obj.customer_name or obj.customer_qb_id)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)


def _sync_now(modeladmin, request, realm_ids) -> None:
    for realm_id in sorted(set(realm_ids)):
        services.company_mark_due(realm_id=realm_id)
    modeladmin.message_user(
        request,
        f"Marked due: {', '.join(sorted(set(realm_ids)))}. A running `runsync --loop` "
        "worker picks it up within seconds.",
        messages.SUCCESS,
    )


class SyncNowMixin:
    """The "Sync now" action: it writes Company, so it needs that permission."""

    def has_sync_now_permission(self, request) -> bool:
        return request.user.has_perm("quickbooks_sync.change_company")


@admin.register(SyncState)
class SyncStateAdmin(SyncNowMixin, StyledAdmin):
    list_display = (
        "realm_id",
        "object_type",
        "health",
        "status",
        "cursor",
        "last_sync_success",
        "age",
        "live_records",
        "records_skipped",
        "last_error",
    )
    list_display_links = ("realm_id", "object_type")
    list_filter = ("status", filters.RealmFilter, "object_type")
    ordering = ("realm_id", "object_type")
    actions = ("sync_now",)
    fields = (
        "realm_id",
        "object_type",
        "health",
        "status",
        "cursor",
        "last_sync_attempt",
        "last_sync_success",
        "age",
        "live_records",
        "records_synced",
        "records_skipped",
        "deletes_verified_at",
        "deletes_verified_by",
        "error_message",
    )
    # Only the cursor is editable: the README's fix for a garbled one.
    readonly_fields = tuple(f for f in fields if f != "cursor")

    def get_queryset(self, request):
        return selectors.sync_state_list()

    def has_add_permission(self, request) -> bool:
        return False  # the sync creates them

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # use `runsync --full` to start over

    def _age_seconds(self, obj) -> float | None:
        if obj.last_sync_success is None:
            return None
        return (timezone.now() - obj.last_sync_success).total_seconds()

    @admin.display(description="health")
    def health(self, obj):
        value = selectors.classify(
            status=obj.status,
            age_seconds=self._age_seconds(obj),
            needs_reauth=obj.needs_reauth,
            stale_after=selectors.default_stale_after(),
        )
        return badge("needs_reauth" if obj.needs_reauth else value)

    @admin.display(description="age", ordering="-last_sync_success")
    def age(self, obj) -> str:
        return format_age(self._age_seconds(obj))

    @admin.display(description="live records", ordering="live_records")
    def live_records(self, obj) -> int:
        return obj.live_records

    @admin.display(description="last error")
    def last_error(self, obj) -> str:
        return Truncator(obj.error_message).chars(80) or "-"

    @admin.action(description="Sync now (mark the realm due)", permissions=["sync_now"])
    def sync_now(self, request, queryset):
        _sync_now(self, request, queryset.values_list("realm_id", flat=True))


@admin.register(Company)
class CompanyAdmin(SyncNowMixin, ReadOnlyAdmin, StyledAdmin):
    list_display = (
        "__str__",
        "realm_id",
        "environment",
        "status_badge",
        "next_sync_due_at",
        "last_sync_finished_at",
        "consecutive_failures",
        "last_error_short",
    )
    list_filter = ("status", "environment")
    search_fields = ("name", "=realm_id")
    actions = ("sync_now", "disconnect")
    exclude = ("lease_owner", "lease_expires_at")
    readonly_fields = ("lease",)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    @admin.display(description="last error")
    def last_error_short(self, obj) -> str:
        return Truncator(obj.last_error).chars(80) or "-"

    @admin.display(description="held by worker")
    def lease(self, obj) -> str:
        if obj.lease_owner and obj.lease_expires_at and obj.lease_expires_at > timezone.now():
            return f"{obj.lease_owner} until {obj.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC"
        return "-"

    @admin.action(description="Sync now (mark due)", permissions=["sync_now"])
    def sync_now(self, request, queryset):
        _sync_now(self, request, queryset.values_list("realm_id", flat=True))

    def has_disconnect_permission(self, request) -> bool:
        return request.user.has_perm("quickbooks_sync.disconnect_company")

    @admin.action(description="Disconnect (revoke tokens at Intuit)", permissions=["disconnect"])
    def disconnect(self, request, queryset):
        for realm_id in queryset.values_list("realm_id", flat=True):
            try:
                services.company_disconnect(realm_id=realm_id)
            except QBOError as exc:
                self.message_user(
                    request,
                    f"{realm_id}: Intuit did not confirm ({exc}); unchanged.",
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"{realm_id}: disconnected.", messages.SUCCESS)


@admin.register(Token)
class TokenAdmin(ReadOnlyAdmin, StyledAdmin):
    """Only the realm, expiry instants and health; the token columns are never rendered."""

    list_display = (
        "realm_id",
        "health",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "refresh_token_hard_expires_at",
        "needs_reauth",
        "last_refreshed_at",
    )
    list_filter = ("needs_reauth",)
    fields = (
        "realm_id",
        "health",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "refresh_token_hard_expires_at",
        "needs_reauth",
        "reauth_reason",
        "last_refreshed_at",
    )
    readonly_fields = fields

    @admin.display(description="health")
    def health(self, obj):
        level, text = selectors.token_health(token=obj)
        return badge(text, level=level)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "valid_signature",
        "format",
        "realms",
        "entities",
        "event_count",
        "rejected_count",
        "error",
    )
    list_filter = ("valid_signature", "format")
    date_hierarchy = "received_at"


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(ReadOnlyAdmin, StyledAdmin):
    """Mirrored reports; each realm's "Reports" page (``reports/<realm>/``) shows the
    latest P&L and balance sheet, a monthly chart and the tie-out verdict."""

    list_display = ("report_name", "basis", "start_date", "end_date", "realm_id", "taken_at")
    list_filter = ("report_name", "basis", "realm_id")
    exclude = ("raw_data",)

    def get_urls(self):
        from django.urls import path

        view = self.admin_site.admin_view(self.reports_page)
        return [
            path("realm/<str:realm_id>/", view, name="quickbooks_sync_reports"),
            *super().get_urls(),
        ]

    def reports_page(self, request, realm_id: str):
        from django.core.exceptions import PermissionDenied
        from django.template.response import TemplateResponse

        from quickbooks_sync.money.admin_views import reports_page_context

        if not self.has_view_permission(request):
            raise PermissionDenied
        ctx = reports_page_context(realm_id)
        ctx["tables"] = [
            ("Profit and loss, year to date", ctx["pl"], ctx["pl_lines"]),
            ("Balance sheet", ctx["bs"], ctx["bs_lines"]),
        ]
        return TemplateResponse(
            request,
            "admin/quickbooks_sync/reports.html",
            {**self.admin_site.each_context(request), **ctx, "title": f"Reports {realm_id}"},
        )


from quickbooks_sync import admin_ledger  # noqa: E402, F401 - the other ledger entities
