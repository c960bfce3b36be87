"""One process of the concurrent-refresh barrier (test_token_concurrency).

``python -m tests.reliability._refresh_worker REALM MODE``: read the stored access token,
print ``READY``, wait for a line on standard input (the parent writes it once every worker
is ready: a pipe barrier, so a loaded machine delays the release instead of making a worker
miss it), then refresh (MODE ``refresh``: as after a 401 with that token) or ask for a
token (MODE ``access``: the expiry path), and print ``OK <sha256 prefix of the token>`` or
``ERR <exception class>: <message>``.
"""

from __future__ import annotations

import hashlib
import os
import sys


def main() -> None:
    realm, mode = sys.argv[1], sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
    import django

    django.setup()
    from quickbooks_sync.models import Token
    from quickbooks_sync.tokens import DatabaseTokenProvider

    stale = Token.objects.get(realm_id=realm).access_token
    provider = DatabaseTokenProvider(realm)
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        print("ERR barrier: the parent closed the pipe without releasing the workers")
        return
    try:
        token = provider.refresh(stale=stale) if mode == "refresh" else provider.access_token()
    except Exception as exc:
        print(f"ERR {type(exc).__name__}: {exc}")
        return
    print("OK " + hashlib.sha256(token.encode()).hexdigest()[:16])


if __name__ == "__main__":
    main()
