"""Re-encrypt every stored token with the first key of QB_TOKEN_ENCRYPTION_KEY."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.db import transaction

from quickbooks_sync import crypto
from quickbooks_sync.models import Token
from quickbooks_sync.schema import MigratedCommand


class Command(MigratedCommand):
    help = (
        "After putting a new key first in QB_TOKEN_ENCRYPTION_KEY (old key after a comma), "
        "re-encrypt all tokens with it; then the old key can be removed."
    )

    def handle(self, *args, **options) -> None:
        count = 0
        try:
            with transaction.atomic():
                for token in Token.objects.select_for_update():
                    token.access_token_encrypted = crypto.rotate(token.access_token_encrypted)
                    token.refresh_token_encrypted = crypto.rotate(token.refresh_token_encrypted)
                    token.save(update_fields=["access_token_encrypted", "refresh_token_encrypted"])
                    count += 1
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-encrypted tokens of {count} realm(s) with the newest key.")
