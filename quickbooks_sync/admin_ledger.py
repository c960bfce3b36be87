"""Admin pages for the rest of the ledger, built from the registry's ``admin`` hints.

Decision: one generic ``ModelAdmin`` per declared entity rather than a hand-written class
each: transactions list by date (``date_hierarchy``), amount, counterparty and status;
name lists by name, type and active; every page is read-only with the raw QBO JSON, and a
transaction shows its lines and linked transactions inline (what a payment paid, which
payments a deposit holds). Customer and Invoice keep their hand-made pages in ``admin``;
the invoice page gets the same inlines here.
"""

from __future__ import annotations

from django.contrib import admin

from quickbooks_sync.admin import SyncedRecordAdmin
from quickbooks_sync.models import Invoice
from quickbooks_sync.registry import ENTITIES, EntitySpec

LINE_FIELDS = (
    "position",
    "detail_type",
    "description",
    "amount",
    "item_qb_id",
    "account_qb_id",
    "qty",
    "unit_price",
    "posting_type",
    "entity_type",
    "entity_qb_id",
    "class_qb_id",
    "customer_qb_id",
    "billable_status",
    "tax_code",
    "line_id",
)
LINK_FIELDS = ("position", "line_position", "txn_type", "txn_id", "txn_line_id", "amount")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def child_inlines(spec: EntitySpec) -> list[type[admin.TabularInline]]:
    inlines = []
    for child in spec.children:
        fields = {"lines": LINE_FIELDS, "linked_txns": LINK_FIELDS}.get(
            child.related_name, child.columns
        )
        inlines.append(
            type(
                f"{child.model.__name__}Inline",
                (ReadOnlyInline,),
                {"model": child.model, "fields": fields, "readonly_fields": fields},
            )
        )
    return inlines


def ledger_admin(spec: EntitySpec) -> type[SyncedRecordAdmin]:
    hints = spec.admin
    own = tuple(spec.columns)
    return type(
        f"{spec.name}Admin",
        (SyncedRecordAdmin,),
        {
            "list_display": (*hints.list_display, "is_deleted"),
            "list_filter": (*hints.list_filter, "realm_id"),
            "search_fields": hints.search_fields,
            "date_hierarchy": hints.date_hierarchy,
            "ordering": ("-txn_date",) if spec.hard_deleted else (),
            "readonly_fields": (*own, "raw_json"),
            "fieldsets": (
                (spec.name, {"fields": own}),
                *SyncedRecordAdmin.sync_fieldsets(SyncedRecordAdmin),
            ),
            "inlines": child_inlines(spec),
        },
    )


for _spec in ENTITIES.values():
    if _spec.admin is not None and not admin.site.is_registered(_spec.model):
        admin.site.register(_spec.model, ledger_admin(_spec))

# The hand-made invoice page (admin.py) gets its lines and linked transactions inline.
_invoice_admin = admin.site._registry.get(Invoice)
if _invoice_admin is not None and not _invoice_admin.inlines:
    _invoice_admin.inlines = child_inlines(ENTITIES["Invoice"])
