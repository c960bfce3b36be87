"""One QBO payload per entity the analytics views read, shaped like QBO's JSON (API-NOTES §4,
§11), with amounts that balance, so every view and the trial balance can be exercised before
the ledger entities are synced."""

from __future__ import annotations


def _meta(id_, **fields):
    return {
        "domain": "QBO",
        "sparse": False,
        "Id": id_,
        "SyncToken": "2",
        "MetaData": {
            "CreateTime": "2025-01-02T10:00:00-08:00",
            "LastUpdatedTime": "2025-03-04T23:30:00-08:00",
        },
        **fields,
    }


def ref(value, name=None):
    return {"value": value, **({"name": name} if name else {})}


USD = ref("USD", "United States Dollar")


def sales_line(n, amount, item="1", account="79"):
    return {
        "Id": str(n),
        "LineNum": n,
        "Description": f"line {n}",
        "Amount": amount,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {
            "ItemRef": ref(item, "Services"),
            "ItemAccountRef": ref(account, "Sales"),
            "Qty": 2,
            "UnitPrice": amount / 2,
            "TaxCodeRef": ref("TAX"),
            "ServiceDate": "2025-01-05",
        },
    }


SUBTOTAL = {"Amount": 0, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}


def tax(amount):
    return {
        "TotalTax": amount,
        "TxnTaxCodeRef": ref("3"),
        "TaxLine": [
            {
                "Amount": amount,
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": ref("7"),
                    "PercentBased": True,
                    "TaxPercent": 8,
                    "NetAmountTaxable": amount * 12.5,
                },
            }
        ],
    }


def account_line(amount, account="60", **extra):
    return {
        "Amount": amount,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {
            "AccountRef": ref(account),
            "BillableStatus": "NotBillable",
            "ClassRef": ref("5"),
            "CustomerRef": ref("1"),
            "TaxCodeRef": ref("NON"),
            **extra,
        },
    }


def item_line(qty, price, item="2"):
    return {
        "Amount": qty * price,
        "DetailType": "ItemBasedExpenseLineDetail",
        "ItemBasedExpenseLineDetail": {
            "ItemRef": ref(item),
            "Qty": qty,
            "UnitPrice": price,
            "BillableStatus": "Billable",
            "CustomerRef": ref("1"),
        },
    }


def linked_line(amount, txn_type, txn_id):
    return {"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}


SAMPLES: dict[str, list[dict]] = {
    "Account": [
        _meta(
            "4",
            Name="Accounts Receivable (A/R)",
            FullyQualifiedName="Accounts Receivable (A/R)",
            AccountType="Accounts Receivable",
            AccountSubType="AccountsReceivable",
            Classification="Asset",
            CurrentBalance=148.0,
            CurrentBalanceWithSubAccounts=148.0,
            Active=True,
            SubAccount=False,
            CurrencyRef=USD,
            AcctNum="1200",
        ),
        _meta(
            "80",
            Name="Consulting",
            FullyQualifiedName="Income:Consulting",
            AccountType="Income",
            AccountSubType="ServiceFeeIncome",
            Classification="Revenue",
            Active=True,
            SubAccount=True,
            ParentRef=ref("79"),
            CurrencyRef=USD,
        ),
    ],
    "Customer": [
        _meta(
            "1",
            DisplayName="Ng Plumbing",
            CompanyName="Ng Plumbing",
            FullyQualifiedName="Ng Plumbing",
            Active=True,
            Taxable=False,
            Job=False,
            BillWithParent=False,
            Balance=148.0,
            BalanceWithJobs=148.0,
            CurrencyRef=USD,
            CustomerTypeRef=ref("3"),
            BillAddr={"Id": "91", "Line1": "12 Pine St", "City": "Oakland", "PostalCode": "94607"},
            ShipAddr={"Id": "92", "Line1": "1 Dock Rd", "City": "Oakland"},
            WebAddr={"URI": "https://ng.example"},
        )
    ],
    "Vendor": [
        _meta(
            "30",
            DisplayName="Paper Co",
            CompanyName="Paper Co",
            Active=True,
            Vendor1099=True,
            Balance=0,
            AcctNum="V-1",
            CurrencyRef=USD,
            BillAddr={"Id": "93", "Line1": "5 Mill Ln", "City": "Austin"},
            WebAddr={"URI": "https://paper.example"},
        )
    ],
    "Item": [
        _meta(
            "1",
            Name="Services",
            FullyQualifiedName="Services",
            Type="Service",
            Active=True,
            Taxable=True,
            UnitPrice=75,
            IncomeAccountRef=ref("79"),
            ExpenseAccountRef=ref("60"),
            TrackQtyOnHand=False,
        ),
        _meta(
            "9",
            Name="Starter kit",
            FullyQualifiedName="Starter kit",
            Type="Group",
            Active=True,
            PrintGroupedItems=True,
            ItemGroupDetail={
                "ItemGroupLine": [
                    {"ItemRef": ref("1"), "Qty": 2},
                    {"ItemRef": ref("2"), "Qty": 1},
                ]
            },
        ),
    ],
    "Department": [
        _meta("1", Name="West", FullyQualifiedName="West", Active=True, SubDepartment=False)
    ],
    "CustomerType": [_meta("3", Name="Retail", Active=True)],
    "TaxRate": [
        _meta(
            "7",
            Name="CA 8%",
            Active=True,
            RateValue=8,
            AgencyRef=ref("2"),
            SpecialTaxType="NONE",
            DisplayType="ReadOnly",
            EffectiveTaxRate=[{"RateValue": 8, "EffectiveDate": "2024-01-01"}],
        )
    ],
    "TaxAgency": [
        _meta("2", DisplayName="CDTFA", TaxTrackedOnSales=True, TaxTrackedOnPurchases=False)
    ],
    "Invoice": [
        _meta(
            "130",
            DocNumber="1037",
            TxnDate="2025-01-02",
            DueDate="2025-02-01",
            CurrencyRef=USD,
            CustomerRef=ref("1", "Ng Plumbing"),
            DepartmentRef=ref("1"),
            BillAddr={"Id": "94", "Line1": "12 Pine St"},
            LinkedTxn=[
                {"TxnId": "500", "TxnType": "Estimate"},
                {"TxnId": "300", "TxnType": "Payment"},
            ],
            Line=[
                sales_line(1, 100.0),
                {
                    "Id": "2",
                    "LineNum": 2,
                    "Amount": 10.0,
                    "DetailType": "DiscountLineDetail",
                    "DiscountLineDetail": {
                        "PercentBased": True,
                        "DiscountPercent": 10,
                        "DiscountAccountRef": ref("86", "Discounts given"),
                    },
                },
                {
                    "Id": "3",
                    "LineNum": 3,
                    "Amount": 50.0,
                    "DetailType": "GroupLineDetail",
                    "GroupLineDetail": {
                        "GroupItemRef": ref("9", "Starter kit"),
                        "Quantity": 1,
                        "Line": [sales_line(4, 30.0), sales_line(5, 20.0, item="2")],
                    },
                },
                {
                    "Id": "6",
                    "Description": "Thanks",
                    "DetailType": "DescriptionOnly",
                    "DescriptionLineDetail": {"ServiceDate": "2025-01-03"},
                },
                SUBTOTAL,
            ],
            TxnTaxDetail=tax(8.0),
            TotalAmt=148.0,
            Balance=0,
            EmailStatus="EmailSent",
            AllowOnlinePayment=True,
        ),
        _meta(
            "131",
            DocNumber="1038",
            TxnDate="2025-02-10",
            CurrencyRef=ref("EUR"),
            ExchangeRate=1.08,
            CustomerRef=ref("1"),
            Line=[sales_line(1, 40.0), SUBTOTAL],
            TotalAmt=40.0,
            Balance=40.0,
        ),
    ],
    "Payment": [
        _meta(
            "300",
            TxnDate="2025-01-20",
            CurrencyRef=USD,
            CustomerRef=ref("1"),
            DepositToAccountRef=ref("4000"),
            ARAccountRef=ref("4"),
            TotalAmt=148.0,
            UnappliedAmt=0,
            Line=[linked_line(148.0, "Invoice", "130")],
        )
    ],
    "Bill": [
        _meta(
            "400",
            TxnDate="2025-01-03",
            DueDate="2025-02-02",
            CurrencyRef=USD,
            VendorRef=ref("30"),
            APAccountRef=ref("33"),
            Line=[account_line(60.0), item_line(4, 10.0)],
            TotalAmt=100.0,
            Balance=0,
            LinkedTxn=[{"TxnId": "410", "TxnType": "BillPayment"}],
        )
    ],
    "BillPayment": [
        _meta(
            "410",
            TxnDate="2025-01-25",
            CurrencyRef=USD,
            VendorRef=ref("30"),
            PayType="Check",
            CheckPayment={"BankAccountRef": ref("35"), "PrintStatus": "NotSet"},
            TotalAmt=100.0,
            Line=[linked_line(100.0, "Bill", "400")],
        )
    ],
    "JournalEntry": [
        _meta(
            "600",
            TxnDate="2025-03-31",
            CurrencyRef=USD,
            Adjustment=False,
            TotalAmt=25.0,
            Line=[
                {
                    "Id": "0",
                    "Amount": 25.0,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit",
                        "AccountRef": ref("60"),
                        "Entity": {"Type": "Customer", "EntityRef": ref("1")},
                    },
                },
                {
                    "Id": "1",
                    "Amount": 25.0,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Credit",
                        "AccountRef": ref("35"),
                        "Entity": {"Type": "Vendor", "EntityRef": ref("30")},
                    },
                },
            ],
        )
    ],
    "Purchase": [
        _meta(
            "700",
            TxnDate="2025-01-04",
            CurrencyRef=USD,
            AccountRef=ref("35"),
            PaymentType="Cash",
            Credit=False,
            EntityRef={"value": "30", "name": "Paper Co", "type": "Vendor"},
            Line=[account_line(20.0), item_line(3, 5.0)],
            TotalAmt=35.0,
        ),
        _meta(
            "701",
            TxnDate="2025-01-06",
            CurrencyRef=USD,
            AccountRef=ref("41"),
            PaymentType="CreditCard",
            Credit=True,
            Line=[account_line(9.0)],
            TotalAmt=9.0,
        ),
    ],
    "Deposit": [
        _meta(
            "800",
            TxnDate="2025-01-21",
            CurrencyRef=USD,
            DepositToAccountRef=ref("35"),
            CashBack={"AccountRef": ref("90"), "Amount": 10.0, "Memo": "petty cash"},
            Line=[
                {
                    "Amount": 50.0,
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {
                        "AccountRef": ref("79"),
                        "Entity": {"value": "1", "name": "Ng Plumbing", "type": "CUSTOMER"},
                        "CheckNum": "1001",
                    },
                },
                {
                    "Amount": 148.0,
                    "LinkedTxn": [{"TxnId": "300", "TxnType": "Payment", "TxnLineId": "0"}],
                },
            ],
            TotalAmt=188.0,
        )
    ],
    "SalesReceipt": [
        _meta(
            "900",
            TxnDate="2025-01-08",
            CurrencyRef=USD,
            CustomerRef=ref("1"),
            DepositToAccountRef=ref("35"),
            Line=[sales_line(1, 40.0), SUBTOTAL],
            TotalAmt=40.0,
        )
    ],
    "CreditMemo": [
        _meta(
            "950",
            TxnDate="2025-01-09",
            CurrencyRef=USD,
            CustomerRef=ref("1"),
            Line=[sales_line(1, 20.0), SUBTOTAL],
            TotalAmt=20.0,
            Balance=20.0,
        )
    ],
    "RefundReceipt": [
        _meta(
            "960",
            TxnDate="2025-01-10",
            CurrencyRef=USD,
            CustomerRef=ref("1"),
            DepositToAccountRef=ref("35"),
            CheckPayment={"CheckNum": "77", "Status": "NotSet"},
            Line=[sales_line(1, 15.0), SUBTOTAL],
            TotalAmt=15.0,
        )
    ],
    "VendorCredit": [
        _meta(
            "970",
            TxnDate="2025-01-11",
            CurrencyRef=USD,
            VendorRef=ref("30"),
            APAccountRef=ref("33"),
            Line=[account_line(12.0), item_line(2, 4.0)],
            TotalAmt=20.0,
        )
    ],
    "Transfer": [
        _meta(
            "980",
            TxnDate="2025-01-12",
            CurrencyRef=USD,
            Amount=500.0,
            FromAccountRef=ref("35"),
            ToAccountRef=ref("36"),
        )
    ],
    "Estimate": [
        _meta(
            "500",
            TxnDate="2024-12-20",
            CurrencyRef=USD,
            CustomerRef=ref("1"),
            TxnStatus="Closed",
            ExpirationDate="2025-01-20",
            Line=[sales_line(1, 70.0), SUBTOTAL],
            TotalAmt=70.0,
        )
    ],
    "PurchaseOrder": [
        _meta(
            "990",
            TxnDate="2024-12-28",
            CurrencyRef=USD,
            VendorRef=ref("30"),
            POStatus="Closed",
            Line=[item_line(3, 10.0)],
            TotalAmt=30.0,
            LinkedTxn=[{"TxnId": "400", "TxnType": "Bill"}],
        )
    ],
    "CreditCardPayment": [
        _meta(
            "995",
            TxnDate="2025-01-30",
            CurrencyRef=USD,
            Amount=200.0,
            BankAccountRef=ref("35"),
            CreditCardAccountRef=ref("41"),
        )
    ],
}

# A deleted invoice whose lines do not add up: views flag it, the trial balance skips it.
DELETED_INVOICE = _meta(
    "132", TxnDate="2025-01-15", CustomerRef=ref("1"), Line=[sales_line(1, 1.0)], TotalAmt=999.0
)
