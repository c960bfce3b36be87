"""Sidebar filters of the admin, in words an accountant uses ("has a balance", "overdue").

Why custom filters: the raw field filters would offer "balance: 0.00 / 12.50 / …" and
"deleted at: empty / not empty"; these give the questions people actually ask.
"""

from __future__ import annotations

from django.contrib import admin

from quickbooks_sync.models import Company, Customer
from quickbooks_sync.selectors import INVOICE_STATUSES


class RealmFilter(admin.SimpleListFilter):
    """Realms present in this table, named after their Company when we know it."""

    title = "company (realm)"
    parameter_name = "realm_id"

    def lookups(self, request, model_admin):
        realms = model_admin.model.objects.order_by().values_list("realm_id", flat=True).distinct()
        names = dict(Company.objects.values_list("realm_id", "name"))
        return [
            (realm, f"{names[realm]} ({realm})" if names.get(realm) else realm)
            for realm in sorted(realms)
        ]

    def queryset(self, request, queryset):
        return queryset.filter(realm_id=self.value()) if self.value() else queryset


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted in QBO"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Still in QBO"), ("yes", "Deleted in QBO")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.live()
        if self.value() == "yes":
            return queryset.deleted()
        return queryset


class HasBalanceFilter(admin.SimpleListFilter):
    title = "balance"
    parameter_name = "has_balance"

    def lookups(self, request, model_admin):
        return [("yes", "Has a balance"), ("no", "Nothing owed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(balance__gt=0)
        if self.value() == "no":
            return queryset.exclude(balance__gt=0)
        return queryset


class InvoiceStatusFilter(admin.SimpleListFilter):
    """Filters on the ``status`` annotation of ``selectors.invoice_list``."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("unpaid", "Unpaid (open or overdue)")] + [
            (s, s.capitalize()) for s in INVOICE_STATUSES
        ]

    def queryset(self, request, queryset):
        if self.value() == "unpaid":
            return queryset.filter(status__in=("open", "overdue"))
        if self.value() in INVOICE_STATUSES:
            return queryset.filter(status=self.value())
        return queryset


class InvoiceCustomerFilter(admin.SimpleListFilter):
    """Set by the "invoices" link of a customer; shown only while it applies, to clear it."""

    title = "customer"
    parameter_name = "customer_qb_id"

    def lookups(self, request, model_admin):
        qb_id = request.GET.get(self.parameter_name)
        if not qb_id:
            return []
        customers = Customer.objects.filter(qb_id=qb_id)
        if realm := request.GET.get("realm_id"):
            customers = customers.filter(realm_id=realm)
        customer = customers.first()
        return [(qb_id, str(customer) if customer else f"QBO Id {qb_id}")]

    def queryset(self, request, queryset):
        return queryset.filter(customer_qb_id=self.value()) if self.value() else queryset
