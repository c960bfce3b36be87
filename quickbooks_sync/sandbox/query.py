"""The QBO query language: tokenizer, parser and evaluator (API-NOTES §2).

Grammar accepted::

    SELECT * | COUNT(*) | field[, field...] FROM Entity
      [WHERE cond [AND cond ...]]
      [ORDERBY | ORDER BY prop [ASC|DESC] [, prop [ASC|DESC] ...]]
      [STARTPOSITION n] [MAXRESULTS n]
    cond := prop (= | < | > | <= | >=) literal | prop IN (literal, ...) | prop LIKE 'pat%'

Keywords, entity names and property paths are case-insensitive (``Metadata.`` and
``MetaData.`` both work). Field lists are accepted and ignored: QBO returns every populated
property. Decisions where the notes are silent: MAXRESULTS above 1000 is clamped to 1000
and STARTPOSITION below 1 is treated as 1 (no error); LIKE is case-insensitive; ``=`` on
strings is case-sensitive; a naive datetime literal is read in the company zone; DESC
reverses the whole order including the Id tie-break. Unknown properties give 400/4001.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_PAGE = 1000
DEFAULT_PAGE = 100

# Other QBO entities: queryable in QBO, simply empty in this sandbox.
OTHER_ENTITIES = [
    "Account",
    "Attachable",
    "Bill",
    "BillPayment",
    "Budget",
    "Class",
    "CreditMemo",
    "CustomerType",
    "Department",
    "Deposit",
    "Employee",
    "Estimate",
    "Item",
    "JournalEntry",
    "Payment",
    "PaymentMethod",
    "Preferences",
    "Purchase",
    "PurchaseOrder",
    "RefundReceipt",
    "SalesReceipt",
    "TaxAgency",
    "TaxCode",
    "TaxRate",
    "Term",
    "TimeActivity",
    "Transfer",
    "Vendor",
    "VendorCredit",
    "RecurringTransaction",
    "CompanyCurrency",
    "ExchangeRate",
]

_COMMON = "id synctoken metadata domain sparse status"
FIELDS = {
    "Customer": set(
        (
            _COMMON + " title givenname middlename familyname suffix displayname "
            "fullyqualifiedname companyname printoncheckname active primaryphone "
            "alternatephone mobile fax primaryemailaddr webaddr billaddr shipaddr notes "
            "job billwithparent parentref level taxable balance balancewithjobs "
            "currencyref preferreddeliverymethod isproject salestermref "
            "paymentmethodref resalenum openbalancedate customertyperef "
            "defaulttaxcoderef v4idpseudonym cliententityid"
        ).split()
    ),
    "Invoice": set(
        (
            _COMMON + " docnumber txndate duedate shipdate customerref currencyref "
            "exchangerate totalamt homebalance hometotalamt balance line linkedtxn "
            "customfield txntaxdetail billemail billaddr shipaddr salestermref "
            "emailstatus printstatus privatenote customermemo applytaxafterdiscount "
            "allowipnpayment allowonlinepayment allowonlinecreditcardpayment "
            "allowonlineachpayment departmentref classref trackingnum deposit "
            "globaltaxcalculation txnstatus"
        ).split()
    ),
}


class QueryError(Exception):
    """``code`` 4000 (parse) or 4001 (validation); ``detail`` is QBO's Detail text."""

    def __init__(self, detail: str, code: str = "4000"):
        super().__init__(detail)
        self.code = code
        self.message = "Error parsing query" if code == "4000" else "Invalid query"
        self.detail = detail


@dataclass
class Literal:
    kind: str  # "str" | "num" | "bool"
    raw: str


@dataclass
class Cond:
    path: str  # lower-case dotted path
    op: str  # = < > <= >= in like
    values: list[Literal]


@dataclass
class Query:
    entity: str
    count: bool = False
    conds: list[Cond] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (path, descending)
    start: int = 1
    max: int = DEFAULT_PAGE


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:\\.|[^'\\])*')
    | (?P<num>-?\d+(?:\.\d+)?)(?![\w])
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),*;])
    | (?P<word>[A-Za-z_][\w.]*)
    )""",
    re.X,
)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos, n = [], 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            col = pos + 1 + (len(text[pos:]) - len(text[pos:].lstrip()))
            ch = text[col - 1]
            raise QueryError(
                f'QueryParserError: Encountered unexpected character "{ch}" at line 1, '
                f"column {col}."
            )
        kind = m.lastgroup
        tokens.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "<EOF>", len(self.text))

    def fail(self, expected: str):
        kind, val, col = self.peek()
        shown = {"word": "<ID>", "str": "<STRING>", "num": "<INTEGER>"}.get(kind, val)
        raise QueryError(
            f'QueryParserError: Encountered " {shown} "{val} "" at line 1, column {col}.\n'
            f"Was expecting one of:\n    {expected}"
        )

    def kw(self, *words: str) -> str | None:
        kind, val, _ = self.peek()
        if kind == "word" and val.lower() in words:
            self.i += 1
            return val.lower()
        return None

    def need_kw(self, word: str) -> None:
        if not self.kw(word):
            self.fail(f'"{word}"')

    def punct(self, ch: str) -> bool:
        kind, val, _ = self.peek()
        if kind == "punct" and val == ch:
            self.i += 1
            return True
        return False

    def need_punct(self, ch: str) -> None:
        if not self.punct(ch):
            self.fail(f'"{ch}"')

    def word(self, what: str) -> str:
        kind, val, _ = self.peek()
        if kind != "word":
            self.fail(what)
        self.i += 1
        return val

    def literal(self) -> Literal:
        kind, val, _ = self.peek()
        if kind == "str":
            self.i += 1
            return Literal("str", re.sub(r"\\(.)", r"\1", val[1:-1]))
        if kind == "num":
            self.i += 1
            return Literal("num", val)
        if kind == "word" and val.lower() in ("true", "false"):
            self.i += 1
            return Literal("bool", val.lower())
        self.fail('<STRING> | <INTEGER> | <DECIMAL> | "true" | "false"')
        raise AssertionError  # unreachable

    def integer(self) -> int:
        kind, val, _ = self.peek()
        if kind != "num" or "." in val:
            self.fail("<INTEGER>")
        self.i += 1
        return int(val)

    def parse(self) -> Query:
        self.need_kw("select")
        count = False
        if self.kw("count"):
            self.need_punct("(")
            self.need_punct("*")
            self.need_punct(")")
            count = True
        else:
            if not self.punct("*"):
                self.word('"*" | "count" | <ID>')
            while self.punct(","):
                if not self.punct("*"):
                    self.word("<ID>")
        self.need_kw("from")
        q = Query(entity=self.word("<ID>"), count=count)
        if self.kw("where"):
            q.conds.append(self.cond())
            while self.kw("and"):
                q.conds.append(self.cond())
        if self.kw("orderby") or (self.kw("order") and (self.kw("by") or self.fail('"by"'))):
            while True:
                path = self.word("<ID>").lower()
                desc = self.kw("asc", "desc") == "desc"
                q.order.append((path, desc))
                if not self.punct(","):
                    break
        for _ in range(2):
            if self.kw("startposition"):
                q.start = self.integer()
            elif self.kw("maxresults"):
                q.max = self.integer()
        self.punct(";")
        if self.i < len(self.toks):
            self.fail('"where" | "orderby" | "order" | "startposition" | "maxresults" | <EOF>')
        q.start = max(1, q.start)
        q.max = min(MAX_PAGE, max(0, q.max))
        return q

    def cond(self) -> Cond:
        path = self.word("<ID>").lower()
        kind, val, _ = self.peek()
        if kind == "op" and val in ("=", "<", ">", "<=", ">="):
            self.i += 1
            return Cond(path, val, [self.literal()])
        if self.kw("in"):
            self.need_punct("(")
            values = [self.literal()]
            while self.punct(","):
                values.append(self.literal())
            self.need_punct(")")
            return Cond(path, "in", values)
        if self.kw("like"):
            lit = self.literal()
            if lit.kind != "str":
                self.fail("<STRING>")
            return Cond(path, "like", [lit])
        self.fail('"=" | "<" | ">" | "<=" | ">=" | "in" | "like"')
        raise AssertionError  # unreachable


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise QueryError("QueryParserError: The query provided was empty")
    return _Parser(text).parse()
