#!/usr/bin/env python
"""Django's command-line utility, with configuration errors reported as one clear line."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db.utils import InterfaceError, OperationalError, ProgrammingError

    from quickbooks_sync import exitcodes

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A bad setting is the user's to fix, not ours to debug: one line, non-zero exit.
        # LOG_LEVEL=debug keeps the traceback for the rare case where it is ours.
        if os.environ.get("LOG_LEVEL", "").lower() == "debug":
            raise
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(exitcodes.CONFIGURATION)
    except (OperationalError, InterfaceError, ProgrammingError) as exc:
        # The database is unreachable or refuses us: say so in one line, not a traceback.
        if os.environ.get("LOG_LEVEL", "").lower() == "debug":
            raise
        reason = " ".join(str(exc).split())[:300]
        if _missing_table(reason):
            fix = "Tables are missing: run `manage.py migrate`."
        elif isinstance(exc, ProgrammingError):
            raise  # a bug of ours, not the user's database
        else:
            fix = "Check DATABASE_URL and that the database is running."
        sys.stderr.write(f"Database error: {reason}. {fix}\n")
        sys.exit(exitcodes.DATABASE)


def _missing_table(message: str) -> bool:
    """SQLite says "no such table"; PostgreSQL says 'relation "…" does not exist'."""
    return "no such table" in message or ("relation" in message and "does not exist" in message)


if __name__ == "__main__":
    main()
