"""The health panel on the admin index: is every realm in sync, at a glance.

Why a template tag: the admin index view belongs to ``AdminSite``; a tag lets our template
add the panel without replacing the site or its URLs.
"""

from __future__ import annotations

from itertools import groupby

from django import template
from django.urls import reverse

from quickbooks_sync import selectors
from quickbooks_sync.display import format_age
from quickbooks_sync.models import Company

register = template.Library()


@register.inclusion_tag("admin/quickbooks_sync/health_panel.html")
def qbo_health_panel():
    rows = selectors.sync_status_rows()
    health = selectors.overall_health(rows=rows)
    names = dict(Company.objects.values_list("realm_id", "name"))
    realms = []
    for realm_id, realm_rows in groupby(rows, key=lambda r: r.realm_id):
        entries = list(realm_rows)
        realms.append(
            {
                "realm_id": realm_id,
                "name": names.get(realm_id, ""),
                "needs_reauth": entries[0].needs_reauth,
                "rows": [
                    {"row": row, "age": format_age(row.age_seconds), "level": level_of(row.health)}
                    for row in entries
                ],
            }
        )
    return {
        "money": selectors.money_verdicts(),
        "health": health,
        "level": level_of(health.status),
        "realms": realms,
        "syncstate_url": reverse("admin:quickbooks_sync_syncstate_changelist"),
        "token_url": reverse("admin:quickbooks_sync_token_changelist"),
        "stale_after": format_age(selectors.default_stale_after().total_seconds()).removesuffix(
            " ago"
        ),
    }


def level_of(health: str) -> str:
    return {"healthy": "ok", "stale": "warning", "failing": "error"}.get(health, "muted")
