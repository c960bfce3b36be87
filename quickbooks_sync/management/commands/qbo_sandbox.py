"""``manage.py qbo_sandbox``: run the bundled QBO sandbox until SIGINT/SIGTERM.

Thin on purpose: all behaviour lives in ``quickbooks_sync.sandbox``; this only parses
arguments, prints one line telling a client how to connect, and exits 0 on a signal.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer


class Command(BaseCommand):
    help = "Run the local QuickBooks Online sandbox (localhost only by default)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--customers", type=int, default=50)
        parser.add_argument("--invoices", type=int, default=200)
        parser.add_argument(
            "--realm",
            action="append",
            dest="realms",
            metavar="ID",
            help=f"realm id (repeatable; default {DEFAULT_REALM})",
        )
        parser.add_argument("--latency", type=float, default=0.0, help="seconds per API call")
        parser.add_argument("--latency-jitter", type=float, default=0.0)
        parser.add_argument("--no-throttle", action="store_true")
        parser.add_argument("--access-token-ttl", type=int, default=3600)
        parser.add_argument("--refresh-grace-seconds", type=int, default=0)

    def handle(self, *args, **opts):
        cfg = SandboxConfig(
            seed=opts["seed"],
            customers=opts["customers"],
            invoices=opts["invoices"],
            realms=tuple(opts["realms"] or (DEFAULT_REALM,)),
            latency=opts["latency"],
            latency_jitter=opts["latency_jitter"],
            throttle=not opts["no_throttle"],
            access_token_ttl=opts["access_token_ttl"],
            refresh_grace_seconds=opts["refresh_grace_seconds"],
        )
        server = SandboxServer(cfg, host=opts["host"], port=opts["port"])
        try:
            server.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on {opts['host']}:{opts['port']}: {exc}") from exc
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(
            f"QBO sandbox listening on {server.url} realms={','.join(cfg.realms)} "
            f"client_id={cfg.client_id} client_secret={cfg.client_secret} "
            f"token_url={server.token_url}"
        )
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
