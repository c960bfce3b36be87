"""Human wording for durations, shared by the admin, ``syncstatus`` and its tests.

Why not Django's ``timesince``: it is localised and drops the smaller unit ("2 hours"),
while an operator comparing a sync age with a 15-minute threshold wants "2 h 5 min", and
the command-line table must read the same as the admin.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal


def format_delta(delta: timedelta) -> str:
    """``timedelta`` -> "42 s", "5 min", "2 h 5 min", "3 days" (two units at most)."""
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{days} day" if days == 1 else f"{days} days"


def format_age(seconds: float | None) -> str:
    """Age of a last success: "never" when there is none."""
    if seconds is None:
        return "never"
    return f"{format_delta(timedelta(seconds=seconds))} ago"


def format_money(amount: Decimal | None, currency: str = "") -> str:
    """``Decimal("12345.5"), "EUR"`` -> "EUR 12,345.50": the currency is always written out
    (a multi-currency company has EUR, GBP and CAD side by side) and thousands separated."""
    if amount is None:
        return "-"
    text = f"{amount:,.2f}"
    return f"{currency} {text}" if currency else text
