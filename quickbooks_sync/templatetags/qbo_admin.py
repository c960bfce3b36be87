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


PANEL_PERMISSION = "quickbooks_sync.view_syncstate"


@register.inclusion_tag("admin/quickbooks_sync/health_panel.html", takes_context=True)
def qbo_health_panel(context):
    """The panel names every realm and its errors: only for users who may view sync
    states (the admin index itself is open to every staff user)."""
    request = context.get("request")
    if request is None or not request.user.has_perm(PANEL_PERMISSION):
        return {"hidden": True}
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
