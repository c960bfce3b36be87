"""One process of the concurrent-refresh barrier (test_token_concurrency).

``python -m tests.reliability._refresh_worker REALM START_AT MODE``: read the stored access
token, wait until the wall clock reaches START_AT, then refresh (MODE ``refresh``: as after
a 401 with that token) or ask for a token (MODE ``access``: the expiry path), and print
``OK <sha256 prefix of the token>`` or ``ERR <exception class>: <message>``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time


def main() -> None:
    realm, start_at, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
    import django

    django.setup()
    from quickbooks_sync.models import Token
    from quickbooks_sync.tokens import DatabaseTokenProvider

    stale = Token.objects.get(realm_id=realm).access_token
    provider = DatabaseTokenProvider(realm)
    if time.time() > start_at:
        print("late: read the token after the barrier", file=sys.stderr)
    time.sleep(max(0.0, start_at - time.time()))
    try:
        token = provider.refresh(stale=stale) if mode == "refresh" else provider.access_token()
    except Exception as exc:
        print(f"ERR {type(exc).__name__}: {exc}")
        return
    print("OK " + hashlib.sha256(token.encode()).hexdigest()[:16])


if __name__ == "__main__":
    main()
