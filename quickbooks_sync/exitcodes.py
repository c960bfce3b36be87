"""Exit codes of every ``manage.py`` command, so monitoring can tell causes apart.

Decision: 1 and 2 keep their meaning per command (``syncstatus``: 1 failing, 2 stale;
elsewhere 1 is "the command failed"); the two causes every command shares get codes of
their own, never reused: the database (unreachable, or not migrated) and the
configuration (a setting, or the command line, is wrong).
"""

OK = 0
FAILED = 1  # syncstatus: failing
STALE = 2  # syncstatus only
DATABASE = 3  # database unreachable, or tables missing: run `manage.py migrate`
CONFIGURATION = 4  # a setting (or, for syncstatus, an argument) is invalid
