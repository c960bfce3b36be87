"""``manage.py qbo_sandbox``: run the bundled QBO sandbox until SIGINT/SIGTERM.

Thin on purpose: all behaviour lives in ``quickbooks_sync.sandbox``; this only parses
arguments, prints how to point a checkout at it (``.env`` lines), and exits 0 on a
signal. ``--print-env`` asks a sandbox already running for those lines and a fresh
one-time authorization code instead of starting one.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from quickbooks_sync.sandbox.connect_env import (
    SandboxUnreachable,
    describe_running,
    env_lines,
    instructions,
)


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
        parser.add_argument(
            "--print-env",
            action="store_true",
            help="do not start a sandbox: print the .env lines and a fresh authorization "
            "code of the one running at --url",
        )
        parser.add_argument(
            "--url", default="http://127.0.0.1:8765", help="the running sandbox (--print-env)"
        )

    def handle(self, *args, **opts):
        if opts["print_env"]:
            try:
                lines, code, realm = describe_running(opts["url"], (opts["realms"] or [None])[0])
            except SandboxUnreachable as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(instructions(lines, code, realm))
            return
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
        self.stdout.write(
            instructions(
                env_lines(server.url, cfg.client_id, cfg.client_secret, cfg.realms[0]),
                server.state.issue_authorization_code(cfg.realms[0]),
                cfg.realms[0],
            )
        )
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
