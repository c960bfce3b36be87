from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save, pre_migrate


class QuickbooksSyncConfig(AppConfig):
    name = "quickbooks_sync"
    verbose_name = "QuickBooks sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from quickbooks_sync.logging import redact_every_handler

        redact_every_handler()

        from quickbooks_sync.registry import selected_entities

        selected_entities()  # a bad QB_ENTITIES stops every command with one clear line

        from quickbooks_sync.analytics import signals

        pre_migrate.connect(signals.drop_before_migrate, sender=self)
        post_migrate.connect(signals.create_after_migrate, sender=self)
        post_save.connect(signals.company_connected, sender=self.get_model("Company"))
