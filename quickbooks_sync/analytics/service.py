"""Create, verify and drop the analytics views (PostgreSQL only).

Decisions:
- Which views exist is decided at run time from the entity registry: a package table is
  built when the QBO entity feeding it is registered (``ENTITIES[name].model``), else it is
  skipped and listed. Registering a new entity and running ``migrate`` makes its views.
- Views are replaced with ``CREATE OR REPLACE VIEW`` inside one transaction, so readers see
  the old or the new set, never half, and dbt's own views on top of ours survive a rerun.
  Only when a view's columns changed (a package upgrade) is it dropped with its dependants
  and recreated; ``dbt run`` rebuilds those.
- Our views carry a ``COMMENT`` marker; drops touch only views with it, never a user's table.
- Ids collide across companies (API-NOTES §9), so a schema shows one company when asked
  (``QB_ANALYTICS_REALM``), or one schema per company (``QB_ANALYTICS_PER_REALM``). The
  main schema unfiltered is right for a single company; ``--check`` fails when it mixes more.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connections, transaction

from quickbooks_sync import registry
from quickbooks_sync.models import Company

from .build import view_sql
from .columns import PACKAGE, PACKAGE_VERSION, source_tables
from .declarations import ViewSpec, views_by_table
from .sql import literal, quote

logger = logging.getLogger(__name__)

MARK = "qbo-sync analytics view"


class AnalyticsError(RuntimeError):
    """The views could not be made; the text says what to change."""


@dataclass(frozen=True)
class Target:
    schema: str
    realm: str | None  # None: every company's rows


@dataclass
class Plan:
    views: list[tuple[str, list[tuple[ViewSpec, str]]]] = field(default_factory=list)
    skipped: list[tuple[str, list[str]]] = field(default_factory=list)  # table, entities


@dataclass
class Report:
    supported: bool
    targets: list[Target] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    recreated: list[str] = field(default_factory=list)  # dropped with dependants, remade
    dropped: list[str] = field(default_factory=list)


def is_supported(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


def registered_tables() -> dict[str, str]:
    """QBO entity name -> the database table of its model, for every registered entity."""
    return {name: spec.model._meta.db_table for name, spec in registry.ENTITIES.items()}


def plan_views(tables: Mapping[str, str] | None = None) -> Plan:
    tables = registered_tables() if tables is None else tables
    plan = Plan()
    for table, specs in views_by_table().items():
        parts = [(spec, tables[spec.entity]) for spec in specs if spec.entity in tables]
        if parts:
            plan.views.append((table, parts))
        else:
            plan.skipped.append((table, sorted({spec.entity for spec in specs})))
    return plan


def schema_for_realm(schema: str, realm_id: str) -> str:
    return f"{schema}_{re.sub(r'[^a-z0-9_]', '_', realm_id.lower())}"


def analytics_targets(using: str = "default") -> list[Target]:
    schema = settings.QB_ANALYTICS_SCHEMA
    if not schema:
        return []
    if settings.QB_ANALYTICS_PER_REALM:
        realms = Company.objects.using(using).order_by("realm_id")
        return [
            Target(schema_for_realm(schema, r), r)
            for r in realms.values_list("realm_id", flat=True)
        ]
    return [Target(schema, settings.QB_ANALYTICS_REALM or None)]


def _marker(table: str, parts: list[tuple[ViewSpec, str]]) -> str:
    entities = ", ".join(sorted({spec.entity for spec, _ in parts}))
    return f"{MARK}: {PACKAGE} {PACKAGE_VERSION} source {table}, from QBO {entities}"


def our_views(cursor) -> set[tuple[str, str]]:
    """(schema, view) of every view this module made, in any schema."""
    cursor.execute(
        "SELECT n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0 "
        "WHERE c.relkind = 'v' AND d.description LIKE %s",
        [MARK + "%"],
    )
    return set(cursor.fetchall())


def _replace(cursor, name: str, body: str, using: str) -> bool:
    """CREATE OR REPLACE; True when the old view had to be dropped (columns changed)."""
    try:
        with transaction.atomic(using=using):
            cursor.execute(f"CREATE OR REPLACE VIEW {name} AS\n{body}")
        return False
    except DatabaseError:
        pass  # a changed column list cannot be replaced in place
    cursor.execute(f"DROP VIEW IF EXISTS {name} CASCADE")
    try:
        cursor.execute(f"CREATE VIEW {name} AS\n{body}")
    except DatabaseError as exc:
        raise AnalyticsError(
            f"cannot create view {name}: {exc}. If a table or view of that name that qbo-sync "
            "did not make is in the way, move it or choose another QB_ANALYTICS_SCHEMA."
        ) from None
    return True


def analytics_views_apply(
    *,
    using: str = "default",
    tables: Mapping[str, str] | None = None,
    targets: list[Target] | None = None,
    keep_others: bool = False,
) -> Report:
    """Make the views match the declarations and the registry, in one transaction.

    Our views in schemas that are no longer targets are dropped, unless ``keep_others``
    (one company's schema made on its own).
    """
    if not is_supported(using):
        return Report(supported=False)
    targets = analytics_targets(using) if targets is None else targets
    report = Report(supported=True, targets=targets, plan=plan_views(tables))
    sources = source_tables()
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        existing = our_views(cursor)
        if keep_others:
            existing = {(s, t) for s, t in existing if s in {x.schema for x in targets}}
        wanted = set()
        for target in targets:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(target.schema)}")
            for table, parts in report.plan.views:
                name = f"{quote(target.schema)}.{quote(table)}"
                if _replace(cursor, name, view_sql(parts, sources[table], target.realm), using):
                    report.recreated.append(f"{target.schema}.{table}")
                cursor.execute(f"COMMENT ON VIEW {name} IS {literal(_marker(table, parts))}")
                wanted.add((target.schema, table))
        for schema, table in sorted(existing - wanted):
            cursor.execute(f"DROP VIEW IF EXISTS {quote(schema)}.{quote(table)} CASCADE")
            report.dropped.append(f"{schema}.{table}")
    logger.info(
        "analytics views: %d per schema in %s; %d skipped (entity not synced)",
        len(report.plan.views),
        ", ".join(t.schema for t in targets) or "no schema",
        len(report.plan.skipped),
    )
    return report


def analytics_views_drop(*, using: str = "default") -> list[str]:
    """Drop every view this module made (before migrations that may alter their columns)."""
    if not is_supported(using):
        return []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        dropped = sorted(our_views(cursor))
        for schema, table in dropped:
            cursor.execute(f"DROP VIEW IF EXISTS {quote(schema)}.{quote(table)} CASCADE")
    return [f"{s}.{t}" for s, t in dropped]


def view_columns(cursor, schema: str, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        [schema, table],
    )
    return list(cursor.fetchall())


def synced_realms(using: str = "default") -> set[str]:
    realms: set[str] = set()
    for spec in registry.ENTITIES.values():
        realms.update(spec.model.objects.using(using).values_list("realm_id", flat=True).distinct())
    return realms


def analytics_views_check(
    *,
    using: str = "default",
    tables: Mapping[str, str] | None = None,
    targets: list[Target] | None = None,
) -> list[str]:
    """Problems that would make the package read wrong data; empty when all is well."""
    if not is_supported(using):
        return []
    targets = analytics_targets(using) if targets is None else targets
    plan = plan_views(tables)
    sources = source_tables()
    problems = []
    with connections[using].cursor() as cursor:
        ours = our_views(cursor)
        for target in targets:
            for table, _parts in plan.views:
                expected = [(c.name, c.pg_type) for c in sources[table].columns]
                actual = view_columns(cursor, target.schema, table)
                if not actual:
                    problems.append(f"{target.schema}.{table}: missing (run `manage.py migrate`)")
                elif actual != expected:
                    diff = [f"{a} != {e}" for a, e in zip(actual, expected, strict=False) if a != e]
                    if len(actual) != len(expected):
                        diff.append(f"{len(actual)} columns, package has {len(expected)}")
                    problems.append(f"{target.schema}.{table}: " + "; ".join(diff[:5]))
            for table, entities in plan.skipped:
                if (target.schema, table) in ours:
                    problems.append(
                        f"{target.schema}.{table}: exists but {', '.join(entities)} is not synced"
                    )
        mixed = [t.schema for t in targets if t.realm is None]
    realms = synced_realms(using) if mixed else set()
    if len(realms) > 1:
        problems.append(
            f"schema {mixed[0]} mixes {len(realms)} companies whose ids collide: set "
            "QB_ANALYTICS_REALM to one realm id, or QB_ANALYTICS_PER_REALM=true"
        )
    return problems
