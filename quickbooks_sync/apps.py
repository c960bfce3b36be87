from django.apps import AppConfig


class QuickbooksSyncConfig(AppConfig):
    name = "quickbooks_sync"
    verbose_name = "QuickBooks sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from quickbooks_sync.logging import redact_every_handler

        redact_every_handler()

        from quickbooks_sync.registry import selected_entities

        selected_entities()  # a bad QB_ENTITIES stops every command with one clear line
