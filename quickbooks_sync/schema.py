"""Is the database schema in place? Asked before a command does anything irreversible.

Decision: every command of ours checks for unapplied migrations *before* it acts. The
costly case is ``bootstrap_tokens`` on a fresh database: the one-time authorization code
was exchanged first and the store then failed with "no such table", so the code was burnt
and Intuit answered the retry with ``invalid_grant``. Checking first costs one read of the
migration table.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from quickbooks_sync import exitcodes

MIGRATE_HINT = "run `manage.py migrate` first"


def schema_unapplied_migrations(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """``app.migration`` names that ``migrate`` would apply, in order."""
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def schema_require_migrated(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Raise ``CommandError`` (exit code 3) naming what is missing and how to fix it."""
    pending = schema_unapplied_migrations(using=using)
    if not pending:
        return
    shown = ", ".join(pending[:3]) + (f" (+{len(pending) - 3} more)" if len(pending) > 3 else "")
    raise CommandError(
        f"The database is not set up: {len(pending)} migration(s) not applied ({shown}); "
        f"tables are missing: {MIGRATE_HINT}.",
        returncode=exitcodes.DATABASE,
    )


class MigratedCommand(BaseCommand):
    """A command that refuses to start on a database ``migrate`` has not set up."""

    def execute(self, *args, **options):
        schema_require_migrated(using=options.get("database") or DEFAULT_DB_ALIAS)
        return super().execute(*args, **options)
