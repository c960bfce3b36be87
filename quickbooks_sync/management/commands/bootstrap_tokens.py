"""Exchange a one-time QBO authorization code for tokens and store them (encrypted)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from quickbooks_sync.qbo.errors import QBOError
from quickbooks_sync.schema import MigratedCommand
from quickbooks_sync.sync.runner import company_refresh_name
from quickbooks_sync.tokens import token_bootstrap


class Command(MigratedCommand):
    help = (
        "Exchange a one-time authorization code (from Intuit's OAuth Playground or the "
        "connect flow) for tokens, and store them encrypted. Defaults come from "
        "QB_AUTHORIZATION_CODE and QB_REALM_ID."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--code", help="authorization code (default: QB_AUTHORIZATION_CODE)")
        parser.add_argument("--realm-id", help="QBO company id (default: QB_REALM_ID)")
        parser.add_argument("--redirect-uri", help="redirect URI used (default: QB_REDIRECT_URI)")

    def handle(self, *args, **options) -> None:
        code = options["code"] or settings.QB_AUTHORIZATION_CODE
        realm_id = options["realm_id"] or settings.QB_REALM_ID
        if not code:
            raise CommandError(
                "No authorization code: pass --code or set QB_AUTHORIZATION_CODE (get one from "
                "https://developer.intuit.com/app/developer/playground; codes work once and "
                "expire within minutes)."
            )
        if not realm_id:
            raise CommandError(
                "No realm id: pass --realm-id or set QB_REALM_ID (the company id shown with "
                "the authorization code)."
            )
        try:
            token = token_bootstrap(
                realm_id=realm_id,
                code=code,
                redirect_uri=options["redirect_uri"] or settings.QB_REDIRECT_URI,
            )
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        except QBOError as exc:
            raise CommandError(f"Could not exchange the authorization code: {exc}") from None
        name = company_refresh_name(realm_id=token.realm_id)
        self.stdout.write(
            self.style.SUCCESS(
                f"Stored tokens for realm {token.realm_id}" + (f" ({name})." if name else ".")
            )
            + f"\n  access token expires:  {token.access_token_expires_at:%Y-%m-%d %H:%M:%S %Z}"
            + "\n  refresh token expires: "
            + (
                f"{token.refresh_token_expires_at:%Y-%m-%d %H:%M:%S %Z}"
                if token.refresh_token_expires_at
                else "unknown"
            )
            + "\n  reconnect required by: "
            + (
                f"{token.refresh_token_hard_expires_at:%Y-%m-%d}"
                if token.refresh_token_hard_expires_at
                else "unknown"
            )
        )
