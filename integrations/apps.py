from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Registers the webhook sender with the outbox, and hears what the domain apps publish.
        from integrations import receivers, webhooks  # noqa: F401
