"""Reference lists and company facts: dimensions, terms, people, tax, budgets, settings.

Same contract as the rest of the ledger (``SyncedRecord``: ``realm_id``, ``qb_id``,
``sync_token``, ``raw_data``, ``deleted_at``): QBO's JSON is kept whole and what reports
filter or join on is a column. Field names follow Intuit's (API-NOTES §11; python-quickbooks
``objects/``):

* *name lists with* ``Active`` (Class, Department, Term, PaymentMethod, Employee,
  CustomerType, TaxCode, TaxRate, Budget): QBO never deletes them, it deactivates them;
* TaxAgency has no ``Active``: QBO's API neither deactivates nor deletes it;
* *company facts*, one row per realm: CompanyInfo and Preferences (``qb_id`` is QBO's Id
  of that object), and ExchangeRate, which has no Id in QBO: its ``qb_id`` is
  ``<source currency>:<as-of date>`` (see ``registry``).
"""

from __future__ import annotations

from django.db import models

from quickbooks_sync.ledger_models import MONEY, RATE, NameListRecord, _meta, qb_ref
from quickbooks_sync.models import SyncedRecord


class NamedListRecord(NameListRecord):
    """A name list whose label is ``Name`` (and ``FullyQualifiedName`` for sub-lists)."""

    name = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name or f"{type(self).__name__} {self.qb_id}"


class QBClass(NamedListRecord):
    """QBO's ``Class`` (a reporting dimension); named QBClass because ``class`` is Python's."""

    fully_qualified_name = models.CharField(max_length=1000, blank=True)
    sub_class = models.BooleanField(default=False)
    parent_qb_id = qb_ref("parent class (QBO Id)")

    Meta = _meta("qbclass", ordering=("fully_qualified_name",), verbose_name="class")


class Department(NamedListRecord):
    """QBO's ``Department`` (shown as Location in QBO's UI)."""

    fully_qualified_name = models.CharField(max_length=1000, blank=True)
    sub_department = models.BooleanField(default=False)
    parent_qb_id = qb_ref("parent department (QBO Id)")

    Meta = _meta("department", ordering=("fully_qualified_name",))


class Term(NamedListRecord):
    term_type = models.CharField(max_length=16, blank=True, help_text="STANDARD or DATE_DRIVEN")
    due_days = models.IntegerField(null=True, blank=True)
    discount_days = models.IntegerField(null=True, blank=True)
    discount_percent = models.DecimalField(**RATE)
    day_of_month_due = models.IntegerField(null=True, blank=True)

    Meta = _meta("term", ordering=("name",))


class PaymentMethod(NamedListRecord):
    method_type = models.CharField(
        max_length=32, blank=True, help_text="CREDIT_CARD or NON_CREDIT_CARD"
    )

    Meta = _meta("paymentmethod", ordering=("name",))


class Employee(NameListRecord):
    display_name = models.CharField(max_length=500, blank=True, db_index=True)
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    employee_number = models.CharField(max_length=100, blank=True)
    hired_date = models.DateField(null=True, blank=True)
    released_date = models.DateField(null=True, blank=True)
    billable_time = models.BooleanField(default=False)
    bill_rate = models.DecimalField(**RATE)

    Meta = _meta("employee", ordering=("display_name",))

    def __str__(self) -> str:
        return self.display_name or f"Employee {self.qb_id}"


class CustomerType(NamedListRecord):
    Meta = _meta("customertype", ordering=("name",))


class TaxCode(NamedListRecord):
    description = models.CharField(max_length=255, blank=True)
    taxable = models.BooleanField(null=True, blank=True)
    tax_group = models.BooleanField(null=True, blank=True)
    sales_tax_rate_qb_ids = models.JSONField(
        default=list, blank=True, help_text="SalesTaxRateList.TaxRateDetail[].TaxRateRef"
    )
    purchase_tax_rate_qb_ids = models.JSONField(
        default=list, blank=True, help_text="PurchaseTaxRateList.TaxRateDetail[].TaxRateRef"
    )

    Meta = _meta("taxcode", ordering=("name",))


class TaxRate(NamedListRecord):
    description = models.CharField(max_length=255, blank=True)
    rate_value = models.DecimalField("rate (%)", **RATE)
    agency_qb_id = qb_ref("tax agency (QBO Id)")
    special_tax_type = models.CharField(max_length=32, blank=True)
    display_type = models.CharField(max_length=32, blank=True)

    Meta = _meta("taxrate", ordering=("name",))


class TaxAgency(SyncedRecord):
    """No ``Active`` in QBO: a tax agency is neither deactivated nor deleted through the API."""

    display_name = models.CharField(max_length=500, blank=True, db_index=True)
    tax_registration_number = models.CharField(max_length=64, blank=True)
    tax_tracked_on_sales = models.BooleanField(null=True, blank=True)
    tax_tracked_on_purchases = models.BooleanField(null=True, blank=True)

    Meta = _meta("taxagency", ordering=("display_name",), verbose_name_plural="tax agencies")

    def __str__(self) -> str:
        return self.display_name or f"Tax agency {self.qb_id}"


class Budget(NamedListRecord):
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    budget_type = models.CharField(max_length=32, blank=True, help_text="ProfitAndLoss…")
    budget_entry_type = models.CharField(max_length=32, blank=True, help_text="Monthly…")

    Meta = _meta("budget", ordering=("-start_date",))


class BudgetDetail(models.Model):
    """One ``BudgetDetail[]`` entry: the amount budgeted for a period and account (and
    optionally customer, class, department); replaced with its budget."""

    parent = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="details")
    realm_id = models.CharField(max_length=32)
    position = models.PositiveIntegerField()
    budget_date = models.DateField(null=True, blank=True, db_index=True)
    amount = models.DecimalField(**MONEY)
    account_qb_id = qb_ref("account (QBO Id)")
    customer_qb_id = qb_ref("customer (QBO Id)", index=False)
    class_qb_id = qb_ref("class (QBO Id)", index=False)
    department_qb_id = qb_ref("department (QBO Id)", index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["parent", "position"], name="budgetdetail_pos")
        ]
        ordering = ["parent", "position"]

    def __str__(self) -> str:
        return f"{self.budget_date}: {self.amount}"


# --- company facts (one row per realm; ExchangeRate one per currency and date) ------------


class CompanyInfo(SyncedRecord):
    company_name = models.CharField(max_length=255, blank=True)
    legal_name = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=8, blank=True)
    email = models.CharField(max_length=254, blank=True)
    company_start_date = models.DateField(null=True, blank=True)
    fiscal_year_start_month = models.CharField(max_length=16, blank=True)

    Meta = _meta("companyinfo", verbose_name_plural="company info")

    def __str__(self) -> str:
        return self.company_name or f"Company {self.realm_id}"


class Preferences(SyncedRecord):
    """The settings reports depend on: home currency, multi-currency, fiscal year, basis."""

    home_currency = models.CharField(max_length=8, blank=True)
    multi_currency_enabled = models.BooleanField(default=False)
    fiscal_year_start_month = models.CharField(max_length=16, blank=True)
    accounting_method = models.CharField(
        max_length=16, blank=True, help_text="ReportPrefs.ReportBasis: Accrual or Cash"
    )
    track_departments = models.BooleanField(default=False)
    class_tracking_per_txn_line = models.BooleanField(default=False)
    using_sales_tax = models.BooleanField(default=False)
    book_close_date = models.DateField(null=True, blank=True)

    Meta = _meta("preferences", verbose_name_plural="preferences")

    def __str__(self) -> str:
        return f"Preferences of {self.realm_id}"


class ExchangeRate(SyncedRecord):
    source_currency = models.CharField(max_length=3, db_index=True)
    target_currency = models.CharField(max_length=3)
    as_of_date = models.DateField(null=True, blank=True, db_index=True)
    rate = models.DecimalField(
        **RATE, help_text="Home-currency units per unit of the source currency."
    )

    Meta = _meta("exchangerate", ordering=("-as_of_date", "source_currency"))

    def __str__(self) -> str:
        return f"{self.source_currency}→{self.target_currency} {self.as_of_date}: {self.rate}"
