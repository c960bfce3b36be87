#!/usr/bin/env python
"""Django's command-line utility, with configuration errors reported as one clear line."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db.utils import InterfaceError, OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A bad setting is the user's to fix, not ours to debug: one line, non-zero exit.
        # LOG_LEVEL=debug keeps the traceback for the rare case where it is ours.
        if os.environ.get("LOG_LEVEL", "").lower() == "debug":
            raise
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(2)
    except (OperationalError, InterfaceError) as exc:
        # The database is unreachable or refuses us: say so in one line, not a traceback.
        if os.environ.get("LOG_LEVEL", "").lower() == "debug":
            raise
        reason = " ".join(str(exc).split())[:300]
        sys.stderr.write(
            f"Database error: {reason}. Check DATABASE_URL and that the database is running.\n"
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
