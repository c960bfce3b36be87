"""What the sandbox serves: one declaration per entity, the same kinds as the app's registry.

Decision: the sandbox serves exactly the entities declared here, generically (tables,
queries, CDC, reads, writes, deletes, voids); an entity that is not declared is answered
like QBO answers a name it does not know, with a 400 ``Error parsing query``, never with an
empty list (an empty answer let a half-added entity "sync" 0 rows and verify 0 = 0).
The seed data comes from ``data`` (customers, invoices) and ``ledger`` (the rest), named
per entity in ``seeded_by``; ``tests/test_registry.py`` checks that every entity the app
syncs is declared here and gets seed rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .clock import company_date
from .data import currency_ref
from .entities import QBOError, drop_nulls, lines_total, number_lines
from .query import FIELDS as CORE_FIELDS

_COMMON = "id synctoken metadata domain sparse status"
_TXN = (
    _COMMON + " docnumber txndate totalamt hometotalamt currencyref exchangerate privatenote"
    " line linkedtxn departmentref txnsource"
)


@dataclass(frozen=True)
class SandboxEntity:
    name: str
    fields: frozenset[str]  # queryable top-level properties, lower-case
    name_list: bool = False  # soft delete (Active), hidden by default, cannot be deleted
    voidable: bool = False
    name_field: str = ""  # name lists: the required display name
    opens_balance: bool = False  # a new one starts with Balance = TotalAmt (unpaid)
    seeded_by: str = ""  # the generator that fills it (data.SeedPlan or ledger.LedgerPlan)
    deletable: bool = True  # transactions; TaxAgency and company facts are not
    keyless: bool = False  # QBO gives it no Id (ExchangeRate): stored rows omit it

    @property
    def can_delete(self) -> bool:
        return self.deletable and not self.name_list


def _fields(extra: str, base: str = _TXN) -> frozenset[str]:
    return frozenset((base + " " + extra).split())


CATALOG: dict[str, SandboxEntity] = {
    e.name: e
    for e in (
        SandboxEntity(
            "Customer",
            frozenset(CORE_FIELDS["Customer"]),
            name_list=True,
            name_field="DisplayName",
            seeded_by="SeedPlan.customers",
        ),
        SandboxEntity(
            "Invoice",
            frozenset(CORE_FIELDS["Invoice"]),
            voidable=True,
            opens_balance=True,
            seeded_by="SeedPlan.invoices",
        ),
        SandboxEntity(
            "Account",
            _fields(
                "name subaccount parentref fullyqualifiedname active classification accounttype"
                " accountsubtype acctnum description currentbalance"
                " currentbalancewithsubaccounts currencyref",
                _COMMON,
            ),
            name_list=True,
            name_field="Name",
            seeded_by="LedgerPlan.accounts",
        ),
        SandboxEntity(
            "Item",
            _fields(
                "name sku fullyqualifiedname active type unitprice purchasecost qtyonhand"
                " incomeaccountref expenseaccountref assetaccountref taxable trackqtyonhand"
                " description parentref subitem",
                _COMMON,
            ),
            name_list=True,
            name_field="Name",
            seeded_by="LedgerPlan.items",
        ),
        SandboxEntity(
            "Vendor",
            _fields(
                "displayname companyname givenname familyname printoncheckname active"
                " vendor1099 balance currencyref primaryemailaddr primaryphone billaddr"
                " acctnum termref",
                _COMMON,
            ),
            name_list=True,
            name_field="DisplayName",
            seeded_by="LedgerPlan.vendors",
        ),
        SandboxEntity(
            "Payment",
            _fields(
                "customerref deposittoaccountref araccountref paymentmethodref paymentrefnum"
                " unappliedamt processpayment"
            ),
            voidable=True,
            seeded_by="LedgerPlan.payments_and_deposits",
        ),
        SandboxEntity(
            "Deposit",
            _fields("deposittoaccountref cashback"),
            seeded_by="LedgerPlan.payments_and_deposits",
        ),
        SandboxEntity(
            "Bill",
            _fields("vendorref apaccountref duedate balance salestermref"),
            opens_balance=True,
            seeded_by="LedgerPlan.bills_and_payments",
        ),
        SandboxEntity(
            "BillPayment",
            _fields("vendorref apaccountref paytype checkpayment creditcardpayment"),
            voidable=True,
            seeded_by="LedgerPlan.bills_and_payments",
        ),
        SandboxEntity(
            "VendorCredit",
            _fields("vendorref apaccountref balance"),
            opens_balance=True,
            seeded_by="LedgerPlan.bills_and_payments",
        ),
        SandboxEntity(
            "Purchase",
            _fields("paymenttype accountref entityref credit remittoaddr"),
            seeded_by="LedgerPlan.bills_and_payments",
        ),
        SandboxEntity(
            "SalesReceipt",
            _fields("customerref deposittoaccountref paymentmethodref balance customermemo"),
            voidable=True,
            seeded_by="LedgerPlan.customer_sales",
        ),
        SandboxEntity(
            "CreditMemo",
            _fields("customerref balance remainingcredit customermemo"),
            opens_balance=True,
            seeded_by="LedgerPlan.customer_sales",
        ),
        SandboxEntity(
            "RefundReceipt",
            _fields("customerref deposittoaccountref paymentmethodref balance"),
            seeded_by="LedgerPlan.customer_sales",
        ),
        SandboxEntity(
            "JournalEntry",
            _fields("adjustment"),
            seeded_by="LedgerPlan.journal_entries_and_transfers",
        ),
        SandboxEntity(
            "Transfer",
            _fields(
                "fromaccountref toaccountref amount", _COMMON + " txndate currencyref privatenote"
            ),
            seeded_by="LedgerPlan.journal_entries_and_transfers",
        ),
        *(
            SandboxEntity(
                name,
                _fields(extra, _COMMON),
                name_list=True,
                name_field="DisplayName" if name == "Employee" else "Name",
                seeded_by="SurfacePlan.name_lists",
            )
            for name, extra in (
                ("Class", "name subclass parentref fullyqualifiedname active"),
                ("Department", "name subdepartment parentref fullyqualifiedname active"),
                ("Term", "name active type duedays discountdays discountpercent dayofmonthdue"),
                ("PaymentMethod", "name active type"),
                (
                    "Employee",
                    "displayname givenname familyname primaryemailaddr employeenumber"
                    " hireddate releaseddate billabletime billrate active",
                ),
                ("CustomerType", "name active"),
                (
                    "TaxCode",
                    "name description active taxable taxgroup salestaxratelist"
                    " purchasetaxratelist hidden",
                ),
                (
                    "TaxRate",
                    "name description active ratevalue agencyref specialtaxtype displaytype"
                    " effectivetaxrate",
                ),
                (
                    "Budget",
                    "name startdate enddate budgettype budgetentrytype active budgetdetail",
                ),
            )
        ),
        SandboxEntity(
            "TaxAgency",
            _fields(
                "displayname taxregistrationnumber taxtrackedonsales taxtrackedonpurchases",
                _COMMON,
            ),
            name_field="DisplayName",
            deletable=False,
            seeded_by="SurfacePlan.name_lists",
        ),
        SandboxEntity(
            "Estimate",
            _fields(
                "customerref txnstatus expirationdate acceptedby accepteddate salestermref"
                " classref customfield txntaxdetail customermemo billemail duedate"
            ),
            seeded_by="SurfacePlan.estimates",
        ),
        SandboxEntity(
            "PurchaseOrder",
            _fields("vendorref apaccountref postatus duedate classref customfield txntaxdetail"),
            seeded_by="SurfacePlan.purchase_orders",
        ),
        SandboxEntity(
            "CreditCardPayment",
            _fields(
                "txndate amount currencyref exchangerate hometotalamt privatenote"
                " creditcardaccountref bankaccountref vendorref memo",
                _COMMON,
            ),
            seeded_by="SurfacePlan.card_payments_and_time",
        ),
        SandboxEntity(
            "TimeActivity",
            _fields(
                "txndate nameof employeeref vendorref customerref itemref classref"
                " departmentref billablestatus taxable hourlyrate hours minutes description",
                _COMMON,
            ),
            seeded_by="SurfacePlan.card_payments_and_time",
        ),
        SandboxEntity(
            "CompanyInfo",
            _fields(
                "companyname legalname companyaddr customercommunicationaddr legaladdr country"
                " email companystartdate fiscalyearstartmonth supportedlanguages namevalue",
                _COMMON,
            ),
            deletable=False,
            seeded_by="SurfacePlan.company",
        ),
        SandboxEntity(
            "Preferences",
            _fields(
                "accountinginfoprefs currencyprefs reportprefs taxprefs salesformsprefs"
                " vendorandpurchasesprefs otherprefs",
                _COMMON,
            ),
            deletable=False,
            seeded_by="SurfacePlan.company",
        ),
        SandboxEntity(
            "ExchangeRate",
            _fields("sourcecurrencycode targetcurrencycode rate asofdate", "synctoken metadata"),
            deletable=False,
            keyless=True,
            seeded_by="SurfacePlan.company",
        ),
    )
}

# Served without CDC (API-NOTES §3): the API refuses them in /cdc with QBO's error.
CDC_UNSUPPORTED = ("JournalCode", "TaxAgency", "TimeActivity", "TaxCode", "TaxRate")

ENTITIES = tuple(CATALOG)
NAME_LISTS = frozenset(e.name for e in CATALOG.values() if e.name_list)


def entity_name(name: str) -> str:
    """The declared spelling of ``name`` (any case); ValueError if not served."""
    for e in ENTITIES:
        if e.lower() == str(name).lower():
            return e
    raise ValueError(f"unsupported entity {name!r}; the sandbox has {', '.join(ENTITIES)}")


def queryable(entity: str) -> frozenset[str]:
    return CATALOG[entity].fields


def is_name_list(entity: str) -> bool:
    return entity in NAME_LISTS


def new_record(entity: str, fields: dict, now: int, taken_names) -> dict:
    """A created name-list entry or transaction of a ledger entity (not Customer/Invoice,
    which have their own rules in ``entities``): QBO's defaults, numbered lines, totals.

    ``taken_names`` yields the name field of existing rows (names are unique per entity).
    """
    decl = CATALOG[entity]
    if decl.name_list or decl.name_field:
        name = fields.get(decl.name_field)
        if not name:
            raise QBOError(
                "6000",
                "A business validation error has occurred",
                f"{entity} needs a {decl.name_field}",
                decl.name_field,
            )
        if name in taken_names:
            raise QBOError(
                "6240",
                "Duplicate Name Exists Error",
                f"The name supplied already exists. : Another {entity.lower()} is already "
                f"using this name.",
            )
        obj = {"Active": True, "FullyQualifiedName": name} if decl.name_list else {}
        obj.update(fields)
        if entity == "Vendor":
            obj.setdefault("Balance", 0)
        return drop_nulls(obj)
    txn = company_date(now)
    obj = {"TxnDate": txn.isoformat(), "CurrencyRef": currency_ref("USD"), **fields}
    if entity in ("Transfer", "CreditCardPayment", "TimeActivity"):
        return drop_nulls(obj)
    if "Line" in fields:
        lines = fields["Line"] or []
        if entity in ("SalesReceipt", "CreditMemo", "RefundReceipt"):
            obj["Line"] = number_lines(lines)  # sales forms end with QBO's sub-total line
        else:
            obj["Line"] = [
                {"Id": str(n), "LineNum": n, **ln, "Amount": float(ln.get("Amount", 0) or 0)}
                for n, ln in enumerate(lines, 1)
            ]
    total = lines_total(obj.get("Line", []))
    obj.setdefault("TotalAmt", total)
    if decl.opens_balance:
        obj.setdefault("Balance", obj["TotalAmt"])
        if entity == "Bill":
            obj.setdefault("DueDate", (txn + timedelta(days=30)).isoformat())
    return drop_nulls(obj)
