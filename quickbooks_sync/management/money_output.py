"""``verifysync --money``: run the tie-out per realm and print a table per check."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from quickbooks_sync.money.snapshots import build_report_client
from quickbooks_sync.money.tieout import SHOW, money_check_run
from quickbooks_sync.qbo.errors import QBOError
from quickbooks_sync.sync.runner import realms_to_sync

HEADER = ("", "QBO", "local", "difference")


def money_verify(command, options) -> None:
    try:
        realms = realms_to_sync(options["realm"])
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if not realms:
        raise CommandError("No realm to verify: run `manage.py bootstrap_tokens` first.")
    failing = []
    for realm_id in realms:
        try:
            verdict = money_check_run(client=build_report_client(realm_id), as_of=options["as_of"])
        except (QBOError, ImproperlyConfigured) as exc:
            raise CommandError(f"realm {realm_id}: {exc}") from None
        write = command.stdout.write
        write(f"realm {realm_id}, as of {verdict.as_of}: {verdict.summary}")
        for check in verdict.checks:
            write(f"\n{'OK' if check['ok'] else 'MISMATCH':<8} {check['name']} "
                  f"({check['compared']} compared)")  # fmt: skip
            for note in check["notes"]:
                write(f"  note: {note}")
            diffs = check["differences"]
            if not diffs:
                continue
            cells = [HEADER] + [(d["label"], d["qbo"], d["local"], d["difference"]) for d in diffs]
            widths = [max(len(c[i]) for c in cells) for i in range(4)]
            for row in cells:
                pairs = enumerate(zip(row, widths, strict=True))
                write("  " + "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in pairs))
            reasons = list(dict.fromkeys(r for d in diffs for r in d["explained_by"]))
            for reason in reasons[: SHOW * 2]:
                write(f"    explained by: {reason}")
        if not verdict.ok:
            failing.append(realm_id)
    if failing:
        raise CommandError(f"money differs from QBO in realm(s) {', '.join(failing)}.")
