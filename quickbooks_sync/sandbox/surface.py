"""Seed data for the rest of the accounting surface, consistent with the ledger.

What "consistent" means here (and what ``tests/test_registry.py`` checks):

* fixed reference lists: terms ``1``-``4`` (the ones invoices' ``SalesTermRef`` use),
  payment methods, customer types, one tax agency with three rates (state, county, city)
  and two tax codes combining them (``TaxCode.SalesTaxRateList``);
* classes and departments that estimate and purchase-order lines (``ClassRef``) and
  headers (``DepartmentRef``) use;
* taxed estimates: US-style line codes ``TAX``/``NON``, a ``TxnTaxDetail`` whose
  ``TxnTaxCodeRef`` is a seeded TaxCode and whose ``TaxLine[]`` are its rates, each
  ``Amount = NetAmountTaxable * TaxPercent / 100``, ``TotalAmt`` = lines + tax;
* converted estimates: a copy of an existing invoice's lines, ``TxnStatus`` Closed,
  ``LinkedTxn`` to that invoice, and the invoice's ``LinkedTxn`` back to the estimate;
* purchase orders: some copy a bill's lines and link it (``POStatus`` Closed, the bill
  links back), the rest are Open;
* card payments from Checking to the Mastercard account; time activities of seeded
  employees for seeded customers and the ``Hours`` item; budgets over expense accounts;
* company facts: CompanyInfo, Preferences (home currency USD, multi-currency on, fiscal
  year from January, accrual basis) and the day's ExchangeRate of each foreign currency
  (QBO keeps a rate for every day; ``SandboxState.exchange_rates`` adds a day on demand).
"""

from __future__ import annotations

from datetime import date, timedelta

from .clock import company_date
from .data import CURRENCIES, FIRST, LAST, TERMS, _stamped, currency_ref
from .ledger import CARD, CHECKING, EXPENSES, INCOME, acct

PAYMENT_METHODS = (("1", "Cash", "NON_CREDIT_CARD"), ("2", "Check", "NON_CREDIT_CARD"))
PAYMENT_METHODS += (("3", "Visa", "CREDIT_CARD"), ("4", "MasterCard", "CREDIT_CARD"))
CUSTOMER_TYPES = (("1", "Retail"), ("2", "Wholesale"))
TAX_AGENCY = ("1", "California Department of Tax and Fee Administration")
# (Id, Name, RateValue %)
TAX_RATES = (("1", "California", 7.25), ("2", "Alameda County", 1.0), ("3", "Oakland", 2.0))
# (Id, Name, rate Ids)
TAX_CODES = (("2", "California", ("1",)), ("3", "Oakland", ("1", "2", "3")))
CLASS_NAMES = ("Retail", "Wholesale", "Services", "Projects")
DEPARTMENT_NAMES = ("North", "South", "East", "West")
FOREIGN = tuple(c for c in CURRENCIES if c[0] != "USD")


def _money(x: float) -> float:
    return round(x, 2)


def exchange_rate(code: str, rate: float, day: date, id_: int, at: int) -> tuple:
    obj = {
        "SourceCurrencyCode": code,
        "TargetCurrencyCode": "USD",
        "Rate": rate,
        "AsOfDate": day.isoformat(),
    }
    return _stamped(obj, id_, 0, at, at), at, at


class SurfacePlan:
    """Generates one seed batch of the entities above; ``ledger`` is the batch's
    ``LedgerPlan`` (its rng, clock, Id counters and counts)."""

    def __init__(self, ledger, first_batch: bool):
        self.lp, self.rng, self.first = ledger, ledger.rng, first_batch
        self.classes: list[str] = []
        self.departments: list[str] = []
        self.employees: list[str] = []

    def _times(self, n: int):
        return self.lp._times(n)

    def _next(self, entity: str) -> int:
        return self.lp._next(entity)

    # -- name lists -----------------------------------------------------------------------
    def name_lists(self):
        """Yield ``(entity, obj, ct, lut)``: fixed lists on the first batch, then counts."""
        rows: list[tuple[str, dict]] = []
        if self.first:
            for id_, name, days in TERMS:
                rows.append(
                    ("Term", {"Id": id_, "Name": name, "Type": "STANDARD", "DueDays": days})
                )
            for id_, name, typ in PAYMENT_METHODS:
                rows.append(("PaymentMethod", {"Id": id_, "Name": name, "Type": typ}))
            for id_, name in CUSTOMER_TYPES:
                rows.append(("CustomerType", {"Id": id_, "Name": name}))
            rows.append(
                (
                    "TaxAgency",
                    {
                        "Id": TAX_AGENCY[0],
                        "DisplayName": TAX_AGENCY[1],
                        "TaxTrackedOnSales": True,
                        "TaxTrackedOnPurchases": False,
                    },
                )
            )
            # A second agency no rate uses yet (companies keep old agencies around).
            rows.append(
                (
                    "TaxAgency",
                    {
                        "Id": str(int(TAX_AGENCY[0]) + 1),
                        "DisplayName": "City Tax Office",
                        "TaxTrackedOnSales": True,
                        "TaxTrackedOnPurchases": False,
                    },
                )
            )
            for id_, name, value in TAX_RATES:
                rows.append(
                    (
                        "TaxRate",
                        {
                            "Id": id_,
                            "Name": name,
                            "Description": f"{name} sales tax",
                            "RateValue": value,
                            "AgencyRef": {"value": TAX_AGENCY[0]},
                            "SpecialTaxType": "NONE",
                            "DisplayType": "ReadOnly",
                        },
                    )
                )
            for id_, name, rates in TAX_CODES:
                rows.append(
                    (
                        "TaxCode",
                        {
                            "Id": id_,
                            "Name": name,
                            "Description": name,
                            "Taxable": True,
                            "TaxGroup": len(rates) > 1,
                            "SalesTaxRateList": {
                                "TaxRateDetail": [
                                    {
                                        "TaxRateRef": {"value": r},
                                        "TaxTypeApplicable": "TaxOnAmount",
                                        "TaxOrder": 0,
                                    }
                                    for r in rates
                                ]
                            },
                            "PurchaseTaxRateList": {"TaxRateDetail": []},
                        },
                    )
                )
        counts = self.lp.counts
        for i in range(counts.get("classes", 0)):
            id_ = self.lp.ids["Class"] + i
            name = f"{CLASS_NAMES[i % len(CLASS_NAMES)]} {id_}"
            rows.append(("Class", {"Id": str(id_), "Name": name, "SubClass": False}))
        for i in range(counts.get("departments", 0)):
            id_ = self.lp.ids["Department"] + i
            name = f"{DEPARTMENT_NAMES[i % len(DEPARTMENT_NAMES)]} {id_}"
            rows.append(("Department", {"Id": str(id_), "Name": name, "SubDepartment": False}))
        for i in range(counts.get("employees", 0)):
            id_ = self.lp.ids["Employee"] + i
            given, family = self.rng.choice(FIRST), self.rng.choice(LAST)
            rows.append(
                (
                    "Employee",
                    {
                        "Id": str(id_),
                        "DisplayName": f"{given} {family} {id_}",
                        "GivenName": given,
                        "FamilyName": family,
                        "PrimaryEmailAddr": {"Address": f"staff{id_}@company.example"},
                        "EmployeeNumber": f"E-{id_:04d}",
                        "HiredDate": (self.lp.today - timedelta(days=400 + i)).isoformat(),
                        "BillableTime": True,
                        "BillRate": 95,
                    },
                )
            )
        for i in range(counts.get("budgets", 0)):
            id_ = self.lp.ids["Budget"] + i
            year = self.lp.today.year - i
            details = [
                {
                    "BudgetDate": date(year, month, 1).isoformat(),
                    "Amount": _money(self.rng.randint(5000, 200000) / 100),
                    "AccountRef": acct(account),
                }
                for account in EXPENSES[:3]
                for month in (1, 4, 7, 10)
            ]
            rows.append(
                (
                    "Budget",
                    {
                        "Id": str(id_),
                        "Name": f"Budget {year} ({id_})",
                        "StartDate": f"{year}-01-01",
                        "EndDate": f"{year}-12-31",
                        "BudgetType": "ProfitAndLoss",
                        "BudgetEntryType": "Monthly",
                        "BudgetDetail": details,
                    },
                )
            )
        for (entity, obj), (ct, lut, sync) in zip(rows, self._times(len(rows)), strict=True):
            id_ = int(obj.pop("Id"))
            if entity != "TaxAgency":
                obj.setdefault("Active", True)
                if "Name" in obj:
                    obj.setdefault("FullyQualifiedName", obj["Name"])
            if entity == "Class":
                self.classes.append(str(id_))
            elif entity == "Department":
                self.departments.append(str(id_))
            elif entity == "Employee":
                self.employees.append(str(id_))
            yield entity, _stamped(obj, id_, sync, ct, lut), ct, lut

    # -- estimates --------------------------------------------------------------------------
    def _dimension(self, values: list[str]) -> dict | None:
        return {"value": self.rng.choice(values)} if values else None

    def _tax(self, lines: list[dict]) -> tuple[dict, float]:
        """A ``TxnTaxDetail`` for the taxable lines: one TaxLine per rate of a tax code."""
        code_id, _, rate_ids = self.rng.choice(TAX_CODES)
        taxable = _money(
            sum(
                ln["Amount"]
                for ln in lines
                if ln.get("SalesItemLineDetail", {}).get("TaxCodeRef", {}).get("value") == "TAX"
            )
        )
        rates = {r[0]: r[2] for r in TAX_RATES}
        tax_lines = [
            {
                "Amount": _money(taxable * rates[r] / 100),
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": r},
                    "PercentBased": True,
                    "TaxPercent": rates[r],
                    "NetAmountTaxable": taxable,
                },
            }
            for r in rate_ids
        ]
        total = _money(sum(t["Amount"] for t in tax_lines))
        detail = {"TxnTaxCodeRef": {"value": code_id}, "TotalTax": total, "TaxLine": tax_lines}
        return detail, total

    def estimates(self, invoices: list[dict]):
        """Yield ``(entity, obj, ct, lut)``; converted estimates also yield the invoice
        (with its new LinkedTxn) as ``("Invoice", obj, None, None)``."""
        n = self.lp.counts.get("estimates", 0)
        customers = self.lp.customers
        if not n or not customers:
            return
        converted = [inv for inv in invoices if self.rng.random() < 0.5][: max(1, n // 3)]
        for inv in converted:
            ct = _epoch(inv["MetaData"]["CreateTime"]) - 86400
            lut = ct
            eid = self._next("Estimate")
            obj = {
                "CustomerRef": inv["CustomerRef"],
                "DocNumber": f"E{eid}",
                "TxnStatus": "Closed",
                "Line": inv["Line"],
                "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}],
                "TxnTaxDetail": {"TotalTax": 0},
                "CustomField": inv.get("CustomField", []),
                "TxnDate": company_date(ct).isoformat(),
                "CurrencyRef": inv["CurrencyRef"],
                "TotalAmt": inv["TotalAmt"],
            }
            for key in ("ExchangeRate", "HomeTotalAmt"):
                if key in inv:
                    obj[key] = inv[key]
            inv["LinkedTxn"] = [
                *inv.get("LinkedTxn", []),
                {"TxnId": str(eid), "TxnType": "Estimate"},
            ]
            yield "Estimate", _stamped(obj, eid, 0, ct, lut), ct, lut
            yield "Invoice", inv, None, None
        for ct, lut, sync in self._times(max(0, n - len(converted))):
            cid, cname, cur = self.rng.choice(customers)
            lines, subtotal = self.lp._sales_lines(self.rng.randint(1, 3))
            for line in lines[:-1]:
                detail = line["SalesItemLineDetail"]
                detail["TaxCodeRef"] = {"value": self.rng.choice(("TAX", "NON"))}
                if self.classes:
                    detail["ClassRef"] = self._dimension(self.classes)
            tax, total_tax = self._tax(lines)
            eid = self._next("Estimate")
            total = _money(subtotal + total_tax)
            obj = {
                "CustomerRef": {"value": cid, "name": cname},
                "DocNumber": f"E{eid}",
                "TxnStatus": self.rng.choice(("Pending", "Accepted", "Rejected")),
                "ExpirationDate": (company_date(ct) + timedelta(days=30)).isoformat(),
                "Line": lines,
                "TxnTaxDetail": tax,
                "CustomField": [
                    {
                        "DefinitionId": "1",
                        "Name": "PO #",
                        "Type": "StringType",
                        "StringValue": f"PO-{eid}",
                    }
                ],
                **self.lp._txn_base_for(company_date(ct), cur, total),
            }
            if self.departments:
                obj["DepartmentRef"] = self._dimension(self.departments)
            if obj["TxnStatus"] == "Accepted":
                obj["AcceptedBy"] = cname
                obj["AcceptedDate"] = company_date(lut).isoformat()
            yield "Estimate", _stamped(obj, eid, sync, ct, lut), ct, lut

    # -- purchase orders --------------------------------------------------------------------
    def purchase_orders(self, bills: list[dict]):
        """Yield ``(entity, obj, ct, lut)``; a PO received as a bill also yields the bill
        (with its new LinkedTxn) as ``("Bill", obj, None, None)``."""
        n = self.lp.counts.get("purchase_orders", 0)
        if not n or not self.lp.payees:
            return
        received = [b for b in bills if self.rng.random() < 0.5][: max(1, n // 2)]
        for bill in received:
            ct = _epoch(bill["MetaData"]["CreateTime"]) - 2 * 86400
            pid = self._next("PurchaseOrder")
            lines = [dict(ln) for ln in bill["Line"]]
            obj = {
                "VendorRef": bill["VendorRef"],
                "APAccountRef": bill["APAccountRef"],
                "DocNumber": f"PO{pid}",
                "POStatus": "Closed",
                "Line": lines,
                "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}],
                "TxnDate": company_date(ct).isoformat(),
                "CurrencyRef": bill["CurrencyRef"],
                "TotalAmt": bill["TotalAmt"],
            }
            for key in ("ExchangeRate", "HomeTotalAmt"):
                if key in bill:
                    obj[key] = bill[key]
            bill["LinkedTxn"] = [
                *bill.get("LinkedTxn", []),
                {"TxnId": str(pid), "TxnType": "PurchaseOrder"},
            ]
            yield "PurchaseOrder", _stamped(obj, pid, 0, ct, ct), ct, ct
            yield "Bill", bill, None, None
        for ct, lut, sync in self._times(max(0, n - len(received))):
            vid, vname = self.rng.choice(self.lp.payees)
            lines, total = self.lp._expense_lines(self.rng.randint(1, 3))
            for line in lines:
                detail = line[line["DetailType"]]
                if self.classes:
                    detail["ClassRef"] = self._dimension(self.classes)
            pid = self._next("PurchaseOrder")
            obj = {
                "VendorRef": {"value": vid, "name": vname},
                "DocNumber": f"PO{pid}",
                "POStatus": "Open",
                "DueDate": (company_date(ct) + timedelta(days=14)).isoformat(),
                "Line": lines,
                "CustomField": [{"DefinitionId": "1", "Name": "Ship via", "Type": "StringType"}],
                **self.lp._txn_base_for(company_date(ct), self.lp.currency_of(vid), total),
            }
            if self.departments:
                obj["DepartmentRef"] = self._dimension(self.departments)
            yield "PurchaseOrder", _stamped(obj, pid, sync, ct, lut), ct, lut

    # -- card payments and time -------------------------------------------------------------
    def card_payments_and_time(self):
        counts = self.lp.counts
        for ct, lut, sync in self._times(counts.get("credit_card_payments", 0)):
            obj = {
                "TxnDate": company_date(ct).isoformat(),
                "Amount": _money(self.rng.randint(5000, 300000) / 100),
                "BankAccountRef": acct(CHECKING),
                "CreditCardAccountRef": acct(CARD),
                "CurrencyRef": currency_ref("USD"),
            }
            cid = self._next("CreditCardPayment")
            yield "CreditCardPayment", _stamped(obj, cid, sync, ct, lut), ct, lut
        if not self.employees or not self.lp.customers:
            return
        for ct, lut, sync in self._times(counts.get("time_activities", 0)):
            cid, cname, _ = self.rng.choice(self.lp.customers)
            obj = {
                "TxnDate": company_date(ct).isoformat(),
                "NameOf": "Employee",
                "EmployeeRef": {"value": self.rng.choice(self.employees)},
                "CustomerRef": {"value": cid, "name": cname},
                "ItemRef": {"value": "2", "name": "Hours"},
                "BillableStatus": self.rng.choice(("Billable", "NotBillable", "HasBeenBilled")),
                "Taxable": False,
                "HourlyRate": 95,
                "Hours": self.rng.randint(0, 8),
                "Minutes": self.rng.choice((0, 15, 30, 45)),
                "Description": "Consulting",
            }
            if self.classes:
                obj["ClassRef"] = self._dimension(self.classes)
            tid = self._next("TimeActivity")
            yield "TimeActivity", _stamped(obj, tid, sync, ct, lut), ct, lut


def company_facts(name: str, epoch: int, start: int) -> list[tuple[str, dict]]:
    """CompanyInfo and Preferences of one realm (Id 1 each, as QBO numbers them)."""
    addr = {
        "Id": "1",
        "Line1": "123 Sierra Way",
        "City": "San Pablo",
        "CountrySubDivisionCode": "CA",
        "Country": "USA",
        "PostalCode": "87999",
    }
    info = {
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": addr,
        "CustomerCommunicationAddr": addr,
        "LegalAddr": addr,
        "CompanyStartDate": company_date(start).isoformat(),
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": {"Address": "noreply@quickbooks.example"},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Landscaping Services"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
        ],
    }
    prefs = {
        "AccountingInfoPrefs": {
            "FirstMonthOfFiscalYear": "January",
            "TrackDepartments": True,
            "DepartmentTerminology": "Location",
            "ClassTrackingPerTxnLine": True,
            "ClassTrackingPerTxn": False,
            "CustomerTerminology": "Customers",
        },
        "CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
        "SalesFormsPrefs": {
            "CustomField": [
                {
                    "CustomField": [
                        {"Name": "SalesFormsPrefs.UseSalesCustom1", "Type": "BooleanType"},
                        {"Name": "SalesFormsPrefs.SalesCustomName1", "Type": "StringType"},
                    ]
                }
            ],
            "AllowDeposit": True,
            "AllowDiscount": True,
        },
    }
    return [
        ("CompanyInfo", _stamped(info, 1, 5, start, epoch - 30 * 86400)),
        ("Preferences", _stamped(prefs, 1, 3, start, epoch - 30 * 86400)),
    ]


def _epoch(stamp: str) -> int:
    from .clock import parse_qbo_datetime

    return int(parse_qbo_datetime(stamp))


__all__ = ["FOREIGN", "INCOME", "SurfacePlan", "company_facts", "exchange_rate"]
